"""What every bench script shares: its command line (--smoke, --json), a free port, a median timer, the memory of a
process tree, and the table and JSON file it ends with.

bench/ is not a package: a script puts this folder on ``sys.path`` and imports ``common``, which puts the repository
root there too, so that ``lstm_core`` is the checkout's own.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import Field, field, fields, replace
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

T = TypeVar("T")


# ---------------------------------------------------------------- sizes and the command line


def size(default: Any, help: str = "") -> Any:
    """A field of a script's ``Sizes``: a number becomes a command-line flag of the same name, ``help`` its text."""
    return field(default=default, metadata={"help": help})


def _number_fields(full: Any, smoke: Any) -> list[tuple[Field, type]]:
    """The fields of a ``Sizes`` that are numbers, each with its type (from the full or the smoke value)."""
    out = []
    for f in fields(full):
        kind = next((type(v) for v in (getattr(full, f.name), getattr(smoke, f.name)) if v is not None), None)
        if kind in (int, float):
            out.append((f, kind))
    return out


class CommandLine(argparse.ArgumentParser):
    """A script's command line: the first line of its docstring, ``--smoke``, ``--json`` and a flag for each number of
    its sizes (``full``, a frozen dataclass, and ``smoke``, the same made as small as runs end to end); a script adds
    the options that are not sizes itself."""

    def __init__(self, doc: str, full: Any, smoke: Any, json_default: Path | None = None) -> None:
        super().__init__(description=doc.strip().splitlines()[0])
        self.full, self.smoke, self.json_default = full, smoke, json_default
        self.add_argument("--smoke", action="store_true",
                          help="every size at its smallest: runs end to end in seconds, to show that the script works "
                               "(the tests run it); its figures mean nothing")
        # a smoke run's figures mean nothing: it writes no file it is not told to, the recorded results least of all
        where = f"default {json_default.relative_to(ROOT)}; none with --smoke" if json_default else "default none"
        self.add_argument("--json", type=Path, default=None, help=f"write the result here as JSON ({where})")
        for f, kind in _number_fields(full, smoke):
            sizes = f"{getattr(smoke, f.name)} with --smoke"  # where there is no default, its help says what then
            if getattr(full, f.name) is not None:
                sizes = f"default {getattr(full, f.name)}; {sizes}"
            words = f"{f.metadata['help']} ({sizes})" if f.metadata.get("help") else sizes
            self.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, type=kind, default=None,
                              help=words.replace("%", "%%"))

    def parse(self, argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, Any]:
        """The parsed command line and the sizes to run: the smoke ones with ``--smoke``, else the full ones, with
        each size the command line gives in its place."""
        args = self.parse_args(argv)
        if args.json is None and not args.smoke:
            args.json = self.json_default
        flags = _number_fields(self.full, self.smoke)
        given = {f.name: getattr(args, f.name) for f, _ in flags if getattr(args, f.name) is not None}
        return args, replace(self.smoke if args.smoke else self.full, **given)


def size_flags(sizes: Any, smoke: bool) -> list[str]:
    """The command line that hands ``sizes`` to a child script: ``--smoke`` when they are its smoke sizes, and each
    number (which may have been given on this script's command line)."""
    flags = ["--smoke"] if smoke else []
    for f in fields(sizes):
        value = getattr(sizes, f.name)
        if type(value) in (int, float):
            flags += [f"--{f.name.replace('_', '-')}", str(value)]
    return flags


def load_module(name: str) -> ModuleType:
    """The bench script ``bench/<name>.py`` as a module."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # where its dataclasses look themselves up
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- measuring


def median_timed(fn: Callable[[], T], repeats: int, warmup: int = 0) -> tuple[float, T]:
    """Median wall seconds of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones, and its last call's value."""
    for _ in range(warmup):  # first-call allocations and kernel selection
        fn()
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """Wall seconds of one call of ``fn``, and its value."""
    return median_timed(fn, 1)


def median_seconds(fn: Callable[[], object], repeats: int, warmup: int = 0) -> float:
    """Median wall seconds of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones."""
    return median_timed(fn, repeats, warmup)[0]


def rounded_median(values: Iterable[float], digits: int = 3) -> float:
    return round(statistics.median(values), digits)


def load_average() -> list[float]:
    """The machine's load average over 1, 5 and 15 minutes: timings on a shared machine mean little without it."""
    return [round(x, 2) for x in os.getloadavg()]


def free_port(ports: range | None = None) -> int:
    """The first port of ``ports`` that nothing on 127.0.0.1 listens on; without ``ports``, one the system picks."""
    if ports is None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"ports {ports.start}-{ports.stop - 1} are all taken")


def stop(process: subprocess.Popen, grace_s: float) -> None:
    """Terminate ``process``, and kill it if it has not ended ``grace_s`` seconds later."""
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()


def child_pids() -> dict[int, list[int]]:
    """Every process's children, read from /proc: ``{parent pid: [child pids]}``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])  # the name in parentheses may hold spaces
            children.setdefault(ppid, []).append(int(entry))
    return children


def tree_pss_mb(root: int) -> float:
    """Summed PSS of ``root`` and all its descendants, in MB (a shared page counts once, split among its sharers)."""
    children = child_pids()
    total_kb, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        total_kb += next(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))
    return total_kb / 1024


# ---------------------------------------------------------------- the tail: a table, JSON


def print_rows(rows: Iterable[Sequence[object]]) -> None:
    """``rows`` as a table: every column but the last padded to its widest cell."""
    cells = [[str(cell) for cell in row] for row in rows]
    if not cells:
        return
    widths = [max(len(row[k]) for row in cells) for k in range(len(cells[0]) - 1)]
    for row in cells:
        print("  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]))


def report(result: dict, json_path: Path | None, rows: Iterable[Sequence[object]] | None = None) -> None:
    """The tail of a script: ``rows`` printed as a table (without them, ``result`` as JSON), ``result`` written to
    ``json_path`` when there is one."""
    if rows is None:
        print_json(result)
    else:
        print_rows(rows)
    write_json(json_path, result)


def print_json(result: object) -> None:
    print(json.dumps(result, indent=1, ensure_ascii=False, default=float))  # default: numpy's numbers


def write_json(path: Path | None, result: object) -> None:
    """``result`` as indented JSON in ``path``; nothing without a path."""
    if path is not None:
        path.write_text(json.dumps(result, indent=1, ensure_ascii=False, default=float) + "\n")
