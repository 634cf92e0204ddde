"""Strings of the Gates page, its figures and the gate extraction errors."""

EN: dict[str, str] = {
    "gates_title": "Gates",
    "gates_caption": "Play one input window through the model and watch every gate, timestep by timestep.",
    "gates_no_model": "No trained model yet: showing a freshly initialised model. Train one on the Train page to see what it learned.",
    "gates_gru_model": "This run uses a GRU, which has no input, forget or output gates of an LSTM: train an LSTM to see them here.",
    "gates_pick_window": "Input window ending on",
    "gates_pick_layer": "Layer",
    "gates_layer_n": "Layer {n}",
    "gates_pick_units": "Units",
    "gates_pick_gate": "Gate",
    "gates_pick_units_help": "The most active units (largest swing of the cell state over the window) are chosen first.",
    # names of the six arrays; short ones label heatmap rows
    "gates_name_i": "Input gate i",
    "gates_name_f": "Forget gate f",
    "gates_name_g": "Candidate g",
    "gates_name_o": "Output gate o",
    "gates_name_c": "Cell state c",
    "gates_name_h": "Hidden state h",
    "gates_short_i": "i input",
    "gates_short_f": "f forget",
    "gates_short_g": "g candidate",
    "gates_short_o": "o output",
    "gates_short_c": "c cell",
    "gates_short_h": "h hidden",
    "gates_explain_i": "How much of the new candidate is written into the cell (0 = nothing, 1 = all of it).",
    "gates_explain_f": "How much of the old cell state is kept (0 = forget it, 1 = keep it all).",
    "gates_explain_g": "The new content proposed for the cell, between -1 and 1.",
    "gates_explain_o": "How much of the cell state is shown as the hidden state.",
    "gates_explain_c": "The cell's memory: f keeps part of the old one, i adds part of g. It is not bounded to [-1, 1].",
    "gates_explain_h": "What the cell outputs: o times tanh(c). The last layer's final h feeds the prediction.",
    # axes, legends and controls
    "gates_axis_unit": "Unit",
    "gates_axis_step": "Step",
    "gates_axis_date": "Date",
    "gates_axis_price": "Price",
    "gates_axis_value": "Value",
    "gates_axis_mean": "Mean over units",
    "gates_unit_n": "unit {n}",
    "gates_input_window": "Input window",
    "gates_current_step": "Current step",
    "gates_prediction": "Prediction",
    "gates_play": "▶ Play",
    "gates_pause": "❚❚ Pause",
    "gates_slider_prefix": "Step: ",
    "gates_colour_note": "Colours run from -1 to 1; c can go beyond (its colour then stops at the end of the scale), hover to read it.",
    # figure titles
    "gates_fig_animation": "Gates and states of layer {layer}, step by step",
    "gates_fig_units": "Chosen units of layer {layer} over the window",
    "gates_fig_saturation": "Gate saturation of layer {layer}",
    "gates_fig_before_after": "{gate} of layer {layer}: before and after training",
    # saturation
    "gates_sat_left": "Fraction of steps left-saturated (< {low})",
    "gates_sat_right": "Fraction of steps right-saturated (> {high})",
    "gates_sat_explain": (
        "Each dot is one unit. A gate is left-saturated when it is nearly shut (below {low}) and right-saturated "
        "when it is nearly open (above {high}). Dots near the bottom-left corner are gates that rarely saturate "
        "and respond to the input; forget gates near the top-left stay open and keep their memory for long "
        "stretches, as Karpathy, Johnson & Fei-Fei (2015) found in character models. Points cannot cross the "
        "diagonal: a step cannot be both."
    ),
    # before / after training
    "gates_before": "Before training (initial weights)",
    "gates_after": "After training",
    "gates_before_short": "before",
    "gates_after_short": "after",
    "gates_before_after_explain": (
        "The same window runs through the initial weights and the trained weights. Before training the gates "
        "hover around 0.5 and barely react to the input; training teaches them when to open and close."
    ),
    # downsampling notes
    "gates_downsampled_steps": "Showing one step in {stride} ({frames} of {steps} steps) to keep the animation smooth; the last step is always shown.",
    "gates_downsampled_units": "Showing {shown} of {units} units to keep the figure light.",
    # errors
    "err_gates_not_lstm": "The gates view needs an LSTM, but this model is a {kind}. Train a model with cell 'lstm' to see its gates.",
    "err_gates_empty_window": "The input window is empty: choose a window with at least one step.",
    "err_gates_window_features": (
        "The model reads {expected} feature(s) per step but this window has {got}. Load the dataset the model "
        "was trained on, or train again on this one."
    ),
    "err_gates_no_units": "Choose at least one unit to plot.",
    "err_gates_bad_unit": "Unit {unit} does not exist: this layer has units 0 to {last}.",
}

ZH: dict[str, str] = {
    "gates_title": "门控",
    "gates_caption": "让一个输入窗口流过模型，逐个时间步观察每一个门。",
    "gates_no_model": "还没有训练好的模型：这里显示的是刚初始化的模型。到训练页训练一个模型，就能看到它学到了什么。",
    "gates_gru_model": "本次运行使用的是 GRU，它没有 LSTM 的输入门、遗忘门和输出门：请训练一个 LSTM 以在此查看。",
    "gates_pick_window": "输入窗口的结束日期",
    "gates_pick_layer": "层",
    "gates_layer_n": "第 {n} 层",
    "gates_pick_units": "单元",
    "gates_pick_gate": "门",
    "gates_pick_units_help": "优先选择最活跃的单元（细胞状态在窗口内波动最大的单元）。",
    "gates_name_i": "输入门 i",
    "gates_name_f": "遗忘门 f",
    "gates_name_g": "候选值 g",
    "gates_name_o": "输出门 o",
    "gates_name_c": "细胞状态 c",
    "gates_name_h": "隐藏状态 h",
    "gates_short_i": "i 输入",
    "gates_short_f": "f 遗忘",
    "gates_short_g": "g 候选",
    "gates_short_o": "o 输出",
    "gates_short_c": "c 细胞",
    "gates_short_h": "h 隐藏",
    "gates_explain_i": "把多少新的候选值写入细胞（0 = 不写，1 = 全部写入）。",
    "gates_explain_f": "保留多少旧的细胞状态（0 = 全部遗忘，1 = 全部保留）。",
    "gates_explain_g": "为细胞提出的新内容，取值在 -1 到 1 之间。",
    "gates_explain_o": "细胞状态中有多少作为隐藏状态输出。",
    "gates_explain_c": "细胞的记忆：f 保留一部分旧记忆，i 加入一部分 g。它不限于 [-1, 1]。",
    "gates_explain_h": "细胞的输出：o 乘以 tanh(c)。最后一层最终的 h 用于生成预测。",
    "gates_axis_unit": "单元",
    "gates_axis_step": "时间步",
    "gates_axis_date": "日期",
    "gates_axis_price": "价格",
    "gates_axis_value": "取值",
    "gates_axis_mean": "各单元平均值",
    "gates_unit_n": "单元 {n}",
    "gates_input_window": "输入窗口",
    "gates_current_step": "当前时间步",
    "gates_prediction": "预测",
    "gates_play": "▶ 播放",
    "gates_pause": "❚❚ 暂停",
    "gates_slider_prefix": "时间步：",
    "gates_colour_note": "颜色范围为 -1 到 1；c 可能超出此范围（颜色会停在色标两端），请悬停查看数值。",
    "gates_fig_animation": "第 {layer} 层的门与状态，逐步播放",
    "gates_fig_units": "第 {layer} 层所选单元在窗口内的变化",
    "gates_fig_saturation": "第 {layer} 层的门饱和情况",
    "gates_fig_before_after": "第 {layer} 层的{gate}：训练前与训练后",
    "gates_sat_left": "左饱和的时间步比例（< {low}）",
    "gates_sat_right": "右饱和的时间步比例（> {high}）",
    "gates_sat_explain": (
        "每个点代表一个单元。门的取值低于 {low} 时几乎关闭，称为左饱和；高于 {high} 时几乎全开，称为右饱和。"
        "靠近左下角的点是很少饱和、随输入变化的门；靠近左上方的遗忘门长时间保持打开，能长期保留记忆，"
        "这正是 Karpathy、Johnson 和 Fei-Fei（2015）在字符模型中观察到的现象。点不会越过对角线：同一时间步不可能同时处于两种饱和。"
    ),
    "gates_before": "训练前（初始权重）",
    "gates_after": "训练后",
    "gates_before_short": "训练前",
    "gates_after_short": "训练后",
    "gates_before_after_explain": (
        "同一个窗口分别流过初始权重和训练后的权重。训练前各个门的取值大多在 0.5 附近，几乎不随输入变化；"
        "训练让它们学会何时打开、何时关闭。"
    ),
    "gates_downsampled_steps": "为保证动画流畅，每 {stride} 个时间步显示一个（共 {steps} 步中的 {frames} 步）；最后一步始终显示。",
    "gates_downsampled_units": "为减轻图表负担，只显示 {units} 个单元中的 {shown} 个。",
    "err_gates_not_lstm": "门控视图需要 LSTM，但此模型是 {kind}。请用单元类型“lstm”训练模型以查看其门控。",
    "err_gates_empty_window": "输入窗口为空：请选择至少包含一个时间步的窗口。",
    "err_gates_window_features": "模型每个时间步读取 {expected} 个特征，但此窗口有 {got} 个。请加载训练该模型时使用的数据集，或在当前数据集上重新训练。",
    "err_gates_no_units": "请至少选择一个要绘制的单元。",
    "err_gates_bad_unit": "单元 {unit} 不存在：这一层的单元编号为 0 到 {last}。",
}
