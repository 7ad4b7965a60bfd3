"""Run every benchmark (``make bench``) and keep the numbers.

In order: the quality statistics, ``import evalkit`` vs ``import pandas``, ``evalkit report``
/ ``evalkit analyze`` vs an empty papermill notebook, and the Prometheus parse benchmark, each
with this interpreter (the current stack) and — for the import and parse benchmarks — again
with ``--oldest`` (the oldest supported stack's interpreter, ``.venv-oldest/bin/python``), then
the 30-day pull against a local Prometheus. Each benchmark prints its own table; the JSON
results go to ``.benchmarks/<UTC time>/`` (git-ignored). Nothing here asserts a timing: the
numbers are for ``docs/performance.md``, which names the machine they came from.

Run: ``.venv/bin/python benchmarks/run_all.py [--oldest .venv-oldest/bin/python] [--quick]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    return (f"{platform.node()}: {os.cpu_count()} CPUs ({cpu or platform.machine()}), "
            f"python {platform.python_version()}, load average {load[0]:.2f} at start")


def run(name: str, cmd: list[str]) -> int:
    print(f"\n=== {name}: {' '.join(cmd)}", flush=True)
    return subprocess.run(cmd, cwd=ROOT).returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--oldest", help="the oldest stack's python (skipped when missing)")
    ap.add_argument("--quick", action="store_true", help="fewer repeats, smaller answers")
    ap.add_argument("--no-server", action="store_true", help="skip the Prometheus pull")
    a = ap.parse_args()
    out = ROOT / ".benchmarks" / dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    print(machine())
    (out / "machine.txt").write_text(machine() + "\n")
    py = sys.executable
    oldest = a.oldest if a.oldest and Path(a.oldest).exists() else None
    if a.oldest and not oldest:
        print(f"(no {a.oldest}: the oldest-stack runs are skipped; `make bench` builds it)")
    r = "3" if a.quick else "5"
    failed = []
    jobs = [
        ("quality statistics", [py, str(HERE / "bench_quality.py")]),
        ("import, current stack", [py, str(HERE / "bench_import.py"), "--repeat",
                                   "5" if a.quick else "9", "--json", str(out / "import.json")]),
    ]
    if oldest:
        jobs.append(("import, oldest stack", [oldest, str(HERE / "bench_import.py"), "--repeat",
                                              "5" if a.quick else "9", "--json",
                                              str(out / "import-oldest.json")]))
    jobs.append(("report and analyze", [py, str(HERE / "bench_report.py"), "--repeat",
                                        "3" if a.quick else "5", "--json",
                                        str(out / "report.json")]))
    quick = ["--quick"] if a.quick else []
    jobs.append(("Prometheus parse, current stack",
                 [py, str(HERE / "bench_prometheus.py"), "--no-server", "--repeat", r, *quick,
                  "--json", str(out / "prometheus.json")]))
    if oldest:
        jobs.append(("Prometheus parse, oldest stack",
                     [oldest, str(HERE / "bench_prometheus.py"), "--no-server", "--repeat", r,
                      *quick, "--json", str(out / "prometheus-oldest.json")]))
    if not a.no_server:
        jobs.append(("Prometheus 30-day pull", [py, "-c", (
            "import sys, argparse; sys.argv[0] = 'bench_prometheus'; "
            f"sys.path.insert(0, {str(HERE)!r}); import bench_prometheus as b; "
            "b.pull_bench(argparse.Namespace())")]))
    for name, cmd in jobs:
        if run(name, cmd) != 0:
            failed.append(name)
    print(f"\nresults: {out}")
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
