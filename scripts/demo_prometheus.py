"""Seeded, deterministic Prometheus answers for the demo snapshot (labelled demo data).

Simulates what Prometheus would answer to evalkit's serving queries for the demo's two models
— ``mistral-24b`` (FP16, tensor-parallel on 4 GPUs) and ``mistral-24b-quantized`` (W4A16 on
1 GPU) serving the same traffic — and writes the raw answers into a snapshot under
``prometheus/`` with :func:`evalkit.prometheus.save_answers`, i.e. exactly the layout
:func:`evalkit.prometheus.snapshot_prometheus` writes and
:func:`evalkit.prometheus.load_snapshot_series` reads.

Latencies are simulated as per-step histogram bucket increments (vLLM's bucket bounds), so the
quantile series are ``histogram_quantile`` over 5-minute rates and the window answers are
``histogram_quantile`` over the whole window's increase — consistent with each other, the way
a real server's answers are.

Usage (the lead's ``scripts/make_demo_snapshot.py`` calls it inside its SnapshotWriter)::

    from demo_prometheus import write_demo_prometheus
    write_demo_prometheus(writer, start="2025-06-02T00:00:00Z", end="2025-06-03T00:00:00Z",
                          step="60s", seed=0)

or preview: ``python scripts/demo_prometheus.py OUT_DIR``.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evalkit import prometheus as P
from evalkit import promql
from evalkit.core.timeutil import step_to_ms, to_ms, to_seconds, to_unix
from evalkit.prometheus.client import chunks

NAMESPACE = "private-ai-demo"
TTFT_BOUNDS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
               7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0, np.inf]
ITL_BOUNDS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
              10.0, 20.0, 40.0, 80.0, np.inf]
MIB = 1048576


@dataclass(frozen=True)
class DemoModel:
    name: str
    gpus: int
    ttft_median: float  # s, at light load
    ttft_sigma: float
    itl_median: float  # s
    itl_sigma: float
    kv_base: float  # KV-cache fraction per running request
    gpu_util_per_req: float  # % per running request (per GPU)
    fb_used_mib: float  # per GPU (vLLM preallocates gpu_memory_utilization of the card)


MODELS = (
    DemoModel("mistral-24b", 4, 0.115, 0.55, 0.021, 0.30, 0.012, 2.6, 72_500.0),
    DemoModel("mistral-24b-quantized", 1, 0.205, 0.60, 0.029, 0.32, 0.034, 6.1, 73_100.0),
)


def selector(name: str) -> str:
    """The selector the demo pulls each model with."""
    return f'namespace="{NAMESPACE}",pod=~"{name}-predictor.*"'


def _fmt(v: float) -> str:
    if np.isnan(v):
        return "NaN"
    if np.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v))


def _libm(f: Any, x: np.ndarray) -> np.ndarray:
    """``f`` (a :mod:`math` function) of every element. numpy's own exp, log and power
    kernels give different last digits in numpy 1.26 and 2.x, and the demo snapshot must be
    byte-identical on every supported stack; libm's results do not depend on numpy (and
    ``+ - * /``, ``sqrt`` and ``x ** 2`` are exactly rounded everywhere)."""
    return np.array([f(v) for v in np.asarray(x, dtype=np.float64).tolist()])


def _ts(ms: int) -> Any:
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def _answer(result_type: str, series: list[tuple[dict[str, str], np.ndarray, np.ndarray]]) -> bytes:
    res = []
    for labels, ms, vals in series:
        if result_type == "matrix":
            res.append({"metric": labels,
                        "values": [[_ts(int(t)), _fmt(v)] for t, v in zip(ms, vals, strict=True)]})
        else:
            res.append({"metric": labels, "value": [_ts(int(ms[0])), _fmt(vals[0])]})
    doc = {"status": "success", "data": {"resultType": result_type, "result": res}}
    return json.dumps(doc, separators=(",", ":")).encode()


def _quantile(cum: np.ndarray, bounds: list[float], q: float) -> np.ndarray:
    """histogram_quantile of rows of cumulative bucket counts (Prometheus rules)."""
    n, b = cum.shape
    ts = np.repeat(np.arange(n), b)
    f = pd.DataFrame({"timestamp": pd.to_datetime(ts, unit="s", utc=True),
                      "le": np.tile([_fmt(x) for x in bounds], n), "value": cum.ravel()})
    return P.quantiles_from_buckets(f, q)["value"].to_numpy()


def _simulate(m: DemoModel, rng: np.random.Generator, n: int, step_s: float, load: np.ndarray,
              ) -> dict[str, np.ndarray]:
    """Per-step increments of every counter and the gauges of one model."""
    reqs = rng.poisson(load * step_s).astype(float)
    # queueing: TTFT grows with load (more so on one GPU)
    r = load / load.max()
    congestion = 1 + r * r * r * (0.9 if m.gpus == 1 else 0.35)  # not ** 3: see _libm
    ttft_edges = np.asarray(TTFT_BOUNDS)
    itl_edges = np.asarray(ITL_BOUNDS)
    ttft_inc = np.zeros((n, ttft_edges.size))
    itl_inc = np.zeros((n, itl_edges.size))
    ttft_sum = np.zeros(n)
    gen = rng.poisson(230, n) * reqs
    prompt = rng.poisson(850, n) * reqs
    for i in range(n):
        k = int(reqs[i])
        if k:
            x = rng.lognormal(math.log(m.ttft_median * congestion[i]), m.ttft_sigma, k)
            ttft_inc[i] = np.bincount(np.searchsorted(ttft_edges, x), minlength=ttft_edges.size)
            # math.fsum is correctly rounded, so independent of numpy's summation order
            # (numpy 1.26 and 2.x sum the same floats into different last digits)
            ttft_sum[i] = math.fsum(x)
        t = int(min(gen[i], 3000))  # a sample of the inter-token gaps is enough for the shape
        if t:
            y = rng.lognormal(math.log(m.itl_median * (1 + 0.25 * (congestion[i] - 1))),
                              m.itl_sigma, t)
            itl_inc[i] = np.bincount(np.searchsorted(itl_edges, y), minlength=itl_edges.size)
            itl_inc[i] *= gen[i] / t
    e2e = m.ttft_median * congestion + 230 * m.itl_median
    running = rng.poisson(load * e2e).astype(float)
    waiting = rng.poisson(np.maximum(congestion - 1.15, 0) * (6 if m.gpus == 1 else 1.5)).astype(float)
    kv = np.clip(running * m.kv_base + rng.normal(0, 0.01, n), 0.0, 0.98)
    util = np.clip(running * m.gpu_util_per_req + rng.normal(0, 3, n), 0, 100).round()
    return {"reqs": reqs, "ttft_inc": ttft_inc, "ttft_sum": ttft_sum, "itl_inc": itl_inc,
            "gen": gen, "prompt": prompt, "running": running, "waiting": waiting, "kv": kv,
            "util": util}


def write_demo_prometheus(writer: Any, *, start: Any, end: Any, step: Any = "60s", seed: int = 0,
                          window: str = "5m") -> dict[str, Any]:
    """Write deterministic demo answers for both models into ``writer`` under ``prometheus/``.

    Parameters
    ----------
    writer : an open :class:`evalkit.core.snapshot.SnapshotWriter`.
    start, end, step : the simulated range (as for :func:`evalkit.prometheus.query_range`).
    seed : random seed; the same arguments always give byte-identical files.

    Returns
    -------
    The manifest source entry (also stored with ``writer.add_source("prometheus", ...)``,
    marked ``"demo": True``).
    """
    s_ms = to_ms(to_unix(start))
    e_ms = to_ms(to_unix(end))
    step_ms = step_to_ms(step)
    n = (e_ms - s_ms) // step_ms + 1
    step_s = step_ms / 1000
    ms = s_ms + np.arange(n, dtype=np.int64) * step_ms
    w_s = max(to_seconds(window), step_s)
    k = max(1, int(round(w_s / step_s)))  # steps per rate window
    rng = np.random.default_rng(seed)
    hours = (ms / 3.6e6) % 24
    # the same diurnal traffic reaches both deployments (an A/B split of one service)
    load = (0.4 + 2.2 * _libm(math.exp, -((hours - 14.5) / 3.2) ** 2)
            + 0.25 * _libm(math.sin, hours / 24 * 2 * np.pi))
    load = np.clip(load * (1 + rng.normal(0, 0.06, n)), 0.05, None)
    records: list[P.QueryRecord] = []
    models = {m.name: selector(m.name) for m in MODELS}

    def windowed(x: np.ndarray) -> np.ndarray:
        c = np.cumsum(x, axis=0)
        out = c.copy()
        out[k:] = c[k:] - c[:-k]
        return out

    for m in MODELS:
        sim = _simulate(m, rng, n, step_s, load)
        qs = promql.serving_queries(selector(m.name), window=promql.duration(w_s))
        wq = promql.window_queries(selector(m.name), (e_ms - s_ms) / 1000)
        lab = {"model_name": m.name}
        values: dict[str, tuple[dict[str, str], np.ndarray]] = {}
        ttft_w, itl_w = np.cumsum(windowed(sim["ttft_inc"]), axis=1), np.cumsum(windowed(sim["itl_inc"]), axis=1)
        for name, q in promql.QUANTILES.items():
            values[f"ttft_{name}"] = (lab, _quantile(ttft_w / w_s, TTFT_BOUNDS, q))
            values[f"itl_{name}"] = (lab, _quantile(itl_w / w_s, ITL_BOUNDS, q))
        cnt_w = windowed(sim["reqs"])
        with np.errstate(invalid="ignore", divide="ignore"):
            values["ttft_mean"] = (lab, np.where(cnt_w > 0, windowed(sim["ttft_sum"]) / cnt_w, np.nan))
        values["generation_tokens_per_s"] = (lab, windowed(sim["gen"]) / w_s)
        values["prompt_tokens_per_s"] = (lab, windowed(sim["prompt"]) / w_s)
        values["requests_per_s"] = (lab, cnt_w / w_s)
        values["requests_running"] = (lab, sim["running"])
        values["requests_waiting"] = (lab, sim["waiting"])
        values["kv_cache_usage"] = (lab, sim["kv"])
        values["gpu_utilization"] = ({}, sim["util"])
        values["gpu_memory_allocated_bytes"] = ({}, np.full(n, m.gpus * m.fb_used_mib * MIB))
        values["gpus"] = ({}, np.full(n, float(m.gpus)))
        for metric in promql.METRICS:
            labels, v = values[metric]
            rec = P.QueryRecord(m.name, metric, promql.UNITS[metric], qs[metric], "range",
                                s_ms, e_ms, step_ms)
            for cs, ce in chunks(s_ms, e_ms, step_ms, P.MAX_POINTS):
                sl = slice((cs - s_ms) // step_ms, (ce - s_ms) // step_ms + 1)
                body = _answer("matrix", [(labels, ms[sl], v[sl])])
                rec.bodies.append(body)
                rec.answers.append(P.parse_answer(body))
            records.append(rec)
        # whole-window answers (instant queries at `end`)
        tot_ttft = np.cumsum(sim["ttft_inc"].sum(axis=0))[None, :]
        tot_itl = np.cumsum(sim["itl_inc"].sum(axis=0))[None, :]
        span = (e_ms - s_ms) / 1000
        wvals = {f"ttft_{nm}": _quantile(tot_ttft, TTFT_BOUNDS, q)[0] for nm, q in promql.QUANTILES.items()}
        wvals.update({f"itl_{nm}": _quantile(tot_itl, ITL_BOUNDS, q)[0] for nm, q in promql.QUANTILES.items()})
        wvals["ttft_mean"] = math.fsum(sim["ttft_sum"]) / sim["reqs"].sum()
        wvals["generation_tokens_per_s"] = sim["gen"].sum() / span
        wvals["prompt_tokens_per_s"] = sim["prompt"].sum() / span
        wvals["requests_per_s"] = sim["reqs"].sum() / span
        for metric, q in wq.items():
            body = _answer("vector", [(lab, np.array([e_ms]), np.array([wvals[metric]]))])
            rec = P.QueryRecord(m.name, metric, promql.UNITS[metric], q, "window", s_ms, e_ms)
            rec.bodies.append(body)
            rec.answers.append(P.parse_answer(body))
            records.append(rec)
    return P.save_answers(writer, records, url="", models=models, start_ms=s_ms, end_ms=e_ms,
                          step_ms=step_ms, window=window,
                          extra={"demo": True, "generator": "scripts/demo_prometheus.py",
                                 "seed": seed})


if __name__ == "__main__":  # pragma: no cover - manual preview
    from evalkit.core.snapshot import SnapshotWriter

    out = sys.argv[1] if len(sys.argv) > 1 else "demo-prometheus-preview"
    with SnapshotWriter(out, description="demo Prometheus answers (preview)", demo=True,
                        overwrite=True) as w:
        write_demo_prometheus(w, start="2025-06-02T00:00:00Z", end="2025-06-03T00:00:00Z")
    print(out)
