"""What the server and its Ray driver process say to each other: one typed message each, over a pipe.

The server never imports Ray: a driver process of its own (lstm_core.jobs.backends.ray_driver) holds the connection to the
cluster, so that a cluster that dies, hangs or refuses the token ends that process, never the server. A job travels as
bytes the driver does not open (the task and its arguments pickled on the server, each message back pickled on the
worker), so the driver imports neither torch nor pandas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from lstm_core.errors import LabError
from lstm_core.jobs.workers import WorkerSettings

# ---- the server to its driver


@dataclass(frozen=True)
class FrameBlob:
    """A price frame a job reads, pickled; the driver puts it in the object store once per ``fingerprint``."""

    fingerprint: str
    blob: bytes


@dataclass(frozen=True)
class FrameSlot:
    """Where a job's argument list had a price frame: the worker puts frame ``index`` of its job back there."""

    index: int


@dataclass(frozen=True)
class Launch:
    """Start job ``key`` on the cluster: its task and arguments (cloudpickled, frames replaced by FrameSlots)."""

    key: str
    payload: bytes
    frames: tuple[FrameBlob, ...]
    settings: WorkerSettings
    cpus: int
    memory_bytes: int | None
    name: str


class Action(StrEnum):
    STOP = "stop"  # the job ends within one step, keeping its best weights
    KILL = "kill"  # its worker process ends now
    FORGET = "forget"  # the server is done with it


@dataclass(frozen=True)
class Control:
    key: str
    action: Action


class Question(StrEnum):
    WARM = "warm"  # import torch and lstm_core in a worker of every node; answers the hosts warmed
    STATS = "stats"  # the driver's own counts (frames put in the object store)


@dataclass(frozen=True)
class Ask:
    number: int
    question: Question


# ---- the driver to the server


@dataclass(frozen=True)
class Node:
    """A live node of the cluster, as the driver last saw it."""

    node_id: str
    host: str
    cpus: float
    memory_bytes: float


@dataclass(frozen=True)
class Connected:
    """The driver's first message: connected (``error`` None), with the cluster's live nodes, or why it could not be."""

    error: LabError | None = None
    nodes: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Heartbeat:
    """The cluster answered just now: its live nodes. Sent every HEARTBEAT_S while it does."""

    nodes: tuple[Node, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class JobBlob:
    """One message of job ``key`` from its worker (a pickled ``lstm_core.jobs.workers.Message``)."""

    key: str
    blob: bytes


@dataclass(frozen=True)
class JobGone:
    """Job ``key`` sent its last message (``error`` None), or was lost: why, in a sentence."""

    key: str
    error: LabError | None = None


@dataclass(frozen=True)
class Answer:
    number: int
    value: object = None
    error: LabError | None = None


ToDriver = Launch | Control | Ask
FromDriver = Connected | Heartbeat | JobBlob | JobGone | Answer
