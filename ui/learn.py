"""Widget groups and page content tables of the Learn page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from lstm_core import learn
from ui.session import session
from ui.text import tr

ROOT = Path(__file__).resolve().parent.parent
SIZES = list(range(1, learn.MAX_SIZE + 1))
GRAD_STEPS = 100
GRAD_HIDDEN = [8, 16, 32, 64]
GRAD_DISTANCE = 50  # the metrics show how much gradient arrives from this many steps back
# links to the control that demonstrates a point: (page file, its nav key, its control label keys, why key)
CLIP_LINK = ("pages/train.py", "nav_train", ["cfg_clip_grad"], "learn_why_clip")
GATES_LINK = ("pages/gates.py", "nav_gates", ["gates_play"], "learn_why_gates")
TASK_LINK = ("pages/data.py", "nav_data", ["data_source", "src_task"], "learn_why_task")
# a memory-task run on the Gates page, mid-play (taken by tests/test_browser_gates.py with LSTM_LAB_SCREENSHOTS=docs)
TASK_PICTURE = (ROOT / "docs" / "gates_task.png", "learn_cell_task_picture")
LESSON = (  # (heading, paragraphs, links, optional picture with its caption key)
    ("learn_rnn_title", ["learn_rnn_body"], [CLIP_LINK], None),
    ("learn_cell_title", ["learn_cell_body", "learn_cell_why"], [GATES_LINK], None),
    ("learn_cell_task_title", ["learn_cell_task"], [TASK_LINK, GATES_LINK], TASK_PICTURE),
    ("learn_eq_title", ["learn_eq_intro", "learn_eq_body", "learn_eq_symbols", "learn_eq_pytorch"], [], None),
    ("learn_algo_title", ["learn_algo_body"], [], None),
)
FAQ = (  # (question, answer, links)
    ("learn_faq_init_q", "learn_faq_init_a", [("pages/train.py", "nav_train", ["cfg_seed"], "learn_why_seed")]),
    ("learn_faq_gru_q", "learn_faq_gru_a", [("pages/train.py", "nav_train", ["cfg_cell"], "learn_why_cell")]),
    ("learn_faq_channels_q", "learn_faq_channels_a", [("pages/train.py", "nav_train", ["cfg_features"], "learn_why_features")]),
    ("learn_faq_general_q", "learn_faq_general_a", [
        ("pages/train.py", "nav_train", ["cfg_patience", "cfg_dropout", "cfg_hidden"], "learn_why_general"),
        ("pages/data.py", "nav_data", ["data_source"], "learn_why_data"),
    ]),
)
LINK_ICONS = {"pages/train.py": ":material/model_training:", "pages/data.py": ":material/candlestick_chart:",
              "pages/gates.py": ":material/memory:"}


def control_link(page: str, nav_key: str, control_keys: list[str], why_key: str) -> None:
    """A link to another page that names the control there in that page's own words."""
    controls = tr("learn_list_sep").join(tr(key) for key in control_keys)
    st.page_link(page, label=tr("learn_link", page=tr(nav_key), control=controls, why=tr(why_key)), icon=LINK_ICONS[page])


@st.cache_data(show_spinner=False, max_entries=64)
def cached_gradients(hidden: int, seed: int, forget_bias: float) -> dict[str, np.ndarray]:
    return learn.compare_gradient_norms(steps=GRAD_STEPS, hidden=hidden, seed=seed, forget_bias=forget_bias)


def reset_calculator() -> None:
    """Forget every edit; new editor keys make the browser drop its copy of the edits too."""
    for key in [k for k in st.session_state if str(k).startswith("learn_ed_")]:
        del st.session_state[key]
    session.learn_generation += 1


def calculator_inputs_ui(inputs: int, hidden: int) -> tuple[np.ndarray, learn.CellWeights, np.ndarray, np.ndarray]:
    """The editable sequence, initial state and gate tables as arrays; LabError when an edit leaves them unusable."""
    number = st.column_config.NumberColumn(format="%.4f", required=True)
    gen = session.learn_generation
    left, right = st.columns([1, 3], gap="large")
    with left:
        st.markdown(f"**{tr('learn_sequence')}**")
        seq_table = learn.sequence_table(learn.example_sequence(inputs))
        seq = st.data_editor(
            seq_table, key=f"learn_ed_seq_{inputs}_{gen}", num_rows="dynamic", hide_index=True,
            column_config=dict.fromkeys(seq_table.columns, number), alt=tr("learn_sequence"),
        )
        st.caption(tr("learn_sequence_help", limit=learn.MAX_STEPS))
        st.markdown(f"**{tr('learn_state0')}**")
        state = st.data_editor(
            learn.state_table(hidden), key=f"learn_ed_state_{hidden}_{gen}", column_config={"h0": number, "c0": number},
            alt=tr("learn_state0"),
        )
    with right:
        st.markdown(f"**{tr('learn_weights')}**")
        st.caption(tr("learn_weights_caption"))
        example = learn.example_weights(inputs, hidden)
        grid = st.columns(2)
        tables = {}
        for n, gate in enumerate(learn.GATES):
            with grid[n % 2]:
                st.markdown(tr(f"learn_gate_{gate}"))
                tables[gate] = st.data_editor(
                    learn.gate_table(example, gate), key=f"learn_ed_{gate}_{inputs}x{hidden}_{gen}",
                    column_config=dict.fromkeys(learn.weight_columns(inputs, hidden), number), alt=tr("learn_table_alt"),
                )
    h0, c0 = learn.state_from_table(state, hidden)
    return learn.sequence_from_table(seq, inputs), learn.weights_from_tables(tables, inputs, hidden), h0, c0
