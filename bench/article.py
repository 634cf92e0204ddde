"""The source article's stock example, run: what each of its mistakes changes, measured.

    python bench/article.py [--seeds 3] [--epochs 30] [--smoke] [--json out.json]

The article's example cuts 30-step windows from a 30-step random series with an all-zero target, trains a 50-unit
LSTM with ``activation='relu'`` for 200 epochs and plots its predictions of the very windows it trained on. Its
mistakes, each run on its own:

1. windows as long as the series: the number of samples it yields;
2. an all-zero target: what always predicting 0 scores, against the trained network;
3. ``activation='relu'``: the same network with the LSTM's own tanh and with relu (Keras's meaning: relu in place of
   tanh on the candidate and on the cell's output) on real prices (MSFT's daily close, the next day's price, each
   window read relative to its last price), ``--seeds`` seeds each: test RMSE, the largest cell state, runs that
   diverged;
4. scoring the windows it trained on, with no baseline: the tanh network's training-period and test-period RMSE, and
   persistence's (tomorrow = today) on the same test days, with the Diebold-Mariano p of the difference.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for common, however this file is loaded

from common import CommandLine, report  # noqa: E402

ARTICLE_STEPS, ARTICLE_UNITS = 30, 50  # the example's window (and series) length and its LSTM's units


@dataclass(frozen=True)
class Sizes:
    seeds: int = 3
    epochs: int = 30  # early stopping on the validation period ends most runs sooner
    rows: int = 2500  # the last rows of the sample the networks train and are tested on
    random_steps: int = 1000  # the random series the all-zero target is tried on


FULL, SMOKE = Sizes(), Sizes(seeds=1, epochs=1, rows=300, random_steps=100)


def make_cell(activation: str, hidden: int = ARTICLE_UNITS):
    """A one-layer LSTM whose candidate and output squash with ``activation`` ("tanh": the LSTM's own; "relu": what
    Keras's ``LSTM(activation='relu')`` builds), and a linear head on the last hidden state."""
    import torch
    from torch import nn

    squash = torch.tanh if activation == "tanh" else torch.relu

    class Cell(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.x_to_gates = nn.Linear(1, 4 * hidden)
            self.h_to_gates = nn.Linear(hidden, 4 * hidden, bias=False)
            self.head = nn.Linear(hidden, 1)
            self.largest_c = 0.0

        def forward(self, x):  # [B, T, 1] -> [B]
            h = c = x.new_zeros(x.shape[0], hidden)
            from_x = self.x_to_gates(x)  # [B, T, 4H]
            for t in range(x.shape[1]):
                i, f, g, o = (from_x[:, t] + self.h_to_gates(h)).chunk(4, dim=-1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * squash(g)
                h = torch.sigmoid(o) * squash(c)
            self.largest_c = max(self.largest_c, float(c.detach().abs().max()))
            return self.head(h).squeeze(-1)

    return Cell()


def fit(model, prepared, epochs: int, seed: int, patience: int = 10) -> dict:
    """Adam at the app's learning rate, batches of 64, early stopping on the validation loss, best weights kept."""
    import copy

    import torch
    from torch import nn

    torch.manual_seed(seed)
    x, y = prepared.tensors("train")
    x_val, y_val = prepared.tensors("val")
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
    generator = torch.Generator().manual_seed(seed)
    best, best_state, stale, diverged = math.inf, copy.deepcopy(model.state_dict()), 0, False
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(x), generator=generator).split(64):
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x[idx]), y[idx])
            if not torch.isfinite(loss):
                diverged = True
                break
            loss.backward()
            optimizer.step()
        if diverged:
            break
        model.eval()
        with torch.no_grad():
            val = nn.functional.mse_loss(model(x_val), y_val).item()
        if not math.isfinite(val):
            diverged = True
            break
        if val < best:
            best, best_state, stale = val, copy.deepcopy(model.state_dict()), 0
        else:
            stale += 1
            if stale >= patience:
                break
    model.load_state_dict(best_state)
    return {"diverged": diverged}


def scores(model, prepared) -> dict:
    """RMSE in dollars on the training and test windows, persistence's on the test ones, and the DM p between them."""
    import numpy as np
    import torch

    from lstm_core.evaluate import diebold_mariano_p

    model.eval()
    out = {}
    with torch.no_grad():
        for split in ("train", "test"):
            predicted = prepared.to_readable(split, model(prepared.tensors(split)[0]).numpy())
            actual = prepared.actual_values(split)
            out[split] = (predicted, actual)
    (test_pred, actual), last = out["test"], prepared.last_values("test")
    rmse = lambda e: float(np.sqrt(np.mean(np.square(e))))  # noqa: E731
    train_pred, train_actual = out["train"]
    return {
        "train_rmse": rmse(train_pred - train_actual), "test_rmse": rmse(test_pred - actual),
        # prices were lower in the training years: each period's RMSE is read against persistence's in that period
        "train_persistence_rmse": rmse(prepared.last_values("train") - train_actual),
        "persistence_rmse": rmse(last - actual), "dm_p_vs_persistence": diebold_mariano_p(test_pred - actual, last - actual),
    }


def measure(sizes: Sizes = FULL) -> dict:
    import numpy as np
    import pandas as pd
    import torch

    from lstm_core.config import RunConfig
    from lstm_core.data import load_sample
    from lstm_core.errors import LabError
    from lstm_core.pipeline import Prepared

    torch.set_num_threads(1)
    result: dict = {}
    # 1. windows as long as the series
    windows = len(range(ARTICLE_STEPS - ARTICLE_STEPS))  # the example's own slicing: range(len(X) - n_steps)
    short = pd.DataFrame({"Close": 100 + np.arange(ARTICLE_STEPS + 1.0)},
                         index=pd.bdate_range("2024-01-01", periods=ARTICLE_STEPS + 1, name="Date"))
    try:
        Prepared(short, RunConfig.for_target(target="price", window=ARTICLE_STEPS, horizon=1))
        refusal = None
    except LabError as err:
        refusal = err.key
    result["same_length_windows"] = {"series_steps": ARTICLE_STEPS, "window": ARTICLE_STEPS, "samples": windows,
                                     "lstm_lab_refuses_with": refusal}
    # 2. an all-zero target: always answering 0 is already perfect, so a perfect fit says nothing
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((sizes.random_steps - ARTICLE_STEPS, ARTICLE_STEPS, 1)).astype(np.float32))
    zero_model = make_cell("relu")
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(zero_model.parameters(), lr=1e-3)
    for _ in range(max(sizes.epochs, 1)):
        optimizer.zero_grad()
        loss = zero_model(x).square().mean()
        loss.backward()
        optimizer.step()
    result["all_zero_target"] = {"windows": len(x), "trained_mse": float(loss.item()), "always_zero_mse": 0.0}
    # 3 and 4. real prices: the article's network with tanh and with relu
    ds = load_sample("MSFT")
    config = RunConfig.for_target(target="price", window=ARTICLE_STEPS, hidden=ARTICLE_UNITS)  # close / last close
    prepared = Prepared(ds.frame.iloc[-sizes.rows:], config)
    runs = {"tanh": [], "relu": []}
    for seed in range(sizes.seeds):
        for activation, found in runs.items():
            torch.manual_seed(seed)
            model = make_cell(activation)
            began = time.perf_counter()
            fitted = fit(model, prepared, sizes.epochs, seed)
            found.append({"seed": seed, **fitted, **scores(model, prepared), "largest_cell_state": model.largest_c,
                          "seconds": round(time.perf_counter() - began, 1)})
    result["activation"] = {
        "data": f"{ds.subject} daily close, last {sizes.rows} rows, next day's price, window {ARTICLE_STEPS}",
        **{activation: {
            "test_rmse_median": float(np.median([r["test_rmse"] for r in found])),
            "diverged": sum(r["diverged"] for r in found),
            "largest_cell_state_median": float(np.median([r["largest_cell_state"] for r in found])),
            "runs": found,
        } for activation, found in runs.items()},
    }
    tanh = runs["tanh"]
    result["no_held_out_period"] = {
        "train_rmse_median": float(np.median([r["train_rmse"] for r in tanh])),
        "train_persistence_rmse": tanh[0]["train_persistence_rmse"],
        "train_share_of_persistence": float(np.median([r["train_rmse"] / r["train_persistence_rmse"] for r in tanh])),
        "test_rmse_median": float(np.median([r["test_rmse"] for r in tanh])),
        "test_share_of_persistence": float(np.median([r["test_rmse"] / r["persistence_rmse"] for r in tanh])),
        "persistence_rmse": tanh[0]["persistence_rmse"],
        "dm_p_vs_persistence": [r["dm_p_vs_persistence"] for r in tanh],
    }
    return result


def main() -> None:
    args, sizes = CommandLine(__doc__, FULL, SMOKE).parse()
    report(measure(sizes), args.json)


if __name__ == "__main__":
    main()
