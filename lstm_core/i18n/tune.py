"""Sentences of the Tune page and the hyperparameter search: its settings, charts, table and errors."""

EN: dict[str, str] = {
    "nav_tune": "Tune",
    "nav_tune_help": "Search for the settings with the lowest validation loss: many small runs, scored and compared.",
    "err_tune_unknown_setting": "The search cannot vary “{name}”. Choose among: {choices}.",
    "err_tune_bad_range": (
        "The search range {low} to {high} for {name} does not fit its allowed range {table_low} to {table_high}: "
        "give a low end no higher than the high end, inside the allowed range."
    ),
    "err_tune_bad_search": "“{part}” is not a search: write names with optional ranges, e.g. hidden=8:64,lr,cell=lstm|gru.",
    "err_tune_fixed_and_searched": "{name} is both fixed and searched: drop its flag or take it out of --search.",
    "err_tune_no_choices": "Pick at least one choice of {name} to search among: {choices}.",
    "err_tune_not_whole": "{name} takes whole numbers, so its search range must too: {low:g} to {high:g} is not one.",
    "err_tune_empty_search": "Name at least one setting to search, e.g. hidden=8:64,lr.",
    "err_tune_sqlite_workers": (
        "A SQLite file takes one writer at a time, so it cannot serve {workers} workers: use the default journal file "
        "or a PostgreSQL URL, or run one worker."
    ),
    "err_tune_storage_not_shared": (
        "A tuning worker of study '{study}' ran on {host}, which does not have the study's file: on a cluster, keep "
        "studies in a database every machine reaches (LSTM_LAB_TUNE_STORAGE, or --storage "
        "postgresql+psycopg://...), or in a folder every machine shares."
    ),
    "err_tune_bad_storage": "“{url}” is not a storage this program can open: give a journal file path, sqlite:///… or postgresql+psycopg://….",
    "err_tune_storage_unreachable": "Cannot reach the study storage {url} ({detail}). Check that it is running and the address is right.",
    "err_tune_study_name": "Give the study a name of 1 to 200 characters.",
    "err_tune_journal_damaged": (
        "The journal file of study “{study}” is damaged (a write was cut off, or the file was changed), so the study "
        "cannot be read or continued. Delete or rename {file} and start the study again; other studies are not affected."
    ),
    "err_tune_journal_unwritable": "Cannot create or open the journal file of study “{study}”, {file} ({detail}).",
    "err_tune_no_study": "There is no study called “{study}” in this storage yet: start it first.",
    "err_tune_other_setting": (
        "Study “{study}” was started with {name} = {then}; this run has {now}. Continue it with the same settings, "
        "or give a new study name."
    ),
    "err_tune_other_data": (
        "Study “{study}” was started on other data (its prices hash to {then}…, these to {now}…). Continue it on the "
        "same data, or give a new study name."
    ),
    "err_tune_other_search": (
        "Study “{study}” searches {then}; this run would search {now}. Search the same space to continue it, or give a "
        "new study name."
    ),
    "err_tune_old_range": (
        "Study “{study}” was started when the daily range was read at its own level; it is now read against each "
        "window's own volatility, so new trials would not be comparable with its old ones. Give a new study name."
    ),
    "err_tune_no_best": "Study “{study}” has no completed trial yet, so there is no best config to train.",
    "tune_title": "Tune: search for better settings",
    "tune_intro": (
        "Each trial trains one model with settings drawn from the ranges you pick and is scored by its best validation "
        "loss; the test period is never looked at. Unpromising trials are stopped early by the pruner."
    ),
    "tune_search": "Settings to search",
    "tune_trials": "Trials (for the whole study)",
    "tune_workers": "Worker processes",
    "tune_pruner": "Pruner",
    "tune_pruner_median": "Median",
    "tune_pruner_hyperband": "Hyperband",
    "tune_pruner_none": "None",
    "tune_pruner_help": (
        "Median: stop a trial whose validation loss is worse than the median of earlier trials at the same epoch. "
        "Hyperband: give many trials a few epochs, and the best of them more. None: every trial runs all its epochs."
    ),
    "tune_study": "Study name",
    "tune_storage": "Studies are stored in the database {url}.",
    "tune_storage_journal": "Each study is stored in a journal file of its own on this server.",
    "err_tune_journal_damaged_page": (
        "The journal file of study “{study}” on this server is damaged (a write was cut off, or the file was changed), "
        "so the study cannot be read or continued: start a new study. Other studies are not affected."
    ),
    "err_tune_journal_unwritable_page": "This server cannot create or open the journal file of study “{study}” ({detail}).",
    "tune_start": "Start the study",
    "tune_stop": "Stop",
    "tune_train_best": "Train the best",
    "tune_running": "{running} of {workers} workers running, {finished} of {budget} trials finished.",
    "tune_idle": "{finished} trials finished in this study.",
    "tune_no_trials": "No trial has finished yet.",
    "tune_best": "Best so far: trial {number}, validation loss {value:.5f}.",
    "tune_chart_history": "Validation loss of each trial, and the best so far",
    "tune_chart_intermediate": "Validation loss by epoch, per trial",
    "tune_chart_parallel": "Settings of each trial, coloured by validation loss",
    "tune_chart_importance": "Which settings mattered most, from {complete} complete trials",
    "tune_importance_wait": (
        "Which settings mattered most is shown once {needed} trials have completed ({complete} so far): with fewer, "
        "it is mostly noise."
    ),
    "tune_legend_pruned": "Pruned (loss when stopped)",
    "tune_target_line": "**Target:** {target}. Every trial predicts it; losses of other targets are not comparable.",
    "tune_fixed_line": "Fixed in every trial (the Train page's last run, or its defaults): {settings}.",
    "tune_fixed_basket": "Fixed in every trial (the target and inputs picked here and on the Many series page, the rest their defaults): {settings}.",
    "tune_on": "Search on",
    "tune_on_series": "{name}",
    "tune_on_basket": "A basket of series (one network on them pooled)",
    "tune_basket_caption": "Each trial trains one network on the basket's series pooled and is scored on their validation windows together; the test periods stay unread. The best settings train as a basket run on the Many series page.",
    "tune_search_line": "Searched: {search}.",
    "tune_fixed_study": "Fixed in every trial of this study: {settings}.",
    "tune_table": "Trials",
    "tune_col_number": "Trial",
    "tune_col_state": "State",
    "tune_col_value": "Validation loss",
    "tune_col_seconds": "Seconds",
    "tune_state_complete": "complete",
    "tune_state_pruned": "pruned",
    "tune_state_fail": "failed",
    "tune_state_running": "running",
    "tune_state_waiting": "waiting",
    "tune_axis_trial": "Trial",
    "tune_axis_epoch": "Epoch",
    "tune_axis_value": "Validation loss",
    "tune_axis_importance": "Importance",
    "tune_legend_best": "Best so far",
    "tune_axis_setting": "Setting",
    "tune_from": "{name}: from",
    "tune_to": "{name}: to",
    "tune_choices": "{name}: choices",
    "tune_epochs": "Epochs per trial",
    "tune_study_line": "Study {study}",
}

ZH: dict[str, str] = {
    "nav_tune": "调参",
    "nav_tune_help": "寻找验证损失最低的设置：许多小规模训练，逐个评分并比较。",
    "err_tune_unknown_setting": "搜索不能改变“{name}”。请从以下选择：{choices}。",
    "err_tune_bad_range": (
        "{name} 的搜索范围 {low} 到 {high} 不在其允许范围 {table_low} 到 {table_high} 内：请给出不高于上限的下限，"
        "并且都在允许范围之内。"
    ),
    "err_tune_bad_search": "“{part}”不是有效的搜索：请写设置名和可选范围，例如 hidden=8:64,lr,cell=lstm|gru。",
    "err_tune_fixed_and_searched": "{name} 既被固定又被搜索：请去掉它的参数，或把它从 --search 中移除。",
    "err_tune_no_choices": "请至少为 {name} 选择一个要搜索的选项，可选：{choices}。",
    "err_tune_not_whole": "{name} 只取整数，所以它的搜索范围也必须是整数：{low:g} 到 {high:g} 不是。",
    "err_tune_empty_search": "请至少指定一个要搜索的设置，例如 hidden=8:64,lr。",
    "err_tune_sqlite_workers": (
        "SQLite 文件一次只能有一个写入者，无法服务 {workers} 个工作进程：请使用默认的日志文件或 PostgreSQL 地址，"
        "或只运行一个工作进程。"
    ),
    "err_tune_storage_not_shared": (
        "研究 '{study}' 的一个调参工作进程运行在 {host} 上，而那台机器上没有这个研究的文件：在集群上，请把研究保存在"
        "每台机器都能访问的数据库中（LSTM_LAB_TUNE_STORAGE，或 --storage postgresql+psycopg://...），"
        "或所有机器共享的文件夹中。"
    ),
    "err_tune_bad_storage": "“{url}”不是本程序能打开的存储：请给出日志文件路径、sqlite:///… 或 postgresql+psycopg://…。",
    "err_tune_storage_unreachable": "无法连接研究存储 {url}（{detail}）。请检查它是否在运行、地址是否正确。",
    "err_tune_study_name": "请给研究起一个 1 到 200 个字符的名字。",
    "err_tune_journal_damaged": (
        "研究“{study}”的日志文件已损坏（某次写入被中断，或文件被改动过），因此无法读取或继续该研究。"
        "请删除或重命名 {file}，然后重新开始该研究；其他研究不受影响。"
    ),
    "err_tune_journal_unwritable": "无法创建或打开研究“{study}”的日志文件 {file}（{detail}）。",
    "err_tune_no_study": "此存储中还没有名为“{study}”的研究：请先启动它。",
    "err_tune_other_setting": "研究“{study}”开始时 {name} = {then}；本次运行为 {now}。请用相同的设置继续它，或换一个研究名称。",
    "err_tune_other_data": (
        "研究“{study}”是在其他数据上开始的（其价格的哈希为 {then}…，这些数据为 {now}…）。请在相同的数据上继续它，"
        "或换一个研究名称。"
    ),
    "err_tune_other_search": "研究“{study}”搜索的是 {then}；本次运行将搜索 {now}。请搜索相同的空间以继续它，或换一个研究名称。",
    "err_tune_old_range": "研究“{study}”开始时每日波幅按其自身水平读取；现在它相对每个窗口自身的波动率读取，新试验将无法与旧试验比较。请换一个研究名称。",
    "err_tune_no_best": "研究“{study}”还没有完成的试验，因此没有可训练的最佳配置。",
    "tune_title": "调参：寻找更好的设置",
    "tune_intro": (
        "每个试验用从你所选范围中抽取的设置训练一个模型，并以其最佳验证损失评分；测试区间从不被查看。"
        "剪枝器会提前停止没有希望的试验。"
    ),
    "tune_search": "要搜索的设置",
    "tune_trials": "试验次数（整个研究）",
    "tune_workers": "工作进程数",
    "tune_pruner": "剪枝器",
    "tune_pruner_median": "中位数",
    "tune_pruner_hyperband": "Hyperband 算法",
    "tune_pruner_none": "不剪枝",
    "tune_pruner_help": (
        "中位数：某个试验在同一轮次的验证损失比之前试验的中位数更差时停止它。Hyperband：先给许多试验少量轮次，"
        "再给其中最好的更多轮次。不剪枝：每个试验都跑完所有轮次。"
    ),
    "tune_study": "研究名称",
    "tune_storage": "研究存储在数据库 {url} 中。",
    "tune_storage_journal": "每个研究都存储在本服务器上它自己的日志文件中。",
    "err_tune_journal_damaged_page": (
        "本服务器上研究“{study}”的日志文件已损坏（某次写入被中断，或文件被改动过），因此无法读取或继续该研究："
        "请开始一个新的研究。其他研究不受影响。"
    ),
    "err_tune_journal_unwritable_page": "本服务器无法创建或打开研究“{study}”的日志文件（{detail}）。",
    "tune_start": "开始研究",
    "tune_stop": "停止",
    "tune_train_best": "训练最佳配置",
    "tune_running": "{workers} 个工作进程中有 {running} 个在运行，{budget} 个试验中已完成 {finished} 个。",
    "tune_idle": "此研究已完成 {finished} 个试验。",
    "tune_no_trials": "还没有完成的试验。",
    "tune_best": "目前最佳：第 {number} 个试验，验证损失 {value:.5f}。",
    "tune_chart_history": "每个试验的验证损失及目前最佳",
    "tune_chart_intermediate": "各试验每轮的验证损失",
    "tune_chart_parallel": "每个试验的设置，按验证损失着色",
    "tune_chart_importance": "哪些设置最重要（基于 {complete} 个已完成的试验）",
    "tune_importance_wait": "至少 {needed} 个试验完成后才显示哪些设置最重要（目前 {complete} 个）：少于此数时结果多半是噪声。",
    "tune_legend_pruned": "已剪枝（停止时的损失）",
    "tune_target_line": "**目标：** {target}。每个试验都预测它；不同目标的损失不可比较。",
    "tune_fixed_line": "每个试验中固定的设置（训练页面上次运行的值，或其默认值）：{settings}。",
    "tune_fixed_basket": "每个试验中固定的设置（此处及“多序列”页面选定的目标和输入，其余为默认值）：{settings}。",
    "tune_on": "搜索的数据",
    "tune_on_series": "{name}",
    "tune_on_basket": "一篮子序列（一个网络在它们的合并数据上训练）",
    "tune_basket_caption": "每个试验在这篮子序列的合并数据上训练一个网络，并在它们的验证窗口上一起评分；测试期不会被读取。最佳设置会在“多序列”页面上作为篮子运行来训练。",
    "tune_search_line": "搜索：{search}。",
    "tune_fixed_study": "此研究中每个试验固定的设置：{settings}。",
    "tune_table": "试验",
    "tune_col_number": "试验",
    "tune_col_state": "状态",
    "tune_col_value": "验证损失",
    "tune_col_seconds": "秒",
    "tune_state_complete": "已完成",
    "tune_state_pruned": "已剪枝",
    "tune_state_fail": "失败",
    "tune_state_running": "运行中",
    "tune_state_waiting": "等待中",
    "tune_axis_trial": "试验",
    "tune_axis_epoch": "轮次",
    "tune_axis_value": "验证损失",
    "tune_axis_importance": "重要性",
    "tune_legend_best": "目前最佳",
    "tune_axis_setting": "设置",
    "tune_from": "{name}：从",
    "tune_to": "{name}：到",
    "tune_choices": "{name}：可选项",
    "tune_epochs": "每个试验的轮数",
    "tune_study_line": "研究 {study}",
}
