"""evalkit's serving metrics (vLLM, DCGM; PromQL from :mod:`evalkit.promql`) pulled per
model into the long ``series`` frame, and the whole-window answers the serving summary needs.

>>> str(model_selectors({"m": None})["m"])
'model_name="m"'
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import promql
from ..core import frames
from ..core.errors import InputError
from ..core.http import Client
from ..core.result import Result
from ..core.timeutil import iso_ms, step_to_ms, to_ms, to_seconds, to_unix
from .client import QueryRecord, make_client, run_queries
from .frame import merge, ms_to_utc

SOURCE = "prometheus"


@dataclass(repr=False)
class ServingSeries(Result):
    """Serving metrics as the long ``series`` frame (``timestamp``, ``model``, ``metric``,
    ``value``, ``unit``) with the PromQL that ran and its data issues.

    ``partial`` is True when any answer carried warnings: then the frame is NOT complete.
    ``window`` (``{start, end, seconds}``) is set for whole-window answers.
    """

    series: pd.DataFrame
    partial: bool = False
    queries: list[dict[str, Any]] = field(default_factory=list)
    window: dict[str, Any] | None = None
    _frames = ("series",)

    def describe(self) -> str:
        models = sorted(self.series["model"].dropna().unique()) if len(self.series) else []
        return f"{models}{' PARTIAL' if self.partial else ''}"


def model_selectors(models: Mapping[str, promql.SelectorLike] | Sequence[str]) -> dict[str, promql.Selector]:
    if not isinstance(models, Mapping):
        models = {m: None for m in models}
    out = {}
    for name, sel in models.items():
        out[str(name)] = (promql.Selector.of(sel) if sel is not None
                          else promql.selector(model_name=str(name)))
    if not out:
        raise InputError("models is empty: pass {name: selector}")
    return out


def range_records(models: Mapping[str, promql.Selector], start_ms: int, end_ms: int,
                   step_ms: int, window: str | float, gpu_metric: str,
                   metrics: Iterable[str] | None) -> list[QueryRecord]:
    promql.metric_name(gpu_metric)
    w_s = max(to_seconds(window), step_ms / 1000)
    wanted = list(metrics) if metrics is not None else list(promql.METRICS)
    recs = []
    for name, sel in models.items():
        qs = promql.serving_queries(sel, window=promql.duration(w_s), gpu_metric=gpu_metric)
        for metric in wanted:
            q = qs.get(metric)
            unit = _unit(metric, gpu_metric)
            note = "" if q else "not built: the model selector has no pod matcher"
            recs.append(QueryRecord(name, metric, unit, q, "range", start_ms, end_ms, step_ms,
                                    note=note))
    return recs


def _unit(metric: str, gpu_metric: str) -> str:
    if metric == "gpu_utilization" and gpu_metric != "DCGM_FI_DEV_GPU_UTIL":
        return "fraction (0-1)"
    return promql.UNITS.get(metric, "")


def window_records(models: Mapping[str, promql.Selector], start_ms: int,
                    end_ms: int) -> list[QueryRecord]:
    recs = []
    w_s = (end_ms - start_ms) / 1000
    for name, sel in models.items():
        for metric, q in promql.window_queries(sel, w_s).items():
            recs.append(QueryRecord(name, metric, promql.UNITS[metric], q, "window",
                                    start_ms, end_ms))
    return recs


def series_result(records: Sequence[QueryRecord]) -> ServingSeries:
    """The long ``series`` frame from executed/loaded records, with its issues."""
    ts_parts, val_parts, meta, issues = [], [], [], []
    partial = False
    for rec in records:
        obj = f"{rec.model}/{rec.metric}"
        if rec.query is None:
            issues.append(frames.issue(SOURCE, obj, "warning",
                                       f"{rec.metric} not pulled for {rec.model}: {rec.note}"))
            continue
        hist = sum(a.skipped_histograms for a in rec.answers)
        if hist:
            issues.append(frames.issue(
                SOURCE, obj, "warning",
                f"{hist} series with native-histogram samples in the answer for {rec.metric} "
                f"of {rec.model}: those samples were dropped (evalkit reads float samples "
                "only); query the classic _bucket series, or a float function of the native "
                "histogram such as histogram_quantile or histogram_count"))
        for a in rec.answers:
            for w in a.warnings:
                partial = True
                issues.append(frames.issue(SOURCE, obj, "warning",
                                           f"partial answer (Prometheus warning): {w}"))
            for w in a.infos:
                issues.append(frames.issue(SOURCE, obj, "info", f"Prometheus info: {w}"))
        series = merge(rec.answers)
        if not series:
            issues.append(frames.issue(SOURCE, obj, "warning",
                                       f"no data for {rec.metric} of {rec.model} (query: {rec.query})"))
            continue
        if len(series) > 1:
            series = sorted(series, key=lambda s: -int(np.count_nonzero(~np.isnan(s.values))))
            others = ", ".join(str(s.labels) for s in series[1:4])
            issues.append(frames.issue(
                SOURCE, obj, "warning",
                f"the selector of {rec.model} matches {len(series)} series for {rec.metric}; "
                f"kept {series[0].labels}, dropped {others}. Narrow the selector."))
        s = series[0]
        ts_parts.append(s.ts_ms)
        val_parts.append(s.values)
        meta.append((rec.model, rec.metric, rec.unit, s.ts_ms.size))
    if ts_parts:
        ms, vals = np.concatenate(ts_parts), np.concatenate(val_parts)
        sizes = [m[3] for m in meta]
        df = pd.DataFrame({
            "timestamp": ms_to_utc(ms),
            "model": np.repeat(np.array([m[0] for m in meta], dtype=object), sizes),
            "metric": np.repeat(np.array([m[1] for m in meta], dtype=object), sizes),
            "value": vals,
            "unit": np.repeat(np.array([m[2] for m in meta], dtype=object), sizes),
        })
        df = frames.conform("series", df)
    else:
        df = frames.empty("series")
    return ServingSeries(series=df, partial=partial, queries=[r.describe() for r in records],
                         issues=frames.issues_frame(issues))


def serving_metrics(url: str | None, selectors: Mapping[str, promql.SelectorLike] | Sequence[str],
                    start: Any, end: Any, step: float | str = "30s", *,
                    window: str | float = "5m", token: Any = None,
                    ca_bundle: str | os.PathLike[str] | None = None, insecure: bool = False,
                    headers: Mapping[str, str] | None = None, tenant: str | None = None,
                    max_workers: int = 4, progress: bool | None = None,
                    client: Client | None = None, metrics: Iterable[str] | None = None,
                    gpu_metric: str = "DCGM_FI_DEV_GPU_UTIL") -> ServingSeries:
    """Pull evalkit's serving metrics for each model → the long ``series`` frame.

    Parameters
    ----------
    url : API root (see :func:`make_client`).
    selectors : ``{model name: selector}``; a selector is a matcher string
        (``'namespace="ns",pod=~"m-predictor.*"'``), a mapping, or ``None`` for
        ``model_name="<name>"``. GPU metrics need a ``pod`` matcher.
    start, end, step : the range (see :func:`query_range`).
    window : rate/quantile window (``"5m"``); widened to ``step`` when the step is longer.
    metrics : subset of :data:`evalkit.promql.METRICS`.
    gpu_metric : ``"DCGM_FI_DEV_GPU_UTIL"`` (%) or ``"DCGM_FI_PROF_GR_ENGINE_ACTIVE"`` (0–1).

    Returns
    -------
    A :class:`ServingSeries`: ``.series`` with columns ``timestamp``, ``model``, ``metric``,
    ``value``, ``unit``; ``.issues`` (missing metrics, partial answers, ambiguous selectors);
    ``.partial``: True when any answer carried warnings — then the frame is NOT complete;
    ``.queries``: the PromQL that ran.

    Examples
    --------
    >>> f = serving_metrics("http://127.0.0.1:9090",
    ...     {"mistral-24b": 'namespace="private-ai-demo",pod=~"mistral-24b-predictor.*"'},
    ...     "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z", "1m")  # doctest: +SKIP
    >>> f.issues  # doctest: +SKIP
    """
    sels = model_selectors(selectors)
    step_ms = step_to_ms(step)
    recs = range_records(sels, to_ms(to_unix(start)), to_ms(to_unix(end)), step_ms, window,
                          gpu_metric, metrics)
    cl = client or make_client(url, token=token, ca_bundle=ca_bundle, insecure=insecure,
                               headers=headers, max_workers=max_workers)
    try:
        run_queries(cl, recs, max_workers=max_workers, progress=progress, tenant=tenant,
             desc="serving metrics")
    finally:
        if client is None:
            cl.close()
    return series_result(recs)


def serving_window(url: str | None, selectors: Mapping[str, promql.SelectorLike] | Sequence[str],
                   start: Any, end: Any, *, token: Any = None,
                   ca_bundle: str | os.PathLike[str] | None = None, insecure: bool = False,
                   headers: Mapping[str, str] | None = None, tenant: str | None = None,
                   max_workers: int = 4, client: Client | None = None) -> ServingSeries:
    """Pull the whole-window answers :func:`evalkit.serving_summary` needs: quantiles from
    ``histogram_quantile(q, sum by (le) (increase(..._bucket[window])))``, the mean TTFT and
    average rates over ``[start, end]`` (instant queries at ``end``).

    Returns the ``series`` schema with one row per model and metric (``timestamp`` = end);
    ``.window`` = ``{"start", "end", "seconds"}``, plus ``.issues``/``.partial``.

    >>> w = serving_window("http://127.0.0.1:9090", {"m": 'model_name="m"'},
    ...                    "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z")  # doctest: +SKIP
    """
    sels = model_selectors(selectors)
    s_ms, e_ms = to_ms(to_unix(start)), to_ms(to_unix(end))
    recs = window_records(sels, s_ms, e_ms)
    cl = client or make_client(url, token=token, ca_bundle=ca_bundle, insecure=insecure,
                               headers=headers, max_workers=max_workers)
    try:
        run_queries(cl, recs, max_workers=max_workers, progress=False, tenant=tenant)
    finally:
        if client is None:
            cl.close()
    return window_result(recs, s_ms, e_ms)


def window_result(recs: Sequence[QueryRecord], s_ms: int, e_ms: int) -> ServingSeries:
    res = series_result(recs)
    res.window = {"start": iso_ms(s_ms), "end": iso_ms(e_ms), "seconds": (e_ms - s_ms) / 1000}
    return res
