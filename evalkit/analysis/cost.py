"""Cost per token: GPUs × $/GPU-hour over the tokens a model serves, with every input shown.

Two bases, never mixed up:

- **capacity** — the throughput a load test (GuideLLM) measured at an SLO-feasible operating
  point (:func:`evalkit.analysis.capacity.capacity`: the highest rate whose chosen percentile of
  TTFT/ITL/latency meets the SLO with zero errors; never the saturation run). Two models'
  capacity costs can be compared: this is the basis of the cost ratio.
- **observed** — the throughput Prometheus saw in production over the window. It measures the
  traffic the model got, not what it can do: a ratio from two unequally loaded models compares
  traffic, not cost, and is labelled so.

Formulas (``docs/statistics.md`` §cost)::

    $ per 1M output tokens = gpus × $/GPU-h / (output tokens/s × 3600) × 1e6
    $ per 1,000 requests   = gpus × $/GPU-h / (requests/s × 3600) × 1e3
    queries per dollar     = requests/s × 3600 / (gpus × $/GPU-h)

>>> c = cost(capacity=pd.DataFrame({"model": ["fp16", "w4"], "benchmark": ["constant@8"] * 2,
...          "slo": ["chat"] * 2, "requests_per_second": [8.0, 4.0],
...          "output_tokens_per_second": [1600.0, 800.0], "reason": [None, None]}),
...          gpus={"fp16": 4, "w4": 1}, accelerators={"fp16": "A100-80GB", "w4": "A100-80GB"})
>>> c.frame[["model", "usd_per_1m_output_tokens"]].round(3).values.tolist()
[['fp16', 1.243], ['w4', 0.622]]
>>> round(c.ratio("w4", "fp16"), 3)
0.5
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..core import frames
from ..core.errors import InputError
from ..core.result import Result

#: On-demand $/GPU-hour implied by the RedHatAI model cards' "queries per dollar" tables
#: (prices observed at one cloud provider, 2025-02). Override per call, per accelerator or from
#: a YAML/JSON file: your contract price is the one that matters.
DEFAULT_PRICES: dict[str, dict[str, Any]] = {
    "A6000": {"usd_per_gpu_hour": 0.80, "source": "RedHatAI model cards (QPD tables)",
              "date": "2025-02"},
    "A100-80GB": {"usd_per_gpu_hour": 1.79, "source": "RedHatAI model cards (QPD tables)",
                  "date": "2025-02"},
    "H100": {"usd_per_gpu_hour": 3.29, "source": "RedHatAI model cards (QPD tables)",
             "date": "2025-02"},
}
_ALIASES = {"a100": "A100-80GB", "a100-80gb": "A100-80GB", "a100 80gb": "A100-80GB",
            "nvidia-a100-sxm4-80gb": "A100-80GB", "nvidia a100-sxm4-80gb": "A100-80GB",
            "h100": "H100", "nvidia-h100-80gb-hbm3": "H100", "nvidia h100 80gb hbm3": "H100",
            "a6000": "A6000", "rtx a6000": "A6000", "nvidia-rtx-a6000": "A6000"}
COLUMNS = ["model", "basis", "gpus", "gpus_source", "accelerator", "usd_per_gpu_hour",
           "price_source", "output_tokens_per_second", "requests_per_second",
           "usd_per_1m_output_tokens", "usd_per_1k_requests", "queries_per_dollar",
           "operating_point", "note"]
SOURCE = "cost"


def load_prices(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """A price table from YAML or JSON: ``{accelerator: {usd_per_gpu_hour, source, date}}``
    (a bare number is accepted as the price)."""
    from ..core.files import read_document

    text = read_document(Path(path))
    try:
        doc = json.loads(text)
    except ValueError:
        import yaml

        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(f"{path}: not a JSON/YAML price table ({exc})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: a price table maps accelerator names to prices")
    out = {}
    for k, v in doc.items():
        entry = v if isinstance(v, dict) else {"usd_per_gpu_hour": v}
        price = entry.get("usd_per_gpu_hour")
        if isinstance(price, bool) or not isinstance(price, int | float) or not price > 0:
            raise InputError(f"{path}: {k}: usd_per_gpu_hour must be a positive number")
        out[str(k)] = {"usd_per_gpu_hour": float(price),
                       "source": str(entry.get("source") or f"price file {Path(path).name}"),
                       "date": str(entry.get("date") or "")}
    return out


def price_for(accelerator: str | None, prices: Mapping[str, Mapping[str, Any]]
              ) -> tuple[float, str] | None:
    """``($/GPU-hour, "source, date")`` for an accelerator name (aliases such as
    ``NVIDIA-A100-SXM4-80GB`` are understood), or None."""
    if not accelerator:
        return None
    key = str(accelerator).strip()
    entry = prices.get(key) or prices.get(_ALIASES.get(key.lower(), ""))
    if entry is None:
        return None
    src = ", ".join(x for x in (str(entry.get("source", "")), str(entry.get("date", ""))) if x)
    return float(entry["usd_per_gpu_hour"]), src


@dataclass(repr=False)
class CostResult(Result):
    """Cost per model and basis (``frame``, columns :data:`COLUMNS`), with every input."""

    frame: pd.DataFrame
    prices: dict[str, dict[str, Any]] = field(default_factory=dict)
    _frames = ("frame",)

    def value(self, model: str, basis: str = "capacity") -> float:
        """$ per 1M output tokens of ``model`` on ``basis`` (NaN when unknown)."""
        r = self.frame[(self.frame["model"] == model) & (self.frame["basis"] == basis)]
        return float(r["usd_per_1m_output_tokens"].iloc[0]) if len(r) else float("nan")

    def ratio(self, candidate: str, baseline: str, basis: str = "capacity") -> float:
        """candidate cost / baseline cost per 1M output tokens (< 1: the candidate is cheaper)."""
        c, b = self.value(candidate, basis), self.value(baseline, basis)
        return c / b if math.isfinite(c) and math.isfinite(b) and b > 0 else float("nan")

    def describe(self) -> str:
        return ", ".join(sorted(set(self.frame["basis"]))) if len(self.frame) else "no cost"


def _per(gpus: float, price: float, per_s: float, scale: float) -> float:
    if not (math.isfinite(gpus) and math.isfinite(price) and math.isfinite(per_s)) or per_s <= 0:
        return float("nan")
    return gpus * price / (per_s * 3600.0) * scale


def cost(*, capacity: pd.DataFrame | None = None, observed: pd.DataFrame | None = None,
         gpus: Mapping[str, Any] | None = None, accelerators: Mapping[str, str] | None = None,
         prices: Mapping[str, Mapping[str, Any]] | None = None,
         usd_per_gpu_hour: float | Mapping[str, float] | None = None,
         gpus_source: Mapping[str, str] | None = None,
         models: list[str] | None = None) -> CostResult:
    """Cost per 1M output tokens, per 1,000 requests and queries per dollar, per model.

    Parameters
    ----------
    capacity : the frame of :func:`evalkit.analysis.capacity.capacity` (one row per model:
        ``requests_per_second``, ``output_tokens_per_second``, ``benchmark``, ``slo``,
        ``reason`` when no benchmark met the SLO).
    observed : a serving summary (:func:`evalkit.serving_summary`) with
        ``generation_tokens_per_s`` and ``requests_per_s`` per model (production traffic).
    gpus : GPUs per model (from the Model Registry facts, the ``gpus`` serving series or a
        stated input); ``gpus_source`` says where each came from.
    accelerators : accelerator name per model (price lookup).
    prices : a price table (default :data:`DEFAULT_PRICES`; :func:`load_prices` reads one).
    usd_per_gpu_hour : a price for every model, or per model — wins over the table.
    """
    table = dict(DEFAULT_PRICES if prices is None else prices)
    gpus, accelerators = dict(gpus or {}), dict(accelerators or {})
    issues: list[dict[str, str]] = []
    names = list(models or [])
    for f in (capacity, observed):
        if f is not None and len(f) and "model" in f.columns:
            names += [str(m) for m in f["model"].dropna().unique() if str(m) not in names]
    rows = []
    for model in names:
        g = gpus.get(model)
        g = float(g) if g is not None and not pd.isna(g) else float("nan")
        src = (gpus_source or {}).get(model, "stated" if model in gpus else "unknown")
        if not math.isfinite(g) or g <= 0:
            issues.append(frames.issue(SOURCE, model, "warning",
                                       f"GPU count of {model} unknown: no cost (give it in the "
                                       "registry's gpu_requirement, or as gpus={...})"))
        price, psrc = _price(model, accelerators.get(model), usd_per_gpu_hour, table, issues)
        base = {"model": model, "gpus": g, "gpus_source": src,
                "accelerator": accelerators.get(model), "usd_per_gpu_hour": price,
                "price_source": psrc}
        if capacity is not None and len(capacity):
            c = capacity[capacity["model"] == model]
            if len(c):
                r = c.iloc[0]
                tok, req = float(r["output_tokens_per_second"]), float(r["requests_per_second"])
                reason = r.get("reason")
                note = (str(reason) if isinstance(reason, str) and reason else
                        f"at {r.get('benchmark')} (SLO {r.get('slo')})")
                rows.append(_row(base, "capacity", tok, req, note, f"{r.get('benchmark')}"))
        if observed is not None and len(observed):
            o = observed[observed["model"] == model].set_index("metric")["value"]
            if "generation_tokens_per_s" in o.index:
                rows.append(_row(base, "observed", float(o.get("generation_tokens_per_s")),
                                 float(o.get("requests_per_s", float("nan"))),
                                 "observed traffic (Prometheus window): measures the load the "
                                 "model got, not its capacity", "production window"))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return CostResult(frame=frame, prices=table, issues=frames.issues_frame(issues))


def _price(model: str, accelerator: str | None, override: Any,
           table: Mapping[str, Mapping[str, Any]],
           issues: list[dict[str, str]]) -> tuple[float, str]:
    if isinstance(override, Mapping) and model in override:
        return float(override[model]), "stated per model"
    if isinstance(override, int | float) and not isinstance(override, bool):
        return float(override), "stated for every model"
    got = price_for(accelerator, table)
    if got is None:
        issues.append(frames.issue(SOURCE, model, "warning",
                                   f"no $/GPU-hour for accelerator {accelerator!r} of {model}: "
                                   "no cost (pass usd_per_gpu_hour= or a price file)"))
        return float("nan"), ""
    return got


def _row(base: dict[str, Any], basis: str, tok: float, req: float, note: str,
         point: str) -> dict[str, Any]:
    g, price = base["gpus"], base["usd_per_gpu_hour"]
    qpd = req * 3600.0 / (g * price) if math.isfinite(req) and g > 0 and price > 0 else float(
        "nan")
    return {**base, "basis": basis, "output_tokens_per_second": tok, "requests_per_second": req,
            "usd_per_1m_output_tokens": _per(g, price, tok, 1e6),
            "usd_per_1k_requests": _per(g, price, req, 1e3), "queries_per_dollar": qpd,
            "operating_point": point, "note": note}
