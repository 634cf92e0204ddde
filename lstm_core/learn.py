"""The Learn page's numbers: a step-by-step LSTM cell in numpy, the same run in nn.LSTMCell, gradient decay, parameter counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from lstm_core.config import Cell
from lstm_core.cost import recurrent_parameters
from lstm_core.errors import LabError
from lstm_core.model import RNN_CLASSES

GATES = ("i", "f", "g", "o")  # PyTorch's stacking order: input, forget, candidate, output
QUANTITIES = ("z_i", "z_f", "z_g", "z_o", "i", "f", "g", "o", "c", "h")  # what one step computes, in order
MAX_SIZE = 4  # largest input and hidden size the calculator accepts
MAX_STEPS = 12  # longest sequence the calculator accepts
CELLS = (Cell.RNN, Cell.LSTM, Cell.GRU)  # in the order the lesson compares them


@dataclass(frozen=True)
class CellWeights:
    """One LSTM cell's parameters, gate by gate in the order i, f, g, o.

    ``w_x`` is ``[4, H, I]``, ``w_h`` is ``[4, H, H]``, ``b`` is ``[4, H]``: gate ``k`` computes
    ``w_x[k] @ x_t + w_h[k] @ h_prev + b[k]``.
    """

    w_x: np.ndarray
    w_h: np.ndarray
    b: np.ndarray

    @property
    def input_size(self) -> int:
        return self.w_x.shape[2]

    @property
    def hidden_size(self) -> int:
        return self.w_x.shape[1]

    def validated(self) -> CellWeights:
        """Self, or LabError when the shapes disagree or a value is missing."""
        _check_size("input_size", self.w_x.shape[2] if self.w_x.ndim == 3 else 0)
        _check_size("hidden_size", self.w_x.shape[1] if self.w_x.ndim == 3 else 0)
        hidden, inputs = self.hidden_size, self.input_size
        expected = {"w_x": (4, hidden, inputs), "w_h": (4, hidden, hidden), "b": (4, hidden)}
        for name, shape in expected.items():
            actual = getattr(self, name).shape
            if actual != shape:
                raise LabError("err_learn_shape", name=name, actual=_shape_text(actual), expected=_shape_text(shape))
            if not np.all(np.isfinite(getattr(self, name))):
                raise LabError("err_learn_missing_weight", name=name)
        return self


@dataclass(frozen=True)
class CellTrace:
    """Everything one LSTM cell computed over a sequence; each field is ``[T, H]`` (row t-1 is step t)."""

    z_i: np.ndarray
    z_f: np.ndarray
    z_g: np.ndarray
    z_o: np.ndarray
    i: np.ndarray
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    c: np.ndarray
    h: np.ndarray
    h0: np.ndarray  # [H]
    c0: np.ndarray  # [H]

    @property
    def steps(self) -> int:
        return self.h.shape[0]

    def get(self, quantity: str) -> np.ndarray:
        """One of QUANTITIES as ``[T, H]``."""
        return getattr(self, quantity)


def example_weights(input_size: int = 1, hidden_size: int = 2) -> CellWeights:
    """The article's example made consistent: every gate shares W_x[k, j] = 0.1 + 0.2k + 0.1j, W_h[k, j] = 0.5 + 0.2k + 0.1j, b[k] = 0.1 + 0.1k.

    For input size 1 and hidden size 2 this is W_x = [[0.1], [0.3]], W_h = [[0.5, 0.6], [0.7, 0.8]], b = [0.1, 0.2].
    """
    _check_size("input_size", input_size)
    _check_size("hidden_size", hidden_size)
    rows = np.arange(hidden_size)[:, None]  # [H, 1]
    w_x = 0.1 + 0.2 * rows + 0.1 * np.arange(input_size)[None, :]  # [H, I]
    w_h = 0.5 + 0.2 * rows + 0.1 * np.arange(hidden_size)[None, :]  # [H, H]
    b = 0.1 + 0.1 * np.arange(hidden_size)  # [H]
    return CellWeights(
        w_x=np.repeat(w_x[None], 4, axis=0).round(10),  # [4, H, I]
        w_h=np.repeat(w_h[None], 4, axis=0).round(10),  # [4, H, H]
        b=np.repeat(b[None], 4, axis=0).round(10),  # [4, H]
    )


def example_sequence(input_size: int = 1, steps: int = 5) -> np.ndarray:
    """x = 1, 2, …, steps in the first input column (the article's example); column j holds x / (j + 1). Shape ``[T, I]``."""
    _check_size("input_size", input_size)
    t = np.arange(1, steps + 1, dtype=float)[:, None]  # [T, 1]
    return t / np.arange(1, input_size + 1)[None, :]  # [T, I]


def random_weights(input_size: int, hidden_size: int, seed: int = 0, scale: float = 1.0) -> CellWeights:
    """Gaussian weights with standard deviation ``scale``, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    return CellWeights(
        w_x=rng.normal(0.0, scale, (4, hidden_size, input_size)),
        w_h=rng.normal(0.0, scale, (4, hidden_size, hidden_size)),
        b=rng.normal(0.0, scale, (4, hidden_size)),
    )


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + e^-z), written through tanh so large |z| cannot overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def check_sequence(xs: np.ndarray, input_size: int) -> np.ndarray:
    """``xs`` as a float ``[T, I]`` array, or LabError saying what to fix."""
    xs = np.asarray(xs, dtype=float)
    if xs.ndim == 1 and input_size == 1:
        xs = xs[:, None]
    if xs.ndim != 2 or xs.shape[0] == 0:
        raise LabError("err_learn_empty_sequence")
    if xs.shape[0] > MAX_STEPS:
        raise LabError("err_learn_too_long", steps=xs.shape[0], limit=MAX_STEPS)
    if xs.shape[1] != input_size:
        raise LabError("err_learn_shape", name="x", actual=_shape_text(xs.shape), expected=f"(T, {input_size})")
    missing = np.argwhere(~np.isfinite(xs))
    if len(missing):
        raise LabError("err_learn_missing_input", step=int(missing[0][0]) + 1)
    return xs


def run_cell(
    xs: np.ndarray, weights: CellWeights, h0: np.ndarray | None = None, c0: np.ndarray | None = None
) -> CellTrace:
    """Run one LSTM cell over ``xs`` ``[T, I]`` step by step, keeping every intermediate value.

    z = W_x x_t + W_h h_{t-1} + b for each gate; i, f, o = σ(z); g = tanh(z);
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t (the forget gate of the same step); h_t = o_t ⊙ tanh(c_t).
    """
    weights = weights.validated()
    hidden = weights.hidden_size
    xs = check_sequence(xs, weights.input_size)
    h = np.zeros(hidden) if h0 is None else _state(h0, hidden, "h0")  # [H]
    c = np.zeros(hidden) if c0 is None else _state(c0, hidden, "c0")  # [H]
    start_h, start_c = h.copy(), c.copy()
    rows: dict[str, list[np.ndarray]] = {q: [] for q in QUANTITIES}
    for x_t in xs:  # x_t: [I]
        z = weights.w_x @ x_t + weights.w_h @ h + weights.b  # [4, H, I] @ [I] + [4, H, H] @ [H] + [4, H] -> [4, H]
        gate_i, gate_f, gate_o = sigmoid(z[0]), sigmoid(z[1]), sigmoid(z[3])
        cand_g = np.tanh(z[2])
        c = gate_f * c + gate_i * cand_g  # [H]
        h = gate_o * np.tanh(c)  # [H]
        for name, value in zip(QUANTITIES, (*z, gate_i, gate_f, cand_g, gate_o, c, h), strict=True):
            rows[name].append(value)
    return CellTrace(**{q: np.stack(v) for q, v in rows.items()}, h0=start_h, c0=start_c)


def torch_cell_run(
    xs: np.ndarray, weights: CellWeights, h0: np.ndarray | None = None, c0: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The same run through ``torch.nn.LSTMCell`` (float64): returns h and c, each ``[T, H]``.

    PyTorch stacks the gates as rows i, f, g, o of ``weight_ih`` ``[4H, I]`` and ``weight_hh`` ``[4H, H]``
    and adds two biases; our one bias goes into ``bias_ih`` and ``bias_hh`` is zero.
    """
    weights = weights.validated()
    hidden, inputs = weights.hidden_size, weights.input_size
    xs = check_sequence(xs, inputs)
    with torch.random.fork_rng(devices=[]):  # LSTMCell's random init must not move the global generator
        cell = nn.LSTMCell(inputs, hidden, dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(weights.w_x.reshape(4 * hidden, inputs)))  # [4, H, I] -> [4H, I]
        cell.weight_hh.copy_(torch.from_numpy(weights.w_h.reshape(4 * hidden, hidden)))  # [4, H, H] -> [4H, H]
        cell.bias_ih.copy_(torch.from_numpy(weights.b.reshape(4 * hidden)))  # [4, H] -> [4H]
        cell.bias_hh.zero_()
        h = torch.zeros(1, hidden, dtype=torch.float64) if h0 is None else torch.tensor(_state(h0, hidden, "h0"))[None]
        c = torch.zeros(1, hidden, dtype=torch.float64) if c0 is None else torch.tensor(_state(c0, hidden, "c0"))[None]
        hs, cs = [], []
        for x_t in torch.from_numpy(xs):  # x_t: [I]
            h, c = cell(x_t[None], (h, c))  # [1, I] -> [1, H], [1, H]
            hs.append(h[0].numpy())
            cs.append(c[0].numpy())
    return np.stack(hs), np.stack(cs)


def weight_columns(input_size: int, hidden_size: int) -> list[str]:
    """Column names of a gate's table: x1…xI for W_x, h1…hH for W_h, then b."""
    return [f"x{j + 1}" for j in range(input_size)] + [f"h{j + 1}" for j in range(hidden_size)] + ["b"]


def gate_table(weights: CellWeights, gate: str) -> pd.DataFrame:
    """One gate's parameters as a table: row k is hidden unit k, holding W_x[k, :], W_h[k, :] and b[k]."""
    g = GATES.index(gate)
    values = np.concatenate([weights.w_x[g], weights.w_h[g], weights.b[g][:, None]], axis=1)  # [H, I + H + 1]
    index = pd.Index(range(1, weights.hidden_size + 1), name="k")
    return pd.DataFrame(values, columns=weight_columns(weights.input_size, weights.hidden_size), index=index)


def weights_from_tables(tables: dict[str, pd.DataFrame], input_size: int, hidden_size: int) -> CellWeights:
    """The four gate tables (as edited) back into validated CellWeights."""
    _check_size("input_size", input_size)
    _check_size("hidden_size", hidden_size)
    columns = weight_columns(input_size, hidden_size)
    stacked = []
    for gate in GATES:
        table = tables[gate]
        if list(table.columns) != columns or len(table) != hidden_size:
            raise LabError("err_learn_shape", name=gate, actual=_shape_text(table.shape), expected=f"({hidden_size}, {len(columns)})")
        stacked.append(table.to_numpy(dtype=float, na_value=np.nan))  # [H, I + H + 1]
    values = np.stack(stacked)  # [4, H, I + H + 1]
    return CellWeights(
        w_x=values[:, :, :input_size], w_h=values[:, :, input_size:-1], b=values[:, :, -1]
    ).validated()


def sequence_table(xs: np.ndarray) -> pd.DataFrame:
    """The input sequence ``[T, I]`` as a table with columns x1…xI, one row per step."""
    return pd.DataFrame(xs, columns=[f"x{j + 1}" for j in range(xs.shape[1])])


def sequence_from_table(table: pd.DataFrame, input_size: int) -> np.ndarray:
    """The edited sequence table as ``[T, I]``; rows left entirely empty (just added) are skipped."""
    values = table.to_numpy(dtype=float, na_value=np.nan).reshape(len(table), -1)  # [T, I]
    values = values[~np.all(np.isnan(values), axis=1)]
    return check_sequence(values, input_size)


def state_table(hidden_size: int) -> pd.DataFrame:
    """Zero initial states as a table: row k is unit k, columns h0 and c0."""
    index = pd.Index(range(1, hidden_size + 1), name="k")
    return pd.DataFrame({"h0": np.zeros(hidden_size), "c0": np.zeros(hidden_size)}, index=index)


def state_from_table(table: pd.DataFrame, hidden_size: int) -> tuple[np.ndarray, np.ndarray]:
    """h0 and c0, each ``[H]``, from the edited state table."""
    values = table.to_numpy(dtype=float, na_value=np.nan)  # [H, 2]
    return _state(values[:, 0], hidden_size, "h0"), _state(values[:, 1], hidden_size, "c0")


def largest_difference(trace: CellTrace, torch_h: np.ndarray, torch_c: np.ndarray) -> float:
    """max |ours − PyTorch| over every step and unit of h and c."""
    return float(max(np.abs(trace.h - torch_h).max(), np.abs(trace.c - torch_c).max()))


def trace_frame(trace: CellTrace, step_label: str, quantity_label: str, unit_labels: list[str]) -> pd.DataFrame:
    """Every intermediate value, one row per (step, quantity) and one column per hidden unit (labels come translated)."""
    rows = [(t + 1, q, *trace.get(q)[t]) for t in range(trace.steps) for q in QUANTITIES]
    return pd.DataFrame(rows, columns=[step_label, quantity_label, *unit_labels])


def comparison_frame(trace: CellTrace, torch_h: np.ndarray, torch_c: np.ndarray) -> pd.DataFrame:
    """h and c per step from this page's numpy cell next to nn.LSTMCell's, as 4-decimal vectors."""
    return pd.DataFrame(
        {
            "t": np.arange(1, trace.steps + 1),
            "h · numpy": [_vec(v) for v in trace.h],
            "h · PyTorch": [_vec(v) for v in torch_h],
            "c · numpy": [_vec(v) for v in trace.c],
            "c · PyTorch": [_vec(v) for v in torch_c],
        }
    )


def worked_step(xs: np.ndarray, weights: CellWeights, trace: CellTrace, step: int, unit: int) -> list[str]:
    """LaTeX lines that redo step ``step`` (1-based) for hidden unit ``unit`` (0-based) with the numbers filled in."""
    xs = check_sequence(xs, weights.input_size)
    t, k = step - 1, unit
    x_t = xs[t]  # [I]
    h_prev = trace.h0 if t == 0 else trace.h[t - 1]  # [H]
    c_prev = trace.c0 if t == 0 else trace.c[t - 1]  # [H]
    lines = []
    for gate_index, gate in enumerate(GATES):
        products = [f"{_num(w)}\\cdot{_num(v)}" for w, v in zip(weights.w_x[gate_index, k], x_t, strict=True)]
        products += [f"{_num(w)}\\cdot{_num(v)}" for w, v in zip(weights.w_h[gate_index, k], h_prev, strict=True)]
        z = trace.get(f"z_{gate}")[t, k]
        act = "\\tanh" if gate == "g" else "\\sigma"
        lines.append(
            f"z_{{{gate},{step}}} = {' + '.join(products)} + {_num(weights.b[gate_index, k])} = {_num(z)}"
            f",\\quad {gate}_{{{step}}} = {act}({_num(z)}) = {_num(trace.get(gate)[t, k])}"
        )
    i, f, g, o, c = (trace.get(q)[t, k] for q in ("i", "f", "g", "o", "c"))
    lines.append(
        f"c_{{{step}}} = f_{{{step}}} c_{{{step - 1}}} + i_{{{step}}} g_{{{step}}}"
        f" = {_num(f)}\\cdot{_num(c_prev[k])} + {_num(i)}\\cdot{_num(g)} = {_num(c)}"
    )
    lines.append(
        f"h_{{{step}}} = o_{{{step}}} \\tanh(c_{{{step}}}) = {_num(o)}\\cdot\\tanh({_num(c)})"
        f" = {_num(o)}\\cdot{_num(np.tanh(c))} = {_num(trace.h[t, k])}"
    )
    return lines


def gradient_norms(
    cell: str, steps: int = 100, hidden: int = 32, seed: int = 0, forget_bias: float = 1.0
) -> np.ndarray:
    """‖∂h_T/∂x_t‖ (Frobenius norm of the Jacobian) for t = 1…T, for an untrained one-input ``cell``.

    Weights are PyTorch's default random init under ``seed``; for the LSTM the forget gate's total
    bias (b_ih + b_hh) is set to ``forget_bias``. Runs in float64 so tiny gradients do not underflow.
    Returns ``[T]``; entry t-1 belongs to input x_t, so the last entry is the most recent input.
    """
    if cell not in CELLS:
        raise LabError("err_learn_unknown_cell", cell=cell, choices=", ".join(CELLS))
    cell = Cell(cell)
    module_class = RNN_CLASSES[cell]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        rnn = module_class(1, hidden, batch_first=True, dtype=torch.float64)
        x = torch.randn(steps, 1, dtype=torch.float64)  # [T, I=1], the same for every cell under one seed
    if cell == Cell.LSTM:
        with torch.no_grad():
            rnn.bias_ih_l0[hidden : 2 * hidden] = forget_bias  # rows H..2H are the forget gate (order i, f, g, o)
            rnn.bias_hh_l0[hidden : 2 * hidden] = 0.0
    # One backward pass for the whole Jacobian: copy b of the batch only asks for unit b of h_T.
    xb = x.expand(hidden, steps, 1).clone().requires_grad_(True)  # [H, T, 1]
    out, _ = rnn(xb)  # [H, T, H]
    (grad,) = torch.autograd.grad(out[:, -1, :].diagonal().sum(), xb)  # [H, T, 1]: grad[b, t] = ∂h_T[b]/∂x_t
    return grad.pow(2).sum(dim=(0, 2)).sqrt().numpy()  # [T]


def compare_gradient_norms(
    steps: int = 100, hidden: int = 32, seed: int = 0, forget_bias: float = 1.0
) -> dict[str, np.ndarray]:
    """gradient_norms for the plain RNN, the LSTM and the GRU with the same size, seed and input."""
    return {cell: gradient_norms(cell, steps, hidden, seed, forget_bias) for cell in CELLS}


def norm_steps_back(norms: np.ndarray, distance: int) -> float:
    """The gradient norm from the input ``distance`` steps before the last one (0 = the last input)."""
    return float(norms[len(norms) - 1 - distance])


def param_count(cell: str, input_size: int, hidden: int, layers: int = 1, two_biases: bool = False) -> int:
    """Weights in a stacked ``cell``: blocks·H·(I + H + 1) for layer 1, blocks·H·(2H + 1) after it.

    ``two_biases`` counts as PyTorch stores them (b_ih and b_hh), one more H per block.
    """
    if cell not in CELLS:
        raise LabError("err_learn_unknown_cell", cell=cell, choices=", ".join(CELLS))
    return recurrent_parameters(cell, input_size, hidden, layers, bias_vectors=2 if two_biases else 1)


def _check_size(name: str, value: int) -> None:
    if not 1 <= value <= MAX_SIZE:
        raise LabError("err_learn_size", name=name, value=value, limit=MAX_SIZE)


def _state(values: np.ndarray, hidden: int, name: str) -> np.ndarray:
    values = np.asarray(values, dtype=float).reshape(-1)
    if values.shape != (hidden,):
        raise LabError("err_learn_shape", name=name, actual=_shape_text(values.shape), expected=f"({hidden},)")
    if not np.all(np.isfinite(values)):
        raise LabError("err_learn_missing_weight", name=name)
    return values


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + (",)" if len(shape) == 1 else ")")


def _num(value: float) -> str:
    """4 decimals, negative numbers in parentheses so '+ (-0.1)' reads right."""
    text = f"{value:.4f}"
    return f"({text})" if text.startswith("-") else text


def _vec(values: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.4f}" for v in values) + "]"
