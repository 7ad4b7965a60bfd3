"""``import evalkit`` vs ``import pandas``: what evalkit's import costs on top of pandas.

Target (issue): ``import evalkit`` at most 1.2x ``import pandas``.

Each statement runs ``--repeat`` times in a fresh interpreter (alternating, so a noisy moment
hits all alike); the time is measured inside the process around the statement (interpreter
start excluded), and the process wall time is shown as well. ``import evalkit`` itself is lazy
(the public API loads on first use), so a third statement resolves what a notebook calls
first, ``evalkit.load`` and ``evalkit.analyze``: the honest price of starting to use evalkit.
Then ``python -X importtime`` of that third statement lists the packages it brings in beyond
``import pandas``, by cumulative time: what to make lazy if the ratio grows.

Run: ``.venv/bin/python benchmarks/bench_import.py [--repeat 7] [--json OUT]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

TIMED = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
STMTS = {"import pandas": "import pandas", "import evalkit": "import evalkit",
         "evalkit.load + .analyze": "import evalkit; evalkit.load, evalkit.analyze"}


def one(stmt: str) -> tuple[float, float]:
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", TIMED.format(stmt=stmt)], check=True,
                         capture_output=True, text=True)
    return float(out.stdout.strip()), time.perf_counter() - t


def importtime(stmt: str) -> dict[str, tuple[int, int]]:
    """module -> (self us, cumulative us) from ``-X importtime``."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", stmt],
                         check=True, capture_output=True, text=True).stderr
    res = {}
    for line in out.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m:
            res[m.group(4)] = (int(m.group(1)), int(m.group(2)))
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    import numpy
    import pandas

    print(f"python {platform.python_version()}, pandas {pandas.__version__}, numpy "
          f"{numpy.__version__}, {os.cpu_count()} CPUs; {a.repeat} fresh interpreters each")
    for stmt in STMTS.values():  # warm the file cache and bytecode
        one(stmt)
    runs: dict[str, list[tuple[float, float]]] = {k: [] for k in STMTS}
    for _ in range(a.repeat):
        for k, stmt in STMTS.items():
            runs[k].append(one(stmt))
    res: dict = {"python": platform.python_version(), "pandas": pandas.__version__,
                 "numpy": numpy.__version__, "cpus": os.cpu_count()}
    for mod, rs in runs.items():
        imp = [r[0] for r in rs]
        wall = [r[1] for r in rs]
        res[mod] = {"import_median_s": statistics.median(imp), "import_min_s": min(imp),
                    "import_max_s": max(imp), "process_median_s": statistics.median(wall)}
        print(f"  {mod:<24} median {statistics.median(imp) * 1e3:6.0f} ms (range "
              f"{min(imp) * 1e3:.0f}-{max(imp) * 1e3:.0f}); whole process median "
              f"{statistics.median(wall) * 1e3:.0f} ms")
    for k in ("import evalkit", "evalkit.load + .analyze"):
        ratios = [e[0] / p[0] for e, p in zip(runs[k], runs["import pandas"], strict=True)]
        r = res[k]["import_median_s"] / res["import pandas"]["import_median_s"]
        res[k]["ratio_to_pandas_median"] = r
        res[k]["ratio_to_pandas_pairs"] = [min(ratios), max(ratios)]
        print(f"  {k} / import pandas: {r:.2f}x (pairwise range {min(ratios):.2f}-"
              f"{max(ratios):.2f}; target for import evalkit <= 1.2x)")
    ev, pd_ = importtime(STMTS["evalkit.load + .analyze"]), importtime("import pandas")
    extra = {m: v for m, v in ev.items() if m not in pd_}
    by_pkg: dict[str, int] = {}
    for m, v in extra.items():
        by_pkg[m.split(".")[0]] = by_pkg.get(m.split(".")[0], 0) + v[0]
    top = sorted(((us, m) for m, us in by_pkg.items()), reverse=True)
    own = sum(by_pkg.values())
    res["importtime_extra_self_us"] = own
    res["importtime_extra_by_package_us"] = [[m, us] for us, m in top[:15]]
    print(f"  -X importtime of evalkit.load + .analyze: the modules beyond import pandas take "
          f"{own / 1e3:.0f} ms (self times summed, one run); by package:")
    for us, m in top[:10]:
        print(f"    {us / 1e3:7.1f} ms  {m}")
    if a.json:
        a.json.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
