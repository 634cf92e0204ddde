"""Widget groups of the Many series page: a basket of series checked as one dataset, its few settings, and one
network's results per series beside the panel's verdict."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lstm_core.baselines.linear_ar import MAX_FIT_WINDOWS
from lstm_core.basket.bundle import RECORD, basket_zip, load_basket_bundle
from lstm_core.basket.data import DEFAULT_BASKET, MAX_SERIES, MIN_OVERLAP_DAYS, Basket, check_basket
from lstm_core.basket.run import SavedBasket
from lstm_core.config import RunConfig, Target
from lstm_core.data import Dataset, Source, list_samples
from lstm_core.errors import LabError
from lstm_core.evaluate import MODEL, POOLED_LINEAR
from lstm_core.features import Feature
from lstm_core.jobs.manager import default_manager
from lstm_core.judgement import Judgement, Outcome, format_p, format_percent
from lstm_core.runs.bundle import UPLOAD_LIMITS
from ui.loaders import cached_sample, dataset, dataset_label
from ui.results import VERDICT_LOOK, forecaster_label, judgement_params, scores_table, skill_column
from ui.runs import keep_basket, queue_job, session_probe
from ui.session import kept, session
from ui.settings import value_label
from ui.text import file_uploader, plain, show_error, tr, tr_text

TARGETS = (Target.LOGVOL, Target.LOGRET)  # on one scale for every series (never the price)
HIDDEN = (8, 16, 32, 64)
# the inputs a basket may read: the size of each day's move and its HAR averages, the daily range (where every series
# has High and Low), the market factor across the series, the return itself
INPUTS = tuple(str(f) for f in (Feature.LOGABSRET, Feature.LOGRANGE, Feature.LOGVOL5, Feature.LOGVOL22, Feature.MARKET,
                                Feature.LOGRET))


def _loaded() -> dict[str, Dataset]:
    """Price series this session loaded on the Data page (uploads, Yahoo, synthetic), by option; the dataset the
    workspace kept among them."""
    found = {f"loaded:{name}": ds for name, ds in session.loaded_series.items()}
    ds = dataset()
    if ds.task is None and ds.source != Source.SAMPLE:
        found.setdefault(f"loaded:{ds.name}", ds)
    return found


def _options() -> dict[str, str]:
    """What the picker offers, by option: the bundled samples, then the price series loaded on the Data page."""
    options = {f"sample:{ticker}": cached_sample(ticker).title(session.lang) for ticker in list_samples()}
    options.update({option: tr_text("basket_current", name=ds.title(session.lang)) for option, ds in _loaded().items()})
    return options


def _series(option: str) -> Dataset:
    return _loaded()[option] if option.startswith("loaded:") else cached_sample(option.removeprefix("sample:"))


def basket_ui(disabled: bool) -> Basket | None:
    """The series picker and the basket checked as one dataset (each series' rows and span, the days they share);
    None, with the sentence that says why, when they cannot be a basket."""
    options = _options()
    picked = st.multiselect(tr("basket_series"), list(options), format_func=options.get,
                            help=tr("basket_series_help", high=MAX_SERIES, days=MIN_OVERLAP_DAYS), disabled=disabled,
                            **kept("basket_series", [o for o in DEFAULT_BASKET if o in options],
                                   lambda v: isinstance(v, list) and all(o in options for o in v)))
    try:
        basket = check_basket([_series(option) for option in picked])
    except LabError as err:
        show_error(err)
        return None
    summary = basket.summary()
    rows = [{tr("col_series"): ds.title(session.lang), tr("col_rows"): info["rows"], tr("col_from"): info["start"],
             tr("col_to"): info["end"]} for ds, info in zip(basket.datasets, summary["series"].values(), strict=True)]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    return basket


def settings_ui(basket: Basket, disabled: bool) -> RunConfig | None:
    """The few settings a basket run asks for (the rest are a one-series run's defaults) and the calendar they give."""
    columns = st.columns(4)
    try:
        base = inputs_ui(basket, disabled, columns[0])  # the target first: the basket's defaults follow it
    except LabError as err:
        show_error(err)
        return None
    hidden = columns[1].selectbox(tr("cfg_hidden"), HIDDEN, disabled=disabled,  # per target, as its defaults are
                                  **kept(f"basket_hidden_{base.target}", base.hidden, lambda v: v in HIDDEN))
    epochs = columns[2].number_input(tr("cfg_epochs"), step=1, disabled=disabled, **kept("basket_epochs", 60))
    seed = columns[3].number_input(tr("cfg_seed"), step=1, disabled=disabled, **kept("basket_seed", 0))
    try:
        config = base.with_(hidden=int(hidden), epochs=int(epochs), seed=int(seed))
        cutoffs = basket.cutoffs(config)
    except LabError as err:
        show_error(err)
        return None
    shared = basket.summary()["overlap"]
    st.caption(tr("basket_shared", days=f"{shared['days']:,}", start=shared["start"], end=shared["end"],
                  val=f"{cutoffs.val:%Y-%m-%d}", test=f"{cutoffs.test:%Y-%m-%d}"))
    st.caption(tr("basket_settings_caption", window=config.window, cell=tr_text(f"cell_{config.cell}"),
                  patience=config.patience, normalize=value_label("normalize", config.normalize)))
    return config


def inputs_ui(basket: Basket, disabled: bool, target_column=None) -> RunConfig:
    """The basket's target (in ``target_column``) and the inputs every series has, the same choices on every page
    that trains on a basket: the basket's own defaults for the rest (``Basket.settings``: for volatility, every input
    that carries across series and a small network); LabError when no input is picked."""
    target = (target_column or st).selectbox(tr("cfg_target"), TARGETS, format_func=lambda v: value_label("target", v),
                                             disabled=disabled,
                                             **kept("basket_target", Target.LOGVOL, lambda v: v in TARGETS))
    offered = tuple(f for f in INPUTS if all(f == Feature.MARKET or column in ds.frame.columns
                                             for ds in basket.datasets for column in Feature(f).columns))
    own = RunConfig.for_target(**{"target": target, **basket.settings(target)})  # the basket's defaults (measured)
    defaults = [str(f) for f in own.features if str(f) in offered]
    features = st.multiselect(tr("cfg_features"), offered, format_func=lambda v: value_label("features", v),
                              help=tr("basket_features_help"), disabled=disabled,
                              **kept(f"basket_features_{target}", defaults,
                                     lambda v: isinstance(v, list) and set(v) <= set(offered)))
    return own.with_(features=tuple(features))


def start_basket(basket: Basket, config: RunConfig) -> bool:
    """Queue the basket's job for this session; a refusal becomes one sentence."""
    return queue_job(lambda visitor: default_manager().request_basket(
        basket, config, owner_alive=session_probe(), workspace=session.workspace_id, visitor=visitor)) is not None


def results_ui(saved: SavedBasket, basket: Basket | None) -> None:
    """The panel's verdict first, the per-series table beside it, each series' sentences, and the bundle."""
    n = len(saved.names)
    st.subheader(tr("basket_panel_title", n=n))
    epochs_run = max(len(saved.history) - 1, 0)
    st.caption(tr("basket_result_line", names=", ".join(dataset_label(name) for name in saved.names)) + " " +
               tr(f"reason_{saved.stop_reason}", best=saved.best_epoch, epochs=epochs_run, seconds=f"{saved.seconds:.1f}"))
    judgement = saved.judgement()
    show, icon = VERDICT_LOOK[judgement.outcome]
    lines = [tr("basket_panel_lead", n=n), *(tr(key, **params) for key, params in judgement_params(judgement, saved)),
             linear_sentence(judgement)]
    show("  \n".join(lines), icon=f":material/{icon}:")
    st.caption(tr("p_caption"), help=tr("p_help"))
    st.dataframe(scores_table(saved.panel, saved))
    st.caption(tr("basket_linear_note", cap=MAX_FIT_WINDOWS // n))  # pooled_linear's cap, shared by the series

    st.subheader(tr("basket_series_title"))
    model = forecaster_label(MODEL, saved)
    rows = []
    for name in saved.names:
        scores, verdict = saved.series[name], saved.judgement(name)
        rows.append({
            tr("col_series"): dataset_label(name), tr("basket_col_windows"): saved.test_windows[name],
            tr_text("basket_col_model", model=model): round(scores[MODEL].rmse, 4),
            tr("basket_col_linear"): round(scores[POOLED_LINEAR].rmse, 4),
            tr("basket_col_strongest"): forecaster_label(verdict.strongest, saved),
            tr("basket_col_strongest_rmse"): round(scores[verdict.strongest].rmse, 4),
            tr("col_verdict"): tr_text(f"outcome_{verdict.outcome}"),  # before the skill, as in the runs table
            tr("col_skill"): format_percent(scores[MODEL].skill),
        })
    st.dataframe(pd.DataFrame(rows), hide_index=True, column_config=skill_column())
    with st.expander(tr("basket_series_verdicts"), icon=":material/format_list_bulleted:"):
        for name in saved.names:
            verdict = saved.judgement(name)
            show, icon = VERDICT_LOOK[verdict.outcome]
            sentences = [tr(key, **params) for key, params in judgement_params(verdict, saved)]
            show("  \n".join([f"**{plain(dataset_label(name))}**", *sentences]), icon=f":material/{icon}:")
    if basket is not None:
        st.download_button(tr("basket_download"), data=lambda: basket_zip(saved, basket), file_name="basket.zip",
                           mime="application/zip", help=tr("basket_download_help"), icon=":material/download:",
                           on_click="ignore", key="basket_download")


def upload_ui(disabled: bool) -> None:
    """Open a basket bundle downloaded before: its series checked against their hashes and its weights scored again
    (lstm_core.basket.bundle, within the upload limits), then the session's and the workspace's basket run (not while
    a job trains: its end would replace it)."""
    upload = file_uploader("basket_upload", "basket_upload", limit_mb=UPLOAD_LIMITS.max_zip_bytes // 2**20,
                           types=["zip"], help=tr("basket_upload_help"), disabled=disabled)
    if upload is None or session.basket_upload_id == upload.file_id:
        return
    session.basket_upload_id = upload.file_id
    try:
        opened = load_basket_bundle(upload.getvalue(), UPLOAD_LIMITS)
    except LabError as err:
        if err.key == "err_bundle_missing_file" and err.params.get("name") == RECORD:  # a run's bundle, or another zip
            err = LabError("err_basket_upload_not_basket")
        show_error(err)
        return
    keep_basket(*opened)
    st.rerun()


def linear_sentence(judgement: Judgement) -> str:
    """Whether the network beats the pooled linear model on its own inputs (Holm-adjusted, as every baseline): the
    question a basket run is asked, said on its own line whatever the outcome against the strongest."""
    linear = next(c for c in judgement.comparisons if c.name == POOLED_LINEAR)
    key = "basket_vs_linear_not"
    if judgement.standing(POOLED_LINEAR) == Outcome.BEATS:  # an edge training gave, or the untrained network's
        key = "basket_vs_linear_beats" if judgement.learned else "basket_vs_linear_untrained"
    return tr(key, model=f"{judgement.model_rmse:.4g}", linear=f"{linear.rmse:.4g}", p=format_p(linear.p_holm))
