"""Column schemas of the tidy frames that pass between evalkit's layers.

Declared once here; every parser builds its frame with :func:`empty` / :func:`conform`
and every analysis function checks its input with :func:`validate`.

>>> from evalkit import frames
>>> frames.empty("issues").columns.tolist()
['source', 'object', 'severity', 'message']
"""

from __future__ import annotations

from typing import Any

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
    df = pd.DataFrame(rows) if not isinstance(rows, pd.DataFrame) else rows.copy()
    if df.empty and not len(df.columns):
        return empty(kind)
    for col, dtype in schema.items():
        if col not in df.columns:
            df[col] = pd.Series([None] * len(df), dtype="object", index=df.index)
        df[col] = _cast(df[col], dtype)
    extra = [c for c in df.columns if c not in schema]
    return df[list(schema) + extra].reset_index(drop=True)


def _cast(s: pd.Series, dtype: str) -> pd.Series:
    if dtype == UTC_TS:
        return pd.to_datetime(s, utc=True, errors="coerce").astype(UTC_TS)
    if dtype == "float64":
        return pd.to_numeric(s, errors="coerce").astype("float64")
    if dtype == "Int64":
        return pd.to_numeric(s, errors="coerce").astype("Int64")
    if dtype == "bool":
        return s.fillna(False).astype(bool)
    if dtype == "int64":
        return s.astype("int64")
    return s.astype("object")


def validate(df: pd.DataFrame, kind: str, *, name: str | None = None) -> pd.DataFrame:
    """Check that ``df`` has the required columns of ``kind``; raise :class:`SchemaError`.

    >>> validate(empty("scores"), "scores").shape[0]
    0
    """
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"{name or kind}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in SCHEMAS[kind] if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{name or kind} frame lacks column(s) {missing}; build it with "
            f"evalkit.load_lmeval(...) or evalkit.frames.conform({kind!r}, rows)"
        )
    return df


def attach_issues(df: pd.DataFrame, issues: list[dict[str, str]] | pd.DataFrame | None) -> pd.DataFrame:
    """Keep data issues on a result frame as ``df.attrs["issues"]``: a list of plain
    ``{source, object, severity, message}`` records (never a DataFrame: pandas compares
    ``attrs`` with ``==`` in ``concat``/``astype``, which a frame would break). Returns ``df``.
    Read them back with :func:`issues_of`.
    """
    if isinstance(issues, pd.DataFrame):
        issues = issues[list(SCHEMAS["issues"])].to_dict("records") if len(issues) else []
    df.attrs["issues"] = [{k: str(r.get(k, "")) for k in SCHEMAS["issues"]} for r in issues or []]
    return df


def issues_of(df: pd.DataFrame) -> pd.DataFrame:
    """The ``issues`` frame of a result frame (from :func:`attach_issues`); empty if none.

    >>> df = attach_issues(empty("scores"), [issue("lmeval", "job-a", "error", "failed")])
    >>> issues_of(df)["message"].tolist()
    ['failed']
    """
    rows = df.attrs.get("issues") or []
    return conform("issues", list(rows)) if rows else empty("issues")


def issue(source: str, obj: str, severity: str, message: str) -> dict[str, str]:
    """One row of an ``issues`` frame."""
    return {"source": source, "object": obj, "severity": severity, "message": message}
