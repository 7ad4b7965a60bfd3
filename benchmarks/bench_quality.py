"""Paired analysis + 10,000-resample recovery bootstrap over 4 tasks × 10,000 documents.

Target (issue 4): under 1 s on the 2-core CI machine. Run:

    .venv/bin/python benchmarks/bench_quality.py [--docs 10000] [--resamples 10000] [--repeat 5]

The frames are built first (not timed): two models, arc_easy / hellaswag (0/1 acc and acc_norm),
gsm8k (0/1, both filters) and truthfulqa_mc2 (continuous), one samples row per
(job, task, doc, filter, metric) as the loader writes them (≈ 140,000 rows for 10,000 docs).
Timed: ``evalkit.analysis.compare.compare(..., samples=...)`` (headline metrics, paired) and
``evalkit.analysis.recovery.recovery(..., samples=..., n_resamples=...)``; the best, median
and worst of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import pandas as pd

from evalkit.analysis.compare import compare
from evalkit.analysis.recovery import recovery
from evalkit.core import frames

TASKS = {  # task: [(metric, filter, kind)]
    "arc_easy": [("acc", "none", "binary"), ("acc_norm", "none", "binary")],
    "hellaswag": [("acc", "none", "binary"), ("acc_norm", "none", "binary")],
    "gsm8k": [("exact_match", "strict-match", "binary"),
              ("exact_match", "flexible-extract", "binary")],
    "truthfulqa_mc2": [("acc", "none", "continuous")],
}


def build(n_docs: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    score_rows, parts = [], []
    ids = np.arange(n_docs)
    hashes = np.array([f"{i:064x}" for i in ids], dtype=object)
    for task, metrics in TASKS.items():
        for metric, filt, kind in metrics:
            if kind == "binary":
                base = (rng.random(n_docs) < 0.8).astype(float)
                flip = rng.random(n_docs) < 0.05
                cand = np.where(flip, 1 - base, base)
            else:
                base = rng.uniform(0, 1, n_docs)
                cand = np.clip(base + rng.normal(-0.005, 0.05, n_docs), 0, 1)
            for model, job, x in (("fp16", "job-fp16", base), ("w4a16", "job-w4a16", cand)):
                score_rows.append({"model": model, "job": job, "task": task, "metric": metric,
                                   "filter": filt, "value": x.mean(),
                                   "stderr": x.std(ddof=1) / np.sqrt(n_docs), "n": n_docs,
                                   "completed_at": "2025-03-01", "usable": True})
                parts.append(pd.DataFrame({
                    "model": model, "job": job, "task": task, "doc_id": ids, "filter": filt,
                    "metric": metric, "value": x, "doc_hash": hashes, "prompt_hash": hashes,
                    "target": None, "response": None}))
    return (frames.conform("scores", score_rows),
            frames.conform("samples", pd.concat(parts, ignore_index=True)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=10_000)
    ap.add_argument("--resamples", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    scores, samples = build(a.docs)
    # warm-up: imports, the loader's headline table, scipy distributions
    compare(scores, "fp16", "w4a16", samples=samples)
    t_cmp, t_rec, t_tot = [], [], []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        cmp = compare(scores, "fp16", "w4a16", samples=samples).frame
        t1 = time.perf_counter()
        rec = recovery(scores, "fp16", "w4a16", samples=samples, n_resamples=a.resamples)
        t2 = time.perf_counter()
        t_cmp.append(t1 - t0)
        t_rec.append(t2 - t1)
        t_tot.append(t2 - t0)
    assert (cmp["method"].str.startswith("paired")).all() and len(cmp) == 4
    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"{os.cpu_count()} CPU(s)")
    print(f"{len(TASKS)} tasks × {a.docs:,} documents, {len(samples):,} sample rows, "
          f"{a.resamples:,} bootstrap resamples, {a.repeat} repeats")
    for name, ts in (("compare (paired)", t_cmp), ("recovery bootstrap", t_rec),
                     ("total", t_tot)):
        print(f"  {name:<20} best {min(ts) * 1e3:7.1f} ms   median "
              f"{statistics.median(ts) * 1e3:7.1f} ms   worst {max(ts) * 1e3:7.1f} ms")
    print(f"  recovery: {rec!r}")
    print("  per-task bootstrap methods:", ", ".join(rec.per_task["method"]))
    ok = statistics.median(t_tot) < 1.0
    print(f"  target < 1 s: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
