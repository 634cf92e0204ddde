"""Sentences about jobs as the server runs them: memory and time limits, and worker processes that end badly."""

EN: dict[str, str] = {
    "err_job_memory": (
        "These settings need about {need_mb} MB of memory to train ({batch_mb} MB for one batch alone), but this server "
        "gives each job at most {budget_mb} MB. Lower the batch size, the window, the hidden units or the layers."
    ),
    "err_job_out_of_memory": (
        "Training ran out of the memory this server gives one job. Lower the batch size, the window, the hidden units "
        "or the layers, and try again."
    ),
    "err_worker_killed": (
        "The training process was ended by the system (signal {signal}), most often because memory ran out. "
        "The server and your other runs are fine: try again, perhaps with a smaller model."
    ),
    "err_worker_exited": (
        "The training process ended unexpectedly (exit code {code}). The server and your other runs are fine: "
        "please try again."
    ),
    "err_job_time_killed": (
        "Training reached the server's time limit of {seconds} s before it had scored its first weights, and was "
        "ended with nothing to keep. Try fewer epochs, a smaller model or less data."
    ),
}

ZH: dict[str, str] = {
    "err_job_memory": (
        "这些设置训练时大约需要 {need_mb} MB 内存（仅一个批次就需要 {batch_mb} MB），而本服务器每个任务最多只给 "
        "{budget_mb} MB。请减小批大小、窗口、隐藏单元数或层数。"
    ),
    "err_job_out_of_memory": "训练用完了本服务器分给单个任务的内存。请减小批大小、窗口、隐藏单元数或层数后重试。",
    "err_worker_killed": (
        "训练进程被系统结束（信号 {signal}），最常见的原因是内存耗尽。服务器和你的其他运行都不受影响：请重试，"
        "或换一个更小的模型。"
    ),
    "err_worker_exited": "训练进程意外结束（退出码 {code}）。服务器和你的其他运行都不受影响：请重试。",
    "err_job_time_killed": "训练在第一次评估权重之前就到了服务器的时间上限 {seconds} 秒，已被结束，没有可保留的结果。请减少轮数、换一个更小的模型或用更少的数据。",
}
