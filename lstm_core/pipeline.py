"""From a frame (prices or a memory task) to model-ready windows: features, a chronological split, and scalers fitted on
the training part only."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd
import torch

from lstm_core.config import RunConfig
from lstm_core.errors import LabError
from lstm_core.features import (
    PRICE_LEVELS,
    WINDOW_LEVEL_CHANNELS,
    Feature,
    Normalization,
    daily_variance,
    feature_matrix,
)
from lstm_core.targets import Target, TargetKind, target_of


class Split(StrEnum):
    """The four periods of a series, in time order: train, validation (early stopping), calibration (conformal
    widths) and test. Members equal their strings, as run.json and the pages write them."""

    TRAIN = "train"
    VAL = "val"
    CAL = "cal"
    TEST = "test"


SPLITS = tuple(Split)
MIN_SAMPLES = {"train": 20, "val": 5, "cal": 5, "test": 5}
# the later share of the validation period calibrates the conformal intervals: early stopping never reads it
CAL_SHARE = 0.5
SCALER_WINDOWS = 4096  # evenly spaced training windows a normalised run's feature scaler is fitted on


@dataclass(frozen=True)
class Scaler:
    """Per-column standardisation ``(x - mean) / std``; fitted on training rows only."""

    mean: np.ndarray  # [F]
    std: np.ndarray  # [F]

    @classmethod
    def fit(cls, values: np.ndarray) -> Scaler:
        values = values.reshape(len(values), -1)
        std = values.std(axis=0)
        return cls(values.mean(axis=0), np.where(std > 1e-12, std, 1.0))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (values - self.mean) / self.std

    def inverse(self, values: np.ndarray) -> np.ndarray:
        return values * self.std + self.mean

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, list[float]]) -> Scaler:
        return cls(np.asarray(d["mean"], dtype=np.float64), np.asarray(d["std"], dtype=np.float64))


@dataclass(frozen=True)
class Cutoffs:
    """One calendar for every series of a basket: the first day of validation, calibration and test. A series cut at
    these dates puts no day on or after ``val`` in training, whichever series it is."""

    val: pd.Timestamp
    cal: pd.Timestamp
    test: pd.Timestamp

    def to_json(self) -> dict[str, str]:
        return {name: getattr(self, name).strftime("%Y-%m-%d") for name in ("val", "cal", "test")}


@dataclass(frozen=True)
class Window:
    """One input window and what it should predict, in the units a person reads (dates, prices, a task's answer)."""

    x: np.ndarray  # [T, F] scaled features, float32
    inputs: np.ndarray  # [T, F] the same features unscaled: what each channel held at each step
    dates: pd.Index  # [T] dates of the input rows (a task's: row numbers)
    close: np.ndarray | None  # [T] closing prices of the input rows; None for a task
    target_date: object  # the date (row) the first step predicts
    actual_close: float | None  # the price on the target date; None for a task
    actual_value: float  # what the model tries to predict, in readable units (a price, a volatility, an answer)


class Prepared:
    """Scaled features and targets of one dataset under one config, with the sample indices of each split.

    Row ``r`` here is row ``r + lead_rows`` of the original frame (prices lead by one row, whose only use is the first
    return; a task by none). A sample *ending* at row ``e`` reads rows ``e - window + 1 .. e`` and predicts row
    ``e + horizon`` (with ``steps`` S > 1, rows ``e + horizon .. e + horizon + S - 1``, one output each; a task's
    answer is read at ``e`` itself). The target says where samples end: every row of prices, the last step of each
    task sequence (so a window never crosses two sequences). The rows are cut in four periods, at whole blocks (a
    task's sequences): training, validation (early stopping), calibration (the conformal intervals; the later
    ``CAL_SHARE`` of ``val_frac``) and test. A training sample's targets all lie in the training period; any other
    sample belongs to the period its *first* target row falls in and must end inside it, so no target shares a day
    with the period before (the purge) and the scalers see training rows only.
    """

    def __init__(self, frame: pd.DataFrame, config: RunConfig, cutoffs: Cutoffs | None = None) -> None:
        """``cutoffs``: cut at these dates (a basket's one calendar) rather than at ``train_frac`` and ``val_frac``."""
        self.target_kind: TargetKind = target_of(config.target)
        kind = self.target_kind
        if kind.column not in frame.columns:
            raise LabError("err_target_data", target=str(config.target), column=kind.column)
        # returns for the target or an input, or for the window's own volatility a normalised window reads moves against
        uses_log = kind.reads_returns or any(f.reads_returns for f in config.features) or (
            config.normalize == Normalization.WINDOW and bool(WINDOW_LEVEL_CHANNELS & set(config.features)))
        if uses_log and "Close" in frame.columns and (frame["Close"].to_numpy() <= 0).any():
            raise LabError("err_logret_nonpositive", n=int((frame["Close"].to_numpy() <= 0).sum()))
        divides = kind.id == Target.PRICE or bool(PRICE_LEVELS & set(config.features))  # by each window's last price
        if config.normalize == Normalization.WINDOW and divides and "Close" in frame.columns:
            close = frame["Close"].to_numpy(dtype=np.float64)
            if (bad := int((~(close > 0)).sum())) > 0:
                raise LabError("err_window_level_nonpositive", n=bad)
        self.config = config
        lead = kind.lead_rows
        self.dates = frame.index[lead:]

        def column(name: str) -> np.ndarray | None:
            return frame[name].to_numpy(dtype=np.float64)[lead:] if name in frame.columns else None

        self.close = column("Close")  # [N] prices; None for a task
        self.logret = None  # [N], row r against row r - 1
        self.daily_var = None  # [N], each day's variance: its range (Parkinson) where there are High and Low, else r^2
        if uses_log and self.close is not None:
            close_all = frame["Close"].to_numpy(dtype=np.float64)
            self.logret = np.log(close_all[1:] / close_all[:-1])
            self.daily_var = daily_variance(frame, self.logret)
        self.answer = column("Answer")  # [N] a task's answer after each step; None for prices
        self.position = column("Step")  # [N] a task's step inside its sequence; None for prices
        n_rows = len(self.dates)
        window, horizon, steps = config.window, config.horizon, config.steps
        self.steps = steps

        block = kind.split_block(self, window)  # a split boundary falls between whole blocks (a task's sequences)
        n_train_rows = int(n_rows * config.train_frac) // block * block
        n_val_rows = int(n_rows * config.val_frac) // block * block
        ends = kind.sample_ends(self, n_rows, window, horizon, steps)  # every sample's last input row
        first = kind.first_target_row(ends, horizon)  # the first row any of its targets reads
        last = kind.target_rows(ends, horizon) + steps - 1  # each sample's last target row
        cal_start = n_train_rows + n_val_rows - int(n_val_rows * CAL_SHARE) // block * block
        if cutoffs is not None:  # the first row on or after each date
            n_train_rows, cal_start, test_start = (int(self.dates.searchsorted(d)) for d in
                                                   (cutoffs.val, cutoffs.cal, cutoffs.test))
            n_val_rows = test_start - n_train_rows
        self.cutoffs = cutoffs
        starts = {"val": n_train_rows, "cal": cal_start, "test": n_train_rows + n_val_rows, "end": n_rows}
        self.split_ends = {"train": ends[last < n_train_rows]}
        for split, following in (("val", "cal"), ("cal", "test"), ("test", "end")):
            self.split_ends[split] = ends[(first >= starts[split]) & (last < starts[following])]
        for split in SPLITS:
            if len(self.split_ends[split]) < MIN_SAMPLES[split]:
                raise LabError(
                    "err_split_too_small", split=split, n=len(self.split_ends[split]), minimum=MIN_SAMPLES[split],
                    window=window, horizon=horizon, rows=n_rows,
                )
        self.train_rows = n_train_rows  # rows [0, train_rows) are the only ones the scalers see

        self.normalized = config.normalize == Normalization.WINDOW
        raw_features = feature_matrix(frame, config.features, lead)  # [N, F]
        if self.normalized:  # every window is read relative to its own level, then one scaler for all
            self._raw = torch.from_numpy(raw_features.astype(np.float32))
            train_ends = self.split_ends["train"]
            picked = train_ends[np.linspace(0, len(train_ends) - 1, min(len(train_ends), SCALER_WINDOWS)).astype(int)]
            identity = Scaler(np.zeros(raw_features.shape[1]), np.ones(raw_features.shape[1]))
            relative = self._normalized_windows(picked, identity)  # [S, T, F]
            self.feature_scaler = Scaler.fit(relative.reshape(-1, raw_features.shape[1]).double().numpy())
        else:
            self.feature_scaler = Scaler.fit(raw_features[:n_train_rows])
            scaled_features = self.feature_scaler.transform(raw_features).astype(np.float32)  # [N, F]
            # every window as a view: sample s ends at row s + window - 1
            self._windows = torch.from_numpy(scaled_features).unfold(0, window, 1).permute(0, 2, 1)  # [N-T+1, T, F]

        raw_target = np.full((n_rows, steps), np.nan)
        raw_target[ends] = self._relative(self.raw_targets_at(ends), ends)  # [S, steps]
        self.target_scaler = Scaler.fit(raw_target[self.split_ends["train"]])  # one mean and std per step
        scaled = self.target_scaler.transform(raw_target).astype(np.float32)  # [N, steps]
        self.target = scaled[:, 0] if steps == 1 else scaled  # [N] for one step, as the trainer's loss expects

    def _relative(self, raw: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Own-unit targets ``[S, steps]`` as the network learns them: relative to each window's level if normalised."""
        if not self.normalized:
            return raw
        window = self.config.window
        return np.stack([self.target_kind.relative(raw[:, k], self, ends, window) for k in range(raw.shape[1])], axis=1)

    def _channel_levels(self, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each window's own level per input channel, as (offset, divisor) ``[S, F]``: the size of a day's move (and
        HAR's 5- and 22-day means of it) minus the log of the window's mean-|r| volatility, prices as multiples of the last one, volume minus its window
        mean; log returns and a task's channels stay as they are."""
        window = self.config.window
        offset, divisor = np.zeros((len(ends), self.config.n_features)), np.ones((len(ends), self.config.n_features))
        for f, feature in enumerate(self.config.features):
            if feature in WINDOW_LEVEL_CHANNELS:  # log sizes of moves: read against the window's own volatility
                from lstm_core.targets.volatility import window_log_level

                offset[:, f] = window_log_level(self.logret, ends, window)
            elif feature == Feature.VOLUME:
                column = np.concatenate([[0.0], np.cumsum(self._raw[:, f].double().numpy())])
                offset[:, f] = (column[ends + 1] - column[ends + 1 - window]) / window
            elif feature in PRICE_LEVELS:
                divisor[:, f] = self.close[ends]
        return offset, divisor

    def _normalized_windows(self, ends: np.ndarray, scaler: Scaler) -> torch.Tensor:
        """Windows ending at ``ends`` relative to their own levels, then scaled: ``[S, T, F]`` float32 (one copy)."""
        offset, divisor = self._channel_levels(ends)
        a = 1 / (divisor * scaler.std)  # [S, F]: scaled = raw * a + b
        b = -(offset / divisor + scaler.mean) / scaler.std
        rows = ends - (self.config.window - 1)
        raw = self._raw.unfold(0, self.config.window, 1).permute(0, 2, 1)[rows]  # [S, T, F]
        return raw * torch.from_numpy(a.astype(np.float32))[:, None, :] + torch.from_numpy(b.astype(np.float32))[:, None, :]

    def raw_targets_at(self, ends: np.ndarray) -> np.ndarray:
        """Unscaled targets of every step for samples ending at ``ends``: ``[S, steps]``."""
        return np.stack([self.target_kind.raw_target(self, ends, self.config.horizon, k) for k in range(self.steps)],
                        axis=1)

    def raw_targets(self, split: str) -> np.ndarray:
        """Unscaled targets of every step for each sample of a split: ``[S, steps]``."""
        return self.raw_targets_at(self.split_ends[split])

    def unscale(self, y_scaled: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Model outputs ``[S]`` or ``[S, steps]`` of samples ending at ``ends`` back in the target's own units (log
        returns, prices, log vol; a normalised run's mapped back from each window's level): ``[S, steps]``."""
        relative = self.target_scaler.inverse(np.asarray(y_scaled, dtype=np.float64).reshape(-1, self.steps))
        if not self.normalized:
            return relative
        window = self.config.window
        return np.stack([self.target_kind.absolute(relative[:, k], self, ends, window) for k in range(self.steps)],
                        axis=1)

    def readable_at(self, raw: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Unscaled values ``[S, steps]`` of samples ending at ``ends`` in readable units (readable() is increasing)."""
        raw = np.asarray(raw, dtype=np.float64)
        return np.stack([self.target_kind.readable(raw[:, k], self, ends) for k in range(raw.shape[1])], axis=1)

    def tensors(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """All samples of a split: ``x [S, T, F]`` and scaled targets ``y [S]`` (``[S, steps]``), float32, contiguous."""
        return self.tensors_at(self.split_ends[split])

    def tensors_at(self, ends: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """The samples ending at rows ``ends`` (any split's): ``x [S, T, F]`` and scaled targets."""
        return self.inputs_at(ends), torch.from_numpy(self.target[ends].copy())  # [S, T, F], [S]

    def inputs_at(self, ends: np.ndarray) -> torch.Tensor:
        """The network's inputs of the windows ending at rows ``ends`` (any row, the last included): ``[S, T, F]``."""
        ends = np.asarray(ends)
        if self.normalized:
            return self._normalized_windows(ends, self.feature_scaler)
        return self._windows[ends - (self.config.window - 1)].contiguous()

    def n_samples(self, split: str) -> int:
        return len(self.split_ends[split])

    def to_readable(self, split: str, y_scaled: np.ndarray, index: np.ndarray | slice | None = None) -> np.ndarray:
        """Scaled model outputs turned into readable predictions (prices, or volatility in % a day).

        ``y_scaled`` holds one output per sample of ``split``, or per sample ``index`` picks (e.g. ``[k]``). A
        multi-step output ``[S, steps]`` is read at its first step: single-step scores and charts show step 1.
        """
        y = np.asarray(y_scaled, dtype=np.float64).reshape(-1, self.steps)
        ends = self.split_ends[split] if index is None else np.atleast_1d(self.split_ends[split][index])
        if len(ends) != len(y):
            raise ValueError(f"{len(y)} outputs for {len(ends)} samples of '{split}'")
        return self.target_kind.readable(self.unscale(y, ends)[:, 0], self, ends)

    def window(self, split: str, k: int) -> Window:
        """The ``k``-th sample of a split (negative counts from the end) in readable units."""
        ends = self.split_ends[split]
        if not -len(ends) <= k < len(ends):
            raise LabError("err_window_index", k=k, n=len(ends), split=split)
        end = int(ends[k])
        rows = slice(end - self.config.window + 1, end + 1)
        target_row = int(self.target_kind.target_rows(np.array([end]), self.config.horizon)[0])
        x = self.inputs_at(np.array([end]))[0].numpy()  # [T, F] what the network reads
        return Window(
            x=x,
            inputs=self.feature_scaler.inverse(x.astype(np.float64)),
            dates=self.dates[rows],
            close=None if self.close is None else self.close[rows].copy(),
            target_date=self.dates[target_row],
            actual_close=None if self.close is None else float(self.close[target_row]),
            actual_value=float(self.actual_values(split)[k]),
        )

    def sample_positions(self, split: str) -> pd.Index:
        """Where each sample of a split sits on a chart's x axis: the date it predicts, or a task's sequence number."""
        return self.target_kind.sample_positions(self.dates, self, self.split_ends[split], self.config.horizon)

    def window_ends(self, split: str) -> pd.Index:
        """Where each sample's input window ends: its last date (a task's: its sequence number, as ``sample_positions``)."""
        return self.target_kind.sample_positions(self.dates, self, self.split_ends[split], 0)

    def target_dates(self, split: str) -> pd.Index:
        """The date (a task's: row) each sample of a split predicts, first step: ``[S]``."""
        return self.dates[self.target_kind.target_rows(self.split_ends[split], self.config.horizon)]

    def actual_values(self, split: str) -> np.ndarray:
        """What each sample of a split should predict, in readable units: ``[S]``."""
        ends = self.split_ends[split]
        return self.target_kind.readable(self.target_kind.raw_target(self, ends, self.config.horizon), self, ends)

    def last_values(self, split: str) -> np.ndarray:
        """What was known at each sample's end (what persistence predicts), in readable units: ``[S]``."""
        ends = self.split_ends[split]
        return self.target_kind.readable(self.target_kind.persistence(self, ends, self.config.horizon), self, ends)
