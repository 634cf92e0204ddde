"""A run as one plain PyTorch script a student can read and run: ``train.py`` and the run's ``data.csv``.

The script imports numpy, pandas and torch only. Run from its folder it rebuilds the run's windows, scalers and split,
trains the same network from the same seed with the same early stopping, and prints the test RMSE as its last line,
as JSON (``{"test_rmse": ...}``); on the same machine's CPU it matches the app's to far better than 0.1 %
(``tests/test_export.py`` checks a few configurations).

The script holds only the code its run needs: one target, its own input channels, one kind of normalisation. Each
piece is written here once, as text, beside the module it mirrors (``lstm_core.pipeline``, ``lstm_core.features``,
``lstm_core.targets``, ``lstm_core.model``, ``lstm_core.trainer``); the round-trip test is what keeps the two in step.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from textwrap import dedent, indent

from lstm_core.config import Cell, Optimizer, RunConfig
from lstm_core.data.dataset import title_of
from lstm_core.features import HAR_DAYS, PRICE_LEVELS, RANGE_CHANNELS, WINDOW_LEVEL_CHANNELS, Feature, Normalization
from lstm_core.model import eval_chunk_for
from lstm_core.pipeline import CAL_SHARE, SCALER_WINDOWS
from lstm_core.runs.run import Run
from lstm_core.targets import Target

SCRIPT = "train.py"
DATA = "data.csv"

_TARGET_WORDS = {
    Target.LOGVOL: "the log of the realized volatility of the next HORIZON daily returns",
    Target.LOGRET: "the log return over the next HORIZON days, read as a price",
    Target.PRICE: "the closing price HORIZON days ahead",
    Target.ANSWER: "a memory task's answer, read at the last step of each sequence",
}
_CELLS = {Cell.LSTM: "nn.LSTM", Cell.GRU: "nn.GRU", Cell.RNN: "nn.RNN"}
_OPTIMIZERS = {
    Optimizer.ADAM: "torch.optim.Adam(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)",
    Optimizer.ADAMW: "torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)",
    Optimizer.SGD: "torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9, weight_decay=WEIGHT_DECAY)",
}
# how each input channel is computed from the price rows (prices: from the second row on, the first has no return)
_CHANNELS = {
    Feature.LOGABSRET: "np.log(np.abs(logret) + VOL_FLOOR)  # logabsret: the size of each day's move, on a log scale",
    Feature.LOGRET: "logret  # logret: each day's log return",
    Feature.LOGVOL5: "np.log(recent_mean_abs(logret, 5) + VOL_FLOOR)  # logvol5: the last 5 days' mean |return|, log",
    Feature.LOGVOL22: "np.log(recent_mean_abs(logret, 22) + VOL_FLOOR)  # logvol22: the last 22 days' mean |return|, log",
    Feature.LOGRANGE: "0.5 * np.log(parkinson_variance() + VOL_FLOOR**2)  # logrange: the log of each day's range volatility",
    Feature.LOGRANGE_LEVEL: "0.5 * np.log(parkinson_variance() + VOL_FLOOR**2)  # logrange_level: the same, at its own level",
    Feature.CLOSE: 'frame["Close"].to_numpy(dtype=np.float64)[1:]  # close',
    Feature.OPEN: 'frame["Open"].to_numpy(dtype=np.float64)[1:]  # open',
    Feature.HIGH: 'frame["High"].to_numpy(dtype=np.float64)[1:]  # high',
    Feature.LOW: 'frame["Low"].to_numpy(dtype=np.float64)[1:]  # low',
    Feature.VOLUME: 'np.log1p(np.clip(frame["Volume"].to_numpy(dtype=np.float64), 0, None))[1:]  # volume, log(1 + v)',
    Feature.VALUE: 'frame["Value"].to_numpy(dtype=np.float64)  # value',
    Feature.MARKER: 'frame["Marker"].to_numpy(dtype=np.float64)  # marker',
    Feature.RESET: 'frame["Reset"].to_numpy(dtype=np.float64)  # reset',
}


def export_script(run: Run) -> str:
    """The source of ``train.py`` for ``run``: settings as constants at the top, then the data, the split, the windows
    and scalers, the model, the training loop and the test score, in that order."""
    return script_for(run.config, title_of(run.record.dataset), f"LSTM Lab run {run.record.run_id}",
                      eval_chunk_for(run.model, run.config.window))


def script_for(config: RunConfig, title: str, what: str, eval_chunk: int) -> str:
    """The script of a run of ``config`` on data titled ``title``; ``what`` names it in the first line (a run, or a
    model as the Learn page shows it); ``eval_chunk``: windows per scoring pass, as the app's."""
    target = config.target
    task = target == Target.ANSWER
    normalized = config.normalize == Normalization.WINDOW
    needs_level = normalized and (target == Target.LOGVOL or any(f in WINDOW_LEVEL_CHANNELS for f in config.features))
    parts = [
        _header(config, title, what),
        _settings(config, eval_chunk),
        _data(config, task, needs_level),
        _split(config, task),
        _windows(config, normalized),
        _model(config),
        _training(config),
        _test(),
    ]
    return parts[0].strip("\n") + "\n\n" + "\n\n\n".join(part.strip("\n") for part in parts[1:]) + "\n"


def export_files(run: Run) -> dict[str, bytes]:
    """The export's files by name: the script and the run's data, as its bundle holds it."""
    from lstm_core.runs.bundle import data_csv

    return {SCRIPT: export_script(run).encode(), DATA: data_csv(run)}  # the data alone: no weights are serialized


def save_export(run: Run, directory: str | Path) -> Path:
    """Write the export's files into ``directory`` (created if needed); the script's path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, blob in export_files(run).items():
        (directory / name).write_bytes(blob)
    return directory / SCRIPT


def export_zip(run: Run) -> bytes:
    """The export as one zip file with a folder inside, for the Train page's download."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, blob in export_files(run).items():
            archive.writestr(f"lstm-lab-{run.record.run_id}/{name}", blob)
    return buffer.getvalue()


# ---------------------------------------------------------------- the script's parts, in order


def _docstring_safe(text: str) -> str:
    """``text`` on one line, unable to end the docstring it is written into: a dataset's name is a visitor's file name,
    and the script is one a student will run."""
    return " ".join(text.replace("\\", "\\\\").replace('"', '\\"').split())


def _header(config: RunConfig, title: str, what: str) -> str:
    title, what = _docstring_safe(title), _docstring_safe(what)
    return f'''"""{title}: {what}, as one plain PyTorch script.

Run it from this folder: python {SCRIPT}
It reads {DATA}, cuts the same windows, trains the same {config.cell.upper()} from the same seed with the same
early stopping, and prints the test RMSE as its last line, as JSON. It needs numpy, pandas and torch, nothing else.
"""

import copy
import json
import math

import numpy as np
import pandas as pd
import torch
from torch import nn'''


def _settings(config: RunConfig, chunk: int) -> str:
    features = ", ".join(f'"{f}"' for f in config.features)
    return f"""
# ---- the run's settings, as LSTM Lab's Train form had them
TARGET = "{config.target}"  # {_TARGET_WORDS[config.target]}
FEATURES = [{features}]  # the input channels of each step
WINDOW = {config.window}  # input steps per sample
HORIZON = {config.horizon}  # how far ahead the first step predicts
STEPS = {config.steps}  # outputs per sample: step k predicts HORIZON + k - 1 ahead
TRAIN_FRAC, VAL_FRAC = {config.train_frac!r}, {config.val_frac!r}  # the rest of the rows is the test period
CELL = {_CELLS[config.cell]}
HIDDEN, LAYERS, DROPOUT = {config.hidden}, {config.layers}, {config.dropout!r}
LR, BATCH, EPOCHS, PATIENCE = {config.lr!r}, {config.batch}, {config.epochs}, {config.patience}
CLIP_GRAD, WEIGHT_DECAY = {config.clip_grad!r}, {config.weight_decay!r}  # a gradient norm of 0 means no clipping
SEED = {config.seed}
VOL_FLOOR = 1e-4  # keeps the log of a zero return (and of a flat stretch) finite
CAL_SHARE = {CAL_SHARE!r}  # the later half of the validation rows calibrates the app's intervals; unused here
SCALER_WINDOWS = {SCALER_WINDOWS}  # training windows a normalised run's input scaler is fitted on, evenly spaced
EVAL_CHUNK = {chunk}  # windows per forward pass when scoring, as the app scores them
torch.set_num_threads(1)  # as the app trains: one thread gives the same numbers run after run"""


def _data(config: RunConfig, task: bool, needs_level: bool) -> str:
    lines = ["# ---- 1. the data, and the input channels of every row", 'frame = pd.read_csv("data.csv", index_col=0)']
    if task:
        lines += [
            '# a memory task: one row per step, one sequence after another; "Step" is the step inside its sequence',
            'answer = frame["Answer"].to_numpy(dtype=np.float64)',
            "n_rows = len(frame)",
        ]
    else:
        lines += [
            'close_all = frame["Close"].to_numpy(dtype=np.float64)',
            "logret = np.log(close_all[1:] / close_all[:-1])  # row r: the return into day r",
            "close = close_all[1:]  # rows start on the second day: the first has no return",
            "n_rows = len(close)",
        ]
    if RANGE_CHANNELS & set(config.features):
        lines += ["", "", dedent('''
            def parkinson_variance():
                """Each day's variance from its range, (ln H/L)^2 / (4 ln 2) (Parkinson 1980); 0 where it is no range."""
                high, low = frame["High"].to_numpy(dtype=np.float64), frame["Low"].to_numpy(dtype=np.float64)
                valid = (high > 0) & (low > 0) & (high >= low)
                ratio = np.where(valid, high / np.where(valid, low, 1.0), np.nan)
                return np.nan_to_num(np.log(ratio) ** 2 / (4 * np.log(2)), nan=0.0)[1:]
            ''').strip(), "", ""]
    if any(f in HAR_DAYS for f in config.features):
        lines += ["", "", dedent('''
            def recent_mean_abs(returns, days):
                """Each row's mean |return| over its last ``days`` rows, itself included (fewer at the start): HAR's
                weekly and monthly components (Corsi 2009). The first day, which has no return, counts as missing."""
                padded = np.concatenate([[np.nan], np.abs(returns)])
                return pd.Series(padded).rolling(days, min_periods=1).mean().to_numpy()[1:]
            ''').strip(), "", ""]
    if needs_level:
        lines += ["", "", dedent('''
            def window_level(ends):
                """The log of each window's own volatility, sqrt(pi/2) * mean |r| over its rows: what a normalised
                window's sizes of moves (and a volatility target) are read against."""
                absolute = np.concatenate([[0.0], np.cumsum(np.abs(logret))])
                vol = math.sqrt(math.pi / 2) * (absolute[ends + 1] - absolute[ends + 1 - WINDOW]) / WINDOW
                return np.log(np.sqrt(vol**2 + VOL_FLOOR**2))
            ''').strip(), "", ""]
    channels = "\n".join("    {},  # {}".format(*_CHANNELS[f].split("  # ")) for f in config.features)
    lines.append(f"features = np.stack([\n{channels}\n], axis=1)  # [rows, channels]")
    return "\n".join(lines)


def _split(config: RunConfig, task: bool) -> str:
    target = config.target
    functions = {
        Target.LOGVOL: '''
            def target_at(ends, k):
                """What step k + 1 of the samples ending at rows `ends` predicts: the log volatility (root mean square) of
                the HORIZON returns after row e + k."""
                squares = np.concatenate([[0.0], np.cumsum(logret**2)])
                first = ends + 1 + k
                return np.log(np.sqrt((squares[first + HORIZON] - squares[first]) / HORIZON + VOL_FLOOR**2))


            def readable(raw, ends):
                return 100 * np.exp(raw)  # volatility in percent a day
            ''',
        Target.LOGRET: '''
            def target_at(ends, k):
                """What step k + 1 of the samples ending at rows `ends` predicts: the log return from row e to row
                e + HORIZON + k."""
                return np.log(close[ends + HORIZON + k] / close[ends])


            def readable(raw, ends):
                return close[ends] * np.exp(raw)  # the price it implies
            ''',
        Target.PRICE: '''
            def target_at(ends, k):
                """What step k + 1 of the samples ending at rows `ends` predicts: the price at row e + HORIZON + k."""
                return close[ends + HORIZON + k]


            def readable(raw, ends):
                return raw
            ''',
        Target.ANSWER: '''
            def target_at(ends, k):
                """What the samples ending at rows `ends` predict: the answer at their sequence's last step."""
                return answer[ends]


            def readable(raw, ends):
                return raw
            ''',
    }
    if task:
        ends = ("ends = np.arange(WINDOW - 1, n_rows, WINDOW)  # every sequence's last step: a window is one whole "
                "sequence\nblock = WINDOW  # the split falls between whole sequences")
        first, last = "ends", "ends"
    else:
        ends = ("ends = np.arange(WINDOW - 1, n_rows - HORIZON - STEPS + 1)  # every row with a whole window before it\n"
                "block = 1")
        first = "ends + 1" if target == Target.LOGVOL else "ends + HORIZON"
        last = "ends + HORIZON"
    return dedent(f"""
        # ---- 2. samples and the chronological split
        # A sample *ends* at row e: it reads rows e - WINDOW + 1 .. e and predicts
        # {_TARGET_WORDS[target]}.
        {indent(dedent(functions[target]).strip(), " " * 8).lstrip()}


        {indent(ends, " " * 8).lstrip()}
        first = {first}  # the first row any of a sample's targets reads
        last = {last} + STEPS - 1  # its last
        n_train_rows = int(n_rows * TRAIN_FRAC) // block * block
        n_val_rows = int(n_rows * VAL_FRAC) // block * block
        cal_start = n_train_rows + n_val_rows - int(n_val_rows * CAL_SHARE) // block * block
        test_start = n_train_rows + n_val_rows
        # a training sample's targets lie in the training rows; any other sample lies wholly inside its own period
        train_ends = ends[last < n_train_rows]
        val_ends = ends[(first >= n_train_rows) & (last < cal_start)]  # early stopping reads these
        test_ends = ends[(first >= test_start) & (last < n_rows)]
        print(f"{{len(train_ends)}} training, {{len(val_ends)}} validation and {{len(test_ends)}} test windows")
        """)


def _windows(config: RunConfig, normalized: bool) -> str:
    fit = dedent('''
        def fit(values):
            """A standardisation's mean and std per column, fitted on training values only."""
            std = values.std(axis=0)
            return values.mean(axis=0), np.where(std > 1e-12, std, 1.0)
        ''').strip()
    if normalized:
        levels = []
        for f, feature in enumerate(config.features):
            if feature in WINDOW_LEVEL_CHANNELS:
                levels.append(f"    offset[:, {f}] = window_level(ends)  # {feature}: minus the window's own volatility")
            elif feature == Feature.VOLUME:
                levels.append(f"    volume = np.concatenate([[0.0], np.cumsum(raw[:, {f}].double().numpy())])\n"
                              f"    offset[:, {f}] = (volume[ends + 1] - volume[ends + 1 - WINDOW]) / WINDOW  "
                              f"# {feature}: minus the window's mean")
            elif feature in PRICE_LEVELS:
                levels.append(f"    divisor[:, {f}] = close[ends]  # {feature}: as a multiple of the window's last close")
        level_lines = indent("\n".join(levels) or "    pass  # these channels are read as they are", " " * 12)
        relative = {
            Target.LOGVOL: ("return raw - window_level(ends)  # log(future volatility / the window's own)",
                            "return relative + window_level(ends)"),
            Target.PRICE: ("return raw / close[ends]  # the price as a multiple of the window's last one",
                           "return relative * close[ends]"),
        }.get(config.target, ("return raw  # relative already", "return relative"))
        return fit + "\n\n\n" + dedent(f"""
            # ---- 3. the windows and the scalers: every window read relative to its own level, one scaler for all,
            # fitted on training windows only
            raw = torch.from_numpy(features.astype(np.float32))  # [rows, channels]


            def channel_levels(ends):
                \"\"\"Each window's own level per channel, as (offset, divisor): [samples, channels].\"\"\"
                offset, divisor = np.zeros((len(ends), len(FEATURES))), np.ones((len(ends), len(FEATURES)))
{level_lines}
                return offset, divisor


            def windows(ends, mean, std):
                \"\"\"The windows ending at rows `ends`, relative to their own levels, then scaled: [samples, WINDOW,
                channels], float32.\"\"\"
                offset, divisor = channel_levels(ends)
                a = 1 / (divisor * std)  # scaled = raw * a + b
                b = -(offset / divisor + mean) / std
                x = raw.unfold(0, WINDOW, 1).permute(0, 2, 1)[ends - (WINDOW - 1)]
                a, b = (torch.from_numpy(v.astype(np.float32))[:, None, :] for v in (a, b))
                return x * a + b


            def relative(raw, ends):
                {relative[0]}


            def absolute(relative, ends):
                {relative[1]}


            picked = train_ends[np.linspace(0, len(train_ends) - 1, min(len(train_ends), SCALER_WINDOWS)).astype(int)]
            unscaled = windows(picked, np.zeros(len(FEATURES)), np.ones(len(FEATURES)))
            x_mean, x_std = fit(unscaled.reshape(-1, len(FEATURES)).double().numpy())


            def targets(ends):
                \"\"\"Each sample's targets relative to its window's level: [samples, STEPS].\"\"\"
                return np.stack([relative(target_at(ends, k), ends) for k in range(STEPS)], axis=1)


            y_mean, y_std = fit(targets(train_ends))


            def tensors(ends):
                \"\"\"The network's inputs and scaled targets of the samples ending at rows `ends`.\"\"\"
                y = ((targets(ends) - y_mean) / y_std).astype(np.float32)
                return windows(ends, x_mean, x_std), torch.from_numpy(y[:, 0].copy() if STEPS == 1 else y)


            """).strip()
    return fit + "\n\n\n" + dedent("""
        # ---- 3. the windows and the scalers, fitted on the training rows only
        x_mean, x_std = fit(features[:n_train_rows])
        scaled = torch.from_numpy(((features - x_mean) / x_std).astype(np.float32))
        all_windows = scaled.unfold(0, WINDOW, 1).permute(0, 2, 1)  # window s ends at row s + WINDOW - 1


        def targets(ends):
            \"\"\"Each sample's targets: [samples, STEPS].\"\"\"
            return np.stack([target_at(ends, k) for k in range(STEPS)], axis=1)


        def absolute(relative, ends):
            return relative


        y_mean, y_std = fit(targets(train_ends))


        def tensors(ends):
            \"\"\"The network's inputs and scaled targets of the samples ending at rows `ends`.\"\"\"
            y = ((targets(ends) - y_mean) / y_std).astype(np.float32)
            return all_windows[ends - (WINDOW - 1)].contiguous(), torch.from_numpy(y[:, 0].copy() if STEPS == 1 else y)


        """).strip()


def _model(config: RunConfig) -> str:
    squeeze = "y.squeeze(-1)  # [batch]" if config.steps == 1 else "y  # [batch, STEPS]"
    return dedent(f"""
        x_train, y_train = tensors(train_ends)
        x_val, y_val = tensors(val_ends)
        x_test, _ = tensors(test_ends)


        # ---- 4. the model: the recurrent layers, then a linear head on the last step's hidden state
        class Forecaster(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = CELL(input_size=len(FEATURES), hidden_size=HIDDEN, num_layers=LAYERS, dropout=DROPOUT,
                                batch_first=True)
                self.head = nn.Linear(HIDDEN, STEPS)

            def forward(self, x):  # x: [batch, WINDOW, channels]
                out, _ = self.rnn(x)  # [batch, WINDOW, HIDDEN]
                y = self.head(out[:, -1])
                return {squeeze}


        torch.manual_seed(SEED)
        model = Forecaster()
        torch.manual_seed(SEED)  # the app builds the model from a fresh seed too, then trains from the seeded generator
        """).strip()


def _training(config: RunConfig) -> str:
    return dedent(f"""
        # ---- 5. training: shuffled batches, the validation loss after each epoch, the best weights kept
        optimizer = {_OPTIMIZERS[config.optimizer]}
        order_generator = torch.Generator().manual_seed(SEED)  # the order of the training windows, epoch by epoch
        loss_fn = nn.MSELoss()


        @torch.inference_mode()
        def predict(x):
            model.eval()
            y = torch.cat([model(x[k : k + EVAL_CHUNK]) for k in range(0, len(x), EVAL_CHUNK)])
            model.train()
            return y


        best_val = loss_fn(predict(x_val), y_val).item()  # epoch 0: the network before training
        best_val = best_val if math.isfinite(best_val) else math.inf
        best_state, best_epoch, stale = copy.deepcopy(model.state_dict()), 0, 0
        for epoch in range(1, EPOCHS + 1):
            model.train()
            order = torch.randperm(len(x_train), generator=order_generator)
            total, diverged = 0.0, False
            for start in range(0, len(x_train), BATCH):
                idx = order[start : start + BATCH]
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(x_train[idx]), y_train[idx])
                loss.backward()
                if CLIP_GRAD > 0:
                    nn.utils.clip_grad_norm_(model.parameters(), CLIP_GRAD, foreach=True)
                optimizer.step()
                if not math.isfinite(loss.item()):
                    diverged = True
                    break
                total += loss.item() * len(idx)
            if diverged:
                print(f"epoch {{epoch}}: the loss is no longer finite; training stops")
                break
            val_loss = loss_fn(predict(x_val), y_val).item()
            print(f"epoch {{epoch}}: train loss {{total / len(x_train):.4f}}, validation loss {{val_loss:.4f}}")
            if not math.isfinite(val_loss):
                break
            if val_loss < best_val:
                best_val, best_state, best_epoch, stale = val_loss, copy.deepcopy(model.state_dict()), epoch, 0
            else:
                stale += 1
            if stale >= PATIENCE:
                print(f"no better validation loss for {{PATIENCE}} epochs: stopped early")
                break
        model.load_state_dict(best_state)
        print(f"best epoch {{best_epoch}} (0: the network before training)")
        """).strip()


def _test() -> str:
    return dedent("""
        # ---- 6. the test score, in readable units (step 1 of each forecast)
        scaled = predict(x_test).double().numpy().reshape(-1, STEPS)
        predicted = readable(absolute((scaled * y_std + y_mean)[:, 0], test_ends), test_ends)
        actual = readable(target_at(test_ends, 0), test_ends)
        print(json.dumps({"test_rmse": float(np.sqrt(np.mean((predicted - actual) ** 2)))}))
        """).strip()
