"""Gate extraction: every layer's gates and states at every timestep (an LSTM's i, f, g, o, c and h; a GRU's r, z, n and
h; a plain RNN's h), plus saturation, unit order and downsampling."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import torch
from torch import nn

from lstm_core.config import Cell
from lstm_core.errors import LabError

GATES = ("i", "f", "g", "o")  # PyTorch's row order inside weight_ih_l{k} / weight_hh_l{k} / biases
STATES = ("c", "h")
ARRAYS = GATES + STATES  # an LSTM's
SIGMOID_GATES = ("i", "f", "o")
# what each cell computes at every step, in the order the heatmap's rows show them: a GRU's reset gate r, update gate
# z and candidate n (PyTorch's order in its weights, r, z, n), then h; a plain RNN has its hidden state alone
CELL_ARRAYS = {Cell.LSTM: ARRAYS, Cell.GRU: ("r", "z", "n", "h"), Cell.RNN: ("h",)}
CELL_SIGMOIDS = {Cell.LSTM: SIGMOID_GATES, Cell.GRU: ("r", "z"), Cell.RNN: ()}  # the gates that lie in (0, 1)

MAX_FRAMES = 250  # animation frames the browser still plays smoothly
MAX_CELLS = 500_000  # numbers in one figure (frames x rows x units) before units are thinned out

InitialState = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class GateTrace:
    """What a recurrent layer computed on one window (or a batch of windows), layer by layer.

    ``layers[k][name]`` for ``name`` in ``arrays`` (the cell's: ``CELL_ARRAYS``) is a float32 array shaped ``[T, H]``,
    or ``[B, T, H]`` when the input was a batch (``batched``). Row ``t`` holds the values
    after reading input step ``t``, so ``c[t]`` and ``h[t]`` are the states that step produced.
    """

    layers: tuple[dict[str, np.ndarray], ...]
    batched: bool
    cell: Cell = Cell.LSTM

    @property
    def arrays(self) -> tuple[str, ...]:
        """The names of what this cell computes at each step, in the heatmap's order."""
        return CELL_ARRAYS[self.cell]

    @property
    def sigmoid_gates(self) -> tuple[str, ...]:
        """This cell's gates whose values lie in (0, 1): the ones that open and shut."""
        return CELL_SIGMOIDS[self.cell]

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def steps(self) -> int:
        return int(self.layers[0]["h"].shape[-2])

    @property
    def hidden(self) -> int:
        return int(self.layers[0]["h"].shape[-1])

    @property
    def batch(self) -> int:
        return int(self.layers[0]["h"].shape[0]) if self.batched else 1

    def layer(self, index: int) -> dict[str, np.ndarray]:
        """The arrays of layer ``index`` (0 = the layer that reads the prices)."""
        if not 0 <= index < self.n_layers:
            raise ValueError(f"layer {index} does not exist: this model has {self.n_layers} layer(s)")
        return self.layers[index]

    def sample(self, index: int) -> GateTrace:
        """The unbatched trace of one window of a batch (a batch of one for an unbatched trace is itself)."""
        if not self.batched:
            if index != 0:
                raise ValueError("an unbatched trace holds one window only: sample index must be 0")
            return self
        return GateTrace(tuple({k: v[index] for k, v in layer.items()} for layer in self.layers), batched=False,
                         cell=self.cell)

    def final_state(self) -> tuple[np.ndarray, np.ndarray]:
        """An LSTM's ``(h_n, c_n)`` stacked over layers like nn.LSTM returns them: ``[L, H]`` or ``[L, B, H]``."""
        h_n = np.stack([layer["h"][..., -1, :] for layer in self.layers])
        c_n = np.stack([layer["c"][..., -1, :] for layer in self.layers])
        return h_n, c_n

    def to_json(self, digits: int = 5) -> dict[str, Any]:
        """JSON-ready ``{"cell": "lstm", "gates": ["i", ...], "layers": [{"i": [[...]], ..., "h": ...}, ...]}``, arrays
        ``[steps][units]`` (``[batch][steps][units]`` for a batch), rounded to ``digits`` significant digits."""
        return {"cell": str(self.cell), "gates": list(self.arrays),
                "layers": [{name: _round_significant(layer[name], digits).tolist() for name in self.arrays}
                           for layer in self.layers]}


@dataclass(frozen=True)
class Saturation:
    """Per unit, the share of steps a gate spends nearly shut (< ``low``) and nearly open (> ``high``)."""

    left: dict[str, np.ndarray]  # gate -> [H] fraction of steps with value < low
    right: dict[str, np.ndarray]  # gate -> [H] fraction of steps with value > high
    low: float
    high: float
    steps: int  # steps counted per unit (T, or B * T for a batch)


@dataclass(frozen=True)
class Downsampling:
    """Which steps and units a figure keeps so it stays light enough for the browser."""

    steps: int  # steps in the trace
    units: int  # units in the layer
    step_index: np.ndarray  # [frames] kept steps, ascending, always ending with the last step
    unit_index: np.ndarray  # [shown_units] kept units, in the order they are drawn
    step_stride: int
    requested_units: int | None = None  # units asked for (max_units), None for all of them

    @property
    def frames(self) -> int:
        return len(self.step_index)

    @property
    def shown_units(self) -> int:
        return len(self.unit_index)

    @property
    def steps_reduced(self) -> bool:
        return self.frames < self.steps

    @property
    def units_reduced(self) -> bool:
        return self.shown_units < self.units

    @property
    def units_thinned(self) -> bool:
        """Fewer units than asked for, to keep the figure light."""
        return self.shown_units < min(self.units, self.requested_units or self.units)

    @property
    def reduced(self) -> bool:
        return self.steps_reduced or self.units_reduced


def as_rnn(model: nn.Module) -> nn.RNNBase:
    """The recurrent layer inside ``model`` (an nn.LSTM, nn.GRU or nn.RNN itself, or a Forecaster with ``.rnn``)."""
    rnn = model if isinstance(model, nn.RNNBase) else getattr(model, "rnn", None)
    if not isinstance(rnn, (nn.LSTM, nn.GRU, nn.RNN)):
        raise LabError("err_gates_not_lstm", kind=type(rnn if isinstance(rnn, nn.Module) else model).__name__)
    if rnn.bidirectional or getattr(rnn, "proj_size", 0):
        raise ValueError("gate extraction supports one-directional layers without proj_size")
    if not rnn.batch_first:
        raise ValueError("gate extraction expects batch_first=True, as the Forecaster builds it")
    return rnn


def cell_of(rnn: nn.RNNBase) -> Cell:
    """Which cell ``rnn`` is made of."""
    return Cell.LSTM if isinstance(rnn, nn.LSTM) else Cell.GRU if isinstance(rnn, nn.GRU) else Cell.RNN


def as_lstm(model: nn.Module) -> nn.LSTM:
    """The nn.LSTM inside ``model`` (an nn.LSTM itself, or a Forecaster-like module with ``.rnn``)."""
    rnn = model if isinstance(model, nn.LSTM) else getattr(model, "rnn", None)
    if not isinstance(rnn, nn.LSTM):
        kind = type(rnn if isinstance(rnn, nn.Module) else model).__name__
        raise LabError("err_gates_not_lstm", kind=kind)
    if rnn.bidirectional or rnn.proj_size:
        raise ValueError("gate extraction supports one-directional nn.LSTM without proj_size")
    if not rnn.batch_first:
        raise ValueError("gate extraction expects nn.LSTM(batch_first=True), as the Forecaster builds it")
    return rnn


def extract_gates(
    model: nn.Module,
    x: torch.Tensor | np.ndarray,
    initial_state: InitialState | None = None,
) -> GateTrace:
    """All gates and states of every layer for the window ``x`` ``[T, F]`` (or batch ``[B, T, F]``), whichever cell
    the model is made of (a GRU's and a plain RNN's: ``extract_gru_gates``, ``extract_rnn_states``).

    Fast path: torch's own LSTM kernel gives each layer's hidden sequence, then the four gates
    of all steps come from one matmul on ``(x_t, h_{t-1})`` and ``c`` from a parallel scan.
    ``initial_state`` is ``(h_0, c_0)`` shaped like nn.LSTM's (``[L, H]`` or ``[L, B, H]``);
    zeros when omitted. Dropout between layers is not applied (the model is read as in eval mode).
    """
    rnn = as_rnn(model)
    if not isinstance(rnn, nn.LSTM):
        if initial_state is not None:
            raise ValueError("an initial state is taken for an LSTM only")
        return extract_gru_gates(rnn, x) if isinstance(rnn, nn.GRU) else extract_rnn_states(rnn, x)
    lstm = rnn
    xb, batched = _as_batch(x, lstm)  # [B, T, F]
    h0, c0 = _initial_state(initial_state, lstm, xb.shape[0], batched)  # [L, B, H] each
    hidden = lstm.hidden_size
    layers = []
    with torch.inference_mode():
        layer_input = xb  # [B, T, F] for layer 0, [B, T, H] above
        for k in range(lstm.num_layers):
            params = _layer_params(lstm, k)
            h_seq, _, _ = torch.lstm(
                layer_input, (h0[k : k + 1], c0[k : k + 1]), params, lstm.bias, 1, 0.0, False, False, True
            )  # [B, T, H]
            h_prev = torch.cat([h0[k].unsqueeze(1), h_seq[:, :-1]], dim=1)  # [B, T, H]: h_{t-1}, h_0 first
            stacked_in = torch.cat([layer_input, h_prev], dim=-1)  # [B, T, F + H]
            weight = torch.cat([params[0], params[1]], dim=1)  # [4H, F + H]
            pre = stacked_in @ weight.T  # [B, T, 4H], gate blocks in order i, f, g, o
            if lstm.bias:
                pre = pre + (params[2] + params[3])
            act = torch.sigmoid(pre)
            g = torch.tanh(pre[..., 2 * hidden : 3 * hidden])  # [B, T, H]
            i, f, o = act[..., :hidden], act[..., hidden : 2 * hidden], act[..., 3 * hidden :]
            c = _cell_scan(f, i * g, c0[k])  # [B, T, H]
            arrays = {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h_seq}
            layers.append({name: _to_numpy(arrays[name], batched) for name in ARRAYS})
            layer_input = h_seq
    return GateTrace(tuple(layers), batched)


def extract_gru_gates(gru: nn.GRU, x: torch.Tensor | np.ndarray) -> GateTrace:
    """A GRU's reset gate r, update gate z, candidate n and hidden state h at every step of every layer.

    PyTorch's GRU: ``r = σ(W_ir x + b_ir + W_hr h' + b_hr)``, ``z`` likewise, ``n = tanh(W_in x + b_in + r ⊙ (W_hn h'
    + b_hn))`` and ``h = (1 - z) ⊙ n + z ⊙ h'``, where h' is the previous state: z near 1 keeps the state, near 0
    writes the candidate over it. torch's own kernel gives each layer's hidden sequence; the gates of all steps then
    come from two matmuls on it.
    """
    xb, batched = _as_batch(x, gru)
    hidden = gru.hidden_size
    layers = []
    with torch.inference_mode():
        layer_input = xb  # [B, T, F]
        for k in range(gru.num_layers):
            params = _layer_params(gru, k)
            h_seq, _ = torch.gru(layer_input, torch.zeros(1, xb.shape[0], hidden, dtype=xb.dtype, device=xb.device),
                                 params, gru.bias, 1, 0.0, False, False, True)  # [B, T, H]
            h_prev = torch.cat([torch.zeros_like(h_seq[:, :1]), h_seq[:, :-1]], dim=1)  # [B, T, H]: h_{t-1}
            from_x = layer_input @ params[0].T  # [B, T, 3H], blocks r, z, n
            from_h = h_prev @ params[1].T
            if gru.bias:
                from_x, from_h = from_x + params[2], from_h + params[3]
            r = torch.sigmoid(from_x[..., :hidden] + from_h[..., :hidden])
            z = torch.sigmoid(from_x[..., hidden : 2 * hidden] + from_h[..., hidden : 2 * hidden])
            n = torch.tanh(from_x[..., 2 * hidden :] + r * from_h[..., 2 * hidden :])
            arrays = {"r": r, "z": z, "n": n, "h": h_seq}
            layers.append({name: _to_numpy(value, batched) for name, value in arrays.items()})
            layer_input = h_seq
    return GateTrace(tuple(layers), batched, cell=Cell.GRU)


def extract_rnn_states(rnn: nn.RNN, x: torch.Tensor | np.ndarray) -> GateTrace:
    """A plain RNN's hidden state at every step of every layer: it has no gates."""
    xb, batched = _as_batch(x, rnn)
    layers = []
    with torch.inference_mode():
        out = xb
        for k in range(rnn.num_layers):
            one = nn.RNN(out.shape[-1], rnn.hidden_size, nonlinearity=rnn.nonlinearity, bias=rnn.bias, batch_first=True)
            one.load_state_dict({name.replace(f"_l{k}", "_l0"): value for name, value in rnn.state_dict().items()
                                 if name.endswith(f"_l{k}")})
            out, _ = one.to(device=xb.device, dtype=xb.dtype)(out)  # [B, T, H]
            layers.append({"h": _to_numpy(out, batched)})
    return GateTrace(tuple(layers), batched, cell=Cell.RNN)


def extract_gates_reference(
    model: nn.Module,
    x: torch.Tensor | np.ndarray,
    initial_state: InitialState | None = None,
) -> GateTrace:
    """The same as ``extract_gates`` by the textbook route: a Python loop over the cell equations, step by step.

    Slow (one small matmul per step and layer); kept as the reference for tests and the benchmark.
    """
    lstm = as_lstm(model)
    xb, batched = _as_batch(x, lstm)  # [B, T, F]
    h0, c0 = _initial_state(initial_state, lstm, xb.shape[0], batched)  # [L, B, H] each
    layers = []
    with torch.inference_mode():
        layer_input = xb
        for k in range(lstm.num_layers):
            params = _layer_params(lstm, k)
            w_ih, w_hh = params[0], params[1]
            h, c = h0[k], c0[k]  # [B, H]
            steps: dict[str, list[torch.Tensor]] = {name: [] for name in ARRAYS}
            for t in range(layer_input.shape[1]):
                pre = layer_input[:, t] @ w_ih.T + h @ w_hh.T  # [B, 4H]
                if lstm.bias:
                    pre = pre + params[2] + params[3]
                pre_i, pre_f, pre_g, pre_o = pre.chunk(4, dim=-1)
                i, f, g, o = torch.sigmoid(pre_i), torch.sigmoid(pre_f), torch.tanh(pre_g), torch.sigmoid(pre_o)
                c = f * c + i * g
                h = o * torch.tanh(c)
                for name, value in zip(ARRAYS, (i, f, g, o, c, h), strict=True):
                    steps[name].append(value)
            arrays = {name: torch.stack(values, dim=1) for name, values in steps.items()}  # [B, T, H]
            layers.append({name: _to_numpy(arrays[name], batched) for name in ARRAYS})
            layer_input = arrays["h"]
    return GateTrace(tuple(layers), batched)


def gate_saturation(
    trace: GateTrace,
    layer: int = 0,
    low: float = 0.1,
    high: float = 0.9,
    gates: Sequence[str] | None = None,
) -> Saturation:
    """Fraction of steps each unit's gate is left-saturated (< ``low``) and right-saturated (> ``high``).

    As in Karpathy, Johnson & Fei-Fei (2015), "Visualizing and Understanding Recurrent Networks";
    a batch trace counts every step of every window.
    """
    if not 0.0 <= low < high <= 1.0:
        raise ValueError(f"saturation thresholds need 0 <= low < high <= 1, got low={low}, high={high}")
    arrays = trace.layer(layer)
    left, right = {}, {}
    for name in trace.sigmoid_gates if gates is None else gates:
        values = arrays[name].reshape(-1, arrays[name].shape[-1])  # [T, H] or [B, T, H] -> [B*T, H]
        left[name] = (values < low).mean(axis=0)
        right[name] = (values > high).mean(axis=0)
    return Saturation(left, right, low, high, steps=trace.batch * trace.steps)


class UnitOrder(StrEnum):
    """How the Gates page lines up a layer's units, the most telling first."""

    INDEX = "index"  # as the layer numbers them
    CHANGE = "change"  # largest spread of the cell state c (a cell without one: h) over the window first
    PRICE = "price"  # strongest correlation (either sign) of the hidden state h with the price first
    TASK = "task"  # a memory task's: the units found in a role first, then by how closely their cell follows the answer

    def applies(self, has_prices: bool, is_task: bool) -> bool:
        """Whether this order means anything for a run on prices or on a memory task."""
        return {UnitOrder.PRICE: has_prices, UnitOrder.TASK: is_task}.get(self, True)


def unit_scores(trace: GateTrace, order: UnitOrder, layer: int = 0, prices: np.ndarray | None = None,
                task_scores: np.ndarray | None = None) -> np.ndarray:
    """Per unit of ``layer``, the number ``order`` ranks by (larger first): ``[H]``.

    ``CHANGE``: standard deviation of c over the steps. ``PRICE``: |Pearson correlation| of h with
    ``prices`` ``[T]`` (a unit or a price series that never moves scores 0). ``TASK``: ``task_scores``
    (``TaskReading.unit_scores``, measured over the task's test sequences). ``INDEX``: ``-unit``.
    """
    order = UnitOrder(order)
    if order is UnitOrder.INDEX:
        return -np.arange(trace.hidden, dtype=np.float64)
    if order is UnitOrder.CHANGE:
        return unit_activity(trace, layer, "c" if "c" in trace.arrays else "h").astype(np.float64)
    if order is UnitOrder.TASK:
        if task_scores is None or np.shape(task_scores) != (trace.hidden,):
            raise ValueError("ordering units by the task needs one score per unit from the task's reading")
        return np.asarray(task_scores, dtype=np.float64)
    if prices is None:
        raise ValueError("ordering units by their correlation with the price needs the prices")
    if trace.batched:
        raise ValueError("ordering units by their correlation with the price needs one window, not a batch")
    prices = np.asarray(prices, dtype=np.float64)
    if prices.shape != (trace.steps,):
        raise ValueError(f"prices must have one value per step ({trace.steps}), got shape {prices.shape}")
    h = trace.layer(layer)["h"].astype(np.float64)  # [T, H]
    h_dev = h - h.mean(axis=0)  # [T, H]
    p_dev = prices - prices.mean()  # [T]
    norm = np.sqrt((h_dev**2).sum(axis=0) * (p_dev**2).sum())  # [H]
    covariance = p_dev @ h_dev  # [H]
    # a flat unit (or flat prices) has no correlation to speak of: 0, not NaN
    return np.abs(np.divide(covariance, norm, out=np.zeros_like(norm), where=norm > 1e-12))


def order_units(trace: GateTrace, order: UnitOrder, layer: int = 0, prices: np.ndarray | None = None,
                task_scores: np.ndarray | None = None) -> np.ndarray:
    """Unit indices of ``layer`` in the order ``order`` asks for (ties keep the layer's own order): ``[H]``."""
    return np.argsort(-unit_scores(trace, order, layer, prices, task_scores), kind="stable")


def plan_downsampling(
    steps: int,
    units: int,
    rows: int = len(ARRAYS),
    max_frames: int = MAX_FRAMES,
    max_cells: int = MAX_CELLS,
    unit_order: np.ndarray | None = None,
    max_units: int | None = None,
) -> Downsampling:
    """Keep at most ``max_frames`` steps (every ``stride``-th, ending at the last) and at most ``max_units``
    units, few enough that ``frames * rows * units <= max_cells``.

    Without ``unit_order`` the kept units are spread evenly over the layer in ascending order; with it
    (a permutation of ``range(units)``, e.g. from ``order_units``) they are its first ones, in its order.
    """
    if steps < 1 or units < 1 or rows < 1 or max_frames < 1 or max_cells < 1 or (max_units is not None and max_units < 1):
        raise ValueError("steps, units, rows, max_frames, max_cells and max_units must all be positive")
    stride = -(-steps // max_frames)  # ceil
    step_index = np.arange(steps - 1, -1, -stride)[::-1].copy()  # anchored at the last step
    shown = max(1, min(units, max_units or units, max_cells // (len(step_index) * rows)))
    if unit_order is not None:
        unit_order = np.asarray(unit_order, dtype=int)
        if sorted(unit_order.tolist()) != list(range(units)):
            raise ValueError(f"unit_order must list each of the {units} units once")
        unit_index = unit_order[:shown].copy()
    elif shown == units:
        unit_index = np.arange(units)
    else:
        unit_index = np.unique(np.linspace(0, units - 1, shown).round().astype(int))
    return Downsampling(steps, units, step_index, unit_index, stride, max_units)


def unit_activity(trace: GateTrace, layer: int = 0, by: str = "c") -> np.ndarray:
    """Per unit of ``layer``, the spread (standard deviation over steps) of ``by``: ``[H]``."""
    if by not in trace.arrays:
        raise ValueError(f"'{by}' is not one of {', '.join(trace.arrays)}")
    values = trace.layer(layer)[by]
    return values.reshape(-1, values.shape[-1]).std(axis=0)  # [T, H] or [B, T, H] -> [H]


def _as_batch(x: torch.Tensor | np.ndarray, lstm: nn.RNNBase) -> tuple[torch.Tensor, bool]:
    """``x`` as a ``[B, T, F]`` tensor on the LSTM's device and dtype, and whether it came batched."""
    weight = lstm.weight_ih_l0
    xt = torch.as_tensor(x).to(device=weight.device, dtype=weight.dtype)
    if xt.dim() not in (2, 3):
        raise ValueError(f"the window must be [T, F] or [B, T, F], got shape {tuple(xt.shape)}")
    batched = xt.dim() == 3
    xb = xt if batched else xt.unsqueeze(0)  # [T, F] -> [1, T, F]
    if xb.shape[1] == 0 or xb.shape[0] == 0:
        raise LabError("err_gates_empty_window")
    if xb.shape[2] != lstm.input_size:
        raise LabError("err_gates_window_features", expected=lstm.input_size, got=int(xb.shape[2]))
    return xb, batched


def _initial_state(
    state: InitialState | None, lstm: nn.LSTM, batch: int, batched: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(h_0, c_0)`` as ``[L, B, H]`` tensors (zeros when not given)."""
    weight = lstm.weight_ih_l0
    shape = (lstm.num_layers, batch, lstm.hidden_size)
    if state is None:
        zeros = torch.zeros(shape, device=weight.device, dtype=weight.dtype)
        return zeros, zeros
    h0, c0 = (torch.as_tensor(s).to(device=weight.device, dtype=weight.dtype) for s in state)
    if not batched:
        h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)  # [L, H] -> [L, 1, H]
    if tuple(h0.shape) != shape or tuple(c0.shape) != shape:
        raise ValueError(f"initial state must be shaped {shape if batched else (shape[0], shape[2])}")
    return h0, c0


def _layer_params(lstm: nn.RNNBase, k: int) -> list[torch.Tensor]:
    """``[w_ih, w_hh, b_ih, b_hh]`` of layer ``k`` (just the weights when the LSTM has no bias)."""
    names = [f"weight_ih_l{k}", f"weight_hh_l{k}"] + ([f"bias_ih_l{k}", f"bias_hh_l{k}"] if lstm.bias else [])
    return [getattr(lstm, name) for name in names]


def _cell_scan(f: torch.Tensor, ig: torch.Tensor, c0: torch.Tensor) -> torch.Tensor:
    """All cell states of ``c_t = f_t * c_{t-1} + ig_t`` at once: ``[B, T, H]`` from ``c0`` ``[B, H]``.

    A Hillis-Steele scan over the affine maps ``c -> f c + ig``: log2(T) rounds of whole-tensor
    ops instead of T tiny ones. Only products of forget gates in [0, 1] appear (no division),
    so it cannot blow up; a product that underflows to 0 is a contribution that truly vanished.
    """
    a = f  # [B, T, H]: product of forget gates over the span each entry covers
    b = ig.clone()
    b[:, 0] += f[:, 0] * c0
    steps = f.shape[1]
    span = 1
    while span < steps:
        b = torch.cat([b[:, :span], torch.addcmul(b[:, span:], a[:, span:], b[:, :-span])], dim=1)
        a = torch.cat([a[:, :span], a[:, span:] * a[:, :-span]], dim=1)
        span *= 2
    return b


def _to_numpy(values: torch.Tensor, batched: bool) -> np.ndarray:
    """``[B, T, H]`` tensor -> float32 array, ``[T, H]`` when the input was one window."""
    array = values.detach().to("cpu", torch.float32).contiguous().numpy()
    return array if batched else array[0]


def _round_significant(values: np.ndarray, digits: int) -> np.ndarray:
    """``values`` as float64 rounded to ``digits`` significant digits (at most 10 decimals), for short JSON.

    ``np.round`` with a non-negative decimal count divides by an exact power of ten, so each
    result is the double nearest its short decimal and prints as that decimal.
    """
    values = np.asarray(values, dtype=np.float64)
    magnitude = np.floor(np.log10(np.abs(values), out=np.zeros_like(values), where=values != 0))
    decimals = np.clip(digits - 1 - magnitude, 0, 10).astype(int)
    rounded = np.empty_like(values)
    for d in np.unique(decimals):
        mask = decimals == d
        rounded[mask] = np.round(values[mask], int(d))
    return rounded
