"""The gates of a recurrent network (an LSTM's, a GRU's; a plain RNN's hidden state): extraction of every gate and state (``trace``), what units do on a memory task (``roles``),
and the search for stretches where units fire alike (``search``)."""

from lstm_core.gates.roles import (
    CARRIES_AT,
    DROPS_BY,
    HOLDS_AT,
    OPENS_BY,
    Finding,
    Role,
    TaskReading,
    UnitStats,
    correlation,
    read_task_units,
    unit_stats,
)
from lstm_core.gates.search import DEFAULT_THRESHOLD, MAX_MATCHES, Match, all_tied, holds_event, on_cells, search_units
from lstm_core.gates.trace import (
    ARRAYS,
    CELL_ARRAYS,
    CELL_SIGMOIDS,
    GATES,
    MAX_CELLS,
    MAX_FRAMES,
    SIGMOID_GATES,
    STATES,
    Downsampling,
    GateTrace,
    InitialState,
    Saturation,
    UnitOrder,
    as_lstm,
    as_rnn,
    cell_of,
    extract_gates,
    extract_gates_reference,
    gate_saturation,
    order_units,
    plan_downsampling,
    unit_activity,
    unit_scores,
)

__all__ = [
    "ARRAYS", "CELL_ARRAYS", "CELL_SIGMOIDS", "CARRIES_AT", "DEFAULT_THRESHOLD", "DROPS_BY", "GATES", "HOLDS_AT", "MAX_CELLS", "MAX_FRAMES", "MAX_MATCHES",
    "OPENS_BY", "SIGMOID_GATES", "STATES", "Downsampling", "Finding", "GateTrace", "InitialState", "Match", "Role",
    "Saturation", "TaskReading", "UnitOrder", "UnitStats", "all_tied", "as_lstm", "as_rnn", "cell_of", "correlation", "extract_gates",
    "extract_gates_reference", "gate_saturation", "holds_event", "on_cells", "order_units", "plan_downsampling", "read_task_units",
    "search_units", "unit_activity", "unit_scores", "unit_stats",
]  # fmt: skip
