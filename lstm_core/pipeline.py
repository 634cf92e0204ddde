"""From a frame (prices or a memory task) to model-ready windows: features, a chronological split, and scalers fitted on
the training part only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from lstm_core.config import RunConfig
from lstm_core.errors import LabError
from lstm_core.features import feature_matrix
from lstm_core.targets import TargetKind, target_of

SPLITS = ("train", "val", "test")
MIN_SAMPLES = {"train": 20, "val": 5, "test": 5}


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
    answer is read at ``e`` itself); it belongs to the split its last target row falls in, so no sample's target is
    ever seen by an earlier split, and the scalers see training rows only. The target says where samples end: every
    row of prices, the last step of each task sequence (so a window never crosses two sequences).
    """

    def __init__(self, frame: pd.DataFrame, config: RunConfig) -> None:
        self.target_kind: TargetKind = target_of(config.target)
        kind = self.target_kind
        if kind.column not in frame.columns:
            raise LabError("err_target_data", target=str(config.target), column=kind.column)
        uses_log = kind.reads_returns or any(f.reads_returns for f in config.features)
        if uses_log and "Close" in frame.columns and (frame["Close"].to_numpy() <= 0).any():
            raise LabError("err_logret_nonpositive", n=int((frame["Close"].to_numpy() <= 0).sum()))
        self.config = config
        lead = kind.lead_rows
        self.dates = frame.index[lead:]

        def column(name: str) -> np.ndarray | None:
            return frame[name].to_numpy(dtype=np.float64)[lead:] if name in frame.columns else None

        self.close = column("Close")  # [N] prices; None for a task
        self.logret = None  # [N], row r against row r - 1
        if uses_log and self.close is not None:
            close_all = frame["Close"].to_numpy(dtype=np.float64)
            self.logret = np.log(close_all[1:] / close_all[:-1])
        self.answer = column("Answer")  # [N] a task's answer after each step; None for prices
        self.position = column("Step")  # [N] a task's step inside its sequence; None for prices
        n_rows = len(self.dates)
        window, horizon, steps = config.window, config.horizon, config.steps
        self.steps = steps

        block = kind.split_block(self, window)  # a split boundary falls between whole blocks (a task's sequences)
        n_train_rows = int(n_rows * config.train_frac) // block * block
        n_val_rows = int(n_rows * config.val_frac) // block * block
        ends = kind.sample_ends(self, n_rows, window, horizon, steps)  # every sample's last input row
        targets = kind.target_rows(ends, horizon) + steps - 1  # each sample's last target row
        self.split_ends = {
            "train": ends[targets < n_train_rows],
            "val": ends[(targets >= n_train_rows) & (targets < n_train_rows + n_val_rows)],
            "test": ends[targets >= n_train_rows + n_val_rows],
        }
        for split in SPLITS:
            if len(self.split_ends[split]) < MIN_SAMPLES[split]:
                raise LabError(
                    "err_split_too_small", split=split, n=len(self.split_ends[split]), minimum=MIN_SAMPLES[split],
                    window=window, horizon=horizon, rows=n_rows,
                )
        self.train_rows = n_train_rows  # rows [0, train_rows) are the only ones the scalers see

        raw_features = feature_matrix(frame, config.features, lead)  # [N, F]
        self.feature_scaler = Scaler.fit(raw_features[:n_train_rows])
        self.features = self.feature_scaler.transform(raw_features).astype(np.float32)  # [N, F]

        raw_target = np.full((n_rows, steps), np.nan)
        raw_target[ends] = self.raw_targets_at(ends)  # [S, steps]
        self.target_scaler = Scaler.fit(raw_target[self.split_ends["train"]])  # one mean and std per step
        scaled = self.target_scaler.transform(raw_target).astype(np.float32)  # [N, steps]
        self.target = scaled[:, 0] if steps == 1 else scaled  # [N] for one step, as the trainer's loss expects
        # every window as a view: sample s ends at row s + window - 1
        self._windows = torch.from_numpy(self.features).unfold(0, window, 1).permute(0, 2, 1)  # [N-T+1, T, F]

    def raw_targets_at(self, ends: np.ndarray) -> np.ndarray:
        """Unscaled targets of every step for samples ending at ``ends``: ``[S, steps]``."""
        return np.stack([self.target_kind.raw_target(self, ends, self.config.horizon, k) for k in range(self.steps)],
                        axis=1)

    def raw_targets(self, split: str) -> np.ndarray:
        """Unscaled targets of every step for each sample of a split: ``[S, steps]``."""
        return self.raw_targets_at(self.split_ends[split])

    def unscale(self, y_scaled: np.ndarray) -> np.ndarray:
        """Model outputs ``[S]`` or ``[S, steps]`` back in the target's own units (log returns, prices, log vol): ``[S, steps]``."""
        y = np.asarray(y_scaled, dtype=np.float64).reshape(-1, self.steps)
        return self.target_scaler.inverse(y)

    def readable_at(self, raw: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Unscaled values ``[S, steps]`` of samples ending at ``ends`` in readable units (readable() is increasing)."""
        raw = np.asarray(raw, dtype=np.float64)
        return np.stack([self.target_kind.readable(raw[:, k], self, ends) for k in range(raw.shape[1])], axis=1)

    def tensors(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """All samples of a split: ``x [S, T, F]`` and scaled targets ``y [S]`` (``[S, steps]``), float32, contiguous."""
        return self.tensors_at(self.split_ends[split])

    def tensors_at(self, ends: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """The samples ending at rows ``ends`` (any split's): ``x [S, T, F]`` and scaled targets."""
        x = self._windows[ends - (self.config.window - 1)].contiguous()  # [S, T, F]
        y = torch.from_numpy(self.target[ends].copy())  # [S]
        return x, y

    def n_samples(self, split: str) -> int:
        return len(self.split_ends[split])

    def to_readable(self, split: str, y_scaled: np.ndarray, index: np.ndarray | slice | None = None) -> np.ndarray:
        """Scaled model outputs turned into readable predictions (prices, or volatility in % a day).

        ``y_scaled`` holds one output per sample of ``split``, or per sample ``index`` picks (e.g. ``[k]``). A
        multi-step output ``[S, steps]`` is read at its first step: single-step scores and charts show step 1.
        """
        y = np.asarray(y_scaled, dtype=np.float64)
        y = y.reshape(-1, self.steps)[:, 0] if self.steps > 1 else y.reshape(-1)
        raw = y * self.target_scaler.std[0] + self.target_scaler.mean[0]
        ends = self.split_ends[split] if index is None else np.atleast_1d(self.split_ends[split][index])
        if len(ends) != len(raw):
            raise ValueError(f"{len(raw)} outputs for {len(ends)} samples of '{split}'")
        return self.target_kind.readable(raw, self, ends)

    def window(self, split: str, k: int) -> Window:
        """The ``k``-th sample of a split (negative counts from the end) in readable units."""
        ends = self.split_ends[split]
        if not -len(ends) <= k < len(ends):
            raise LabError("err_window_index", k=k, n=len(ends), split=split)
        end = int(ends[k])
        rows = slice(end - self.config.window + 1, end + 1)
        target_row = int(self.target_kind.target_rows(np.array([end]), self.config.horizon)[0])
        x = self.features[rows].copy()
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
