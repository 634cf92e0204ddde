"""A run's life: its record (what training produced), the Run a page shows, the bundle it is saved as and its schema, its weights, and the panel of many runs."""
