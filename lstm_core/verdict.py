"""The verdict on a run: does the model beat its reference (persistence for prices, the training mean for a task), and
the strongest baseline, by more than chance?"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lstm_core.evaluate import MODEL
from lstm_core.targets import Target, target_of

SIGNIFICANCE = 0.05
COPY_TOLERANCE = 0.02  # within 2 % of persistence's RMSE a price model has, in effect, learned to copy the last price


class Outcome(StrEnum):
    BEATS = "beats"  # lower RMSE than the reference and unlikely to be chance
    CHANCE = "chance"  # lower RMSE, but the difference could be chance
    LOSES = "loses"  # no lower RMSE at all


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    skill: float | None  # 1 - RMSE_model / RMSE_reference
    p_value: float | None  # Diebold-Mariano, model against the reference
    model_rmse: float
    reference_rmse: float  # the target's reference baseline: persistence for prices, the training mean for a task
    best_baseline: str  # the baseline with the lowest RMSE (the reference included)
    best_baseline_rmse: float
    beats_every_baseline: bool
    copies_last: bool  # a price model whose errors match persistence's: it learned to copy the last price


def judge(metrics: dict[str, dict[str, float | None]], target: Target) -> Verdict:
    """The verdict from a run's test metrics (``lstm_core.evaluate.evaluate``)."""
    model = metrics[MODEL]
    skill, p_value = model.get("skill"), model.get("p_vs_persistence")
    names = [n for n in metrics if n != MODEL]
    best = min(names, key=lambda n: metrics[n]["rmse"])
    if skill is not None and skill > 0 and p_value is not None and p_value < SIGNIFICANCE:
        outcome = Outcome.BEATS
    elif skill is not None and skill > 0:
        outcome = Outcome.CHANCE
    else:
        outcome = Outcome.LOSES
    return Verdict(
        outcome=outcome, skill=skill, p_value=p_value, model_rmse=float(model["rmse"]),
        reference_rmse=float(metrics[target_of(target).reference]["rmse"]), best_baseline=best,
        best_baseline_rmse=float(metrics[best]["rmse"]),
        beats_every_baseline=all(model["rmse"] < metrics[n]["rmse"] for n in names),
        copies_last=target_of(target).can_copy_last and skill is not None and abs(skill) < COPY_TOLERANCE,
    )


def format_p(p_value: float | None) -> str:
    """A p-value as a person writes it: ``p < 0.001``, ``p = 0.04``; a dash when there is none."""
    if p_value is None:
        return "p = –"
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.2g}" if p_value < 0.1 else f"p = {p_value:.2f}"


def format_percent(value: float | None) -> str:
    """``0.2297`` -> ``+23.0 %``; ``-44.3`` -> ``-4,430 %``: signed, grouped, no exponent."""
    if value is None:
        return "–"
    percent = 100 * value
    return f"{percent:+,.0f} %" if abs(percent) >= 100 else f"{percent:+.1f} %"
