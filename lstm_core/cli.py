"""Command line: ``python -m lstm_core train | tune | gates | forecast | backtest ...``; JSON on stdout, progress on stderr."""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path

import torch

from lstm_core.config import SETTINGS, RunConfig
from lstm_core.errors import LabError
from lstm_core.forecast.refit import FORECAST_BOUNDS, MAX_REFIT_S
from lstm_core.i18n import t
from lstm_core.jobs.limits import check_fits_here
from lstm_core.jobs.memory import tune_malloc
from lstm_core.server_settings import problems
from lstm_core.tune.space import default_search, search_text
from lstm_core.tune.study import STUDY_BOUNDS, PrunerKind, TuneSpec


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line and exit code 2, as for every other bad input
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


MAX_REPORT_SEEDS = 10  # a panel trains series x seeds runs, one after another
MAX_REPORT_SERIES = 10


def _whole_number(text: str) -> int:
    """A count given as ``40`` or ``1e9``: too big a one is then answered with its bound, not a parse error."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value.is_integer():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    return int(value)


DATA_HELP = "sample:MSFT, yahoo:TICKER, synthetic:sine, a memory task (task:remember, task:add, task:count) or a CSV path"
TASK_FLAGS = {"length": "steps per sequence (the window)", "sequences": "how many sequences", "seed": "the seed that draws them"}


def add_task_flags(parser: argparse.ArgumentParser) -> None:
    """``--length``, ``--sequences`` and ``--task-seed``: a memory task's sequences, bounds from ``TASK_BOUNDS``."""
    from lstm_core.data import TASK_BOUNDS

    for name, what in TASK_FLAGS.items():
        bound = TASK_BOUNDS[name]
        flag = "--task-seed" if name == "seed" else f"--{name}"
        parser.add_argument(flag, dest=f"task_{name}", type=_whole_number, default=None, metavar=name.upper(),
                            help=f"a memory task's {what}: {bound.low} to {bound.high} (default {bound.default})")


def task_options(args: argparse.Namespace) -> dict[str, int]:
    """The task flags given on the command line, by ``load_task``'s names."""
    return {name: getattr(args, f"task_{name}") for name in TASK_FLAGS if getattr(args, f"task_{name}", None) is not None}


IGNORE_HELP = ("run even where the estimate says it will not fit this machine's free memory (train, tune, report) or "
               "would take longer than the limit (backtest's refits): on your own machine, at your own risk")


def add_ignore_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ignore-estimate", action="store_true", help=IGNORE_HELP)


def _threads(text: str) -> int:
    """A thread count from 1 to 256."""
    value = _whole_number(text)
    if not 1 <= value <= 256:
        raise argparse.ArgumentTypeError(f"{text!r} is not a thread count from 1 to 256")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m lstm_core", description="Train an LSTM on prices and inspect its gates.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="train a model and print its scores as JSON")
    train.add_argument("--data", required=True, help=DATA_HELP)
    add_task_flags(train)
    add_setting_flags(train)
    train.add_argument("--out", type=Path, default=None, help="folder to save the run bundle in")
    train.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    add_ignore_flag(train)
    train.add_argument("--threads", type=_threads, default=1,
                       help="torch threads on the CPU (default 1, as the app's workers train: small batches of a small "
                            "model only lose time to a second thread; a 4-unit task model trained 6x slower with two)")

    tune = commands.add_parser("tune", help="search hyperparameters with Optuna and print the study's best as JSON")
    tune.add_argument("--data", required=True, help=DATA_HELP)
    add_task_flags(tune)
    tune.add_argument("--study", required=True, help="the study's name; re-running with it continues the study")
    tune.add_argument("--storage", default=None,
                      help="journal file path (default: one per study, tune/<study>-<hash>.journal in the data "
                           "folder), sqlite:///FILE (one worker) or a SQLAlchemy URL such as "
                           "postgresql+psycopg://USER:PASSWORD@HOST/DB")
    tune.add_argument("--trials", type=_whole_number, default=TuneSpec.budget,
                      help=f"finished trials the whole study aims at, all workers together: "
                           f"{STUDY_BOUNDS['trials'].text()} (default {TuneSpec.budget})")
    tune.add_argument("--timeout", type=float, default=None,
                      help=f"start no trial after this many seconds: {STUDY_BOUNDS['timeout'].text()} (default: none)")
    tune.add_argument("--search", default=None,
                      help="settings to search, each with an optional narrower range: hidden=8:64,lr,cell=lstm|gru "
                           f"(a bare name: its whole range; default {search_text(default_search())})")
    tune.add_argument("--pruner", default=TuneSpec.pruner,
                      help=f"one of {', '.join(PrunerKind)} (default {TuneSpec.pruner})")
    tune.add_argument("--workers", type=_whole_number, default=TuneSpec.workers,
                      help=f"worker processes on this machine (with --ray: tasks on the cluster): "
                           f"{STUDY_BOUNDS['workers'].text()} (default {TuneSpec.workers})")
    tune.add_argument("--ray", default=None, metavar="ADDRESS",
                      help="run the workers as tasks on the Ray cluster at ADDRESS (host:port of `ray start --head`); "
                           "its nodes need a --storage they all reach, such as PostgreSQL")
    add_setting_flags(tune)
    add_ignore_flag(tune)

    report = commands.add_parser("report", help="train one config on several series and seeds; every baseline beside it")
    report.add_argument("--data", required=True, help="comma list of data specs, e.g. sample:MSFT,sample:NVDA")
    report.add_argument("--seeds", type=_whole_number, default=3, help=f"seeds per series, 1 to {MAX_REPORT_SEEDS} (default 3)")
    report.add_argument("--pooled", action="store_true",
                        help="train one network on the series pooled (a basket, e.g. --data basket:default), judged per "
                             "series and as a panel, rather than one network per series")
    report.add_argument("--leave-one-out", action="store_true",
                        help="with --pooled: also score each series by a network trained on the others")
    add_setting_flags(report)
    add_ignore_flag(report)

    gates = commands.add_parser("gates", help="print the gates and states of a saved run (LSTM, GRU or RNN) as JSON")
    gates.add_argument("--bundle", required=True, type=Path, help="a run folder or .zip saved by 'train --out' or the app")
    gates.add_argument("--index", type=int, default=-1, help="window K of the test period (default: the last)")

    explain = commands.add_parser("explain", help="which days drove one forecast: integrated gradients over its window")
    explain.add_argument("--bundle", required=True, type=Path, help="a run folder or .zip saved by 'train --out' or the app")
    explain.add_argument("--index", type=int, default=-1, help="window K of the test period (default: the last)")

    export = commands.add_parser("export", help="write a run as one plain PyTorch script and its data, to run anywhere")
    export.add_argument("--bundle", required=True, type=Path, help="a run folder or .zip saved by 'train --out' or the app")
    export.add_argument("--out", required=True, type=Path, help="the folder to write train.py and data.csv in")

    ahead = commands.add_parser("forecast", help="forecast the steps past the data's last day, with conformal intervals")
    ahead.add_argument("--bundle", required=True, type=Path, help="a run folder or .zip saved by 'train --out' or the app")
    ahead.add_argument("--steps", type=_whole_number, default=None,
                       help=f"steps to print: {FORECAST_BOUNDS['steps'].text()}, at most the run's own "
                            "(default: every step the run forecasts)")
    ahead.add_argument("--level", default=None, help="interval levels in percent, comma list (default 80,95)")

    backtest = commands.add_parser("backtest", help="score every test-period origin: per-step errors and coverage")
    backtest.add_argument("--bundle", required=True, type=Path, help="a run folder or .zip saved by 'train --out' or the app")
    backtest.add_argument("--level", default=None, help="interval levels in percent, comma list (default 80,95)")
    backtest.add_argument("--refit-every", type=_whole_number, default=None, metavar="K",
                          help=f"fine-tune the model on the data up to every K-th origin: "
                               f"{FORECAST_BOUNDS['refit-every'].text()}, refits estimated on this machine to take at "
                               f"most {MAX_REFIT_S:,.0f} s (default: never)")
    backtest.add_argument("--period", type=_whole_number, default=None, metavar="P",
                          help=f"add a seasonal naive baseline with a period of P rows: "
                               f"{FORECAST_BOUNDS['period'].text()} (e.g. 5 for a trading week)")
    add_ignore_flag(backtest)
    return parser


def _json_safe(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per RunConfig field, generated from its Setting: ``--train-frac 0.7``, ``--features close,logret``.

    Flags default to None, so only what the user gives overrides RunConfig's defaults, and RunConfig alone says
    whether a value is in range (one sentence, exit 2).
    """
    for f in fields(RunConfig):
        setting = SETTINGS[f.name]
        default = getattr(RunConfig(), f.name)
        if setting.is_choice:
            kind = "comma list of " if isinstance(default, tuple) else "one of "
            allowed = kind + ", ".join(setting.offered)
            shown = ",".join(default) if isinstance(default, tuple) else default
        else:
            low, high = (int(setting.low), int(setting.high)) if setting.is_int else (setting.low, setting.high)
            allowed = f"{low:g} to {high:g}" if isinstance(low, float) else f"{low} to {high}"
            allowed += ", log scale" if setting.log else ""
            shown = f"{default:g}" if isinstance(default, float) else default
        label = t(f"cfg_{f.name}")
        parser.add_argument(
            f"--{f.name.replace('_', '-')}", dest=f.name, default=None, metavar=f.name.upper(),
            type=str if setting.is_choice else int if setting.is_int else float,
            help=f"{label}: {allowed} (default {shown})",
        )


def config_from_args(args: argparse.Namespace, data_settings: dict[str, object] | None = None) -> RunConfig:
    """The settings given on the command line over the data's own (a memory task's target, channels and window) and
    RunConfig's defaults; LabError names one out of range."""
    given = {f.name: getattr(args, f.name) for f in fields(RunConfig) if getattr(args, f.name, None) is not None}
    if "features" in given:
        given["features"] = tuple(part.strip() for part in given["features"].split(",") if part.strip())
    return RunConfig.for_target(**{**(data_settings or {}), **given})


_DEVICE = re.compile(r"auto|cpu|cuda(:\d{1,2})?|mps")  # "meta" and friends allocate nothing and cannot train


def _checked_device(name: str, resolve) -> torch.device:
    """The device ``name`` names, or LabError when it is not a training device that exists here."""
    if not _DEVICE.fullmatch(name):
        raise LabError("err_bad_device", device=name)
    try:
        device = resolve(name)
        torch.empty(0, device=device)  # fails now, with one line, if that device does not exist here
    except (RuntimeError, AssertionError) as exc:
        raise LabError("err_bad_device", device=name) from exc
    return device


def _prepare_out(out: Path) -> None:
    """Create the bundle folder ``out``; LabError when it is a file or cannot be created."""
    if out.exists() and not out.is_dir():
        raise LabError("err_out_not_folder", path=str(out))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a parent is a file (FileExistsError / NotADirectoryError), or no permission
        raise LabError("err_out_unwritable", path=str(out)) from exc


def cmd_train_basket(args: argparse.Namespace) -> dict[str, object]:
    """One network on a basket of series, judged per series and as a panel (lstm_core.basket)."""
    from lstm_core.basket.bundle import save_basket_bundle
    from lstm_core.basket.data import load_basket_spec
    from lstm_core.basket.run import prepare_basket, train_basket
    from lstm_core.trainer import resolve_device

    if task_options(args):
        raise LabError("err_task_options_need_task", options=", ".join(f"--{name}" for name in task_options(args)))
    basket = load_basket_spec(args.data)
    config = config_from_args(args, basket.settings(getattr(args, "target", None)))
    if not args.ignore_estimate:
        check_fits_here(config, basket.rows)
    device = _checked_device(args.device, resolve_device)
    if args.out is not None:
        _prepare_out(args.out)
    cutoffs, prepared = prepare_basket(basket, config)  # a series too short at the calendar: refused before training
    print(f"basket: {', '.join(basket.names)}; validation from {cutoffs.val:%Y-%m-%d}, test from {cutoffs.test:%Y-%m-%d}; "
          f"{sum(p.n_samples('train') for p in prepared)} training windows", file=sys.stderr)
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    run = train_basket(basket, config, on_epoch_end=_epoch_printer(config), device=str(device))
    saved = run.saved()
    out = args.out or Path("runs") / f"basket-{uuid.uuid4().hex[:8]}"
    _prepare_out(out)
    try:
        save_basket_bundle(saved, basket, out)
    except OSError as exc:
        raise LabError("err_out_unwritable", path=str(out)) from exc
    print(f"{run.stop_reason}; basket bundle saved in {out}", file=sys.stderr)
    return {**saved.to_json(), "saved": str(out)}


def _epoch_printer(config: RunConfig) -> Callable[[object], None]:
    """The command line's line per epoch on stderr."""

    def on_epoch(trainer) -> None:
        h = trainer.history[-1]
        if h.epoch == 0:
            print(f"epoch 0 (untrained)  train {h.train_loss:.5f}  val {h.val_loss:.5f}", file=sys.stderr)
            return
        print(f"epoch {h.epoch}/{config.epochs}  train {h.train_loss:.5f}  val {h.val_loss:.5f}  "
              f"{h.samples_per_s:,.0f} samples/s", file=sys.stderr)

    return on_epoch


def cmd_train(args: argparse.Namespace) -> dict[str, object]:
    from lstm_core.basket.data import is_basket

    if is_basket(args.data):
        return cmd_train_basket(args)
    from lstm_core.data import load_source
    from lstm_core.pipeline import Prepared
    from lstm_core.runs.bundle import save_bundle
    from lstm_core.runs.run import train_run
    from lstm_core.trainer import resolve_device

    dataset = load_source(args.data, task_options(args))
    config = config_from_args(args, dataset.settings())
    if not args.ignore_estimate:
        check_fits_here(config, len(dataset.frame))  # before anything is built: the largest settings, in a second
    device = _checked_device(args.device, resolve_device)
    if args.out is not None:
        _prepare_out(args.out)  # before training: a bad --out must not cost the training time
    prepared = Prepared(dataset.frame, config)  # refuses a window too long for the data before any output
    print(f"data: {dataset.name}, {len(dataset.frame)} rows, {prepared.n_samples('train')} training windows",
          file=sys.stderr)

    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    print(f"device: {device}", file=sys.stderr)
    run = train_run(dataset.frame, dataset.name, config, on_epoch_end=_epoch_printer(config), prepared=prepared,
                    device=str(device))
    out = args.out or Path("runs") / run.run_id
    _prepare_out(out)
    try:
        save_bundle(run, out)
    except OSError as exc:  # disk full, permissions changed while training
        raise LabError("err_out_unwritable", path=str(out)) from exc
    print(f"{run.stop_reason}; bundle saved in {out}", file=sys.stderr)
    # run.json's record, as the bundle holds it, and what the pages say of it
    return {**run.record.to_json(), "judgement": run.judgement_json(), "bundle": str(out)}


def cmd_gates(args: argparse.Namespace) -> dict[str, object]:
    from lstm_core.gates import extract_gates
    from lstm_core.runs.bundle import LOCAL_LIMITS, load_bundle

    # the user's own bundle, as big as anything this program trains; not re-scored: no scores are printed
    run = load_bundle(args.bundle, limits=LOCAL_LIMITS, rescore=False)
    window = run.prepared.window("test", args.index)
    trace = extract_gates(run.model.rnn, window.x)  # the cell's own gates: "cell" and "gates" name them
    return {"dates": [_row_label(d) for d in window.dates], "target_date": _row_label(window.target_date),
            **trace.to_json()}


def cmd_explain(args: argparse.Namespace) -> dict[str, object]:
    from lstm_core.gates.explain import explain_window
    from lstm_core.runs.bundle import LOCAL_LIMITS, load_bundle

    run = load_bundle(args.bundle, limits=LOCAL_LIMITS, rescore=False)  # nothing it prints is a score
    window = run.prepared.window("test", args.index)
    attribution = explain_window(run.model, run.prepared, "test", args.index)
    return {"dates": [_row_label(d) for d in window.dates], "target_date": _row_label(window.target_date),
            "channels": [str(f) for f in run.config.features], **attribution.to_json(),
            "units": "the model's output (its scaled target); attribution sums to prediction - baseline_prediction"}


def cmd_export(args: argparse.Namespace) -> dict[str, object]:
    from lstm_core.runs.bundle import LOCAL_LIMITS, load_bundle
    from lstm_core.runs.export import DATA, save_export

    run = load_bundle(args.bundle, limits=LOCAL_LIMITS, rescore=False)  # the script scores it itself
    _prepare_out(args.out)
    try:
        script = save_export(run, args.out)
    except OSError as exc:
        raise LabError("err_out_unwritable", path=str(args.out)) from exc
    return {"script": str(script), "data": str(args.out / DATA)}


def _row_label(row: object) -> object:
    """A row's date as ``YYYY-MM-DD``; a memory task's row number as it is."""
    return row.strftime("%Y-%m-%d") if hasattr(row, "strftime") else int(row)


def _local_run(bundle: Path):
    from lstm_core.runs.bundle import LOCAL_LIMITS, load_bundle

    run = load_bundle(bundle, limits=LOCAL_LIMITS, rescore=False)  # the user's own; what is printed is computed here
    if not run.prepared.target_kind.forecasts_ahead:
        raise LabError("err_forecast_not_for_target", target=str(run.config.target))
    return run


def cmd_forecast(args: argparse.Namespace) -> dict[str, object]:
    from lstm_core.forecast import IntervalKind, backtest, calibrate, calibrate_adaptive, forecast_ahead, parse_levels

    levels = parse_levels(args.level)  # before loading: a typo costs no time
    if args.steps is not None:
        FORECAST_BOUNDS["steps"].check("steps", args.steps)
    run = _local_run(args.bundle)
    outputs = run.outputs()
    scores = backtest(run.prepared, outputs, levels)
    # the intervals that pass their own check on the test period, as the Forecast page draws them
    kind = scores.recommended
    calibration = (calibrate_adaptive if kind is IntervalKind.ADAPTIVE else calibrate)(run.prepared, outputs, levels)
    ahead = forecast_ahead(run.prepared, run.model, calibration, args.steps)
    return {**ahead.to_json(), "interval_kind": str(kind), "coverage": scores.coverage_json(),
            "judgement": run.judgement_json()}


def cmd_backtest(args: argparse.Namespace) -> dict[str, object]:
    from lstm_core.baselines import FitOptions
    from lstm_core.forecast import backtest, check_refit_cost, parse_levels, probe_refit_cost, refit_outputs

    levels = parse_levels(args.level)
    for name in ("refit-every", "period"):
        value = getattr(args, name.replace("-", "_"))
        if value is not None:
            FORECAST_BOUNDS[name].check(name, value)
    run = _local_run(args.bundle)
    refits = 0
    if args.refit_every is not None:  # timed on this machine before the baselines: a refusal costs a second
        cost = probe_refit_cost(run.prepared, run.model)
        seconds = (cost.seconds(run.prepared, args.refit_every) if args.ignore_estimate
                   else check_refit_cost(run.prepared, args.refit_every, cost))
        refits = math.ceil(run.prepared.n_samples("test") / args.refit_every)
        print(f"refitting {refits} times: about {seconds:,.0f} s on this machine", file=sys.stderr)
    outputs = run.outputs(FitOptions(period=args.period))
    if args.refit_every is not None:
        outputs = outputs.with_model_test(refit_outputs(run.prepared, run.model, args.refit_every,
                                                        on_refit=_progress_printer("refit")))
    return {**backtest(run.prepared, outputs, levels, refits).to_json(), "judgement": run.judgement_json()}


def _progress_printer(what: str, every_s: float = 1.0):
    """A ``(done, total)`` callback that prints ``what done/total`` and the time left to stderr, at most every
    ``every_s`` seconds (and at the end)."""
    import time

    began = time.perf_counter()
    printed = -math.inf

    def show(done: int, total: int) -> None:
        nonlocal printed
        now = time.perf_counter()
        if now - printed < every_s and done < total:
            return
        printed = now
        left = (now - began) / done * (total - done)
        print(f"{what} {done}/{total}, about {left:,.0f} s left", file=sys.stderr)

    return show


def cmd_tune(args: argparse.Namespace) -> dict[str, object]:
    from lstm_core import tune
    from lstm_core.basket.data import is_basket, load_basket_spec
    from lstm_core.data import load_source

    if is_basket(args.data):  # one network per trial on the basket's series pooled, scored on their validation
        if task_options(args):
            raise LabError("err_task_options_need_task", options=", ".join(f"--{n}" for n in task_options(args)))
        dataset = load_basket_spec(args.data)
        base = config_from_args(args, dataset.settings(getattr(args, "target", None)))
        data_spec, source = args.data, dataset
    else:
        dataset = load_source(args.data, task_options(args))
        base = config_from_args(args, dataset.settings())
        data_spec = dataset.task.source if dataset.task is not None else args.data  # what each worker loads again
        source = dataset.frame
    dims = tune.default_search() if args.search is None else tune.parse_search(args.search)
    for dim in dims:
        if getattr(args, dim.name, None) is not None:
            raise LabError("err_tune_fixed_and_searched", name=dim.name)
    spec = tune.TuneSpec(study=args.study, data=data_spec, base=base, dims=tuple(dims), budget=args.trials,
                         storage=args.storage, pruner=args.pruner, timeout_s=args.timeout, workers=args.workers)
    rows = tune.data_rows(source)
    tune.training_data(source, base)  # the fixed settings must fit the data before any worker starts
    if args.ray is None and not args.ignore_estimate:  # the search's costliest corner, on this machine
        check_fits_here(tune.largest_config(base, dims), rows)
    backend = None
    if args.ray is not None:  # a cluster that cannot be reached, or has no node for the costliest trial, says so now
        from lstm_core.jobs.backends import backend_for
        from lstm_core.jobs.limits import estimate_job_mb

        backend = backend_for(args.ray)
        backend.connect()  # in its driver process: a cluster that cannot be reached is one line here
        backend.check_fits(estimate_job_mb(tune.largest_config(base, dims), rows))
        warming = backend.warm_up()  # every node imports torch first, so that no worker starts seconds after the others
        if warming is not None:
            warming.join(timeout=120)
    # an unreachable storage, a damaged journal or a study of that name started otherwise says so now, in one line
    study = tune.open_study(spec, tune.data_fingerprint(source))
    print(f"study {spec.study} in {tune.storage_text(spec.storage, spec.study)}: {len(study.trials)} trials so far; "
          f"searching {', '.join(d.name for d in dims)} with {spec.workers} worker(s)", file=sys.stderr)

    def on_trial(event: tune.TrialEvent) -> None:
        value = "" if event.value is None else f"  val {event.value:.5f}"
        print(f"trial {event.number}: {event.state.name.lower()}{value}", file=sys.stderr)

    if spec.workers == 1 and backend is None:  # this process is the worker: a kill ends the same one
        # one core per worker, as in worker processes: small trials side by side, not threads fighting for cores
        torch.set_num_threads(1)
        tune.run_trials(spec, source, on_trial=on_trial)
    else:
        # on a cluster each worker carries the data: its nodes need no copy of a CSV
        jobs = tune.run_workers(spec, on_trial, backend=backend, frame=source if backend else None, opened=True)
        errors = [job.error for job in jobs if job.error is not None]
        for err in errors:
            print(f"a worker ended: {err}", file=sys.stderr)
        if len(errors) == len(jobs):
            raise errors[0]
    return tune.summary(tune.load_study(spec.storage, spec.study))


def cmd_report(args: argparse.Namespace) -> dict[str, object]:
    from lstm_core.data import load_source
    from lstm_core.evaluate import MODEL
    from lstm_core.pipeline import Prepared
    from lstm_core.runs.report import panel

    if not 1 <= args.seeds <= MAX_REPORT_SEEDS:
        raise LabError("err_cfg_range", name="seeds", value=args.seeds, low=1, high=MAX_REPORT_SEEDS)
    specs = [part.strip() for part in args.data.split(",") if part.strip()]
    if not 1 <= len(specs) <= MAX_REPORT_SERIES:
        raise LabError("err_cfg_range", name="data", value=len(specs), low=1, high=MAX_REPORT_SERIES)
    if args.leave_one_out and not args.pooled:
        raise LabError("err_report_loo_pooled")
    if args.pooled or any(spec.startswith("basket:") for spec in specs):
        return _pooled_report(args, specs)
    config = config_from_args(args)
    datasets = [load_source(spec) for spec in specs]
    for ds in datasets:
        if ds.task is not None:
            raise LabError("err_report_task", name=ds.name, spec=ds.task.source)
    for ds in datasets:
        Prepared(ds.frame, config)  # every series must fit the settings before the first run trains
        if not args.ignore_estimate:
            check_fits_here(config, len(ds.frame))

    def on_run(name: str, seed: int, run) -> None:
        print(f"{name} seed {seed}: model RMSE {run.metrics[MODEL].rmse:.4f}, best epoch {run.record.best_epoch}, "
              f"{run.judgement().outcome}", file=sys.stderr)

    torch.set_num_threads(1)  # as the app's workers and `train` train: the same run gives the same numbers
    return panel(datasets, config, list(range(args.seeds)), on_run)


def _pooled_report(args: argparse.Namespace, specs: list[str]) -> dict[str, object]:
    from lstm_core.basket.data import load_basket
    from lstm_core.basket.run import pooled_report, prepare_basket

    basket = load_basket(specs)
    config = config_from_args(args, basket.settings(getattr(args, "target", None)))
    prepare_basket(basket, config)  # every series must fit the settings at the calendar before the first run trains
    if not args.ignore_estimate:
        check_fits_here(config, sum(len(ds.frame) for ds in basket.datasets))

    def on_run(what: str, run) -> None:
        print(f"{what}: panel {run.panel_judgement.outcome}, best epoch {run.best_epoch}, {run.seconds:.1f} s",
              file=sys.stderr)

    torch.set_num_threads(1)
    return pooled_report(basket, config, list(range(args.seeds)), args.leave_one_out, on_run)


COMMANDS = {"train": cmd_train, "report": cmd_report, "tune": cmd_tune, "gates": cmd_gates, "explain": cmd_explain,
            "export": cmd_export, "forecast": cmd_forecast, "backtest": cmd_backtest}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    tune_malloc()
    wrong = problems(plain=True)  # the server settings (docs/settings.md), all at once, before any work
    if wrong:
        print(f"error: {' '.join(str(err) for err in wrong)}", file=sys.stderr)
        return 2
    try:
        result = COMMANDS[args.command](args)
    except LabError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (MemoryError, RuntimeError) as exc:  # past --ignore-estimate (or a wrong estimate): still one line
        if isinstance(exc, RuntimeError) and "DefaultCPUAllocator" not in str(exc):
            raise
        print(f"error: {LabError('err_cli_out_of_memory')}", file=sys.stderr)
        return 2
    try:
        json.dump(_json_safe(result), sys.stdout, separators=(",", ":"))
        sys.stdout.write("\n")
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into `head`: the reader has all it wanted
        sys.stdout = None
    return 0
