"""Prometheus answer → frame: evalkit vs prometheus-api-client vs a bare JSON parse.

One generated query_range answer of 1,000,000 samples (20 series × 50,000 points, vLLM-like
labels, values as Prometheus formats them) is parsed by:

- ``evalkit``: ``evalkit.prometheus.parse_matrix(bytes)`` → long frame;
- ``prometheus-api-client``: ``json.loads`` + ``MetricRangeDataFrame(result)``;
- ``json.loads`` and ``orjson.loads`` of the same bytes (no frame at all).

Time: median of ``--repeat`` runs in this process. Memory: each method runs once in a fresh
subprocess that reports its tracemalloc peak (Python allocations) and its peak-RSS growth over
the call (``/proc/self/clear_refs`` + ``VmHWM``, which also counts C allocations), plus the
frame's own ``memory_usage(deep=True)``.

Then a 30-day pull at 15 s (8 series × 172,801 points, 16 chunks per series) against a local
Prometheus started like the tests do, with ``max_workers=4`` versus sequentially.

Run: ``.venv/bin/python benchmarks/bench_prometheus.py`` (``--quick`` for a smaller answer,
``--no-server`` to skip the pull, ``--json OUT`` to keep the numbers). Needs the ``bench``
extra (prometheus-api-client, orjson); a method whose package is missing is skipped. ``make
bench`` also runs the parse part with the oldest supported stack's interpreter
(``.venv-oldest/bin/python``: pandas 2.2, numpy 1.26, pyarrow 14), where orjson is not installed.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

METHODS = ("evalkit", "prometheus-api-client", "json.loads", "orjson.loads")


def generate(n_series: int = 20, n_points: int = 50_000, seed: int = 0) -> bytes:
    """A query_range answer as Prometheus writes it (compact JSON, string values)."""
    rng = np.random.default_rng(seed)
    t0 = 1_717_286_400
    parts = []
    for i in range(n_series):
        metric = {"__name__": "vllm:num_requests_running", "namespace": "private-ai-demo",
                  "pod": f"mistral-24b-predictor-{i:04d}", "model_name": "mistral-24b",
                  "engine": str(i % 2), "instance": f"10.128.{i}.7:8080", "job": "kserve"}
        ts = t0 + np.arange(n_points) * 15
        vals = rng.gamma(2.0, 3.0, n_points)  # full float64 precision, as rates come back
        values = ",".join(f'[{t},"{v!r}"]' for t, v in zip(ts.tolist(), vals.tolist(), strict=True))
        parts.append(f'{{"metric":{json.dumps(metric, separators=(",", ":"))},"values":[{values}]}}')
    return ('{"status":"success","data":{"resultType":"matrix","result":[' + ",".join(parts)
            + "]}}").encode()


def run(method: str, body: bytes):
    if method == "evalkit":
        from evalkit.prometheus import parse_matrix

        return parse_matrix(body)
    if method == "prometheus-api-client":
        from prometheus_api_client import MetricRangeDataFrame

        return MetricRangeDataFrame(json.loads(body)["data"]["result"])
    if method == "json.loads":
        return json.loads(body)
    if method == "orjson.loads":
        import orjson

        return orjson.loads(body)
    raise ValueError(method)


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return -1


def one(method: str, path: str) -> dict:
    """Measure one method's memory in this (fresh) process."""
    body = Path(path).read_bytes()
    if method == "evalkit":
        import evalkit.prometheus  # noqa: F401
    elif method == "prometheus-api-client":
        import prometheus_api_client  # noqa: F401
    elif method == "orjson.loads":
        import orjson  # noqa: F401
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    base = _rss_kb("VmRSS")
    tracemalloc.start()
    out = run(method, body)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    hwm = _rss_kb("VmHWM")
    frame_mb = None
    if hasattr(out, "memory_usage"):
        frame_mb = float(out.memory_usage(deep=True).sum()) / 1e6
    return {"tracemalloc_peak_mb": peak / 1e6, "rss_peak_growth_mb": (hwm - base) / 1024,
            "frame_mb": frame_mb}


def time_method(method: str, body: bytes, repeat: int) -> list[float]:
    warm = b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},' \
        b'"values":[[1,"1"]]}]}}'
    run(method, warm)  # imports happen outside the timed runs
    out = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        res = run(method, body)
        out.append(time.perf_counter() - t)
        del res
    return out


def stack() -> str:
    import pandas as pd

    from evalkit.prometheus import scan

    arrow = scan._arrow()
    parser = (f"pyarrow {arrow[0].__version__} CSV" if arrow is not None
              else "pandas read_csv" if scan._PANDAS_CSV else "float()")
    return (f"pandas {pd.__version__}, numpy {np.__version__}; evalkit's batch float parser: "
            f"{parser}")


def parse_bench(args: argparse.Namespace) -> dict:
    n_points = 5_000 if args.quick else 50_000
    body = generate(20, n_points)
    samples = 20 * n_points
    print(f"answer: {samples:,} samples, {len(body) / 1e6:.1f} MB; {stack()}")
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        fh.write(body)
        path = fh.name
    results = {}
    try:
        for m in METHODS:
            try:
                reps = args.repeat if m != "prometheus-api-client" else max(3, args.repeat // 2)
                times = time_method(m, body, reps)
            except ImportError as exc:
                print(f"{m}: skipped ({exc})")
                continue
            proc = subprocess.run([sys.executable, __file__, "--one", m, path],
                                  capture_output=True, text=True, check=True)
            mem = json.loads(proc.stdout.strip().splitlines()[-1])
            results[m] = {"median_s": statistics.median(times), "min_s": min(times),
                          "max_s": max(times), "runs_s": times, **mem}
            print(f"{m:>22}: median {statistics.median(times):6.3f} s "
                  f"(runs {', '.join(f'{t:.3f}' for t in times)}); tracemalloc peak "
                  f"{mem['tracemalloc_peak_mb']:7.1f} MB; peak RSS growth "
                  f"{mem['rss_peak_growth_mb']:7.1f} MB"
                  + (f"; frame {mem['frame_mb']:.1f} MB" if mem["frame_mb"] is not None else ""))
    finally:
        os.unlink(path)
    if "evalkit" in results and "prometheus-api-client" in results:
        e, p = results["evalkit"], results["prometheus-api-client"]
        print(f"evalkit vs prometheus-api-client: {p['median_s'] / e['median_s']:.1f}x faster, "
              f"{p['rss_peak_growth_mb'] / max(e['rss_peak_growth_mb'], 0.1):.1f}x less peak RSS, "
              f"{p['frame_mb'] / e['frame_mb']:.1f}x smaller frame")
    if "evalkit" in results and "json.loads" in results:
        print(f"evalkit vs bare json.loads: "
              f"{results['json.loads']['median_s'] / results['evalkit']['median_s']:.1f}x faster")
    return results


def pull_bench(args: argparse.Namespace) -> dict | None:
    sys.path.insert(0, str(ROOT))
    from evalkit.prometheus import query_range
    from tests.promserver import T0, PromServer, missing_reason

    if missing_reason():
        print(f"pull benchmark skipped: {missing_reason()}")
        return None
    k = 8
    q = " or ".join(f'label_replace(vector(time() + {i}), "series", "{i}", "", "")' for i in range(k))
    out = {}
    with tempfile.TemporaryDirectory() as d:
        srv = PromServer.start(Path(d))
        try:
            for workers in (1, 4):
                times = []
                for _ in range(3):
                    t = time.perf_counter()
                    r = query_range(srv.url, q, T0, T0 + 30 * 86400, "15s", max_workers=workers,
                                    progress=False)
                    times.append(time.perf_counter() - t)
                    f = getattr(r, "frame", r)  # a QueryResult (frame, warnings, ...)
                assert len(f) == k * 172_801, len(f)
                out[workers] = statistics.median(times)
                print(f"30-day pull, {k} series x 172,801 points (16 chunks), max_workers={workers}: "
                      f"median {out[workers]:.2f} s (runs {', '.join(f'{t:.2f}' for t in times)})")
        finally:
            srv.stop()
    print(f"speed-up with 4 workers: {out[1] / out[4]:.1f}x")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-server", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--one", nargs=2, metavar=("METHOD", "FILE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(*args.one)))
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    res = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "stack": stack(),
           "parse": parse_bench(args)}
    if not args.no_server:
        res["pull"] = pull_bench(args)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
