"""Sentences about jobs as the server runs them: memory and time limits, worker processes that end badly, and the
Ray cluster that may run them."""

EN: dict[str, str] = {
    "err_job_memory": (
        "These settings need about {need_mb} MB of memory to train ({batch_mb} MB for one batch alone), but this server "
        "gives each job at most {budget_mb} MB. Lower the batch size, the window, the hidden units or the layers."
    ),
    "err_cli_memory": (
        "These settings need about {need_mb} MB of memory to train ({batch_mb} MB for one batch alone), and this machine "
        "has {free_mb} MB free. Lower the batch size, the window, the hidden units or the layers, or add "
        "--ignore-estimate to try anyway."
    ),
    "err_cli_out_of_memory": (
        "Training ran out of this machine's memory. Lower the batch size, the window, the hidden units or the layers."
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
    "err_job_memory_cluster": (
        "These settings need about {need_mb} MB of memory to train, more than any machine of the cluster can give one "
        "job (the largest has {largest_mb} MB). Lower the batch size, the window, the hidden units or the layers."
    ),
    "err_worker_lost": (
        "The cluster lost the worker that was training this job (on {host}): it was killed, ran out of memory, or its "
        "machine left the cluster. The server and your other runs are fine: please try again."
    ),
    "err_ray_unreachable": (
        "The Ray cluster at {address} cannot be reached ({detail}). Check LSTM_LAB_RAY_ADDRESS (the host:port of "
        "`ray start --head`), that the cluster is running, and that this server has its token."
    ),
    "err_ray_lost": (
        "The Ray cluster at {address} stopped answering, and the job that ran on it ended. The app itself is fine: "
        "try again."
    ),
    "kept_worker_killed": (
        "The system ended the training process (signal {signal}), most often because memory ran out. The run below is "
        "scored from the best weights it had reported."
    ),
    "kept_worker_exited": (
        "The training process ended unexpectedly (exit code {code}). The run below is scored from the best weights it "
        "had reported."
    ),
    "kept_worker_lost": (
        "The cluster lost the worker that was training this job (on {host}): it was killed, ran out of memory, or its "
        "machine left the cluster. The run below is scored from the best weights it had reported."
    ),
    "kept_ray_lost": (
        "The Ray cluster at {address} stopped answering while this job trained on it. The run below is scored from the "
        "best weights it had reported."
    ),
    "err_job_workspace_busy": (
        "This workspace is already training a run, in another tab or window: wait for it or stop it there, then start "
        "this one."
    ),
    "job_on_fallback": "The Ray cluster at {address} cannot take jobs now ({detail}), so this one trains on the app's own server.",
    "err_ray_address": "'{address}' is not a Ray cluster's address: write it as host:port, such as 10.0.0.5:6379.",
    "err_ray_not_installed": (
        "Jobs are set to run on a Ray cluster, but Ray is not installed here: pip install -r requirements-ray.txt."
    ),
    "err_ray_node": (
        "A machine of the cluster could not run LSTM Lab's code ({detail}). Every node needs the app's requirements "
        "(pip install -r requirements.txt -r requirements-ray.txt) and the same Python as the server."
    ),
}

ZH: dict[str, str] = {
    "err_job_memory": (
        "这些设置训练时大约需要 {need_mb} MB 内存（仅一个批次就需要 {batch_mb} MB），而本服务器每个任务最多只给 "
        "{budget_mb} MB。请减小批大小、窗口、隐藏单元数或层数。"
    ),
    "err_cli_memory": (
        "这些设置训练时大约需要 {need_mb} MB 内存（仅一个批次就需要 {batch_mb} MB），而本机只有 {free_mb} MB 空闲。"
        "请减小批大小、窗口、隐藏单元数或层数，或加上 --ignore-estimate 仍然尝试。"
    ),
    "err_cli_out_of_memory": "训练用完了本机的内存。请减小批大小、窗口、隐藏单元数或层数。",
    "err_job_out_of_memory": "训练用完了本服务器分给单个任务的内存。请减小批大小、窗口、隐藏单元数或层数后重试。",
    "err_worker_killed": (
        "训练进程被系统结束（信号 {signal}），最常见的原因是内存耗尽。服务器和你的其他运行都不受影响：请重试，"
        "或换一个更小的模型。"
    ),
    "err_worker_exited": "训练进程意外结束（退出码 {code}）。服务器和你的其他运行都不受影响：请重试。",
    "err_job_time_killed": "训练在第一次评估权重之前就到了服务器的时间上限 {seconds} 秒，已被结束，没有可保留的结果。请减少轮数、换一个更小的模型或用更少的数据。",
    "err_job_memory_cluster": (
        "这些设置训练时大约需要 {need_mb} MB 内存，超过了集群中任何一台机器能分给单个任务的内存（最大的一台有 "
        "{largest_mb} MB）。请减小批大小、窗口、隐藏单元数或层数。"
    ),
    "err_worker_lost": (
        "集群失去了正在训练这个任务的工作进程（在 {host} 上）：它被结束、内存耗尽，或者所在机器离开了集群。"
        "服务器和你的其他运行都不受影响：请重试。"
    ),
    "err_ray_unreachable": (
        "无法连接位于 {address} 的 Ray 集群（{detail}）。请检查 LSTM_LAB_RAY_ADDRESS（`ray start --head` 的 "
        "主机:端口）、集群是否在运行，以及本服务器是否有集群的令牌。"
    ),
    "err_ray_lost": "位于 {address} 的 Ray 集群不再响应，在它上面运行的任务已经结束。应用本身不受影响：请重试。",
    "kept_worker_killed": "训练进程被系统结束（信号 {signal}），最常见的原因是内存耗尽。下面的运行用它已报告的最佳权重评分。",
    "kept_worker_exited": "训练进程意外结束（退出码 {code}）。下面的运行用它已报告的最佳权重评分。",
    "kept_worker_lost": (
        "集群失去了正在训练这个任务的工作进程（在 {host} 上）：它被结束、内存耗尽，或者所在机器离开了集群。"
        "下面的运行用它已报告的最佳权重评分。"
    ),
    "kept_ray_lost": "位于 {address} 的 Ray 集群在这个任务训练时不再响应。下面的运行用它已报告的最佳权重评分。",
    "err_job_workspace_busy": "这个工作区已经在另一个标签页或窗口中训练一次运行：请等它结束或在那里停止它，然后再开始这一次。",
    "job_on_fallback": "位于 {address} 的 Ray 集群现在无法接收任务（{detail}），所以这个任务在应用自己的服务器上训练。",
    "err_ray_address": "'{address}' 不是 Ray 集群的地址：请写成 主机:端口，例如 10.0.0.5:6379。",
    "err_ray_not_installed": "任务被设置为在 Ray 集群上运行，但这里没有安装 Ray：pip install -r requirements-ray.txt。",
    "err_ray_node": (
        "集群中有一台机器无法运行 LSTM 实验室的代码（{detail}）。每个节点都需要安装应用的依赖"
        "（pip install -r requirements.txt -r requirements-ray.txt），并使用与服务器相同的 Python。"
    ),
}
