"""What the server-wide disk budget costs: counting, making room and sweeping a data dir of N full workspaces.

    python bench/disk.py [--workspaces 300] [--runs 10] [--smoke] [--json out.json]

Each workspace gets ``--runs`` run folders of the files a saved run has (four bundle files and ``.seq``, 1 KB each:
the walk's cost is in the number of files, not their size), a recorded use and one crash leftover. Then it times the
first count of the data dir (one walk per server process), ``DiskBudget.usage()`` after it (every save pays it once),
``make_room`` expiring the least recently used one, ``sweep_leftovers`` (once per server start) and a real
``Workspace.save`` of a small run with and without the budget; and it compares the count with the files' bytes and
with ``du``'s blocks.
"""

# no `from __future__ import annotations`: tests/test_disk.py runs build() from this file loaded by its path, outside
# sys.modules, where a dataclass cannot resolve annotations written as strings

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for common, however this file is loaded

from common import CommandLine, median_timed, timed, write_json  # noqa: E402


@dataclass(frozen=True)
class Sizes:
    workspaces: int = 300
    runs: int = 10  # run folders in each workspace
    usage_repeats: int = 5
    save_repeats: int = 7


FULL, SMOKE = Sizes(), Sizes(workspaces=3, runs=2, usage_repeats=1, save_repeats=1)


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


def main() -> None:
    args, sizes = CommandLine(__doc__, FULL, SMOKE).parse()
    with tempfile.TemporaryDirectory() as tmp:
        data, cache = Path(tmp) / "data", Path(tmp) / "cache" / "yahoo"
        os.environ["LSTM_LAB_DATA"], os.environ["LSTM_LAB_CACHE"] = str(data), str(cache.parent)
        from lstm_core.data import load_synthetic
        from lstm_core.runs.run import train_run
        from lstm_core.store.disk import DiskBudget, sweep_leftovers
        from lstm_core.store.workspace import Workspace, new_workspace_id

        built_s, _ = timed(lambda: build(data, sizes.workspaces, sizes.runs))
        files = sum(len(names) for _, _, names in os.walk(data))
        file_bytes = sum(os.lstat(os.path.join(f, n)).st_size for f, _, names in os.walk(data) for n in names)
        du = subprocess.run(["du", "-sb", "--apparent-size", str(data)], capture_output=True, text=True)
        blocks = subprocess.run(["du", "-sk", str(data)], capture_output=True, text=True)
        budget = DiskBudget(data, cache, 1 << 40)
        first_s, _ = timed(budget.ledger.workspaces)
        usage_s, usage = median_timed(budget.usage, sizes.usage_repeats)
        result: dict = {"workspaces": sizes.workspaces, "runs": sizes.runs, "files": files,
                        "built_s": round(built_s, 2), "counted_mb": round(usage.total_bytes / 2**20, 2),
                        "file_bytes_mb": round(file_bytes / 2**20, 2),
                        "first_count_ms": round(first_s * 1000, 1), "usage_ms": round(usage_s * 1000, 2)}
        print(f"{sizes.workspaces} workspaces x {sizes.runs} runs: {files:,} files (built in {built_s:.1f} s)")
        if du.returncode == 0:
            result |= {"du_mb": round(int(blocks.stdout.split()[0]) / 1024, 2),
                       "du_apparent_mb": round(int(du.stdout.split()[0]) / 2**20, 2)}
        print(f"counted: {usage.total_bytes / 2**20:.1f} MB on disk; du -sk: "
              f"{int(blocks.stdout.split()[0]) / 1024:.1f} MB; the files' bytes: {file_bytes / 2**20:.1f} MB "
              f"(du --apparent-size: {int(du.stdout.split()[0]) / 2**20:.1f} MB)" if du.returncode == 0 else "")
        print(f"first count of the data dir (once per server process): {first_s * 1000:.0f} ms")
        print(f"usage() after it (every save pays it once): {usage_s * 1000:.1f} ms, median of {sizes.usage_repeats}")
        tight = DiskBudget(data, cache, usage.total_bytes)
        room_s, freed = timed(lambda: tight.make_room(1))
        print(f"make_room expiring the least recently used workspace: {room_s * 1000:.0f} ms "
              f"({len(freed.workspaces)} expired, {freed.bytes / 1024:.0f} KB)")
        sweep_s, swept = timed(lambda: sweep_leftovers(data, cache))
        print(f"sweep_leftovers: {sweep_s * 1000:.0f} ms ({swept.count} leftovers, {swept.bytes / 1024:.0f} KB)")
        result |= {"make_room_ms": round(room_s * 1000, 1), "expired": len(freed.workspaces),
                   "sweep_ms": round(sweep_s * 1000, 1), "leftovers_swept": swept.count}

        from tests.helpers import TINY, copy_of

        run = train_run(load_synthetic("sine", n_days=300).frame, "sine", TINY)
        ws = Workspace.open(new_workspace_id(), 10)
        bare = replace(ws, budget=None)

        def save(target: Workspace, k: int) -> None:
            target.save(copy_of(run, f"s{k}"))

        with_budget, _ = median_timed(lambda: save(ws, time.perf_counter_ns() % 10**9), sizes.save_repeats)
        without, _ = median_timed(lambda: save(bare, time.perf_counter_ns() % 10**9), sizes.save_repeats)
        print(f"Workspace.save of a small run: {with_budget * 1000:.0f} ms with the budget, {without * 1000:.0f} ms "
              f"without (median of {sizes.save_repeats})")
        result |= {"save_ms": round(with_budget * 1000, 1), "save_without_budget_ms": round(without * 1000, 1)}
    write_json(args.json, result)


if __name__ == "__main__":
    main()
