"""A run's results on the Train page: the verdict, metrics beside the target's baselines, the test-period charts."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lstm_core.basket.run import SavedBasket
from lstm_core.config import SETTINGS, Cell
from lstm_core.evaluate import MODEL, Scores
from lstm_core.judgement import Judgement, Outcome, forecaster_names, format_p, format_share
from lstm_core.plots.locale import localize_dates
from lstm_core.plots.train import (
    FIRST_VIEW_DAYS,
    change_figure,
    compare_loss_figure,
    prediction_figure,
    residual_figure,
)
from lstm_core.runs.bundle import bundle_zip
from lstm_core.runs.export import export_zip
from lstm_core.runs.record import StopReason
from lstm_core.runs.run import Run
from ui.loaders import dataset_label
from ui.settings import value_label
from ui.text import lang, tr

METRIC_COLUMNS = {"rmse": "m_rmse", "mae": "m_mae", "qlike": "m_qlike", "mape": "m_mape", "direction_acc": "m_direction",
                  "dm_p": "m_dm_p", "dm_p_holm": "m_dm_p_holm", "qlike_p": "m_qlike_p", "val_rmse": "m_val_rmse"}
P_COLUMNS = ("dm_p", "dm_p_holm", "qlike_p")
PERCENT_COLUMNS = ("mape", "direction_acc")  # in %, to one decimal (four once read "101.5131")
VERDICT_LOOK = {Outcome.BEATS: (st.success, "trending_up"), Outcome.TIES: (st.info, "balance"),
                Outcome.BEHIND: (st.info, "balance"), Outcome.LOSES: (st.warning, "trending_down"),
                Outcome.LEARNED_NOTHING: (st.warning, "block"), Outcome.UNTESTABLE: (st.info, "help")}


def _num(value: float | None) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.4g}"


def skill_column() -> dict[str, object]:
    """The column_config of a table's skill column: its help says what the skill is measured against (a positive skill
    beside a verdict of "learned nothing" once read as a contradiction)."""
    return {tr("col_skill"): st.column_config.TextColumn(help=tr("col_skill_help"))}


def forecaster_label(name: str, run: Run | SavedBasket) -> str:
    """The model's or a baseline's name for this run's target (persistence of a volatility means the last h days')."""
    return forecaster_names(lang(), run.config.target, run.config.horizon, run.config.cell)(name)


def position_label(position: object) -> str:
    """A sample's place as the page writes it: its date, or a task's sequence number."""
    if isinstance(position, pd.Timestamp):
        return position.strftime("%Y-%m-%d")
    return tr("task_sequence_n", n=f"{int(position):,}")


def metrics_table(run: Run) -> pd.DataFrame:
    """The model and each baseline of its target, one row each, with each baseline's Diebold-Mariano p against the
    model; undefined values stay visibly undefined."""
    return scores_table(run.scores(), run)


def scores_table(scores: Scores, run: Run | SavedBasket) -> pd.DataFrame:
    """A scores table (a run's, or a basket's series' or panel's) as ``metrics_table`` shows it, with forecasters
    named for ``run``'s settings."""
    rows = {forecaster_label(name, run): score.to_json() for name, score in scores.items()}  # the scores it has
    table = pd.DataFrame(rows).T
    columns = [c for c in METRIC_COLUMNS if c in table.columns]
    table = table[columns].apply(lambda col: col.map(
        lambda v, digits=1 if col.name in PERCENT_COLUMNS else 4: "–" if v is None or pd.isna(v) else f"{v:.{digits}f}"))
    for p_column in P_COLUMNS:
        if p_column in columns:
            table[p_column] = [format_p(row.get(p_column)) if p_column in row else "" for row in rows.values()]
    table.columns = [tr(METRIC_COLUMNS[c]) for c in columns]
    return table


def verdict_ui(run: Run) -> None:
    """The run's judgement (lstm_core.judgement) in sentences a newcomer can trust, and how sure they are."""
    judgement = run.judgement()
    show, icon = VERDICT_LOOK[judgement.outcome]
    lines = [tr(key, **params) for key, params in judgement_params(judgement, run)]
    kind = run.prepared.target_kind
    reference = run.scores()[kind.reference].rmse if kind.reference in run.scores() else None
    if kind.states_error_share and judgement.learned and reference:
        lines.append(tr("verdict_mean_share", share=format_share((judgement.model_rmse / reference) ** 2)))
    if not judgement.learned:
        lines.append(tr(learned_nothing_advice(run)))
    show("  \n".join(lines), icon=f":material/{icon}:")
    st.caption(tr("p_caption"), help=tr("p_help"))


def learned_nothing_advice(run: Run) -> str:
    """What happened in a run that learned nothing, and what to try (a key): validation loss lowest before training
    and rising while the training loss fell is a model that fit the training period alone."""
    if not run.prepared.target_kind.forecasts_ahead:  # a memory task: neither levels nor overfitting prices
        return "verdict_why_task_rnn" if run.config.cell == Cell.RNN else "verdict_why_task"
    history = run.history
    rose = (run.record.best_epoch == 0 and len(history) >= 3 and history[-1].val_loss > history[0].val_loss
            and history[-1].train_loss < history[0].train_loss)
    return "verdict_why_overfit" if rose else "verdict_why_level"


def verdict_lead_ui(run: Run) -> None:
    """The judgement's first sentence, as the Train page leads with it: the same outcome on every page."""
    judgement = run.judgement()
    show, icon = VERDICT_LOOK[judgement.outcome]
    key, params = judgement_params(judgement, run)[0]
    show(tr(key, **params), icon=f":material/{icon}:")


def judgement_params(judgement: Judgement, run: Run | SavedBasket) -> list[tuple[str, dict[str, object]]]:
    """The judgement's claims with forecasters named as this page names them and numbers as it writes them."""
    return [(key, {k: ", ".join(forecaster_label(n, run) for n in v) if k == "names"
                   else forecaster_label(v, run) if k == "name" else _num(v) if isinstance(v, float) or v is None
                   else v for k, v in params.items()}) for key, params in judgement.claims()]


def direction_ui(run: Run) -> None:
    """The model's directional accuracy beside what needs no model to get."""
    model = run.metrics[MODEL]
    if model.direction_acc is None or model.direction_base is None:
        return
    base = run.prepared.target_kind.direction_baseline
    how = (tr("direction_base_baseline", name=forecaster_label(base, run)) if base in run.metrics
           else tr("direction_base_majority"))
    st.caption(tr("direction_base", acc=f"{model.direction_acc:.1f}", base=f"{model.direction_base:.1f}", how=how))


def results_ui(run: Run) -> None:
    """Stop reason, the honest verdict, metrics beside baselines, and the test-period charts."""
    st.subheader(tr("results_title", run_id=run.run_id))
    p, cfg = run.prepared, run.config
    test_dates = p.sample_positions("test")  # dates, or a task's sequence numbers
    st.caption(tr("results_model", dataset=dataset_label(run.dataset_name), cell=cfg.cell.upper(), hidden=cfg.hidden,
                  layers=cfg.layers, params=sum(w.numel() for w in run.model.parameters()),
                  train=p.n_samples("train"), val=p.n_samples("val"), test=p.n_samples("test"),
                  start=position_label(test_dates[0]), end=position_label(test_dates[-1])))
    record = run.record
    (st.warning if record.stop_reason == StopReason.DIVERGED else st.caption)(
        tr(f"reason_{record.stop_reason}", best=record.best_epoch, epochs=record.epochs_run, seconds=f"{record.seconds:.1f}"))
    verdict_ui(run)
    st.dataframe(metrics_table(run), alt=tr("metrics_alt"))
    direction_ui(run)

    actual = p.actual_values("test")
    reference = p.target_kind.reference  # persistence for prices, the training mean for a task
    persistence = run.outputs().readable(p, "test", reference)
    labels = {"actual": tr("chart_actual"), "model": forecaster_label(MODEL, run), "persistence": forecaster_label(reference, run),
              "price": tr(p.target_kind.units_key), "residual": tr("chart_residual"), "sequence": tr("chart_sequence")}
    st.plotly_chart(localize_dates(prediction_figure(test_dates, actual, run.test_predictions, persistence, labels),
                                   lang()), key="prediction_chart")
    st.caption(tr(p.target_kind.window_note_key, days=min(FIRST_VIEW_DAYS, len(test_dates)), total=len(test_dates)))
    if p.target_kind.shows_change_chart:  # a return or volatility model: does it see the move, or only repeat the level?
        st.markdown(f"**{tr('chart_change_title')}**")
        change_labels = {"model": forecaster_label(MODEL, run), "actual_change": tr("chart_actual_change"),
                         "predicted_change": tr("chart_predicted_change"), "diagonal": tr("chart_diagonal")}
        last = p.last_values("test")
        st.plotly_chart(change_figure(actual - last, run.test_predictions - last, change_labels), key="change_chart")
        st.caption(tr("chart_change_note"))
    st.plotly_chart(localize_dates(residual_figure(test_dates, run.test_predictions - actual, persistence - actual,
                                                   labels), lang()), key="residual_chart")
    bundle, script = st.columns(2)
    bundle.download_button(tr("run_download"), data=lambda: bundle_zip(run), file_name=f"lstm-lab-run-{run.run_id}.zip",
                           mime="application/zip", icon=":material/download:", on_click="ignore", key="run_download")
    # the run as code: one plain PyTorch file and its data, which retrains it and prints the same test RMSE
    script.download_button(tr("run_export"), data=lambda: export_zip(run), file_name=f"lstm-lab-{run.run_id}-code.zip",
                           mime="application/zip", icon=":material/code:", on_click="ignore", key="run_export",
                           help=tr("run_export_help"))


def comparable(a: Run, b: Run) -> bool:
    """Whether two runs' scaled losses share a scale: same data, target, horizon and split."""
    keys = ("target", "horizon", "train_frac")
    return a.dataset_name == b.dataset_name and all(getattr(a.config, k) == getattr(b.config, k) for k in keys)


def compare_ui(a: Run, b: Run) -> None:
    """Two runs side by side: their metrics, the settings that differ (translated), and their losses if comparable."""
    left, right = st.columns(2)
    left.dataframe(metrics_table(a), alt=a.run_id)
    right.dataframe(metrics_table(b), alt=b.run_id)
    da, db = a.config.to_dict(), b.config.to_dict()
    differ = [name for name in SETTINGS if da[name] != db[name]] or list(SETTINGS)
    table = pd.DataFrame(
        {a.run_id: [value_label(n, da[n]) for n in differ], b.run_id: [value_label(n, db[n]) for n in differ]},
        index=pd.Index([tr(f"cfg_{n}") for n in differ], name=tr("compare_setting")),
    )
    st.dataframe(table, alt=tr("compare_config"))
    if comparable(a, b):
        st.plotly_chart(compare_loss_figure({a.run_id: a.history, b.run_id: b.history},
                                            {"epoch": tr("loss_epoch"), "val": tr("loss_val")}), key="compare_chart")
    else:
        st.caption(tr("compare_not_comparable"))
