"""Date axes in the reader's language: plotly spells month names in English ("Jan 2015"), so Chinese gets numeric dates."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import plotly.graph_objects as go

# plotly picks a tick spacing (dtick, in ms or "M<n>" months) for the zoom level; each stop formats one range.
_DAY_MS = 86_400_000
ZH_TICK_STOPS = (
    ((None, _DAY_MS), "%m月%d日 %H:%M"),  # intraday
    ((_DAY_MS, "M1"), "%m月%d日"),  # days and weeks
    (("M1", "M12"), "%Y年%m月"),  # months: "2015年01月" where English shows "Jan 2015"
    (("M12", None), "%Y年"),
)
ZH_HOVER = "%Y-%m-%d"  # the day under the cursor, as the data table writes it
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def localize_dates(fig: go.Figure, lang: str) -> go.Figure:
    """``fig`` with numeric tick and hover formats on every date x-axis for ``lang`` 'zh'; 'en' is left as it is.

    Changes ``fig`` in place and returns it, so a builder's result can be passed straight through.
    """
    if lang != "zh":
        return fig
    stops = [dict(dtickrange=list(span), value=fmt) for span, fmt in ZH_TICK_STOPS]
    for axis in sorted(_date_axes(fig)):
        fig.layout[axis].update(tickformatstops=stops, hoverformat=ZH_HOVER)
    return fig


def _date_axes(fig: go.Figure) -> set[str]:
    """Layout names ("xaxis", "xaxis2", ...) of the x-axes that show dates: typed so, or holding a trace of dates."""
    axes = {name for name in fig.layout if name.startswith("xaxis") and fig.layout[name].type == "date"}
    for trace in fig.data:
        if _holds_dates(getattr(trace, "x", None)):
            ref = getattr(trace, "xaxis", None) or "x"
            axes.add("xaxis" + ref[1:])
    for name in list(axes):  # make_subplots' shared axes follow each other: format the whole group
        matches = fig.layout[name].matches
        if matches:
            axes.add("xaxis" + matches[1:])
    return axes


def _holds_dates(values: object) -> bool:
    if values is None or len(values) == 0:
        return False
    array = np.asarray(values)
    if array.dtype.kind == "M":
        return True
    first = array.flat[0]
    return isinstance(first, (dt.date, np.datetime64)) or (isinstance(first, str) and bool(_ISO_DATE.match(first)))
