"""What the server-wide disk budget costs: counting, making room and sweeping a data dir of N full workspaces.

    python bench/disk.py [--workspaces 300] [--runs 10]

Each workspace gets ``--runs`` run folders of the files a saved run has (four bundle files and ``.seq``, 1 KB each:
the walk's cost is in the number of files, not their size), a recorded use and one crash leftover. Then it times the
first count of the data dir (one walk per server process), ``DiskBudget.usage()`` after it (every save pays it once),
``make_room`` expiring the least recently used one, ``sweep_leftovers`` (once per server start) and a real
``Workspace.save`` of a small run with and without the budget; and it compares the count with the files' bytes and
with ``du``'s blocks.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def build(data: Path, workspaces: int, runs: int) -> None:
    from lstm_core.runs.schema import BUNDLE_FILES
    from lstm_core.store.disk import USED_FILE, WORKSPACES
    from lstm_core.store.workspace import SEQUENCE_FILE, new_workspace_id

    blob = b"x" * 1024
    for k in range(workspaces):
        root = data / WORKSPACES / new_workspace_id(data)
        root.mkdir(parents=True)
        for r in range(runs):
            folder = root / f"run{r}"
            folder.mkdir()
            for name in BUNDLE_FILES:
                (folder / name).write_bytes(blob)
            (folder / SEQUENCE_FILE).write_text(str(r + 1))
        (root / USED_FILE).write_text(str(1_000_000_000 * 10**9 + k))  # long idle, oldest first
        (root / ".tmp-crash").mkdir()
        (root / ".tmp-crash" / "data.csv").write_bytes(blob)


def timed(fn, repeat: int = 5) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=300)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data, cache = Path(tmp) / "data", Path(tmp) / "cache" / "yahoo"
        os.environ["LSTM_LAB_DATA"], os.environ["LSTM_LAB_CACHE"] = str(data), str(cache.parent)
        from lstm_core.data import load_synthetic
        from lstm_core.runs.run import train_run
        from lstm_core.store.disk import DiskBudget, sweep_leftovers
        from lstm_core.store.workspace import Workspace, new_workspace_id

        start = time.perf_counter()
        build(data, args.workspaces, args.runs)
        built_s = time.perf_counter() - start
        files = sum(len(names) for _, _, names in os.walk(data))
        file_bytes = sum(os.lstat(os.path.join(f, n)).st_size for f, _, names in os.walk(data) for n in names)
        du = subprocess.run(["du", "-sb", "--apparent-size", str(data)], capture_output=True, text=True)
        blocks = subprocess.run(["du", "-sk", str(data)], capture_output=True, text=True)
        budget = DiskBudget(data, cache, 1 << 40)
        start = time.perf_counter()
        budget.ledger.workspaces()
        first_s = time.perf_counter() - start
        usage_s, usage = timed(budget.usage)
        print(f"{args.workspaces} workspaces x {args.runs} runs: {files:,} files (built in {built_s:.1f} s)")
        print(f"counted: {usage.total_bytes / 2**20:.1f} MB on disk; du -sk: "
              f"{int(blocks.stdout.split()[0]) / 1024:.1f} MB; the files' bytes: {file_bytes / 2**20:.1f} MB "
              f"(du --apparent-size: {int(du.stdout.split()[0]) / 2**20:.1f} MB)" if du.returncode == 0 else "")
        print(f"first count of the data dir (once per server process): {first_s * 1000:.0f} ms")
        print(f"usage() after it (every save pays it once): {usage_s * 1000:.1f} ms, median of 5")
        tight = DiskBudget(data, cache, usage.total_bytes)
        start = time.perf_counter()
        freed = tight.make_room(1)
        print(f"make_room expiring the least recently used workspace: {(time.perf_counter() - start) * 1000:.0f} ms "
              f"({len(freed.workspaces)} expired, {freed.bytes / 1024:.0f} KB)")
        start = time.perf_counter()
        swept = sweep_leftovers(data, cache)
        print(f"sweep_leftovers: {(time.perf_counter() - start) * 1000:.0f} ms ({swept.count} leftovers, "
              f"{swept.bytes / 1024:.0f} KB)")

        from tests.helpers import TINY, copy_of

        run = train_run(load_synthetic("sine", n_days=300).frame, "sine", TINY)
        ws = Workspace.open(new_workspace_id(), 10)
        bare = replace(ws, budget=None)

        def save(target: Workspace, k: int) -> None:
            target.save(copy_of(run, f"s{k}"))

        with_budget = timed(lambda: save(ws, time.perf_counter_ns() % 10**9), repeat=7)[0]
        without = timed(lambda: save(bare, time.perf_counter_ns() % 10**9), repeat=7)[0]
        print(f"Workspace.save of a small run: {with_budget * 1000:.0f} ms with the budget, {without * 1000:.0f} ms "
              f"without (median of 7)")


if __name__ == "__main__":
    main()
