"""Capacity at a service-level objective (SLO), from a GuideLLM benchmarks frame.

Capacity is computed the way model cards and performance guides do: among one model's
benchmarks, keep those whose chosen percentile of every constrained metric is within its
target and that had **no errored request**; never the ``throughput`` strategy (a saturation
run measures a backlog, not service). The capacity is the highest ``requests_per_second``
among them, reported with that benchmark's ``output_tokens_per_second``.

- Latency percentiles are read from the ``successful`` status (completed requests).
- Throughput is ``successful`` ``mean`` (GuideLLM 0.3 prints this; 0.8 prints ``total``
  ``mean``, which adds partial output of incomplete requests). Change it with
  ``throughput_status=``.
- A benchmark without an ``errored`` count fails ("error count unknown") unless
  ``require_error_counts=False`` (Model Registry properties carry no counts).
- No interpolation between the last passing and the first failing rate: the answer is a rate
  that was measured.

Pure pandas; no plotting. Input: the ``benchmarks`` frame of
:func:`evalkit.guidellm.load_guidellm` (columns ``model, benchmark, benchmark_id, strategy,
rate, metric, status, stat, value``; ``report`` when several reports are combined).

>>> import pandas as pd
>>> def rows(b, strat, rate, rps, ttft, itl, err):
...     base = {"report": "r", "model": "m", "benchmark": b, "benchmark_id": b,
...             "strategy": strat, "rate": rate}
...     return [dict(base, metric=k, status=s, stat=st, value=v) for k, s, st, v in [
...         ("requests_per_second", "successful", "mean", rps),
...         ("output_tokens_per_second", "successful", "mean", rps * 100),
...         ("time_to_first_token_ms", "successful", "p99", ttft),
...         ("inter_token_latency_ms", "successful", "p99", itl),
...         ("requests", "errored", "count", err)]]
>>> df = pd.DataFrame(rows("synchronous", "synchronous", float("nan"), 1.0, 80, 20, 0)
...      + rows("constant@4", "constant", 4.0, 3.9, 150, 40, 0)
...      + rows("constant@8", "constant", 8.0, 7.5, 260, 45, 0)
...      + rows("throughput", "throughput", float("nan"), 9.0, 900, 60, 0))
>>> capacity(df)[["model", "benchmark", "requests_per_second", "output_tokens_per_second",
...               "n_passing", "reason"]].values.tolist()
[['m', 'constant@4', 3.9, 390.0, 2, None]]
>>> capacity(df, SLO.chat(ttft_ms=50))["reason"].iloc[0]
'no benchmark meets the SLO (time_to_first_token_ms p99 <= 50 ms, inter_token_latency_ms p99 <= 50 ms): synchronous: time_to_first_token_ms p99 = 80 > 50; constant@4: time_to_first_token_ms p99 = 150 > 50; constant@8: time_to_first_token_ms p99 = 260 > 50'
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import InputError, SchemaError, UnknownModelError

__all__ = ["SLO", "capacity", "CAPACITY_COLUMNS"]

REQUIRED = ("model", "benchmark", "strategy", "rate", "metric", "status", "stat", "value")
CAPACITY_COLUMNS = ["model", "slo", "benchmark", "report", "benchmark_id", "strategy", "rate",
                    "requests_per_second", "output_tokens_per_second",
                    "max_output_tokens_per_second", "throughput", "n_benchmarks",
                    "n_passing", "reason"]
_STAT_RE = re.compile(r"^(mean|median|max|p\d+)$")
_UNITS = {"request_latency": "s"}


def _unit(metric: str) -> str:
    return _UNITS.get(metric, "ms" if metric.endswith("_ms") else "")


@dataclass(frozen=True)
class SLO:
    """Per-metric targets: ``{metric: (stat, limit)}``, each ``value <= limit``.

    ``metric`` is a GuideLLM metric name (``time_to_first_token_ms`` and
    ``inter_token_latency_ms`` in ms, ``request_latency`` in SECONDS); ``stat`` is a
    percentile key as GuideLLM writes it (``p90``, ``p95``, ``p99``, ...), ``median``,
    ``mean`` or ``max``. Presets follow GuideLLM's SLO guide: :meth:`chat` (TTFT p99 ≤ 200 ms,
    ITL p99 ≤ 50 ms) and :meth:`rag` (request latency p99 ≤ 3 s).

    >>> SLO({"time_to_first_token_ms": ("p99", 200)}).describe()
    'time_to_first_token_ms p99 <= 200 ms'
    >>> SLO.rag().describe()
    'request_latency p99 <= 3 s'
    >>> SLO({"time_to_first_token_ms": ("p99.9", 200)})
    Traceback (most recent call last):
    ...
    evalkit.core.errors.InputError: SLO time_to_first_token_ms: stat 'p99.9' is not one of mean, median, max or a percentile key like p99 (p999 is 99.9%)
    """

    constraints: Mapping[str, tuple[str, float]]
    name: str = field(default="custom", compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.constraints, Mapping) or not self.constraints:
            raise InputError("SLO needs at least one constraint: {metric: (stat, limit)}, e.g. "
                             "{'time_to_first_token_ms': ('p99', 200)}")
        norm: dict[str, tuple[str, float]] = {}
        for metric, spec in self.constraints.items():
            if not isinstance(metric, str) or not metric:
                raise InputError(f"SLO: metric names are strings, got {metric!r}")
            if not (isinstance(spec, tuple | list) and len(spec) == 2):
                raise InputError(f"SLO {metric}: expected (stat, limit), got {spec!r}")
            stat, limit = spec
            if not (isinstance(stat, str) and _STAT_RE.match(stat)):
                raise InputError(f"SLO {metric}: stat {stat!r} is not one of mean, median, max "
                                 "or a percentile key like p99 (p999 is 99.9%)")
            if isinstance(limit, bool) or not isinstance(limit, int | float) or not (
                    math.isfinite(limit) and limit > 0):
                raise InputError(f"SLO {metric}: limit must be a positive number, got {limit!r}")
            norm[metric] = (stat, float(limit))
        object.__setattr__(self, "constraints", MappingProxyType(norm))

    @classmethod
    def chat(cls, *, ttft_ms: float = 200.0, itl_ms: float = 50.0,
             percentile: str = "p99") -> SLO:
        """Interactive chat: time to first token ≤ 200 ms and inter-token latency ≤ 50 ms,
        both at p99 (GuideLLM's SLO guide)."""
        return cls({"time_to_first_token_ms": (percentile, ttft_ms),
                    "inter_token_latency_ms": (percentile, itl_ms)}, name="chat")

    @classmethod
    def rag(cls, *, latency_s: float = 3.0, percentile: str = "p99") -> SLO:
        """Retrieval-augmented generation: end-to-end request latency ≤ 3 s at p99
        (``request_latency`` is in seconds)."""
        return cls({"request_latency": (percentile, latency_s)}, name="rag")

    def describe(self) -> str:
        return ", ".join(f"{m} {s} <= {lim:g} {_unit(m)}".rstrip()
                         for m, (s, lim) in self.constraints.items())


def _check_frame(df: Any) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"capacity: expected the benchmarks DataFrame of "
                          f"evalkit.guidellm.load_guidellm(...).benchmarks, got "
                          f"{type(df).__name__}")
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise SchemaError(f"capacity: the benchmarks frame lacks column(s) {missing}; build it "
                          "with evalkit.guidellm.load_guidellm(...).benchmarks")
    return df


def _lookup(df: pd.DataFrame, key: list[str]) -> dict[tuple[Any, ...], float]:
    """(key..., metric, status, stat) -> first value."""
    sub = df.drop_duplicates([*key, "metric", "status", "stat"])
    idx = zip(*(sub[c] for c in [*key, "metric", "status", "stat"]), strict=True)
    return dict(zip(idx, sub["value"].astype("float64"), strict=True))


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def capacity(benchmarks: pd.DataFrame, slo: SLO | None = None, *,
             models: Iterable[str] | None = None, throughput_status: str = "successful",
             require_error_counts: bool = True, configured_rate: bool = False) -> pd.DataFrame:
    """The highest measured request rate per model that meets ``slo`` without errors.

    Parameters
    ----------
    benchmarks : the long benchmarks frame (:func:`evalkit.guidellm.load_guidellm`).
    slo : targets (default :meth:`SLO.chat`); percentiles read from ``successful``.
    models : restrict to these models (:class:`~evalkit.core.errors.UnknownModelError` for
        a name not in the frame).
    throughput_status : which GuideLLM status's ``mean`` is the throughput:
        ``"successful"`` (default) or ``"total"`` (GuideLLM 0.8's headline).
    require_error_counts : a benchmark without an ``errored`` count fails (default); set False
        for frames without counts (Model Registry properties).
    configured_rate : when a constant/poisson benchmark has no measured request rate (Model
        Registry properties record none), take its configured target rate instead of failing.

    Returns
    -------
    One row per model, columns :data:`CAPACITY_COLUMNS` plus ``<metric>_<stat>`` for each
    constraint (the values at the chosen benchmark): ``benchmark`` (label), ``report`` and
    ``benchmark_id`` identify the chosen benchmark; ``requests_per_second`` and
    ``output_tokens_per_second`` are its ``<throughput_status>`` means;
    ``max_output_tokens_per_second`` is the highest among all passing benchmarks;
    ``throughput`` names the statistic (``"successful mean"``); ``n_benchmarks`` counts the
    benchmarks considered (all but ``throughput``), ``n_passing`` those that pass; ``reason``
    is None when a benchmark passes and says why not otherwise (the rest is then NaN/None).
    """
    df = _check_frame(benchmarks)
    slo = SLO.chat() if slo is None else slo
    if not isinstance(slo, SLO):
        raise InputError(f"slo must be an SLO (e.g. SLO.chat()), got {type(slo).__name__}")
    if throughput_status not in ("successful", "total"):
        raise InputError(f"throughput_status must be 'successful' or 'total', got "
                         f"{throughput_status!r}")
    present = sorted(str(m) for m in df["model"].dropna().unique())
    if models is None:
        wanted = present
    else:
        wanted = [models] if isinstance(models, str) else [str(m) for m in models]
        for m in wanted:
            if m not in present:
                raise UnknownModelError(f"model {m!r} is not in the benchmarks; models present: "
                                        f"{', '.join(present) if present else '(none)'}")
    key = [c for c in ("report", "benchmark_id") if c in df.columns] or ["benchmark"]
    values = _lookup(df, key)
    rps_name, otps_name = "requests_per_second", "output_tokens_per_second"
    cols = [f"{m}_{s}" for m, (s, _) in slo.constraints.items()]
    out: list[dict[str, Any]] = []
    for model in wanted:
        sub = df[df["model"] == model]
        benches = sub.drop_duplicates(key)
        benches = benches[benches["strategy"].astype(str) != "throughput"]
        passing: list[dict[str, Any]] = []
        failures: list[str] = []
        for _, b in benches.iterrows():
            k = tuple(b[c] for c in key)

            def val(metric: str, status: str, stat: str, k: tuple[Any, ...] = k) -> float:
                return values.get((*k, metric, status, stat), math.nan)

            why: list[str] = []
            for metric, (stat, limit) in slo.constraints.items():
                v = val(metric, "successful", stat)
                if math.isnan(v):
                    why.append(f"no {metric} {stat}")
                elif v > limit:
                    why.append(f"{metric} {stat} = {_fmt(v)} > {limit:g}")
            errored = val("requests", "errored", "count")
            if math.isnan(errored):
                if require_error_counts:
                    why.append("error count unknown")
            elif errored > 0:
                why.append(f"{errored:g} errored request(s)")
            rps = val(rps_name, throughput_status, "mean")
            if math.isnan(rps) and configured_rate and str(b["strategy"]) in (
                    "constant", "poisson") and math.isfinite(float(b["rate"])):
                rps = float(b["rate"])  # the target rate: nothing measured it
            if not why and math.isnan(rps):
                why.append(f"no {rps_name} {throughput_status} mean")
            if why:
                failures.append(f"{b['benchmark']}: {', '.join(why)}")
                continue
            passing.append({
                "benchmark": b["benchmark"], "report": b.get("report"),
                "benchmark_id": b.get("benchmark_id"), "strategy": b["strategy"],
                "rate": b["rate"], rps_name: rps,
                otps_name: val(otps_name, throughput_status, "mean"),
                **{f"{m}_{s}": val(m, "successful", s)
                   for m, (s, _) in slo.constraints.items()},
            })
        row: dict[str, Any] = {"model": model, "slo": slo.name,
                               "throughput": f"{throughput_status} mean",
                               "n_benchmarks": len(benches), "n_passing": len(passing)}
        if passing:
            best = max(passing, key=lambda p: (p[rps_name], np.nan_to_num(p[otps_name],
                                                                          nan=-np.inf)))
            row.update(best)
            otps = [p[otps_name] for p in passing if not math.isnan(p[otps_name])]
            row["max_output_tokens_per_second"] = max(otps) if otps else math.nan
            row["reason"] = None
        elif not len(benches):
            row["reason"] = ("no benchmark to judge: only the throughput (saturation) run, "
                             "which measures a backlog, not service")
        else:
            row["reason"] = (f"no benchmark meets the SLO ({slo.describe()}): "
                             + "; ".join(failures))
        out.append(row)
    res = pd.DataFrame(out, columns=[*CAPACITY_COLUMNS, *cols])
    for c in ("rate", rps_name, otps_name, "max_output_tokens_per_second", *cols):
        res[c] = pd.to_numeric(res[c], errors="coerce").astype("float64")
    return res
