"""The verdict on a run: what its test scores support saying, against every baseline, and nothing more.

Every sentence the app says about a model's quality comes from ``claims``: the comparison with the strongest
baseline (the lowest test RMSE) leads; "beats" is said of a baseline only where the model's RMSE is lower and the
Diebold-Mariano test (HLN-corrected) gives p < 0.05 against it; a run that kept its untrained weights gets no claim
at all but that it learned nothing. For volatility, one more sentence compares the model in QLIKE (Patton 2011) with
the baseline of the lowest QLIKE, tested the same way: a model can win in RMSE and lose in QLIKE.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lstm_core.evaluate import MODEL
from lstm_core.targets import Target, target_of

SIGNIFICANCE = 0.05
COPY_TOLERANCE = 0.02  # within 2 % of persistence's RMSE a price model has, in effect, learned to copy the last price

Claim = tuple[str, dict[str, object]]  # a translation key and its parameters


class Outcome(StrEnum):
    """How the model stands against the strongest baseline; each has its sentence ``verdict_<value>``."""

    BEATS = "beats"  # lower RMSE than the strongest baseline, unlikely to be chance
    TIES = "ties"  # not distinguishable from it
    LOSES = "loses"  # higher RMSE, unlikely to be chance
    LEARNED_NOTHING = "learned_nothing"  # the untrained weights were kept: no claim about skill is made


@dataclass(frozen=True)
class Comparison:
    """The model against one baseline on the test period."""

    baseline: str
    rmse: float
    p_value: float | None  # Diebold-Mariano, two-sided
    qlike: float | None = None  # a volatility target's QLIKE, and the same test on QLIKE losses
    qlike_p: float | None = None

    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < SIGNIFICANCE


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    model_rmse: float
    comparisons: tuple[Comparison, ...]  # the strongest baseline (lowest RMSE) first
    copies_last: bool  # a price model whose errors match persistence's: it learned to copy the last price
    model_qlike: float | None = None  # a volatility target's: QLIKE ranks variance forecasts, and may disagree with RMSE

    @property
    def strongest(self) -> Comparison:
        return self.comparisons[0]

    def beaten(self) -> list[str]:
        """Baselines the model beats: lower RMSE and p < 0.05."""
        return [c.baseline for c in self.comparisons if c.significant() and self.model_rmse < c.rmse]

    def beating(self) -> list[str]:
        """Baselines that beat the model: lower RMSE and p < 0.05."""
        return [c.baseline for c in self.comparisons if c.significant() and c.rmse < self.model_rmse]

    def undecided(self) -> list[str]:
        """Baselines the test cannot tell from the model."""
        return [c.baseline for c in self.comparisons if not c.significant()]

    def qlike_outcome(self) -> tuple[Outcome, Comparison] | None:
        """How the model stands in QLIKE against the baseline with the lowest QLIKE (a volatility target), or None."""
        rated = [c for c in self.comparisons if c.qlike is not None]
        if self.model_qlike is None or not rated:
            return None
        best = min(rated, key=lambda c: c.qlike)
        if best.qlike_p is None or best.qlike_p >= SIGNIFICANCE:
            return Outcome.TIES, best
        return (Outcome.BEATS if self.model_qlike < best.qlike else Outcome.LOSES), best


def judge(metrics: dict[str, dict[str, float | None]], target: Target, learned: bool) -> Verdict:
    """The verdict from a run's test metrics (``lstm_core.evaluate.evaluate``) and whether it learned anything
    (``RunRecord.learned``: some epoch beat the untrained model on validation)."""
    model = metrics[MODEL]
    comparisons = sorted((Comparison(name, float(row["rmse"]), row.get("dm_p"), row.get("qlike"), row.get("qlike_p"))
                          for name, row in metrics.items() if name != MODEL), key=lambda c: c.rmse)
    model_rmse = float(model["rmse"])
    strongest = comparisons[0]
    if not learned:
        outcome = Outcome.LEARNED_NOTHING
    elif not strongest.significant():
        outcome = Outcome.TIES
    else:
        outcome = Outcome.BEATS if model_rmse < strongest.rmse else Outcome.LOSES
    skill = model.get("skill")
    reference = next((c for c in comparisons if c.baseline == target_of(target).reference), None)
    copies = (target_of(target).can_copy_last and skill is not None and abs(skill) < COPY_TOLERANCE
              and (reference is None or not reference.significant()))  # a tested difference is not a copy
    return Verdict(outcome, model_rmse, tuple(comparisons), copies and learned, model.get("qlike"))


def claims(verdict: Verdict) -> list[Claim]:
    """Everything the page says about the model's quality, as (translation key, params): baselines by name."""
    strongest = verdict.strongest
    if verdict.outcome == Outcome.LEARNED_NOTHING:
        return [("verdict_learned_nothing", {"rmse": verdict.model_rmse})]
    lead = ("verdict_" + verdict.outcome, {"name": strongest.baseline, "rmse": verdict.model_rmse,
                                          "base": strongest.rmse, "p": format_p(strongest.p_value)})
    said: list[Claim] = [lead]
    others = [name for name in verdict.beaten() if name != strongest.baseline]
    if others:  # "also" only after a win over the strongest
        said.append(("verdict_also_beats" if verdict.outcome == Outcome.BEATS else "verdict_beats_others",
                     {"names": others}))
    undecided = [name for name in verdict.undecided() if name != strongest.baseline]
    if undecided:
        said.append(("verdict_undecided", {"names": undecided}))
    worse = [name for name in verdict.beating() if name != strongest.baseline]
    if worse:
        said.append(("verdict_beaten_by", {"names": worse}))
    if verdict.copies_last:
        said.append(("verdict_copies", {}))
    in_qlike = verdict.qlike_outcome()  # RMSE on volatility and QLIKE on variance can rank forecasts apart
    if in_qlike is not None:
        outcome, best = in_qlike
        said.append((f"verdict_qlike_{outcome}", {"name": best.baseline, "model": verdict.model_qlike,
                                                 "base": best.qlike, "p": format_p(best.qlike_p)}))
    return said


def format_p(p_value: float | None) -> str:
    """A p-value as a person writes it: ``p < 0.001``, ``p = 0.04``; a dash when there is none."""
    if p_value is None:
        return "p = –"
    if p_value < 0.001:
        return "p < 0.001"
    shown = f"{p_value:.2g}" if p_value < 0.1 else f"{p_value:.2f}"
    if p_value < SIGNIFICANCE <= float(shown):  # 0.04996 rounds to 0.05: say on which side of the line it is
        return "p < 0.05"
    return f"p = {shown}"


def format_percent(value: float | None) -> str:
    """``0.2297`` -> ``+23.0 %``; ``-44.3`` -> ``-4,430 %``: signed, grouped, no exponent."""
    if value is None:
        return "–"
    percent = 100 * value
    return f"{percent:+,.0f} %" if abs(percent) >= 100 else f"{percent:+.1f} %"
