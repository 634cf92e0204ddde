"""What outlives a browser session on the server: workspaces of saved runs, and the disk they share with its budgets."""
