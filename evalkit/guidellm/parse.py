"""Pure functions: one GuideLLM report document (a ``dict``) → one tidy long frame.

GuideLLM (``pip install guidellm``) writes ``benchmarks.json`` in four schema generations.
The generation is detected **by shape**, never by a version string:

- ``0.1-0.3``: top level ``{benchmarks}``; each benchmark has ``args`` (``profile``,
  ``strategy``), ``run_stats``, ``worker`` (``backend_model``, ``backend_target``),
  ``metrics`` and ``request_totals``. 0.2.x percentiles have no ``p50``.
- ``0.4``: top level ``{args, benchmarks}``; each benchmark has ``config`` (``id_``,
  ``run_id``, ``strategy``, ``profile`` with ``type_``, ``backend``), ``scheduler_state``,
  ``scheduler_metrics`` and ``metrics`` (with ``request_totals``).
- ``0.5-0.6``: as 0.4 plus ``metadata: {version: 1, guidellm_version, ...}``.
- ``0.7-0.8``: ``metadata.version: 2``; top-level ``config`` is the scenario
  ``{metadata, spec: {backend, profile, ...}, benchmarks}``; a benchmark's
  ``config.profile`` has ``kind``. 0.8 adds ``conclusions`` (top level), ``warnings`` (per
  benchmark), ``mean_ci``/``percentile_cis`` and ``slo_attainment``/``request_goodput``.

**The frame** (:data:`COLUMNS`): one row per (benchmark, metric, status, stat)::

    report, model, benchmark, benchmark_id, run_id, profile, strategy, rate,
    metric, status, stat, value, unit, ci_lower, ci_upper

- ``benchmark`` is a readable label as GuideLLM prints it (``synchronous``, ``throughput``,
  ``constant@4.5``, ``poisson@2``, ``concurrent@8``); ``benchmark_id`` is GuideLLM's own id
  (unique). ``rate`` is the *configured* target: requests/s for ``constant``/``poisson``,
  streams for ``concurrent``, NaN for ``synchronous``/``throughput``. Measured rates are the
  ``requests_per_second`` rows.
- ``metric`` keeps GuideLLM's names; ``unit`` states the unit of ``value``: the ``*_ms``
  metrics are milliseconds, ``request_latency`` is **seconds**, rates are ``requests/s`` or
  ``tokens/s`` (:data:`UNITS`). Values are never rescaled, so they equal the raw JSON.
- ``status`` is ``successful``, ``errored``, ``incomplete`` or ``total`` (GuideLLM's
  breakdown); ``all`` for values without one (``duration``, ``slo_attainment``, plain
  distributions). ``stat`` is ``mean, median, mode, variance, std_dev, min, max, count,
  total_sum`` or a percentile key ``p001 … p999`` as GuideLLM wrote it; ``value`` for scalars.
  Reports of 0.2.x have no ``p50``: a ``p50`` row is added from ``median`` (an ``info`` issue
  says so).
- **An empty distribution is NaN, not 0.** GuideLLM writes ``0.0`` for every stat of a
  status with no requests (``count == 0``); those rows keep ``count`` = 0 and have NaN for
  every other stat, so an SLO check can never pass on an empty distribution.
- **Counts** are rows with ``metric = "requests"``, ``stat = "count"``, one per status, taken
  from ``request_totals`` (benchmark level ≤0.3, ``metrics.request_totals`` ≥0.4). The
  ``requests`` lists are samples and are never counted; when ``request_totals`` is missing
  there are no count rows and an issue says so.
- **Throughput convention.** GuideLLM 0.3 prints ``successful.mean`` throughput, 0.8 prints
  ``total.mean`` (which includes partial output of incomplete requests). Both statuses are
  rows here; :func:`evalkit.analysis.capacity.capacity` uses ``successful`` ``mean``.
- ``ci_lower``/``ci_upper``: 0.8's ``mean_ci`` (on ``mean`` rows) and ``percentile_cis`` (on
  percentile rows); NaN elsewhere. A null p99 interval (too few samples) becomes an ``info``
  issue per benchmark.
- GuideLLM's own ``warnings`` (0.8) become ``warning`` issues; benchmarks with errored
  requests get a ``warning`` issue. Nested per-modality metrics (``text``, ``image``, ``audio``,
  ``video``, ``tool_call``, ``turns``) are not flattened.

>>> doc = {"benchmarks": [{"type_": "generative_benchmark", "id_": "b1", "run_id": "r1",
...     "args": {"profile": {"type_": "sweep"}, "strategy": {"type_": "constant", "rate": 2.0}},
...     "run_stats": {}, "worker": {"backend_model": "m"},
...     "request_totals": {"successful": 9, "errored": 1, "incomplete": 0, "total": 10},
...     "metrics": {"request_latency": {"successful": {"mean": 1.5, "count": 9}}}}]}
>>> detect_generation(doc)
'0.1-0.3'
>>> res = parse_report(doc, report="r.json")
>>> res.benchmarks[["benchmark", "metric", "status", "stat", "value", "unit"]].head(3).values.tolist()
[['constant@2', 'requests', 'successful', 'count', 9.0, 'requests'], ['constant@2', 'requests', 'errored', 'count', 1.0, 'requests'], ['constant@2', 'requests', 'incomplete', 'count', 0.0, 'requests']]
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..core import frames
from ..core.errors import SourceError
from .result import GuideLLMResult

__all__ = [
    "COLUMNS",
    "GENERATIONS",
    "REGISTRY_ALIASES",
    "REGISTRY_SUFFIXES",
    "STATUSES",
    "UNITS",
    "benchmark_frame",
    "detect_generation",
    "from_registry_properties",
    "is_guidellm_report",
    "parse_report",
]

SOURCE = "guidellm"

#: column -> dtype of the benchmarks frame
COLUMNS: dict[str, str] = {
    "report": "object",
    "model": "object",
    "benchmark": "object",
    "benchmark_id": "object",
    "run_id": "object",
    "profile": "object",
    "strategy": "object",
    "rate": "float64",
    "metric": "object",
    "status": "object",
    "stat": "object",
    "value": "float64",
    "unit": "object",
    "ci_lower": "float64",
    "ci_upper": "float64",
}

GENERATIONS = ("0.1-0.3", "0.4", "0.5-0.6", "0.7-0.8")
STATUSES = ("successful", "errored", "incomplete", "total")

#: unit of each GuideLLM metric (values are never rescaled)
UNITS: dict[str, str] = {
    "requests": "requests",
    "duration": "s",
    "requests_per_second": "requests/s",
    "request_goodput": "requests/s",
    "request_concurrency": "requests",
    "request_latency": "s",
    "request_dispatch_delay": "s",
    "request_scheduled_latency": "s",
    "turn_predecessor_delay": "s",
    "turn_scheduling_delay": "s",
    "root_dispatch_delay": "s",
    "request_streaming_iterations_count": "iterations",
    "prompt_token_count": "tokens",
    "output_token_count": "tokens",
    "total_token_count": "tokens",
    "time_to_first_token_ms": "ms",
    "time_to_first_output_token_ms": "ms",
    "time_per_output_token_ms": "ms",
    "inter_token_latency_ms": "ms",
    "time_to_last_round_trip_ms": "ms",
    "avg_round_trip_time_ms": "ms",
    "prompt_tokens_per_second": "tokens/s",
    "output_tokens_per_second": "tokens/s",
    "tokens_per_second": "tokens/s",
    "output_tokens_per_iteration": "tokens/iteration",
    "iter_tokens_per_iteration": "tokens/iteration",
    "slo_attainment": "fraction (0-1)",
    "slo_determined_requests": "requests",
}

_SUMMARY_STATS = ("mean", "median", "mode", "variance", "std_dev", "min", "max", "count",
                  "total_sum")
_PCT_RE = re.compile(r"^p\d+$")
_NESTED = {"text", "image", "video", "audio", "tool_call", "turns"}
_SCALARS = {"slo_attainment", "slo_determined_requests"}


# ----------------------------------------------------------------------------- detection

def _is_map(x: Any) -> bool:
    return isinstance(x, Mapping)


def _bench_list(doc: Mapping[str, Any]) -> list[Any]:
    b = doc.get("benchmarks")
    return b if isinstance(b, list) else []


def is_guidellm_report(doc: Any) -> bool:
    """True when ``doc`` has the shape of a GuideLLM report of any generation.

    pytest-benchmark also writes ``benchmarks.json`` (``{machine_info, benchmarks: [{name,
    stats}]}``); that is not one.

    >>> is_guidellm_report({"benchmarks": [{"name": "t", "stats": {}}]})
    False
    >>> is_guidellm_report({"metadata": {"version": 2, "guidellm_version": "0.8.1"},
    ...                     "config": {"spec": {}}, "benchmarks": []})
    True
    """
    if not _is_map(doc) or not isinstance(doc.get("benchmarks"), list):
        return False
    benches = [b for b in doc["benchmarks"] if _is_map(b)]
    keys = {"run_stats", "args", "worker", "config", "scheduler_metrics", "scheduler_state",
            "request_totals"}
    if any(_is_map(b.get("metrics")) and (keys & set(b) or
                                          b.get("type_") == "generative_benchmark")
           for b in benches):
        return True
    if doc["benchmarks"]:
        return False
    meta = doc.get("metadata")
    return (_is_map(meta) and "guidellm_version" in meta) or _is_map(doc.get("args")) or (
        _is_map(doc.get("config")) and "spec" in doc["config"])


def detect_generation(doc: Mapping[str, Any]) -> str:
    """The schema generation of a report, from its shape: one of :data:`GENERATIONS`.

    Raises :class:`~evalkit.core.errors.SourceError` for a document that is not a GuideLLM
    report.

    >>> detect_generation({"args": {}, "benchmarks": [{"config": {}, "metrics": {}}]})
    '0.4'
    >>> detect_generation({"metadata": {"version": 1}, "args": {},
    ...                    "benchmarks": [{"config": {}, "scheduler_metrics": {}, "metrics": {}}]})
    '0.5-0.6'
    """
    if not is_guidellm_report(doc):
        raise SourceError(_not_a_report(doc))
    benches = [b for b in _bench_list(doc) if _is_map(b)]
    if any("run_stats" in b or "args" in b or "worker" in b for b in benches):
        return "0.1-0.3"
    cfg = doc.get("config")
    if (_is_map(cfg) and ("spec" in cfg or "benchmarks" in cfg)) or "conclusions" in doc:
        return "0.7-0.8"
    if _is_map(doc.get("metadata")):
        return "0.5-0.6"
    return "0.4"


def _not_a_report(doc: Any) -> str:
    if not _is_map(doc):
        return (f"not a GuideLLM report: expected a JSON object with a 'benchmarks' list, got "
                f"{type(doc).__name__}")
    if not isinstance(doc.get("benchmarks"), list):
        return ("not a GuideLLM report: no 'benchmarks' list (top-level keys: "
                f"{sorted(map(str, doc))[:8]}); pass the benchmarks.json GuideLLM wrote")
    if not doc["benchmarks"]:
        return ("not a GuideLLM report: an empty 'benchmarks' list and no GuideLLM "
                "'metadata', 'args' or 'config'")
    return ("not a GuideLLM report: its 'benchmarks' entries have no 'metrics' with "
            "'args'/'run_stats' (GuideLLM ≤0.3) or 'config'/'scheduler_metrics' (≥0.4)")


# ----------------------------------------------------------------------------- helpers

def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not _is_map(obj):
            return None
        obj = obj.get(key)
    return obj


def _text(*candidates: Any) -> str | None:
    for c in candidates:
        if isinstance(c, str) and c.strip():
            return c.strip()
    return None


def _num(x: Any) -> float | None:
    """A finite-or-NaN float from a JSON number; ``None`` for anything else (bools too)."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return float(x)


def _fmt_rate(rate: float) -> str:
    return f"{rate:.6g}"


def _label(strategy: str | None, rate: float) -> str:
    s = strategy or "unknown"
    if math.isnan(rate):
        return s
    return f"{s}@{_fmt_rate(rate)}"


class _Rows:
    """Column-wise row builder (one list per column; cheap for tens of thousands of rows)."""

    def __init__(self) -> None:
        self.cols: dict[str, list[Any]] = {c: [] for c in COLUMNS}

    def add(self, ident: Mapping[str, Any], metric: str, status: str, stat: str,
            value: float, unit: str | None, lo: float = math.nan,
            hi: float = math.nan) -> None:
        for c in ("report", "model", "benchmark", "benchmark_id", "run_id", "profile",
                  "strategy", "rate"):
            self.cols[c].append(ident[c])
        self.cols["metric"].append(metric)
        self.cols["status"].append(status)
        self.cols["stat"].append(stat)
        self.cols["value"].append(value)
        self.cols["unit"].append(unit)
        self.cols["ci_lower"].append(lo)
        self.cols["ci_upper"].append(hi)

    def frame(self) -> pd.DataFrame:
        return benchmark_frame(self.cols)


def benchmark_frame(data: Mapping[str, list[Any]] | pd.DataFrame | None = None) -> pd.DataFrame:
    """A benchmarks frame with :data:`COLUMNS` in order and their dtypes (empty for ``None``).

    >>> benchmark_frame().columns.tolist()[:4]
    ['report', 'model', 'benchmark', 'benchmark_id']
    """
    if data is None:
        return pd.DataFrame({c: pd.Series(dtype=d) for c, d in COLUMNS.items()})
    df = pd.DataFrame(data) if not isinstance(data, pd.DataFrame) else data.copy()
    for c, d in COLUMNS.items():
        if c not in df.columns:
            df[c] = pd.Series([None] * len(df), dtype="object", index=df.index)
        if d == "float64":
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
        else:
            df[c] = df[c].astype("object")
    extra = [c for c in df.columns if c not in COLUMNS]
    return df[list(COLUMNS) + extra].reset_index(drop=True)


def _unit(metric: str, stat: str) -> str | None:
    base = UNITS.get(metric)
    if base is None and metric.endswith("_ms"):
        base = "ms"
    if stat == "count":
        return "samples"
    if stat == "variance" and base:
        return f"({base})^2" if "/" in base or " " in base else f"{base}^2"
    return base


def _ci(cis: Any) -> tuple[float, float]:
    if not _is_map(cis):
        return math.nan, math.nan
    lo, hi = _num(cis.get("lower")), _num(cis.get("upper"))
    return (math.nan if lo is None else lo), (math.nan if hi is None else hi)


def _distribution(rows: _Rows, ident: Mapping[str, Any], metric: str, status: str,
                  dist: Mapping[str, Any], notes: dict[str, set[str]]) -> None:
    """Rows of one distribution summary (GuideLLM's ``DistributionSummary``)."""
    count = _num(dist.get("count"))
    empty = count is not None and count == 0
    for stat in _SUMMARY_STATS:
        if stat not in dist:
            continue
        v = _num(dist.get(stat))
        if v is None:
            if dist.get(stat) is not None:
                notes["non-numeric"].add(f"{metric}.{status}.{stat}")
            continue
        if empty and stat != "count":
            v = math.nan
        lo = hi = math.nan
        if stat == "mean":
            lo, hi = _ci(dist.get("mean_ci"))
        rows.add(ident, metric, status, stat, v, _unit(metric, stat), lo, hi)
    pct = dist.get("percentiles")
    cis = dist.get("percentile_cis")
    if _is_map(pct):
        for key, raw in pct.items():
            if not (isinstance(key, str) and _PCT_RE.match(key)):
                continue
            v = _num(raw)
            if v is None:
                if raw is not None:
                    notes["non-numeric"].add(f"{metric}.{status}.{key}")
                continue
            lo, hi = _ci(cis.get(key)) if _is_map(cis) else (math.nan, math.nan)
            rows.add(ident, metric, status, key, math.nan if empty else v,
                     _unit(metric, key), lo, hi)
        if "p50" not in pct and _num(dist.get("median")) is not None:
            med = _num(dist.get("median"))
            rows.add(ident, metric, status, "p50", math.nan if empty else float(med),
                     _unit(metric, "p50"))
            notes["p50 from median"].add(metric)
        if (_is_map(cis) and status == "successful" and not empty and "p99" in pct
                and cis.get("p99") is None):
            notes["null p99 ci"].add(metric)


def _is_distribution(x: Any) -> bool:
    return _is_map(x) and ("mean" in x or "percentiles" in x or "count" in x)


def _metric(rows: _Rows, ident: Mapping[str, Any], name: str, value: Any,
            notes: dict[str, set[str]]) -> None:
    if name in _NESTED or name == "request_totals":
        return
    if name in _SCALARS:
        v = _num(value)
        if v is not None:
            rows.add(ident, name, "all", "value", v, UNITS.get(name))
        return
    if not _is_map(value):
        return  # None (metric not computed for this run) or an unknown scalar
    if any(s in value for s in STATUSES):
        for status in STATUSES:
            dist = value.get(status)
            if _is_distribution(dist):
                _distribution(rows, ident, name, status, dist, notes)
    elif _is_distribution(value):
        _distribution(rows, ident, name, "all", value, notes)


# ----------------------------------------------------------------------------- parse

def _identity(doc: Mapping[str, Any], b: Mapping[str, Any], gen: str, report: str,
              index: int, model: str | None,
              issues: list[dict[str, str]]) -> dict[str, Any]:
    if gen == "0.1-0.3":
        args = b.get("args")
        strat = _get(args, "strategy")
        profile = _text(_get(args, "profile", "type_"), _get(args, "profile", "kind"))
        found = _text(_get(b, "worker", "backend_model"))
        target = _text(_get(b, "worker", "backend_target"))
        bid = _text(b.get("id_"))
        run_id = _text(b.get("run_id"))
    else:
        cfg = b.get("config")
        strat = _get(cfg, "strategy")
        profile = _text(_get(cfg, "profile", "kind"), _get(cfg, "profile", "type_"),
                        _get(doc, "config", "spec", "profile", "kind"),
                        _get(doc, "args", "profile"))
        found = _text(_get(cfg, "backend", "model"),
                      _get(doc, "config", "spec", "backend", "model"),
                      _get(doc, "args", "model"))
        target = _text(_get(cfg, "backend", "target"),
                       _get(doc, "config", "spec", "backend", "target"),
                       _get(doc, "args", "target"))
        bid = _text(_get(cfg, "id_"), b.get("id_"))
        run_id = _text(_get(cfg, "run_id"), b.get("run_id"))
    strategy = _text(_get(strat, "type_"), _get(strat, "kind"))
    rate = math.nan
    if strategy in ("constant", "poisson", "async"):
        r = _num(_get(strat, "rate"))
        rate = r if r is not None else math.nan
    elif strategy == "concurrent":
        r = _num(_get(strat, "streams"))
        rate = r if r is not None else math.nan
    label = _label(strategy, rate)
    if model:
        name = model
    elif found:
        name = found
    elif target:
        if "://" in target:
            from ..core.http import safe_url  # no userinfo or query string in a model name

            target = safe_url(target)
        name = target
        issues.append(frames.issue(SOURCE, f"{report} / {label}", "warning",
                                   f"no model name in the report; using the backend target "
                                   f"{target!r} (pass model= to name it)"))
    else:
        name = "unknown"
        issues.append(frames.issue(SOURCE, f"{report} / {label}", "warning",
                                   "no model name or backend target in the report; model is "
                                   "'unknown' (pass model= to name it)"))
    return {"report": report, "model": name, "benchmark": label,
            "benchmark_id": bid or f"{report}#{index}", "run_id": run_id, "profile": profile,
            "strategy": strategy, "rate": rate}


def _totals(b: Mapping[str, Any], gen: str) -> Mapping[str, Any] | None:
    first, second = (b.get("request_totals"), _get(b, "metrics", "request_totals"))
    if gen != "0.1-0.3":
        first, second = second, first
    for t in (first, second):
        if _is_map(t) and any(_num(t.get(s)) is not None for s in STATUSES):
            return t
    return None


def _benchmark(rows: _Rows, doc: Mapping[str, Any], b: Mapping[str, Any], gen: str,
               report: str, index: int, model: str | None,
               issues: list[dict[str, str]]) -> None:
    ident = _identity(doc, b, gen, report, index, model, issues)
    obj = f"{report} / {ident['benchmark']}"
    notes: dict[str, set[str]] = {"non-numeric": set(), "p50 from median": set(),
                                  "null p99 ci": set()}
    totals = _totals(b, gen)
    if totals is None:
        issues.append(frames.issue(SOURCE, obj, "warning",
                                   "no request_totals: request counts unknown (the sampled "
                                   "'requests' lists are never counted)"))
    else:
        for status in STATUSES:
            v = _num(totals.get(status))
            if v is not None:
                rows.add(ident, "requests", status, "count", v, "requests")
        err = _num(totals.get("errored")) or 0.0
        tot = _num(totals.get("total"))
        if err > 0:
            issues.append(frames.issue(
                SOURCE, obj, "warning",
                f"{err:g} errored request(s)" + (f" of {tot:g}" if tot else "")))
    dur = _num(b.get("duration"))
    if dur is not None:
        rows.add(ident, "duration", "all", "value", dur, "s")
    metrics = b.get("metrics")
    if not _is_map(metrics):
        issues.append(frames.issue(SOURCE, obj, "error", "benchmark has no 'metrics' object"))
        metrics = {}
    for name, value in metrics.items():
        _metric(rows, ident, str(name), value, notes)
    for w in b.get("warnings") or []:
        if _is_map(w):
            code = _text(w.get("code")) or "warning"
            msg = _text(w.get("message")) or ""
            note = _text(w.get("note"))
            issues.append(frames.issue(SOURCE, obj, "warning",
                                       f"GuideLLM warning {code}: {msg}"
                                       + (f" {note}" if note else "")))
        elif isinstance(w, str):
            issues.append(frames.issue(SOURCE, obj, "warning", f"GuideLLM warning: {w}"))
    if notes["null p99 ci"]:
        names = sorted(notes["null p99 ci"])
        issues.append(frames.issue(SOURCE, obj, "info",
                                   "p99 confidence interval unavailable (too few samples) for "
                                   f"{len(names)} metric(s): {', '.join(names)}"))
    if notes["non-numeric"]:
        names = sorted(notes["non-numeric"])
        issues.append(frames.issue(SOURCE, obj, "warning",
                                   f"{len(names)} non-numeric value(s) left out: "
                                   f"{', '.join(names[:5])}" + (" ..." if len(names) > 5 else "")))
    if notes["p50 from median"]:
        issues.append(frames.issue(SOURCE, obj, "info",
                                   "no p50 in this report (GuideLLM 0.2.x): p50 rows are the "
                                   "median"))


def _one_ci_notice(issues: list[dict[str, str]], report: str, n: int) -> list[dict[str, str]]:
    """The per-benchmark "p99 interval unavailable" notices folded into one per report (they
    are the rule, not the exception: GuideLLM needs hundreds of requests for a p99 interval)."""
    ci = [i for i in issues if i["message"].startswith("p99 confidence interval unavailable")]
    if len(ci) < 2:
        return issues
    names = sorted({m.strip() for i in ci for m in i["message"].split(": ", 1)[-1].split(",")})
    rest = [i for i in issues if i not in ci]
    return [*rest, frames.issue(SOURCE, report, "info",
                                f"p99 confidence interval unavailable (too few samples) in "
                                f"{len(ci)} of {n} benchmarks, for {len(names)} metric(s): "
                                f"{', '.join(names)}")]


def _reports_row(doc: Mapping[str, Any], gen: str, report: str, n: int) -> dict[str, Any]:
    meta = doc.get("metadata") if _is_map(doc.get("metadata")) else {}
    version = meta.get("version")
    return {"report": report, "generation": gen,
            "guidellm_version": _text(meta.get("guidellm_version")),
            "metadata_version": version if isinstance(version, int) else None,
            "benchmarks": n}


def parse_report(doc: Any, *, report: str = "report", model: str | None = None
                 ) -> GuideLLMResult:
    """Parse one GuideLLM report document (any generation) into a :class:`GuideLLMResult`.

    Parameters
    ----------
    doc : the parsed JSON/YAML of a ``benchmarks.json``.
    report : the name put in the ``report`` column (e.g. the file's path).
    model : overrides the model name found in the report (backend ``model``, else its
        target URL with a warning issue).

    Raises :class:`~evalkit.core.errors.SourceError` when ``doc`` is not a GuideLLM report;
    problems inside a usable report become rows of ``.issues``.

    >>> doc = {"args": {"model": "m"}, "benchmarks": [{"config": {"id_": "x",
    ...        "strategy": {"type_": "synchronous"}}, "scheduler_metrics": {},
    ...        "metrics": {"request_totals": {"successful": 3, "errored": 0, "incomplete": 0,
    ...                    "total": 3},
    ...                    "time_to_first_token_ms": {"successful": {"mean": 20.5, "count": 3,
    ...                        "percentiles": {"p99": 25.0}}}}}]}
    >>> res = parse_report(doc)
    >>> ttft = res.benchmarks[res.benchmarks["metric"] == "time_to_first_token_ms"]
    >>> ttft[["model", "benchmark", "stat", "value", "unit"]].values.tolist()
    [['m', 'synchronous', 'mean', 20.5, 'ms'], ['m', 'synchronous', 'count', 3.0, 'samples'], ['m', 'synchronous', 'p99', 25.0, 'ms']]
    """
    gen = detect_generation(doc)
    issues: list[dict[str, str]] = []
    rows = _Rows()
    benches = _bench_list(doc)
    if not benches:
        issues.append(frames.issue(SOURCE, report, "warning", "the report has no benchmarks"))
    for i, b in enumerate(benches):
        if not _is_map(b):
            issues.append(frames.issue(SOURCE, f"{report} / #{i}", "error",
                                       f"benchmark #{i} is a {type(b).__name__}, not an object; "
                                       "left out"))
            continue
        try:
            _benchmark(rows, doc, b, gen, report, i, model, issues)
        except Exception as exc:  # noqa: BLE001 - a malformed benchmark is a data issue
            issues.append(frames.issue(SOURCE, f"{report} / #{i}", "error",
                                       f"benchmark #{i} could not be read "
                                       f"({type(exc).__name__}: {exc}); left out"))
    issues = _one_ci_notice(issues, report, len(benches))
    conclusions = [c for c in doc.get("conclusions") or [] if _is_map(c)] \
        if isinstance(doc.get("conclusions"), list) else []
    reports = pd.DataFrame([_reports_row(doc, gen, report, len(benches))])
    return GuideLLMResult(benchmarks=rows.frame(), reports=reports, source=report,
                          conclusions=[dict(c) for c in conclusions],
                          issues=frames.issues_frame(issues))


# ----------------------------------------------------------------------------- registry

#: property suffix -> (metric, stat, unit) for the demo pipeline's registry properties
#: ``benchmark_rate_<rate>_<suffix>``. The demo (adnan-drina/private-ai-demo,
#: ``task-publish-test-results-v2.yaml``) writes ``throughput``, ``ttft_p99``, ``latency_p99``,
#: ``ttft_mean``, ``latency_mean``; its log line calls throughput "tokens/s" and TTFT "ms".
#: The others follow the same ``<alias>_<stat>`` pattern (see :data:`REGISTRY_ALIASES`).
REGISTRY_SUFFIXES: dict[str, tuple[str, str, str]] = {
    "throughput": ("output_tokens_per_second", "mean", "tokens/s"),
    "output_throughput": ("output_tokens_per_second", "mean", "tokens/s"),
    "output_tokens_per_second": ("output_tokens_per_second", "mean", "tokens/s"),
    "tokens_per_second": ("tokens_per_second", "mean", "tokens/s"),
    "requests_per_second": ("requests_per_second", "mean", "requests/s"),
    "rps": ("requests_per_second", "mean", "requests/s"),
    "request_throughput": ("requests_per_second", "mean", "requests/s"),
}
#: alias -> (metric, unit) for ``<alias>_<stat>`` suffixes (``ttft_p99``, ``itl_mean``, ...)
REGISTRY_ALIASES: dict[str, tuple[str, str]] = {
    "ttft": ("time_to_first_token_ms", "ms"),
    "itl": ("inter_token_latency_ms", "ms"),
    "tpot": ("time_per_output_token_ms", "ms"),
    "latency": ("request_latency", "s"),
    "e2el": ("request_latency", "s"),
    "request_latency": ("request_latency", "s"),
}
_PROP_RE = re.compile(r"^benchmark_rate_(?P<rate>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)_(?P<suffix>.+)$")
_ALIAS_STAT_RE = re.compile(r"^(?P<alias>.+)_(?P<stat>mean|median|p\d+)$")


def _property_value(v: Any) -> float | None:
    if _is_map(v):  # the REST form: {"metadataType": ..., "double_value": 1.0}
        for k in ("double_value", "int_value", "string_value", "doubleValue", "intValue",
                  "stringValue"):
            if k in v:
                v = v[k]
                break
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None


def from_registry_properties(props: Mapping[str, object], model: str, *,
                             status: str = "successful", strategy: str = "constant",
                             suffixes: Mapping[str, tuple[str, str, str]] | None = None,
                             ) -> pd.DataFrame:
    """The demo's Model Registry properties ``benchmark_rate_<rate>_<suffix>`` as a
    benchmarks frame (same :data:`COLUMNS`).

    Rates carry float noise (``32.599999999999994``) and are rounded to 6 significant
    digits. Suffixes: :data:`REGISTRY_SUFFIXES` (``throughput`` = output tokens/s, as the
    demo's pipeline logs it) and ``<alias>_<stat>`` with an alias of
    :data:`REGISTRY_ALIASES` (``ttft_p99`` → ``time_to_first_token_ms`` p99 ms,
    ``latency_p99`` → ``request_latency`` p99 s). The registry says nothing about request
    status or counts: rows get ``status`` (default ``successful``) and no ``requests`` rows,
    so :func:`~evalkit.analysis.capacity.capacity` needs ``require_error_counts=False``.
    Other properties are ignored; unusable values are left out (this function returns only a
    frame: check ``len`` against the properties you expected).

    >>> df = from_registry_properties({"benchmark_rate_32.599999999999994_ttft_p99": 180.0,
    ...                                "benchmark_rate_32.599999999999994_throughput": "950.5",
    ...                                "eval_arc_easy_acc,none": 0.8}, "m-w4a16")
    >>> df[["benchmark", "rate", "metric", "stat", "value", "unit"]].values.tolist()
    [['constant@32.6', 32.6, 'output_tokens_per_second', 'mean', 950.5, 'tokens/s'], ['constant@32.6', 32.6, 'time_to_first_token_ms', 'p99', 180.0, 'ms']]
    """
    table = dict(REGISTRY_SUFFIXES if suffixes is None else suffixes)
    rows = _Rows()
    found: list[tuple[float, str, str, str, str, float]] = []
    for key, raw in props.items():
        m = _PROP_RE.match(str(key))
        if not m:
            continue
        rate = float(f"{float(m['rate']):.6g}")
        suffix = m["suffix"]
        if suffix in table:
            metric, stat, unit = table[suffix]
        else:
            ms = _ALIAS_STAT_RE.match(suffix)
            if not ms or ms["alias"] not in REGISTRY_ALIASES:
                continue
            metric, unit = REGISTRY_ALIASES[ms["alias"]]
            stat = ms["stat"]
        value = _property_value(raw)
        if value is None:
            continue
        found.append((rate, metric, stat, unit, str(key), value))
    for rate, metric, stat, unit, _key, value in sorted(found):
        label = _label(strategy, rate)
        ident = {"report": f"registry:{model}", "model": model, "benchmark": label,
                 "benchmark_id": f"registry:{model}:{_fmt_rate(rate)}", "run_id": None,
                 "profile": None, "strategy": strategy, "rate": rate}
        rows.add(ident, metric, status, stat, value, unit)
    return rows.frame()
