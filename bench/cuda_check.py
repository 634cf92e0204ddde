"""CUDA check: the same run on the CPU and on the GPU gives the same losses, and a GPU-trained run saves and reloads.

Run on a machine with an NVIDIA GPU: ``python bench/cuda_check.py [--smoke] [--json out.json]``. Exits 1 when a check
fails; on a machine without a GPU it says so and exits 0, having nothing to check.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for common, however this file is loaded

import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import CommandLine, write_json  # noqa: E402

from lstm_core.config import RunConfig  # noqa: E402
from lstm_core.data import load_source  # noqa: E402
from lstm_core.runs.bundle import load_bundle, save_bundle  # noqa: E402
from lstm_core.runs.run import train_run  # noqa: E402


@dataclass(frozen=True)
class Sizes:
    data: str = "sample:MSFT"
    configs: tuple[RunConfig, ...] = (RunConfig(epochs=3, patience=10),
                                      RunConfig(epochs=3, patience=10, hidden=128, layers=2, window=120, batch=128))


FULL = Sizes()
SMOKE = Sizes(data="synthetic:sine", configs=(RunConfig(epochs=1, hidden=2, window=20),
                                              RunConfig(epochs=1, hidden=4, layers=2, window=20)))


def check(frame, name: str, config: RunConfig) -> dict:
    """One config trained on the CPU and on the GPU: timings, losses, whether the two agree and whether the GPU's run
    reloads."""
    runs, seconds, trained = {}, {}, {}
    for device in ("cpu", "cuda"):
        start = time.perf_counter()
        runs[device] = train_run(frame, name, config, device=device)
        seconds[device] = time.perf_counter() - start
        trained[device] = [h for h in runs[device].history if h.epoch > 0]  # epoch 0 scores the untrained model
        rates = [round(h.samples_per_s) for h in trained[device]]
        print(f"{device:>4} hidden {config.hidden}x{config.layers} window {config.window}: "
              f"{seconds[device]:.1f} s, samples/s per epoch {rates}, "
              f"train losses {[round(h.train_loss, 5) for h in trained[device]]}")
    cpu, gpu = (np.array([h.train_loss for h in trained[d]]) for d in ("cpu", "cuda"))
    close = bool(np.allclose(cpu[:1], gpu[:1], rtol=1e-3))
    print(f"  first-epoch loss CPU vs CUDA within 0.1%: {close}; model device after training: "
          f"{next(runs['cuda'].model.parameters()).device}")
    with tempfile.TemporaryDirectory() as tmp:
        reloaded = load_bundle(save_bundle(runs["cuda"], Path(tmp) / "b"))
        same = bool(np.array_equal(reloaded.test_predictions, runs["cuda"].test_predictions))
        print(f"  CUDA-trained bundle reloads on the CPU with identical predictions: {same}")
    return {"hidden": config.hidden, "layers": config.layers, "window": config.window,
            "cpu_s": round(seconds["cpu"], 2), "cuda_s": round(seconds["cuda"], 2),
            "cpu_losses": cpu.tolist(), "cuda_losses": gpu.tolist(), "first_epoch_close": close,
            "reload_identical": same}


def main() -> int:
    args, sizes = CommandLine(__doc__, FULL, SMOKE).parse()
    result: dict = {"torch": torch.__version__, "device": None, "checks": [], "failures": 0}
    if not torch.cuda.is_available():
        print("No CUDA device here, so there is nothing to check: run this on a machine with an NVIDIA GPU.")
        write_json(args.json, result)
        return 0
    result["device"] = torch.cuda.get_device_name(0)
    print(f"torch {torch.__version__}, {result['device']}")
    dataset = load_source(sizes.data)
    for config in sizes.configs:
        result["checks"].append(check(dataset.frame, dataset.subject, config))
    failures = sum((not c["first_epoch_close"]) + (not c["reload_identical"]) for c in result["checks"])
    result["failures"] = failures
    print("OK" if failures == 0 else f"{failures} check(s) failed")
    write_json(args.json, result)
    return int(failures > 0)


if __name__ == "__main__":
    raise SystemExit(main())
