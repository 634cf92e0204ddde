"""CUDA check: the same run on the CPU and on the GPU gives the same losses, and a GPU-trained run saves and reloads.

Run on a machine with an NVIDIA GPU: ``python bench/cuda_check.py``. Exits 1 when a check fails.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from lstm_core.config import RunConfig  # noqa: E402
from lstm_core.data import load_sample  # noqa: E402
from lstm_core.runs.bundle import load_bundle, save_bundle  # noqa: E402
from lstm_core.runs.run import train_run  # noqa: E402


def main() -> int:
    if not torch.cuda.is_available():
        print("no CUDA device here", file=sys.stderr)
        return 1
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}")
    frame = load_sample("MSFT").frame
    failures = 0
    for config in (RunConfig(epochs=3, patience=10), RunConfig(epochs=3, patience=10, hidden=128, layers=2, window=120, batch=128)):
        runs = {}
        for device in ("cpu", "cuda"):
            start = time.perf_counter()
            runs[device] = train_run(frame, "MSFT", config, device=device)
            rates = [round(h.samples_per_s) for h in runs[device].history]
            print(f"{device:>4} hidden {config.hidden}x{config.layers} window {config.window}: "
                  f"{time.perf_counter() - start:.1f} s, samples/s per epoch {rates}, "
                  f"train losses {[round(h.train_loss, 5) for h in runs[device].history]}")
        cpu, gpu = (np.array([h.train_loss for h in runs[d].history]) for d in ("cpu", "cuda"))
        close = np.allclose(cpu[:1], gpu[:1], rtol=1e-3)
        print(f"  first-epoch loss CPU vs CUDA within 0.1%: {close}; model device after training: "
              f"{next(runs['cuda'].model.parameters()).device}")
        failures += not close
        with tempfile.TemporaryDirectory() as tmp:
            reloaded = load_bundle(save_bundle(runs["cuda"], Path(tmp) / "b"))
            same = np.array_equal(reloaded.test_predictions, runs["cuda"].test_predictions)
            print(f"  CUDA-trained bundle reloads on the CPU with identical predictions: {same}")
            failures += not same
    print("OK" if failures == 0 else f"{failures} check(s) failed")
    return int(failures > 0)


if __name__ == "__main__":
    raise SystemExit(main())
