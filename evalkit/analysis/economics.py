"""What the models are and what they cost, from what a bundle holds: model facts (Model
Registry first, then the serving series, then the snapshot manifest), capacity at an SLO from
GuideLLM reports, cost per token, and the trade-off decision.

>>> import evalkit as ek
>>> e = economics(ek.load(), "mistral-24b", ["mistral-24b-quantized"])
>>> sorted(e.facts["model"])
['mistral-24b', 'mistral-24b-quantized']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..core import frames
from ..core.result import Result
from .capacity import SLO, capacity
from .cost import DEFAULT_PRICES, CostResult, cost

FACT_COLUMNS = ["model", "quantization", "gpus", "gpus_source", "accelerator",
                "accelerator_source", "base_model", "registered_model", "version"]


@dataclass(repr=False)
class Economics(Result):
    """Model facts, capacity at the SLO, and cost — each input shown beside its result."""

    facts: pd.DataFrame
    capacity: pd.DataFrame
    cost: CostResult
    slo: SLO
    #: the benchmarks capacity was read from (GuideLLM reports, else registry properties)
    benchmarks: pd.DataFrame = field(default_factory=pd.DataFrame)
    _frames = ("facts", "capacity")


def registry_facts(bundle: Any, models: Sequence[str]) -> tuple[dict[str, dict[str, Any]],
                                                                   list[dict[str, str]]]:
    """``{served model: its registry facts}`` through the documented mapping (served name →
    registered model and version, :func:`evalkit.registry.map_models`), and the issues met."""
    reg = getattr(bundle, "registry", None)
    if reg is None:
        return {}, []
    from ..registry import map_models, model_facts

    mapping = map_models(models, reg)
    facts = model_facts(reg)
    by_id = {str(r["version_id"]): r for r in facts.facts.to_dict("records")}
    out: dict[str, dict[str, Any]] = {}
    for row in mapping.table.to_dict("records"):
        vid = row.get("version_id")
        if vid is not None and str(vid) in by_id:
            out[str(row["served_model"])] = {**by_id[str(vid)], "version": row["version"]}
    issues = [*mapping.issues.to_dict("records"), *facts.issues.to_dict("records")]
    return out, issues


def registry_benchmarks(bundle: Any, models: Sequence[str]) -> pd.DataFrame:
    """The mapped versions' ``benchmark_rate_*`` properties as a GuideLLM benchmarks frame,
    under the served model names (empty without a registry or such properties)."""
    reg = getattr(bundle, "registry", None)
    if reg is None:
        return pd.DataFrame()
    from ..registry import map_models, model_facts

    bench = model_facts(reg).benchmarks
    if not len(bench):
        return pd.DataFrame()
    served = {str(r["version_id"]): str(r["served_model"])
              for r in map_models(models, reg).table.to_dict("records")
              if r.get("version_id") is not None}
    rows = bench[bench["version_id"].astype(str).isin(served)].copy()
    rows["model"] = rows["version_id"].astype(str).map(served)
    return rows


def model_facts_table(bundle: Any, models: Sequence[str]) -> pd.DataFrame:
    """One row per model: quantization, GPUs, accelerator and where each came from."""
    reg, _ = registry_facts(bundle, models)
    manifest = (bundle.manifest or {}).get("models") if isinstance(bundle.manifest, dict) else {}
    manifest = manifest if isinstance(manifest, dict) else {}
    gpus_series: dict[str, float] = {}
    serving = getattr(bundle, "serving", None)
    if serving is not None and len(serving.series.series):
        s = serving.series.series
        g = s[s["metric"] == "gpus"].groupby("model")["value"].max()
        gpus_series = {str(k): float(v) for k, v in g.items() if math.isfinite(v)}
    rows = []
    for m in models:
        r, man = reg.get(m, {}), manifest.get(m) or {}
        row = {"model": m, "quantization": r.get("quantization") or man.get("quantization"),
               "base_model": r.get("base_model"), "registered_model": r.get("registered_model"),
               "version": r.get("version")}
        if _num(r.get("gpus")) is not None:
            row["gpus"] = _num(r.get("gpus"))
            row["gpus_source"] = f"model registry ({r.get('gpus_from') or 'gpus'})"
        elif m in gpus_series:
            row["gpus"], row["gpus_source"] = gpus_series[m], "serving series (kube-state-metrics)"
        elif _num(man.get("gpus")) is not None:
            row["gpus"], row["gpus_source"] = _num(man.get("gpus")), "snapshot manifest"
        else:
            row["gpus"], row["gpus_source"] = float("nan"), "unknown"
        acc = r.get("accelerator") or man.get("accelerator")
        row["accelerator"] = acc
        row["accelerator_source"] = ("model registry" if r.get("accelerator") else
                                     "snapshot manifest" if man.get("accelerator") else "unknown")
        rows.append(row)
    return pd.DataFrame(rows, columns=FACT_COLUMNS)


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) and v > 0 else None


def economics(bundle: Any, baseline: str, candidates: Sequence[str], *,
              serving_summary: pd.DataFrame | None = None, slo: SLO | None = None,
              prices: Mapping[str, Mapping[str, Any]] | None = None,
              usd_per_gpu_hour: float | Mapping[str, float] | None = None) -> Economics:
    """Facts, capacity (GuideLLM reports in the bundle, else the registry's
    ``benchmark_rate_*`` properties) and cost (capacity basis, plus observed traffic when the
    bundle holds Prometheus answers) for the baseline and candidates."""
    models = [baseline, *candidates]
    slo = slo or SLO.chat()
    issues: list[Any] = []
    facts = model_facts_table(bundle, models)
    issues += registry_facts(bundle, models)[1]
    for r in facts.itertuples():
        if r.gpus_source == "unknown":
            issues.append(frames.issue("cost", r.model, "warning",
                                       f"GPU count of {r.model} not found in the registry, the "
                                       "serving series or the manifest"))
    cap, bench = pd.DataFrame(), pd.DataFrame()
    g = getattr(bundle, "guidellm", None)
    if g is not None and len(g.benchmarks):
        bench = g.benchmarks[g.benchmarks["model"].isin(models)]
        if len(bench):
            cap = capacity(bench, slo)
    if not len(cap):
        bench = registry_benchmarks(bundle, models)
        if len(bench):  # no request counts in the registry: errors cannot be checked
            cap = capacity(bench, slo, require_error_counts=False, configured_rate=True)
            issues.append(frames.issue(
                "cost", "capacity", "info",
                "capacity from the Model Registry's benchmark_rate_* properties (no GuideLLM "
                "report in this source): they carry no request counts and no measured request "
                "rate, so failed requests cannot be ruled out and each rate is the configured "
                "target"))
    observed = None
    if serving_summary is not None and len(serving_summary):
        observed = serving_summary[serving_summary["model"].isin(models)]
    gpus = {r.model: r.gpus for r in facts.itertuples() if math.isfinite(r.gpus)}
    table = dict(DEFAULT_PRICES)
    manifest_prices = (bundle.manifest or {}).get("prices") if isinstance(bundle.manifest,
                                                                          dict) else None
    if isinstance(manifest_prices, dict):
        table.update({str(k): v for k, v in manifest_prices.items()
                      if isinstance(v, dict) and _num(v.get("usd_per_gpu_hour")) is not None
                      and not isinstance(v.get("usd_per_gpu_hour"), bool)})
    table.update(prices or {})
    c = cost(capacity=cap if len(cap) else None, observed=observed, gpus=gpus,
             accelerators={r.model: r.accelerator for r in facts.itertuples() if r.accelerator},
             gpus_source={r.model: r.gpus_source for r in facts.itertuples()},
             prices=table, usd_per_gpu_hour=usd_per_gpu_hour, models=models)
    if not len(cap):
        issues.append(frames.issue("cost", "capacity", "info",
                                   "no load test (GuideLLM report) in this source: any cost "
                                   "ratio compares observed traffic, not cost"))
    return Economics(facts=facts, capacity=cap, cost=c, slo=slo, benchmarks=bench,
                     issues=frames.issues_frame(issues, c.issues))


def registry_agreement(bundle: Any, models: Sequence[str], scores: pd.DataFrame
                       ) -> pd.DataFrame:
    """The eval results stored in the registry beside what the LMEvalJobs report now:
    ``model, task, metric, filter, stored, evaluated, agree`` (agree: equal to 1e-9, or
    no evaluated value to check against)."""
    cols = ["model", "task", "metric", "filter", "stored", "evaluated", "agree"]
    reg = getattr(bundle, "registry", None)
    if reg is None:
        return pd.DataFrame(columns=cols)
    from ..registry import map_models, model_facts
    from .base import latest_jobs

    mapping = map_models(models, reg).table.dropna(subset=["version_id"])
    evals = model_facts(reg).evals
    latest = latest_jobs(scores, models[0] if models else None)[["model", "task", "job"]]
    cur = scores.merge(latest, on=["model", "task", "job"])
    rows = []
    for m in mapping.itertuples():
        stored = evals[evals["version_id"].astype(str) == str(m.version_id)]
        for e in stored.itertuples():
            hit = cur[(cur["model"] == m.served_model) & (cur["task"] == e.task)
                      & (cur["metric"] == e.metric) & (cur["filter"] == e.filter)]
            now = float(hit["value"].iloc[-1]) if len(hit) else float("nan")
            agree = (not math.isfinite(now)) or abs(now - float(e.value)) <= 1e-9
            rows.append({"model": m.served_model, "task": e.task, "metric": e.metric,
                         "filter": e.filter, "stored": float(e.value), "evaluated": now,
                         "agree": bool(agree)})
    return pd.DataFrame(rows, columns=cols)
