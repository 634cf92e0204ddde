"""Pure figure builders: each takes data and returns a plotly Figure; pages only display them."""
