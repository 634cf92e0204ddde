"""Pure figure builders: each takes data and returns a plotly Figure; pages only display them."""

import html


def plot_text(name: str) -> str:
    """A name from a file, a URL or a user shown literally in a figure: plotly reads tags (links, styles) in its text."""
    return html.escape(name, quote=False)
