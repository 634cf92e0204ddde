"""The Learn page: its content tables and one widget group per tab."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from lstm_core import learn
from lstm_core.config import Cell, RunConfig
from lstm_core.cost import EVAL_BATCH_MAX
from lstm_core.data.dataset import title_of
from lstm_core.errors import LabError
from lstm_core.plots.learn import gradient_figure, trace_figure
from ui.session import kept_tabs, session
from ui.text import show_error, tr

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


def lesson_ui() -> None:
    """The lesson: each section with its links and picture, the parameter counts, where LSTMs are used."""
    for title, bodies, links, picture in LESSON:
        st.subheader(tr(title))
        for body in bodies:
            st.markdown(tr(body))
        if picture is not None:
            st.image(str(picture[0]), caption=tr(picture[1]))
        for link in links:
            control_link(*link)
    st.subheader(tr("learn_costs_title"))
    cfg = RunConfig()  # the Train page's default model
    counts = {cell: learn.param_count(cell, cfg.n_features, cfg.hidden) for cell in learn.CELLS}
    torch_count = learn.param_count(Cell.LSTM, cfg.n_features, cfg.hidden, two_biases=True)
    st.markdown(tr("learn_costs_body", inputs=cfg.n_features, hidden=cfg.hidden, lstm_torch=torch_count, **counts))
    st.subheader(tr("learn_uses_title"))
    st.markdown(tr("learn_uses_body"))


def calculator_ui() -> None:
    """The step-by-step calculator, checked against torch.nn.LSTMCell, with one step worked by hand."""
    st.markdown(tr("learn_calc_intro"))
    st.session_state.setdefault("learn_inputs", 1)
    st.session_state.setdefault("learn_hidden", 2)
    row = st.columns([2, 2, 1], vertical_alignment="bottom")
    inputs = row[0].segmented_control(tr("learn_input_size"), SIZES, key="learn_inputs", required=True)
    hidden = row[1].segmented_control(tr("learn_hidden_size"), SIZES, key="learn_hidden", required=True)
    row[2].button(tr("learn_reset"), icon=":material/restart_alt:", on_click=reset_calculator, width="stretch")
    try:
        xs, weights, h0, c0 = calculator_inputs_ui(inputs, hidden)
        trace = learn.run_cell(xs, weights, h0, c0)
        torch_h, torch_c = learn.torch_cell_run(xs, weights, h0, c0)
    except LabError as err:
        show_error(err)
        return
    st.subheader(tr("learn_torch_title"))
    diff = learn.largest_difference(trace, torch_h, torch_c)
    if diff < 1e-9:
        st.success(tr("learn_torch_match", diff=f"{diff:.1e}"), icon=":material/verified:")
    else:
        st.error(tr("learn_torch_mismatch", diff=f"{diff:.1e}"), icon=":material/error:")
    st.dataframe(learn.comparison_frame(trace, torch_h, torch_c), hide_index=True, alt=tr("learn_torch_alt"))
    st.caption(tr("learn_torch_note"))

    st.subheader(tr("learn_worked_title"))
    pick = st.columns(2)
    step = pick[0].segmented_control(tr("learn_worked_step"), list(range(1, trace.steps + 1)), default=1,
                                     key=f"learn_step_{trace.steps}", required=True)
    unit = pick[1].segmented_control(tr("learn_worked_unit"), list(range(1, hidden + 1)), default=1,
                                     key=f"learn_unit_{hidden}", required=True)
    for line in learn.worked_step(xs, weights, trace, step, unit - 1):
        st.latex(line)
    chart_labels = {"gates": tr("learn_chart_gates"), "states": tr("learn_chart_states"), "x": tr("learn_chart_step")}
    st.plotly_chart(trace_figure(trace, unit - 1, chart_labels), key="learn_trace_chart", alt=tr("learn_chart_alt"))

    st.subheader(tr("learn_all_values"))
    st.markdown(tr("learn_all_values_caption"))
    units = [tr("learn_unit", k=k + 1) for k in range(hidden)]
    st.dataframe(
        learn.trace_frame(trace, tr("learn_col_step"), tr("learn_col_quantity"), units), hide_index=True, height=420,
        column_config={u: st.column_config.NumberColumn(format="%.4f") for u in units}, alt=tr("learn_all_values_alt"),
    )


def gradients_ui() -> None:
    """How much gradient reaches each earlier input in a plain RNN, an LSTM and a GRU, the forget bias a slider."""
    st.markdown(tr("learn_grad_intro"))
    row = st.columns([2, 2, 1], vertical_alignment="bottom")
    forget_bias = row[0].slider(tr("learn_forget_bias"), -3.0, 5.0, 1.0, 0.5, key="learn_forget_bias",
                                help=tr("learn_forget_bias_help"))
    grad_hidden = row[1].segmented_control(tr("learn_grad_hidden"), GRAD_HIDDEN, default=32, key="learn_grad_hidden",
                                           required=True)
    seed = row[2].number_input(tr("learn_grad_seed"), min_value=0, max_value=10_000, value=0, key="learn_grad_seed")
    norms = cached_gradients(int(grad_hidden), int(seed), float(forget_bias))
    names = {cell: tr(f"learn_cell_{cell}") for cell in learn.CELLS}
    steps_back = tr("learn_grad_metric", steps=GRAD_DISTANCE)
    for column, cell in zip(st.columns(3), learn.CELLS, strict=True):
        column.metric(f"{names[cell]} · {steps_back}", f"{learn.norm_steps_back(norms[cell], GRAD_DISTANCE):.1e}")
    grad_labels = {"title": tr("learn_grad_title"), "x": tr("learn_grad_x"), "y": tr("learn_grad_y")}
    st.plotly_chart(gradient_figure(norms, names, grad_labels), key="learn_grad_chart", alt=tr("learn_grad_alt"))
    st.markdown(tr("learn_grad_reading"))
    st.markdown(tr("learn_grad_trained"))
    control_link(*TASK_LINK)


def faq_ui() -> None:
    st.caption(tr("learn_faq_intro"))
    for question, answer, links in FAQ:
        with st.container(border=True):
            st.subheader(tr(question))
            st.markdown(tr(answer))
            for link in links:
                control_link(*link)


def mistakes_ui() -> None:
    st.markdown(tr("learn_mistakes_intro"))
    st.markdown(tr("learn_mistakes_table"))
    article_code_ui()


# the article's example done right: its 50-unit LSTM and 30-step windows, on real prices, the next day's close
ARTICLE_MODEL = RunConfig.for_target(target="price", hidden=50, window=30)


@st.cache_data(show_spinner=False)
def article_script(lang: str) -> str:
    """The exported script of the article's model done right (made once per language: its first line is translated)."""
    from lstm_core.runs.export import script_for

    return script_for(ARTICLE_MODEL, title_of("MSFT (sample)", lang), tr("learn_code_what"), EVAL_BATCH_MAX)


def article_code_ui() -> None:
    """The article's stock example, step by step with its mistakes marked, beside the same model as plain PyTorch, and
    what each mistake changes when run (bench/article.py)."""
    st.subheader(tr("learn_code_title"))
    st.caption(tr("learn_code_caption"))
    article, ours = st.columns(2)
    with article:
        st.markdown(f"**{tr('learn_code_article')}**")
        st.markdown(tr("learn_code_steps"))
    with ours:
        st.markdown(f"**{tr('learn_code_ours')}**")
        st.code(article_script(session.lang), language="python", line_numbers=True, height=560)
        st.caption(tr("learn_code_ours_caption"))
    st.markdown(f"**{tr('learn_code_measured_title')}**")
    st.markdown(tr("learn_code_measured"))
    st.caption(tr("learn_code_measured_caption"))


TABS = (  # (label key, icon, widget group), in the order the tabs are drawn
    ("learn_tab_lesson", "menu_book", lesson_ui), ("learn_tab_calculator", "calculate", calculator_ui),
    ("learn_tab_gradients", "trending_down", gradients_ui), ("learn_tab_faq", "help", faq_ui),
    ("learn_tab_mistakes", "rule", mistakes_ui),
)


def tabs_ui() -> None:
    """The five tabs, reopened where the user left them; only the open one runs (a switch redraws one tab, not five)."""
    tabs = kept_tabs("learn", [f":material/{icon}: {tr(key)}" for key, icon, _ in TABS])
    for tab, (_, _, draw) in zip(tabs, TABS, strict=True):
        if tab.open:
            with tab:
                draw()
