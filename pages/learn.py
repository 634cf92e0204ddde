"""Learn: the LSTM lesson, a step-by-step calculator checked live against PyTorch, and why gates beat a plain RNN."""

import streamlit as st

from lstm_core import learn
from lstm_core.config import RunConfig
from lstm_core.errors import LabError
from lstm_core.plots.learn import gradient_figure, trace_figure
from ui.learn import (
    FAQ,
    GRAD_DISTANCE,
    GRAD_HIDDEN,
    LESSON,
    SIZES,
    TASK_LINK,
    cached_gradients,
    calculator_inputs_ui,
    control_link,
    reset_calculator,
)
from ui.nav import require_router
from ui.session import kept_tabs
from ui.text import show_error, tr

require_router()
st.title(tr("learn_title"))
st.caption(tr("learn_caption"))
lesson_tab, calc_tab, grad_tab, faq_tab, mistakes_tab = kept_tabs("learn", [
    f":material/menu_book: {tr('learn_tab_lesson')}", f":material/calculate: {tr('learn_tab_calculator')}",
    f":material/trending_down: {tr('learn_tab_gradients')}", f":material/help: {tr('learn_tab_faq')}",
    f":material/rule: {tr('learn_tab_mistakes')}",
])

# only the open tab runs (kept_tabs track their state): a tab or language switch redraws one tab, not five
if lesson_tab.open:
    with lesson_tab:
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
        torch_count = learn.param_count("lstm", cfg.n_features, cfg.hidden, two_biases=True)
        st.markdown(tr("learn_costs_body", inputs=cfg.n_features, hidden=cfg.hidden, lstm_torch=torch_count, **counts))
        st.subheader(tr("learn_uses_title"))
        st.markdown(tr("learn_uses_body"))

if calc_tab.open:
    with calc_tab:
        st.markdown(tr("learn_calc_intro"))
        st.session_state.setdefault("learn_inputs", 1)
        st.session_state.setdefault("learn_hidden", 2)
        row = st.columns([2, 2, 1], vertical_alignment="bottom")
        inputs = row[0].segmented_control(tr("learn_input_size"), SIZES, key="learn_inputs", required=True)
        hidden = row[1].segmented_control(tr("learn_hidden_size"), SIZES, key="learn_hidden", required=True)
        row[2].button(tr("learn_reset"), icon=":material/restart_alt:", on_click=reset_calculator, width="stretch")
        trace = None
        try:
            xs, weights, h0, c0 = calculator_inputs_ui(inputs, hidden)
            trace = learn.run_cell(xs, weights, h0, c0)
            torch_h, torch_c = learn.torch_cell_run(xs, weights, h0, c0)
        except LabError as err:
            show_error(err)
        if trace is not None:
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
            step = pick[0].segmented_control(
                tr("learn_worked_step"), list(range(1, trace.steps + 1)), default=1, key=f"learn_step_{trace.steps}", required=True
            )
            unit = pick[1].segmented_control(
                tr("learn_worked_unit"), list(range(1, hidden + 1)), default=1, key=f"learn_unit_{hidden}", required=True
            )
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

if grad_tab.open:
    with grad_tab:
        st.markdown(tr("learn_grad_intro"))
        row = st.columns([2, 2, 1], vertical_alignment="bottom")
        forget_bias = row[0].slider(
            tr("learn_forget_bias"), -3.0, 5.0, 1.0, 0.5, key="learn_forget_bias", help=tr("learn_forget_bias_help")
        )
        grad_hidden = row[1].segmented_control(
            tr("learn_grad_hidden"), GRAD_HIDDEN, default=32, key="learn_grad_hidden", required=True
        )
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

if faq_tab.open:
    with faq_tab:
        st.caption(tr("learn_faq_intro"))
        for question, answer, links in FAQ:
            with st.container(border=True):
                st.subheader(tr(question))
                st.markdown(tr(answer))
                for link in links:
                    control_link(*link)

if mistakes_tab.open:
    with mistakes_tab:
        st.markdown(tr("learn_mistakes_intro"))
        st.markdown(tr("learn_mistakes_table"))
