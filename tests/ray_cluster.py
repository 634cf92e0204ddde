"""A Ray cluster of a test's own on 127.0.0.1 (a head and a worker node, each its own process group), for the tests
that kill a part of it: the shared cluster .ci/run starts must stay whole for every other test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

NODE_MEMORY_BYTES = 1536 * 1024 * 1024
OBJECT_STORE_BYTES = 200 * 1000 * 1000
START_S = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateCluster:
    """``ray start --block`` for a head and a worker node; each node can be killed whole (SIGKILL to its group)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: dict[str, subprocess.Popen] = {}

    def start_node(self, name: str, head: bool) -> None:
        log = self.folder / f"{name}.log"
        where = ["--head", f"--port={self.port}", "--include-dashboard=false"] if head else [f"--address={self.address}"]
        command = [sys.executable, "-m", "ray.scripts.scripts", "start", "--block", "--node-ip-address", "127.0.0.1",
                   "--num-cpus", "1", "--memory", str(NODE_MEMORY_BYTES), "--object-store-memory",
                   str(OBJECT_STORE_BYTES), *where]
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_worker_niceness": "0"}
        self.nodes[name] = subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env,
                                            start_new_session=True)
        deadline = time.monotonic() + START_S
        while "Ray runtime started" not in log.read_text():
            if self.nodes[name].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Ray node {name} did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)

    def start(self) -> PrivateCluster:
        self.start_node("head", head=True)
        self.start_node("worker", head=False)
        return self

    def processes(self, name: str) -> dict[int, str]:
        """Every process of node ``name`` (its Ray workers are in process groups of their own): pid -> command."""
        return {pid: command for pid, command in descendants(self.nodes[name].pid).items()}

    def kill(self, name: str) -> None:
        """Every process of node ``name`` at once, as when its machine goes."""
        process = self.nodes.pop(name)
        for pid in [process.pid, *descendants(process.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait(timeout=30)

    def kill_raylet(self, name: str) -> None:
        """Only node ``name``'s node manager: its workers are left behind, as after a crash of the raylet alone."""
        pid = next(pid for pid, command in self.processes(name).items() if command == "raylet")
        os.kill(pid, signal.SIGKILL)

    def restart(self, name: str) -> None:
        """Node ``name`` again, whatever is left of it ended first (a worker node: the head must be up)."""
        if name in self.nodes:
            self.kill(name)
        self.start_node(name, head=name == "head")

    def stop(self) -> None:
        for name in list(self.nodes)[::-1]:
            self.kill(name)


def descendants(root: int) -> dict[int, str]:
    """Every living descendant of process ``root``: pid -> command name (Linux /proc)."""
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
        names[int(entry.name)] = name
    found, todo = {}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = names[child]
            todo.append(child)
    return found


def listening(pids: set[int]) -> set[str]:
    """The local addresses (``ip:port``) on which processes ``pids`` accept TCP connections (Linux /proc)."""
    inodes: dict[str, int] = {}
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes[target[8:-1]] = pid
        except OSError:
            continue
    found = set()
    for table, width in (("tcp", 4), ("tcp6", 16)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            hex_ip, hex_port = fields[1].split(":")
            raw = bytes.fromhex(hex_ip)
            if width == 4:
                ip = ".".join(str(b) for b in raw[::-1])
            else:  # four little-endian 32-bit words
                words = [raw[k:k + 4][::-1] for k in range(0, 16, 4)]
                ip = socket.inet_ntop(socket.AF_INET6, b"".join(words))
            found.add(f"{ip}:{int(hex_port, 16)}")
    return found


def cluster_processes(address: str) -> set[int]:
    """Every process of the cluster whose head listens at ``address``: its GCS, and each node manager that names the
    GCS's port on its command line, with their descendants (agents, workers)."""
    port = address.rsplit(":", 1)[1]
    roots = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                arguments = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(a == f"--gcs_server_port={port}".encode() or (a.startswith(b"--gcs-address=")
                   and a.endswith(f":{port}".encode())) for a in arguments):
                roots.add(int(entry.name))
    return roots | {pid for root in roots for pid in descendants(root)}
