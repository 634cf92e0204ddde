"""Where jobs run: worker processes of this machine (lstm_core.backends.local), behind the Backend interface of
lstm_core.workers, so that the pool's queue, cap, Stop, owner check and time limit hold wherever a worker runs."""

from lstm_core.backends.local import LocalBackend
from lstm_core.workers import Backend, BackendKind

__all__ = ["Backend", "BackendKind", "LocalBackend"]
