"""Column schemas of the tidy frames that pass between evalkit's layers.

Declared once here; every parser builds its frame with :func:`empty` / :func:`conform`
and every analysis function checks its input with :func:`validate`.

>>> from evalkit.core import frames
>>> frames.empty("issues").columns.tolist()
['source', 'object', 'severity', 'message']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .errors import SchemaError

UTC_TS = "datetime64[ns, UTC]"

#: name -> {column: dtype}. Extra columns are allowed; these are required.
SCHEMAS: dict[str, dict[str, str]] = {
    "issues": {
        "source": "object",
        "object": "object",
        "severity": "object",  # "error" | "warning" | "info"
        "message": "object",
    },
    "jobs": {
        "job": "object",
        "namespace": "object",
        "model": "object",
        "state": "object",
        "reason": "object",
        "message": "object",
        "tasks": "object",  # comma-separated task names as requested
        "limit": "object",  # the spec's string ("100", "0.1") or None
        "num_fewshot": "Int64",
        "created_at": UTC_TS,
        "scheduled_at": UTC_TS,
        "completed_at": UTC_TS,
        "has_results": "bool",
        "source": "object",
    },
    "scores": {
        "model": "object",
        "job": "object",
        "task": "object",
        "metric": "object",
        "filter": "object",
        "value": "float64",  # lm-eval's native scale (0-1 for accuracies)
        "stderr": "float64",  # NaN when lm-eval wrote "N/A"
        "n": "Int64",  # effective samples
        "limit": "float64",
        "num_fewshot": "Int64",
        "completed_at": UTC_TS,
        "created_at": UTC_TS,
        "is_group": "bool",
        "usable": "bool",  # False: out of [0,1] or non-finite; kept out of comparisons
        "group": "object",  # the lm-eval group this task belongs to (group_subtasks), or None
        "higher_is_better": "object",  # lm-eval's higher_is_better (True/False), None: unknown
        "aggregation": "object",  # how lm-eval aggregates per-sample values ("mean", ...)
        "n_docs": "Int64",  # documents in the task's split (n-samples original)
    },
    "runs": {
        "model": "object",
        "job": "object",
        "task": "object",
        "lm_eval_version": "object",
        "task_version": "object",
        "task_hash": "object",
        "num_fewshot": "Int64",
        "limit": "float64",
        "chat_template_sha": "object",
        "fewshot_as_multiturn": "object",
        "system_instruction_sha": "object",
        "gen_kwargs": "object",
        "tokenizer": "object",
        "model_args": "object",
        "completed_at": UTC_TS,
    },
    "samples": {
        "model": "object",
        "job": "object",
        "task": "object",
        "doc_id": "int64",
        "filter": "object",
        "metric": "object",
        "value": "float64",
        "doc_hash": "object",
        "prompt_hash": "object",
        "target": "object",
        "response": "object",  # first filtered_resps item ("[invalid]" when gsm8k could not parse)
    },
    "series": {
        "timestamp": UTC_TS,
        "model": "object",
        "metric": "object",
        "value": "float64",
        "unit": "object",
    },
}


def empty(kind: str) -> pd.DataFrame:
    """An empty frame with the columns and dtypes of ``kind``."""
    schema = SCHEMAS[kind]
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in schema.items()})


def conform(kind: str, rows: list[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Build a frame of ``kind`` from rows, casting every schema column to its dtype.

    Columns not in the schema are kept after the schema columns.
    """
    schema = SCHEMAS[kind]
    if isinstance(rows, pd.DataFrame):
        df = rows.copy()
    else:
        try:
            df = pd.DataFrame(rows)
        except OverflowError:  # an integer too large for any numeric dtype (pandas < 3)
            df = pd.DataFrame(rows, dtype=object)
    if df.empty and not len(df.columns):
        return empty(kind)
    for col, dtype in schema.items():
        if col not in df.columns:
            df[col] = pd.Series([None] * len(df), dtype="object", index=df.index)
        df[col] = _cast(df[col], dtype)
    extra = [c for c in df.columns if c not in schema]
    return df[list(schema) + extra].reset_index(drop=True)


def _timestamps(s: pd.Series) -> pd.Series:
    """Timestamps (aware or naive = UTC) and ISO 8601 text of any precision → UTC; anything
    else (numbers, junk) → NaT. ``format="ISO8601"`` matters: without it pandas infers one
    format from the first string and turns ``...:00.250Z`` beside ``...:00Z`` into NaT.

    >>> t = _timestamps(pd.Series(["2025-01-01T00:00:00Z", "2025-01-01T00:00:00.250Z", 5]))
    >>> t.isna().tolist(), t[1].microsecond
    ([False, False, True], 250000)
    """
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        s = pd.Series([None] * len(s), index=s.index, dtype=object)  # numbers: not timestamps
    elif s.dtype == object:
        s = s.map(lambda v: None if isinstance(v, int | float) else v)
    return pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601").astype(UTC_TS)


def _cast(s: pd.Series, dtype: str) -> pd.Series:
    if dtype == UTC_TS:
        return _timestamps(s)
    if dtype == "float64":
        return _floats(s)
    if dtype == "Int64":  # whole numbers within ±2**53 only; anything else is missing
        f = _floats(s)
        ok = np.isfinite(f) & (f.abs() < 2.0**53) & (f == np.floor(f))
        return f.where(ok).astype("Int64")
    if dtype == "bool":  # no fillna on object data: pandas 2.x warns about downcasting
        return pd.Series([False if _isna(v) else bool(v) for v in s], index=s.index, dtype=bool)
    if dtype == "int64":
        return s.astype("int64")
    return s.astype("object")


_KIND_CHECKS = {
    "float64": (pd.api.types.is_numeric_dtype, "numbers"),
    "Int64": (pd.api.types.is_numeric_dtype, "integers"),
    "int64": (pd.api.types.is_integer_dtype, "integers"),
    "bool": (lambda s: pd.api.types.is_bool_dtype(s) or pd.api.types.is_object_dtype(s), "booleans"),
    UTC_TS: (pd.api.types.is_datetime64_any_dtype, "timestamps"),
}


def _floats(s: pd.Series) -> pd.Series:
    """Numbers as float64; text, huge integers and other junk become NaN (never an error)."""
    try:
        return pd.to_numeric(s, errors="coerce").astype("float64")
    except (OverflowError, TypeError, ValueError):
        def one(v: Any) -> float:
            try:
                return float(v)
            except (OverflowError, TypeError, ValueError):
                return float("nan")
        return pd.Series([one(v) for v in s], index=s.index, dtype="float64")


def _isna(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def validate(df: pd.DataFrame, kind: str, *, name: str | None = None) -> pd.DataFrame:
    """Check that ``df`` has the required columns of ``kind`` and that numeric, integer and
    timestamp columns hold data of that kind (an all-null column passes); raise
    :class:`~evalkit.core.errors.SchemaError` naming the column otherwise.

    >>> validate(empty("scores"), "scores").shape[0]
    0
    """
    label = name or kind
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"{label}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in SCHEMAS[kind] if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{label} frame lacks column(s) {missing}; build it with "
            f"evalkit.load_lmeval(...) or evalkit.core.frames.conform({kind!r}, rows)"
        )
    for col, dtype in SCHEMAS[kind].items():
        check = _KIND_CHECKS.get(dtype)
        if check is None or len(df) == 0:
            continue
        s = df[col]
        if check[0](s) or s.isna().all():
            continue
        raise SchemaError(f"{label} frame: column {col!r} should hold {check[1]} but has dtype "
                          f"{s.dtype}; build it with evalkit.core.frames.conform({kind!r}, rows)")
    return df


def issue(source: str, obj: str, severity: str, message: str) -> dict[str, str]:
    """One row of an ``issues`` frame.

    >>> issue("lmeval", "job-a", "error", "failed")["severity"]
    'error'
    """
    return {"source": source, "object": str(obj), "severity": severity, "message": str(message)}


def issues_frame(*parts: list[dict[str, str]] | pd.DataFrame | None,
                 step: str | None = None) -> pd.DataFrame:
    """One ``issues`` frame from lists of :func:`issue` records and/or issues frames, exact
    duplicates dropped; with ``step``, a ``step`` column says which step found them (kept when
    the parts already have one).

    >>> issues_frame([issue("a", "x", "info", "m")], None, step="load")["step"].tolist()
    ['load']
    """
    frames_: list[pd.DataFrame] = []
    for p in parts:
        if p is None or len(p) == 0:
            continue
        frames_.append(p if isinstance(p, pd.DataFrame) else pd.DataFrame(list(p)))
    if not frames_:
        out = empty("issues")
    else:
        out = conform("issues", pd.concat(frames_, ignore_index=True))
    if step is not None:
        if "step" not in out.columns:
            out["step"] = pd.Series([step] * len(out), dtype="object")
        else:
            out["step"] = out["step"].fillna(step)
    return out.drop_duplicates([c for c in out.columns]).reset_index(drop=True)
