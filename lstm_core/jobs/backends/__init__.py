"""Where jobs run: worker processes of this machine (the default), or tasks on a Ray cluster, chosen in one place.

``LSTM_LAB_RAY_ADDRESS`` (a running cluster's ``host:port``) chooses Ray. The server never imports Ray itself: a driver
process of its own holds the connection (lstm_core.jobs.backends.ray), and without the address there is none.
Both backends serve the same ``WorkerPool`` (lstm_core.jobs.workers): its queue, cap, Stop, owner check and time limit
hold wherever the worker runs.
"""

from __future__ import annotations

from lstm_core.jobs.backends.local import LocalBackend
from lstm_core.jobs.workers import Backend, BackendKind
from lstm_core.server_settings import setting, spec

RAY_ADDRESS_ENV = spec("ray_address").env

__all__ = ["RAY_ADDRESS_ENV", "Backend", "BackendKind", "LocalBackend", "backend_for", "ray_address"]


def ray_address() -> str | None:
    """The Ray cluster the server should use (LSTM_LAB_RAY_ADDRESS), or None to run jobs on this machine."""
    return setting("ray_address")


def backend_for(address: str | None, local_fallback: bool = False) -> Backend:
    """The Ray backend of the cluster at ``address`` (LabError for a malformed address), else the local one.

    ``local_fallback``: while the cluster cannot be reached, jobs run on this machine instead (the server's choice: a
    class keeps training); without it they fail with the reason (the command line's: it asked for the cluster).
    """
    if address is None:
        return LocalBackend()
    from lstm_core.jobs.backends.ray import RayBackend

    return RayBackend(address, fallback=LocalBackend() if local_fallback else None)
