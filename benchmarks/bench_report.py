"""``evalkit report`` and ``evalkit analyze`` on the bundled demo snapshot, and where the time goes.

Targets (issue): ``evalkit report`` at most 4x papermill running an empty notebook in the same
environment and under 20 s; ``evalkit analyze`` under 3 s.

Each timed command runs ``--repeat`` times as a fresh process (wall time from spawn to exit,
so interpreter start and imports count, as for a user):

- ``evalkit report --output TMP`` (the demo snapshot; the real CLI entry point);
- the same environment's papermill executing a notebook with one empty code cell (kernel
  start, the kernel's own imports, papermill/nbclient overhead, shutdown) — the floor any
  notebook-based report pays;
- ``evalkit analyze --output TMP``;
- ``python -c pass`` (interpreter start, for reference).

The ratio is given of the medians and run by run (each report over the empty notebook run
just before it). Then one instrumented report in a subprocess is shown as a timeline: the
kernel process started, the source loaded and checked (beside the booting kernel), the kernel
ready (first cell), the load + analysis cell, the last cell, the kernel stopped, the HTML
written — and the slowest cells by papermill's own durations.

Run: ``.venv/bin/python benchmarks/bench_report.py [--repeat 3] [--json OUT]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

EMPTY_NB = {"cells": [{"cell_type": "code", "execution_count": None, "id": "empty",
                       "metadata": {}, "outputs": [], "source": ""}],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                        "name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}

PAPERMILL_EMPTY = """
import logging, sys
for n in ("papermill", "traitlets", "nbconvert", "asyncio", "nbclient"):
    logging.getLogger(n).setLevel(logging.ERROR)
import papermill as pm
pm.execute_notebook(sys.argv[1], sys.argv[2], kernel_name="python3", progress_bar=False,
                    log_output=False)
"""

# One report as a timeline (fresh process): when each step ends, in seconds from the start,
# read from wrappers around what run_report calls (looked up where it looks them up, so nothing
# in evalkit changes) and from papermill's own cell times in the executed notebook. The kernel
# is started before the source is checked, so the two overlap; the first cell waits for the
# kernel's preload (a thread it starts as it boots).
INSTRUMENTED = r"""
import datetime, json, sys, time
T0 = time.time()
t0 = time.perf_counter()
marks = {}
def mark(k):
    marks[k] = time.perf_counter() - t0
import evalkit.cli  # noqa: F401  what `evalkit` imports before it runs a command
import evalkit.present.kernel as K
import evalkit.present.report as R
mark("CLI imported")

def after(name, f):
    def w(*a, **k):
        try:
            return f(*a, **k)
        finally:
            mark(name)
    return w

K.EarlyKernel.start = after("kernel process started (it boots and preloads on its own)",
                            K.EarlyKernel.start)
R._execute = after("notebook done (papermill returns)", R._execute)
K.EarlyKernel.stop = after("kernel stopped", K.EarlyKernel.stop)
R.export_html = after("HTML written", R.export_html)
_execute = R._execute
def ex(*a, **k):
    mark("source loaded and checked, papermill starts")
    return _execute(*a, **k)
R._execute = ex
paths = R.run_report(output=sys.argv[1])
mark("run_report returns")
nb = json.loads(paths["notebook"].read_text())
rel = lambda s: datetime.datetime.fromisoformat(s).timestamp() - T0
code = [c for c in nb["cells"] if c["cell_type"] == "code"]
marks["first cell sent (it waits for the kernel's preload)"] = rel(
    code[0]["metadata"]["papermill"]["start_time"])
first = next(c for c in code if "ek.analyze(" in "".join(c["source"]))
marks["load + analysis cell done"] = rel(first["metadata"]["papermill"]["end_time"])
marks["last cell done"] = rel(code[-1]["metadata"]["papermill"]["end_time"])
cells = []
for c in code:
    d = c.get("metadata", {}).get("papermill", {}).get("duration")
    if d is not None:
        first_line = next((ln for ln in "".join(c["source"]).splitlines()
                           if ln.strip() and not ln.startswith(("%", "#"))), "")
        cells.append([round(d, 3), first_line[:70]])
print(json.dumps({"marks": sorted(marks.items(), key=lambda kv: kv[1]), "cells": cells}))
"""

# `evalkit analyze` with every step timed (fresh process): the CLI import, the modules the
# command imports on first use, then loading, the analysis and writing the outputs
INSTRUMENTED_ANALYZE = r"""
import json, sys, time
t0 = time.perf_counter()
import evalkit.cli  # noqa: F401
t1 = time.perf_counter()
import evalkit.analysis.pipeline as AP, evalkit.bundle as B, evalkit.present.summary_json as SJ
import evalkit.cli.analyze as CA
t2 = time.perf_counter()
steps = {"import evalkit.cli": t1 - t0, "import analysis, bundle, summary_json": t2 - t1}

def timed(name, f):
    def w(*a, **k):
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            steps[name] = steps.get(name, 0.0) + time.perf_counter() - t
    return w

B.load = timed("load snapshot", B.load)
AP.analyze = timed("analyze", AP.analyze)
SJ.write_outputs = timed("write summary.json + Parquet", SJ.write_outputs)
ns = evalkit.cli.parser().parse_args(["analyze", "--output", sys.argv[1]])
t = time.perf_counter()
CA.run(ns)
steps["run (total)"] = time.perf_counter() - t
print(json.dumps(steps))
"""

# what the notebook's first code cell imports — the kernel preloads it while it boots —
# timed in a fresh interpreter (no kernel)
KERNEL_IMPORTS = r"""
import time
t = time.perf_counter()
import matplotlib
matplotlib.use("agg")
import pandas as pd
from IPython.display import HTML, Markdown, display
import evalkit as ek
from evalkit.analysis.economics import registry_agreement
from evalkit.present import sections as S
from evalkit.present.plots import economics, quality, serving
print(time.perf_counter() - t)
"""


def wall(cmd: list[str], cwd: Path | None = None) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=cwd)
    return time.perf_counter() - t


def summary(ts: list[float]) -> dict:
    return {"median_s": statistics.median(ts), "min_s": min(ts), "max_s": max(ts), "runs_s": ts}


def fmt(name: str, s: dict) -> str:
    return (f"  {name:<44} median {s['median_s']:6.2f} s  (range {s['min_s']:.2f}-"
            f"{s['max_s']:.2f}, runs {', '.join(f'{t:.2f}' for t in s['runs_s'])})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write the results here")
    a = ap.parse_args()
    py = sys.executable
    evalkit_bin = str(BIN / "evalkit")
    res: dict = {"python": platform.python_version(), "cpus": os.cpu_count()}
    import numpy
    import pandas

    res["stack"] = f"pandas {pandas.__version__}, numpy {numpy.__version__}"
    print(f"python {res['python']}, {res['stack']}, {res['cpus']} CPUs; "
          f"{a.repeat} runs each, fresh processes")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        nb = tmp / "empty.ipynb"
        nb.write_text(json.dumps(EMPTY_NB))
        # warm the OS file cache and the kernel spec lookup once (not timed)
        subprocess.run([py, "-c", PAPERMILL_EMPTY, str(nb), str(tmp / "warm.ipynb")],
                       check=True, capture_output=True)
        runs: dict[str, list[float]] = {k: [] for k in
                                        ("python -c pass", "papermill, empty notebook",
                                         "evalkit report (demo)", "evalkit analyze (demo)")}
        for i in range(a.repeat):  # interleaved, so a noisy moment hits every command alike
            runs["python -c pass"].append(wall([py, "-c", "pass"]))
            runs["papermill, empty notebook"].append(
                wall([py, "-c", PAPERMILL_EMPTY, str(nb), str(tmp / f"out{i}.ipynb")]))
            runs["evalkit report (demo)"].append(
                wall([evalkit_bin, "report", "--output", str(tmp / f"report{i}")]))
            runs["evalkit analyze (demo)"].append(
                wall([evalkit_bin, "analyze", "--output", str(tmp / f"analyze{i}")]))
        res["commands"] = {k: summary(v) for k, v in runs.items()}
        for k, s in res["commands"].items():
            print(fmt(k, s))
        rep = res["commands"]["evalkit report (demo)"]["median_s"]
        pm = res["commands"]["papermill, empty notebook"]["median_s"]
        an = res["commands"]["evalkit analyze (demo)"]["median_s"]
        # also run by run: a report and the empty notebook run right after each other share
        # the machine's moment (this VM's neighbours come and go)
        paired = [r / e for r, e in zip(runs["evalkit report (demo)"],
                                         runs["papermill, empty notebook"], strict=True)]
        res["report_over_empty_papermill"] = rep / pm
        res["report_over_empty_papermill_paired"] = summary(paired)
        print(f"  report / empty papermill: {rep / pm:.2f}x of the medians, run by run median "
              f"{statistics.median(paired):.2f}x (range {min(paired):.2f}-{max(paired):.2f}) "
              f"(target <= 4x); report {rep:.1f} s (target < 20 s); analyze {an:.2f} s "
              "(target < 3 s)")

        # where the time goes: one instrumented report, and the notebook's imports alone
        out = subprocess.run([py, "-c", INSTRUMENTED, str(tmp / "instrumented")], check=True,
                             capture_output=True, text=True)
        inst = json.loads(out.stdout.strip().splitlines()[-1])
        kimp = [float(subprocess.run([py, "-c", KERNEL_IMPORTS], check=True, capture_output=True,
                                     text=True).stdout.strip()) for _ in range(a.repeat)]
        res["breakdown"] = inst
        res["kernel_cell_imports_s"] = summary(kimp)
        print("  one instrumented `evalkit report` (fresh process), seconds from the start:")
        for name, at in inst["marks"]:
            print(f"    {at:6.2f}  {name}")
        print("    slowest cells (papermill's durations):")
        for d_, src in sorted(inst["cells"], reverse=True)[:6]:
            print(f"      {d_:6.2f} s  {src}")
        print(f"    the notebook's imports, which the kernel preloads as it boots (fresh "
              f"interpreter, median): "
              f"{statistics.median(kimp):.2f} s")
        out = subprocess.run([py, "-c", INSTRUMENTED_ANALYZE, str(tmp / "instrumented-analyze")],
                             check=True, capture_output=True, text=True)
        an_steps = json.loads(out.stdout.strip().splitlines()[-1])
        res["analyze_breakdown"] = an_steps
        print("  one instrumented `evalkit analyze` (fresh process):")
        for k, v in an_steps.items():
            print(f"    {k:<40} {v:6.2f} s")
    if a.json:
        a.json.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
