"""Where jobs run: worker processes of this machine (the default), or tasks on a Ray cluster, chosen in one place.

``LSTM_LAB_RAY_ADDRESS`` (a running cluster's ``host:port``) chooses Ray; without it nothing of Ray is imported.
Both backends serve the same ``WorkerPool`` (lstm_core.workers): its queue, cap, Stop, owner check and time limit
hold wherever the worker runs.
"""

from __future__ import annotations

import os

from lstm_core.backends.local import LocalBackend
from lstm_core.workers import Backend, BackendKind

RAY_ADDRESS_ENV = "LSTM_LAB_RAY_ADDRESS"

__all__ = ["RAY_ADDRESS_ENV", "Backend", "BackendKind", "LocalBackend", "backend_for", "ray_address"]


def ray_address() -> str | None:
    """The Ray cluster the server should use (LSTM_LAB_RAY_ADDRESS), or None to run jobs on this machine."""
    return os.environ.get(RAY_ADDRESS_ENV, "").strip() or None


def backend_for(address: str | None) -> Backend:
    """The Ray backend of the cluster at ``address`` (LabError when it cannot be reached), else the local one."""
    if address is None:
        return LocalBackend()
    from lstm_core.backends.ray import RayBackend  # Ray is imported only here, only when chosen

    return RayBackend(address)
