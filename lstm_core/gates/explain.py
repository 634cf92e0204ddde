"""Which days drove a forecast: integrated gradients (Sundararajan, Taly and Yan 2017) over one input window.

The attribution of input ``x`` against a reference input ``x0`` is ``(x - x0) * mean over a of grad f(x0 + a (x - x0))``,
per step and per channel, in the units of the model's output. It is *complete*: the attributions add up to
``f(x) - f(x0)``, which ``Attribution.gap`` checks (the integral is a midpoint sum, refined until the gap is small).

The reference says "nothing happened": the window held flat at its own level. After per-window normalisation every
channel's level is zero, so the reference is the scaled zero of each channel; a memory task's is no value and no
marker (its channels' zero); an unnormalised price window's is its last step held over the whole window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lstm_core.pipeline import Prepared

FIRST_STEPS = 64  # midpoints of the path from the reference to the input, doubled until complete
MAX_STEPS = 1024
PATH_CHUNK = 64  # points of the path per forward and backward pass
COMPLETE_WITHIN = 0.02  # the sum of attributions is f(x) - f(x0) within 2 % of it


@dataclass(frozen=True)
class Attribution:
    """One window's attribution ``[T, F]`` and the two forecasts it lies between (the model's output units)."""

    attribution: np.ndarray  # [T, F]
    prediction: float  # f(x), first step
    baseline_prediction: float  # f(x0): the forecast for a window where nothing happened
    path_steps: int  # midpoints the integral was summed over

    @property
    def gap(self) -> float:
        """How far the attributions' sum is from ``prediction - baseline_prediction``, as a share of it."""
        change = self.prediction - self.baseline_prediction
        return abs(float(self.attribution.sum()) - change) / max(abs(change), 1e-12)

    def by_step(self) -> np.ndarray:
        """Each step's attribution over its channels: ``[T]``."""
        return self.attribution.sum(axis=1)

    def share_on(self, steps: np.ndarray) -> float:
        """The share of the attribution's mass (its absolute values) that lies on ``steps`` (a boolean ``[T]``)."""
        mass = np.abs(self.attribution).sum(axis=1)
        return float(mass[steps].sum() / max(mass.sum(), 1e-300))

    def to_json(self) -> dict[str, object]:
        return {"attribution": self.attribution.tolist(), "prediction": self.prediction,
                "baseline_prediction": self.baseline_prediction, "completeness_gap": self.gap,
                "path_steps": self.path_steps}


def reference_window(prepared: Prepared, x: np.ndarray) -> np.ndarray:
    """The window ``x [T, F]`` (scaled, as the model reads it) where nothing happened: see the module's docstring."""
    scaler = prepared.feature_scaler
    zero = (-scaler.mean / scaler.std).astype(np.float32)  # each channel's zero, scaled
    if prepared.normalized or prepared.answer is not None:
        return np.broadcast_to(zero, x.shape).copy()
    return np.broadcast_to(x[-1], x.shape).copy()  # prices read as they are: the last day held flat


def _forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = model(x)
    return out if out.ndim == 1 else out[:, 0]  # the first step of a multi-step forecast


def integrated_gradients(model: nn.Module, x: np.ndarray, reference: np.ndarray) -> Attribution:
    """The attribution of ``model``'s forecast for ``x [T, F]`` against ``reference [T, F]`` (on the CPU)."""
    model = model.to("cpu").eval()
    inputs = torch.as_tensor(np.asarray(x, dtype=np.float32))
    base = torch.as_tensor(np.asarray(reference, dtype=np.float32))
    with torch.no_grad():
        prediction = float(_forward(model, inputs[None])[0])
        baseline_prediction = float(_forward(model, base[None])[0])
    steps = FIRST_STEPS
    while True:
        alphas = (torch.arange(steps, dtype=torch.float32) + 0.5) / steps  # midpoints of [0, 1]
        total = torch.zeros_like(inputs)
        for chunk in alphas.split(PATH_CHUNK):  # a chunk's activations are kept for its backward pass: bounded
            path = (base + chunk[:, None, None] * (inputs - base)).requires_grad_(True)  # [chunk, T, F]
            with torch.enable_grad():
                total += torch.autograd.grad(_forward(model, path).sum(), path)[0].sum(dim=0)
        attribution = ((inputs - base) * total / steps).numpy().astype(np.float64)
        result = Attribution(attribution, prediction, baseline_prediction, steps)
        if result.gap <= COMPLETE_WITHIN or steps >= MAX_STEPS:
            return result
        steps *= 2


def explain_window(model: nn.Module, prepared: Prepared, split: str, k: int) -> Attribution:
    """The attribution of the forecast of window ``k`` of ``split`` (negative counts from the end)."""
    x = prepared.window(split, k).x
    return integrated_gradients(model, x, reference_window(prepared, x))


def explain_last(model: nn.Module, prepared: Prepared) -> tuple[Attribution, object]:
    """The attribution of the forecast past the data's last day (the window ending on it), and that window's dates."""
    end = len(prepared.dates) - 1
    x = prepared.inputs_at(np.array([end]))[0].numpy()
    return integrated_gradients(model, x, reference_window(prepared, x)), prepared.dates[end - len(x) + 1 : end + 1]
