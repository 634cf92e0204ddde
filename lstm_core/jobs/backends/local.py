"""The local backend: each job in a worker process of this machine, forked from a forkserver that has torch and
lstm_core imported already, so a worker starts in milliseconds and shares those pages. Its messages come back on a
pipe; Stop is a multiprocessing Event; a kill is SIGKILL, and an exit without a last message is described from the
process's exit code.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import threading
import traceback
from collections.abc import Callable
from multiprocessing import spawn
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from lstm_core.errors import LabError
from lstm_core.jobs.workers import (
    JOIN_S,
    BackendKind,
    Channel,
    Ended,
    Failure,
    Message,
    Started,
    StopFlag,
    WorkerJob,
    WorkerSettings,
    describe_exit,
    run_task,
)

PROCESS_PREFIX = "lstm-lab-job"
# imported once by the forkserver, so that every worker forked from it starts with them loaded and shares their pages;
# torch.optim imports torch._dynamo when an optimizer is built: 2.5 s and 70 MB that each worker would pay again
# arch (and the scipy.stats it imports, 2-3 s) fits every volatility run's GARCH baseline
PRELOAD = ("torch", "torch._dynamo", "lstm_core.jobs.manager", "arch.univariate")

_context: multiprocessing.context.BaseContext | None = None
_context_lock = threading.Lock()


def worker_context() -> multiprocessing.context.BaseContext:
    """A forkserver context with torch and lstm_core preloaded (spawn where there is no forkserver)."""
    global _context
    with _context_lock:
        if _context is None:
            if "forkserver" in multiprocessing.get_all_start_methods():
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(list(PRELOAD))
                _put_package_on_forkserver_path()
            else:
                context = multiprocessing.get_context("spawn")
            install_lean_main()
            _context = context
        return _context


def _put_package_on_forkserver_path() -> None:
    """Let the forkserver import lstm_core whatever the server's working directory.

    Python 3.11's forkserver does not apply the ``sys_path`` it is handed, so its preload finds only what its own
    path (the working directory, site-packages, PYTHONPATH) holds; a failed preload is silent, and every worker
    would then import lstm_core itself. The forkserver reads PYTHONPATH when it starts.
    """
    root = str(Path(__file__).resolve().parents[3])  # the folder that holds lstm_core
    if os.path.realpath(os.getcwd()) == os.path.realpath(root):
        return
    current = os.environ.get("PYTHONPATH", "")
    if root not in current.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (root, current) if p)


def install_lean_main() -> None:
    """Keep our workers from re-running the server's main script.

    multiprocessing re-imports the parent's ``__main__`` in every child so that functions defined there can be
    unpickled. Our tasks live in lstm_core; under the ``streamlit`` console script that re-import would load all of
    Streamlit into each worker (and under ``pytest`` all of pytest). Only processes named with our prefix skip it.
    """
    original = spawn.get_preparation_data
    if getattr(original, "lean_main", False):
        return

    def preparation_data(name: str) -> dict:
        data = original(name)
        if str(name).startswith(PROCESS_PREFIX):
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
        return data

    preparation_data.lean_main = True  # type: ignore[attr-defined]
    spawn.get_preparation_data = preparation_data


def _noop(*args: object, channel: Channel, stop: StopFlag) -> None:
    return None


def _worker_main(task: Callable[..., Any], args: tuple, connection: Connection, stop: StopFlag,
                 settings: WorkerSettings) -> None:
    """Body of a worker process: tell the server it began, run the task, then send its Result or a Failure."""
    try:
        connection.send(Started(os.getpid(), socket.gethostname()))
        message = run_task(task, args, Channel(connection.send), stop, settings)
        try:
            connection.send(message)
        except BrokenPipeError:
            raise
        except Exception as exc:  # a result that cannot be pickled is a bug: a sentence, and its traceback in the log
            traceback.print_exc()
            connection.send(Failure("err_internal", {"detail": f"{type(exc).__name__}: {exc}"}, message.peak_rss_mb))
    except BrokenPipeError:
        pass  # the server went away: no one is left to tell
    finally:
        connection.close()


class LocalExecution:
    """One job in a process forked from the forkserver, its messages on a pipe."""

    def __init__(self, job: WorkerJob) -> None:
        context = worker_context()
        self._receiver, sender = context.Pipe(duplex=False)
        self._stop_flag = context.Event()
        self._process = context.Process(
            target=_worker_main, args=(job.task, job.args, sender, self._stop_flag, job.settings),
            name=f"{PROCESS_PREFIX}-{job.name}", daemon=True,
        )
        self._process.start()
        sender.close()  # the worker holds the only writing end now: its exit ends our reads
        job.pid = self._process.pid

    def receive(self, timeout_s: float) -> Message | Ended | None:
        ready = wait([self._receiver, self._process.sentinel], timeout=timeout_s)
        if self._receiver in ready:
            try:
                return self._receiver.recv()
            except EOFError:  # the worker closed its end: it has ended
                return Ended()
        return Ended() if self._process.sentinel in ready else None

    def forward_stop(self) -> None:
        self._stop_flag.set()

    def kill(self) -> None:
        self._process.kill()

    def close(self) -> LabError:
        self._receiver.close()
        self._process.join(timeout=JOIN_S)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=JOIN_S)
        return describe_exit(self._process.exitcode)


class LocalBackend:
    """Jobs in worker processes of this machine, forked from a forkserver that imported torch and lstm_core once."""

    kind = BackendKind.LOCAL

    def launch(self, job: WorkerJob) -> LocalExecution:
        return LocalExecution(job)

    def slots(self) -> int | None:
        return None  # the server's LSTM_LAB_MAX_JOBS, or the pool's default

    def check_fits(self, memory_mb: float) -> None:
        return None  # the server's own budget (LSTM_LAB_MAX_JOB_MB) is the only one here, checked by the caller

    def warm_up(self) -> threading.Thread:
        """Start the forkserver (it imports torch once) in the background."""
        thread = threading.Thread(target=_start_noop, name="forkserver-warm-up", daemon=True)
        thread.start()
        return thread


def _start_noop() -> None:
    context = worker_context()
    process = context.Process(target=_noop, name=f"{PROCESS_PREFIX}-warm-up", kwargs={"channel": None, "stop": None})
    process.start()
    process.join()


