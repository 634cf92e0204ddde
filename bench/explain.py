import sys, time, torch, numpy as np, json
sys.path.insert(0, '/work/main')
torch.set_num_threads(1)
from lstm_core.data import load_task, TaskKind
from lstm_core.config import RunConfig
from lstm_core.runs.run import train_run
from lstm_core.gates.explain import explain_window
ds = load_task(TaskKind.REMEMBER)
cfg = RunConfig.for_target(**ds.settings())
t = time.perf_counter(); run = train_run(ds.frame, ds.name, cfg); secs = time.perf_counter() - t
p = run.prepared
share_mean = (run.metrics["model"].rmse / run.metrics["train_mean"].rmse) ** 2
marker = list(cfg.features).index("marker")
err = np.abs(run.test_predictions - p.actual_values("test"))
right = np.flatnonzero(err < 0.1)
shares, gaps = [], []
t = time.perf_counter()
for k in right:
    a = explain_window(run.model, p, "test", int(k))
    shares.append(a.share_on(p.window("test", int(k)).inputs[:, marker] > 0.5)); gaps.append(a.gap)
out = {"config": cfg.to_dict(), "train_s": round(secs, 1), "error_share_of_mean": share_mean, "test_windows": int(p.n_samples("test")),
       "right_answers": len(right), "share_on_marked": {"mean": float(np.mean(shares)), "min": float(np.min(shares)), "p10": float(np.percentile(shares, 10))},
       "max_gap": float(np.max(gaps)), "explain_s_per_window": (time.perf_counter() - t) / len(right)}
print(json.dumps(out, indent=1))
