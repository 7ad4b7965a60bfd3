"""``summary.json`` and the Parquet frames: an :class:`~evalkit.analysis.pipeline.Analysis` written as
files (schema in ``docs/summary-schema.md``), with no kernel and nothing recomputed.

:func:`write_outputs` is what ``evalkit analyze`` and ``evalkit report`` both call, so the two
give the same ``summary.json`` (only ``generated_at`` differs).

>>> import evalkit as ek
>>> doc = to_summary(ek.analyze(ek.load()))
>>> doc["demo"], doc["baseline"], len(doc["tasks"])
(True, 'mistral-24b', 4)
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..core import frames
from ..core.timeutil import utc_now

SUMMARY_SCHEMA_VERSION = 3
SUMMARY = "summary.json"
FRAMES_DIR = "frames"


def to_summary(a: Any) -> dict[str, Any]:
    """The ``summary.json`` document (JSON-safe: NaN → null, timestamps → ISO 8601)."""
    res = a.result
    issue_cols = [*frames.SCHEMAS["issues"], "step"]
    return {
        "answer": answer(a),
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "evalkit_version": __version__,
        "generated_at": utc_now(),
        "source": a.bundle.source,
        "source_kind": res.kind,
        "demo": bool(a.demo),
        "baseline": a.baseline,
        "candidate": a.candidate,
        "candidates": list(a.candidates),
        "margin": a.margin,
        "relative_margin": a.relative_margin,
        "confidence": a.confidence,
        "notes": list(a.notes),
        "tasks": records(a.comparison.frame),
        "all_metrics": records(a.all_metrics.frame),
        "recovery": {
            "summary": records(a.recovery.summary),
            "per_task": records(a.recovery.per_task),
            "confidence": a.recovery.confidence,
            "n_resamples": a.recovery.n_resamples,
            "seed": a.recovery.seed,
            "tasks_rule": a.recovery.tasks_rule,
        },
        "comparability": records(a.comparability.frame),
        "flips": records(a.flips.counts()) if a.flips is not None else [],
        "invalid_rates": records(a.flips.invalid_rates) if a.flips is not None else [],
        "trend": records(a.trend.frame) if a.trend.multiple_runs else [],
        "serving": records(a.serving_summary),
        "facts": records(a.economics.facts) if a.economics is not None else [],
        "capacity": {"slo": a.economics.slo.describe(), "slo_name": a.economics.slo.name,
                     "rows": records(a.economics.capacity)} if a.economics is not None else {},
        "cost": records(a.economics.cost.frame) if a.economics is not None else [],
        "data_issues": records(a.issues[[c for c in issue_cols if c in a.issues.columns]]),
    }


def answer(a: Any) -> dict[str, Any]:
    """The overall answer at the top of ``summary.json``: the decision per candidate and the
    reasons, with the numbers they rest on (what the report's first paragraph says)."""
    rows = records(a.tradeoff.frame) if a.tradeoff is not None else []
    decisions = [r["decision"] for r in rows]
    overall = decisions[0] if len(set(decisions)) == 1 and decisions else "mixed"
    return {"decision": overall, "demo": bool(a.demo), "candidates": rows,
            "margin": a.margin, "relative_margin": a.relative_margin,
            "confidence": a.confidence,
            "modified_snapshot": bool(((a.issues["source"] == "snapshot")
                                       & (a.issues["severity"] == "error")).any())}


def jsonable(x: Any) -> Any:
    """numpy/pandas scalars and containers → JSON-safe Python (NaN → None)."""
    if isinstance(x, pd.DataFrame):
        return records(x)
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple | np.ndarray):
        return [jsonable(v) for v in x]
    if isinstance(x, pd.Timestamp):
        return None if pd.isna(x) else x.isoformat()
    if x is None or x is pd.NA or x is pd.NaT:
        return None
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, bool | int | str):
        return x
    try:
        if pd.isna(x):
            return None
    except (TypeError, ValueError):
        pass
    return str(x)


def records(df: pd.DataFrame | None) -> list[dict[str, Any]]:
    if df is None or df.empty:
        return []
    return [jsonable(rec) for rec in df.to_dict(orient="records")]


def dumps(doc: dict[str, Any]) -> str:
    """Strict JSON (no NaN) with a trailing newline."""
    return json.dumps(doc, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def analysis_frames(a: Any) -> dict[str, pd.DataFrame]:
    """The tidy frames written as Parquet, by file name (without ``.parquet``)."""
    res = a.result
    out = {"jobs": res.jobs, "scores": res.scores, "runs": res.runs, "samples": res.samples,
           "comparison": a.comparison.frame, "all_metrics": a.all_metrics.frame,
           "recovery": a.recovery.summary, "recovery_per_task": a.recovery.per_task,
           "comparability": a.comparability.frame, "trend": a.trend.frame, "issues": a.issues}
    if a.flips is not None:
        out["flips"] = a.flips.frame
        out["invalid_rates"] = a.flips.invalid_rates
    if a.serving is not None:
        out["serving_series"] = a.serving
    if a.serving_summary is not None:
        out["serving_summary"] = a.serving_summary
    return out


def write_outputs(a: Any, out: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``summary.json`` and ``frames/<name>.parquet`` into ``out`` (each file written to
    a temporary name and renamed, so a reader never sees half a file)."""
    folder = Path(out)
    (folder / FRAMES_DIR).mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, df in analysis_frames(a).items():
        p = folder / FRAMES_DIR / f"{name}.parquet"
        _atomic(p, lambda tmp, df=df: _parquet(df, tmp))
        paths[f"frame:{name}"] = p
    summary = folder / SUMMARY
    text = dumps(to_summary(a))
    _atomic(summary, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    paths["summary"] = summary
    return paths


def _parquet(df: pd.DataFrame, path: Path) -> None:
    """Parquet that survives mixed object columns (lists, dicts, mixed types become text)."""
    safe = df.copy()
    for col in safe.columns:
        if safe[col].dtype == object:
            kinds = {type(v) for v in safe[col] if v is not None and not _isna(v)}
            if len(kinds) > 1 or kinds - {str, list}:
                safe[col] = [None if v is None or _isna(v) else
                             (v if isinstance(v, str) else json.dumps(jsonable(v)))
                             for v in safe[col]]
    safe.to_parquet(path, index=False)


def _isna(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _atomic(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
