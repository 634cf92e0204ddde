"""The Gates page's saturation view: how often each unit's gates sit nearly shut or nearly open, every unit drawn at its
exact fractions (Karpathy, Johnson & Fei-Fei 2015)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from lstm_core.gates import Saturation
from lstm_core.i18n import t
from lstm_core.plots.gates import GATE_COLOURS

SATURATION_DOT_PX = 7  # marker diameter in the saturation scatter for one unit; a group grows with its count
SATURATION_MERGE = 0.005  # fractions this close (half a point, on both axes) are one marker at their mean
MIXED_COLOUR = "#44505f"  # a marker holding several gates


@dataclass(frozen=True)
class DotGroup:
    """Units whose saturation fractions lie within ``SATURATION_MERGE`` of each other on both axes, drawn as one
    marker at their mean (so every member is drawn within that much of its own values)."""

    x: float
    y: float
    members: tuple[tuple[str, int], ...]  # (gate, unit), gates in the figure's order, units ascending

    @property
    def gates(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(gate for gate, _ in self.members))


def saturation_groups(saturation: Saturation) -> list[DotGroup]:
    """Every gate of every unit, grouped where their fractions share a cell of ``SATURATION_MERGE`` on both axes:
    each group's position is its members' mean, so no member is drawn more than that from its exact values."""
    cells: dict[tuple[int, int], list[tuple[str, int, float, float]]] = {}
    for gate in saturation.left:
        for unit, (left, right) in enumerate(zip(saturation.left[gate], saturation.right[gate], strict=True)):
            key = (_merge_cell(left), _merge_cell(right))
            cells.setdefault(key, []).append((gate, unit, float(left), float(right)))
    return [DotGroup(float(np.mean([m[2] for m in members])), float(np.mean([m[3] for m in members])),
                     tuple((gate, unit) for gate, unit, _, _ in members))
            for _, members in sorted(cells.items())]


def _merge_cell(fraction: float) -> int:
    """The cell of ``SATURATION_MERGE`` a fraction falls in; exactly 0 (never) and exactly 1 (always) are cells of
    their own, so the many units that never saturate are drawn on the corner itself."""
    if fraction == 0.0:
        return -1
    return 1 << 30 if fraction == 1.0 else int(np.floor(fraction / SATURATION_MERGE))


def saturation_figure(saturation: Saturation, *, layer: int = 0, lang: str = "en") -> go.Figure:
    """Per unit, left-saturated fraction (x) against right-saturated fraction (y), one colour per gate.

    Every dot sits at its exact fractions: units whose fractions coincide (within ``SATURATION_MERGE``; most gates of
    a young model never saturate and all sit on (0, 0)) are one marker, sized by how many it holds and labelled with
    that count, coloured by their gate or dark grey where several gates share it. A marker's ``meta`` lists its
    (gate, unit) members and its hover lists the units by gate with their fractions.
    """
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=[0, 1], y=[1, 0], mode="lines", line=dict(color="#b0b8c4", dash="dot"), hoverinfo="skip", showlegend=False)
    )
    groups = saturation_groups(saturation)
    unit_word = t("gates_axis_units", lang)
    low, high = saturation.low, saturation.high
    mixed = t("gates_sat_mixed", lang)
    by_trace: dict[str, list[DotGroup]] = {name: [] for name in [*saturation.left, mixed]}
    for group in groups:
        by_trace[group.gates[0] if len(group.gates) == 1 else mixed].append(group)
    for name, members in by_trace.items():
        if not members:
            continue
        counts = np.array([len(g.members) for g in members])
        hover = [
            "<br>".join(f"{gate}: {unit_word} {_unit_list([u for g_, u in g.members if g_ == gate])}" for gate in g.gates)
            + f"<br>< {low}: {g.x:.1%} · > {high}: {g.y:.1%}"
            for g in members
        ]
        fig.add_trace(go.Scatter(
            x=[g.x for g in members], y=[g.y for g in members], mode="markers+text",
            name=t(f"gates_name_{name}", lang) if name in GATE_COLOURS else name,
            marker=dict(color=GATE_COLOURS.get(name, MIXED_COLOUR), size=SATURATION_DOT_PX + 3 * np.sqrt(counts - 1),
                        opacity=0.85, line=dict(width=0.5, color="white")),
            text=[str(c) if c > 1 else "" for c in counts], textposition="middle right", textfont=dict(size=11),
            hovertext=hover, hoverinfo="text", meta=[[list(m) for m in g.members] for g in members],
        ))
    never = sum(int(((saturation.left[g] == 0) & (saturation.right[g] == 0)).sum()) for g in saturation.left)
    if never:
        total = sum(len(saturation.left[g]) for g in saturation.left)
        fig.add_annotation(
            x=0.06, y=0.06, xanchor="left", yanchor="bottom", showarrow=False,
            text=t("gates_sat_never", lang, n=never, total=total), font=dict(size=12, color="#44505f"),
        )
    fig.update_layout(
        title=t("gates_fig_saturation", lang, layer=layer + 1), height=520, margin=dict(t=60, b=40),
        xaxis=dict(title=t("gates_sat_left", lang, low=low), range=[-0.04, 1.04], tickformat=".0%", constrain="domain"),
        yaxis=dict(title=t("gates_sat_right", lang, high=high), range=[-0.04, 1.04], tickformat=".0%",
                   scaleanchor="x", scaleratio=1),
    )
    return fig


def _unit_list(units: Sequence[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``"0-2, 5"``: a long list of units on one hover line."""
    parts, run = [], [units[0]] if units else []
    for unit in units[1:]:
        if unit == run[-1] + 1:
            run.append(unit)
            continue
        parts.append(f"{run[0]}-{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)))
        run = [unit]
    if run:
        parts.append(f"{run[0]}-{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)))
    return ", ".join(parts)
