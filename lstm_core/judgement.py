"""The judgement of a run: what its scores support saying, made once per run and read by every page, the command line
and the panel; no page makes a claim of its own.

The rules, each a test in tests/test_judgement.py:
- **Against the network before training.** The same network with its initial weights, reading each window the same
  way, is scored beside the model (``untrained`` in the metrics). With each window read relative to its own level, an
  output near zero already *is* "the window's level times what the training period taught the scaler": a strong
  forecaster that costs no training. Unless the model's test RMSE is below that forecast's with a Diebold-Mariano
  p < 0.05, the outcome is ``learned_nothing``, and no other claim is made.
- **The strongest simple method is named before the test is read**: the baseline of the lowest RMSE on the validation
  period.
- **Claims a statistician would sign.** Each baseline's Diebold-Mariano p (HLN-corrected, h - 1 autocovariances) is
  Holm-adjusted over every baseline compared (``dm_p_holm``); "beats" and "loses" need an adjusted p < 0.05, and the
  sentence says the correction was made.
- **Words that keep the direction.** Ahead of the strongest method but not significantly is ``ties``; behind it but
  not significantly is ``behind``, never "ties"; a DM statistic that cannot be computed (its loss differences have no
  variance) is ``untestable``, with the reason.
- **QLIKE for what it is** (volatility targets): a loss for variance forecasts that ranks them consistently even when
  the realised variance is a noisy proxy (Patton 2011), and that punishes a forecast that is too low more than one too
  high; a network trained on log volatility forecasts something like the median, below the mean variance, which QLIKE
  counts against it. Compared with the baseline of the lowest QLIKE, tested the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from lstm_core.config import Cell
from lstm_core.evaluate import MODEL, POOLED_LINEAR, UNTRAINED, Score
from lstm_core.i18n import t
from lstm_core.targets import Target, target_of

SIGNIFICANCE = 0.05
COPY_TOLERANCE = 0.02  # within 2 % of persistence's RMSE a price model has, in effect, learned to copy the last price

Claim = tuple[str, dict[str, object]]  # a translation key and its parameters
Metrics = Mapping[str, Score]  # a run's Scores, or any mapping of forecaster name to Score


class Outcome(StrEnum):
    """How the model stands; each has its sentence ``verdict_<value>``."""

    BEATS = "beats"  # ahead of the strongest simple method, Holm-adjusted p < 0.05
    TIES = "ties"  # ahead of it, by a difference that could be chance
    BEHIND = "behind"  # behind it, by a difference that could be chance
    LOSES = "loses"  # behind it, Holm-adjusted p < 0.05
    LEARNED_NOTHING = "learned_nothing"  # not significantly better than the same network before training
    UNTESTABLE = "untestable"  # the test against the strongest method cannot be computed


@dataclass(frozen=True)
class Comparison:
    """The model against one forecaster on the test period."""

    name: str
    rmse: float  # test
    val_rmse: float | None  # validation: how the strongest is chosen
    p: float | None  # Diebold-Mariano, two-sided
    p_holm: float | None  # the same, Holm-adjusted over every baseline compared
    qlike: float | None = None
    qlike_p: float | None = None


@dataclass(frozen=True)
class Judgement:
    """What a run's scores support saying."""

    outcome: Outcome
    strongest: str  # the baseline named before the test: the lowest validation RMSE
    model_rmse: float
    untrained: Comparison | None  # the network before training (None for a run scored before it was kept)
    comparisons: tuple[Comparison, ...]  # every baseline, the strongest first, then by test RMSE
    holm_family: int  # how many baselines the Holm correction ran over
    copies_last: bool  # a price model whose errors match persistence's: it learned to copy the last price
    model_qlike: float | None = None
    qlike_logged: bool = False  # a volatility target, trained in logs: its variance forecasts tend to sit low

    @property
    def learned(self) -> bool:
        return self.outcome != Outcome.LEARNED_NOTHING

    @property
    def against(self) -> Comparison:
        return self.comparisons[0]

    def beaten(self) -> list[str]:
        return [c.name for c in self.comparisons if _significant(c.p_holm) and self.model_rmse < c.rmse]

    def beating(self) -> list[str]:
        return [c.name for c in self.comparisons if _significant(c.p_holm) and c.rmse < self.model_rmse]

    def undecided(self) -> list[str]:
        return [c.name for c in self.comparisons if not _significant(c.p_holm)]

    def standing(self, name: str) -> Outcome | None:
        """How the model stands against forecaster ``name`` in RMSE, Holm-adjusted as the whole family is (BEATS only
        when significantly better); None when it was not compared."""
        found = next((c for c in self.comparisons if c.name == name), None)
        return None if found is None else _direction(self.model_rmse, found.rmse, found.p_holm)

    def qlike_standing(self) -> tuple[Outcome, Comparison] | None:
        """How the model stands in QLIKE against the baseline with the lowest QLIKE (a volatility target), or None."""
        rated = [c for c in self.comparisons if c.qlike is not None]
        if self.model_qlike is None or not rated:
            return None
        best = min(rated, key=lambda c: c.qlike)
        return _direction(self.model_qlike, best.qlike, best.qlike_p), best

    def claims(self) -> list[Claim]:
        """Everything a page says about the model's quality, as (translation key, params): forecasters by name
        (``name``/``names``), numbers as numbers, p-values as written."""
        a = self.against
        if self.outcome == Outcome.LEARNED_NOTHING:
            u = self.untrained
            if u is not None and u.p is None and u.rmse == self.model_rmse:  # the run kept its initial weights
                return [("verdict_kept_untrained", {"rmse": self.model_rmse})]
            worse = u is not None and u.rmse < self.model_rmse  # training moved it away from a better forecast
            return [("verdict_learned_worse" if worse else "verdict_learned_nothing",
                     {"rmse": self.model_rmse, "untrained": u.rmse if u else None, "p": format_p(u.p if u else None)})]
        if self.outcome == Outcome.UNTESTABLE:
            return [("verdict_untestable", {"name": a.name, "rmse": self.model_rmse, "base": a.rmse})]
        said: list[Claim] = [(f"verdict_{self.outcome}", {"name": a.name, "rmse": self.model_rmse, "base": a.rmse,
                                                          "p": format_p(a.p_holm), "m": self.holm_family})]
        others = [n for n in self.beaten() if n != a.name]
        if others:  # "also" only after a win over the strongest
            said.append(("verdict_also_beats" if self.outcome == Outcome.BEATS else "verdict_beats_others",
                         {"names": others}))
        behind = [n for n in self.beating() if n != a.name]
        if behind:
            said.append(("verdict_beaten_by", {"names": behind}))
        if self.copies_last:
            said.append(("verdict_copies", {}))
        in_qlike = self.qlike_standing()
        if in_qlike is not None:
            outcome, best = in_qlike
            key = "verdict_qlike_" + ("ties" if outcome in (Outcome.TIES, Outcome.BEHIND) else str(outcome))
            said.append((key, {"name": best.name, "model": self.model_qlike, "base": best.qlike,
                               "p": format_p(best.qlike_p)}))
            if self.qlike_logged and outcome in (Outcome.LOSES, Outcome.BEHIND):
                said.append(("verdict_qlike_low", {}))
        return said

    def sentences(self, lang: str, label: Callable[[str], str]) -> list[str]:
        """The claims as sentences in ``lang``, forecasters named by ``label``."""
        return [t(key, lang, **_shown(params, label)) for key, params in self.claims()]

    def to_json(self, label: Callable[[str], str]) -> dict[str, object]:
        """What the command line prints as ``judgement``: the outcome, the strongest method and the page's sentences."""
        return {"outcome": str(self.outcome), "strongest": self.strongest, "holm_family": self.holm_family,
                "untrained": None if self.untrained is None else {"rmse": self.untrained.rmse, "dm_p": self.untrained.p},
                "sentences": self.sentences("en", label)}


def forecaster_names(lang: str, target: Target, horizon: int, cell: Cell = Cell.LSTM) -> Callable[[str], str]:
    """How a run's forecasters are named in ``lang``: the model (by its cell: an RNN run's is no "LSTM model"), the
    network before training, each baseline for this target (persistence of a volatility means the last h days')."""
    from lstm_core.baselines import baseline_label

    def name(forecaster: str) -> str:
        if forecaster == MODEL:
            return t("m_model", lang) if cell == Cell.LSTM else t("m_model_cell", lang, cell=t(f"cell_{cell}", lang))
        if forecaster == UNTRAINED:
            return t("m_untrained", lang)
        if forecaster == POOLED_LINEAR:
            return t("m_pooled_linear", lang)
        key, params = baseline_label(forecaster, target, horizon)
        return t(key, lang, **params)

    return name


def _significant(p: float | None) -> bool:
    return p is not None and p < SIGNIFICANCE


def _direction(model: float, base: float, p: float | None) -> Outcome:
    if p is None:
        return Outcome.UNTESTABLE
    if model <= base:
        return Outcome.BEATS if p < SIGNIFICANCE else Outcome.TIES
    return Outcome.LOSES if p < SIGNIFICANCE else Outcome.BEHIND


def _shown(params: dict[str, object], label: Callable[[str], str]) -> dict[str, object]:
    return {k: ", ".join(label(n) for n in v) if k == "names" else label(v) if k == "name"  # type: ignore[union-attr]
            else _number(v) if isinstance(v, float) or v is None else v for k, v in params.items()}


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"


def judge(metrics: Metrics, target: Target) -> Judgement:
    """The judgement from a run's scores (``lstm_core.evaluate.evaluate``: each forecaster's test metrics, its
    ``val_rmse``, ``dm_p`` and ``dm_p_holm`` against the model, and the untrained network's row)."""
    model = metrics[MODEL]
    model_rmse = float(model.rmse)
    rows = {name: row for name, row in metrics.items() if name not in (MODEL, UNTRAINED)}
    comparisons = [Comparison(name, float(row.rmse), row.val_rmse, row.dm_p, row.dm_p_holm, row.qlike, row.qlike_p)
                   for name, row in rows.items()]
    # named on validation; a run scored before validation RMSEs were kept falls back on the test's
    strongest = min(comparisons, key=lambda c: (c.val_rmse if c.val_rmse is not None else c.rmse, c.rmse))
    comparisons = [strongest, *sorted((c for c in comparisons if c is not strongest), key=lambda c: c.rmse)]
    untrained = None
    if UNTRAINED in metrics:
        row = metrics[UNTRAINED]
        untrained = Comparison(UNTRAINED, float(row.rmse), row.val_rmse, row.dm_p, row.dm_p)
    kind = target_of(target)
    if untrained is not None and not (model_rmse < untrained.rmse and _significant(untrained.p)):
        outcome = Outcome.LEARNED_NOTHING
    else:
        outcome = _direction(model_rmse, strongest.rmse, strongest.p_holm)
    skill = model.skill
    reference = next((c for c in comparisons if c.name == kind.reference), None)
    copies = (kind.can_copy_last and skill is not None and abs(skill) < COPY_TOLERANCE
              and (reference is None or not _significant(reference.p)))  # a tested difference is not a copy
    family = sum(c.p is not None for c in comparisons)
    return Judgement(outcome, strongest.name, model_rmse, untrained, tuple(comparisons), family,
                     copies and outcome != Outcome.LEARNED_NOTHING, model.qlike, kind.scores_variance)


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


def format_share(fraction: float) -> str:
    """``1.003`` -> ``100 %``, ``0.045`` -> ``4.5 %``, ``0.00012`` -> ``0.012 %``: a share as a person writes it, never
    in exponent form."""
    percent = 100 * fraction
    return f"{percent:,.0f} %" if percent >= 10 else f"{percent:.2g} %"
