"""Strings shared by every page: navigation, sidebar and the home page."""

EN: dict[str, str] = {
    "app_title": "LSTM Lab",
    "app_tagline": "See an LSTM learn: real prices, honest baselines, every gate visible.",
    "language": "Language",
    "nav_home": "Home",
    "nav_data": "Data",
    "nav_train": "Train",
    "nav_gates": "Gates",
    "nav_learn": "Learn",
    "nav_home_help": "What LSTM Lab does and where to start.",
    "nav_data_help": "Load real prices (bundled samples, Yahoo Finance, your CSV) or a synthetic series.",
    "nav_train_help": "Choose hyperparameters, train in the background with a live loss chart, compare with baselines.",
    "nav_gates_help": "Watch the trained model's input, forget and output gates work, step by step.",
    "nav_learn_help": "The LSTM equations, a step-by-step calculator and why gates beat a plain RNN.",
    "sidebar_session": "This session",
    "sidebar_dataset": "Dataset: **{name}** ({rows:,} rows)",
    "sidebar_no_dataset": "Dataset: none loaded",
    "sidebar_model_none": "Model: not trained yet",
    "sidebar_model_training": "Model: training, epoch {epoch}/{epochs}",
    "sidebar_model_queued": "Model: queued, place {place}",
    "sidebar_model_ready": "Model: trained ({runs} runs)",
    "sidebar_model_ready_one": "Model: trained (1 run)",
    "home_intro": (
        "LSTM Lab trains a small LSTM on real daily stock prices, on its server while you browse, and shows "
        "everything: the loss as it falls, an honest score against the strongest simple forecasts, "
        "and the gates inside the cell, timestep by timestep."
    ),
    "home_steps": (
        "1. **Data**: a bundled real sample is already loaded; switch to Yahoo Finance, your own CSV or a synthetic series.\n"
        "2. **Train**: pick a window, hidden size and learning rate; training runs in the background while you browse.\n"
        "3. **Gates**: open the trained model and play its gate activations over a real input window.\n"
        "4. **Learn**: the equations, checked number by number against PyTorch."
    ),
    "home_honesty": (
        "A model can look perfect on a chart while doing no better than copying yesterday, or than a plain "
        "average of recent days, or than the same network before any training. LSTM Lab scores every model against "
        "the strongest simple methods (persistence, EWMA, HAR, GARCH, the window's own average, a linear "
        "autoregression) and against the network before training, with significance tests corrected for how many "
        "were made, and says so when it does not beat them. On the bundled samples, three seeds each, the default "
        "LSTM beats persistence but not its own untrained forecast: every page says it learned nothing it could show."
    ),
    "home_start": "Start with the data",
    "err_internal": "Something went wrong inside LSTM Lab: {detail}. Your data and runs are kept; please try again.",
    # Streamlit's own words in a file uploader's drop zone (drawn over them in other languages)
    "uploader_button": "Upload",
    "uploader_limit": "{mb}MB per file",
}

ZH: dict[str, str] = {
    "app_title": "LSTM 实验室",
    "app_tagline": "看 LSTM 如何学习：真实价格、诚实的基线、每个门都看得见。",
    "language": "语言",
    "nav_home": "首页",
    "nav_data": "数据",
    "nav_train": "训练",
    "nav_gates": "门控",
    "nav_learn": "学习",
    "nav_home_help": "LSTM 实验室能做什么，从哪里开始。",
    "nav_data_help": "加载真实价格（内置样本、雅虎财经、你的 CSV）或合成序列。",
    "nav_train_help": "选择超参数，在后台训练并实时查看损失曲线，与基线比较。",
    "nav_gates_help": "逐个时间步观察训练后模型的输入门、遗忘门和输出门。",
    "nav_learn_help": "LSTM 公式、逐步计算器，以及门控为何优于普通 RNN。",
    "sidebar_session": "当前会话",
    "sidebar_dataset": "数据集：**{name}**（{rows:,} 行）",
    "sidebar_no_dataset": "数据集：尚未加载",
    "sidebar_model_none": "模型：尚未训练",
    "sidebar_model_training": "模型：训练中，第 {epoch}/{epochs} 轮",
    "sidebar_model_queued": "模型：排队中，第 {place} 位",
    "sidebar_model_ready": "模型：已训练（{runs} 次运行）",
    "sidebar_model_ready_one": "模型：已训练（1 次运行）",
    "home_intro": (
        "LSTM 实验室在服务器上用真实的每日股价训练一个小型 LSTM（你可以同时浏览其他页面），并展示一切：不断下降的损失、"
        "与最强的简单预测方法的诚实对比，以及细胞内部各个门在每个时间步的取值。"
    ),
    "home_steps": (
        "1. **数据**：已默认加载一个内置的真实样本；也可切换到雅虎财经、你自己的 CSV 或合成序列。\n"
        "2. **训练**：选择窗口长度、隐藏单元数和学习率；训练在后台进行，你可以继续浏览其他页面。\n"
        "3. **门控**：打开训练好的模型，在真实输入窗口上播放各个门的激活值。\n"
        "4. **学习**：LSTM 公式，每个数字都与 PyTorch 逐一核对。"
    ),
    "home_honesty": (
        "一个模型在图上可能看起来完美，实际上却不比照抄昨天、最近几天的简单平均，或者训练之前的同一个网络更好。"
        "LSTM 实验室把每个模型与最强的简单方法（持续性、EWMA、HAR、GARCH、窗口自身的平均、线性自回归）以及训练之前的网络比较，"
        "所用的显著性检验会按比较次数做校正，模型没有胜过它们时就直说。在内置样本上（每个三个种子），默认的 LSTM 胜过持续性，"
        "但胜不过它自己未训练时的预测：每个页面都说它没有学到可以证明的东西。"
    ),
    "home_start": "从数据开始",
    "err_internal": "LSTM 实验室内部出错：{detail}。你的数据和运行记录都已保留，请重试。",
    "uploader_button": "上传",
    "uploader_limit": "每个文件最多 {mb} MB",
}
