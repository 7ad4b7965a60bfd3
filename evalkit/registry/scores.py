"""evalkit's ``scores`` frame → the custom properties :func:`~evalkit.registry.publish_scores`
writes on a model version.

Per served model, from the latest run of each task (:func:`latest_runs`: the same rule as
:func:`evalkit.analysis.base.latest_jobs` — latest ``completed_at``, then ``created_at``, then
job name; a run without a completion time loses to one with it — kept here because a source may
not import the analysis layer):

===============================================  ===========================================
``<prefix><task>_<metric>,<filter>``             double: the score (lm-eval's native scale)
``<prefix><task>_<metric>_stderr,<filter>``      double: its standard error (lm-eval's key)
``<prefix><task>_n``                             int: effective samples
``<prefix><task>_limit``                         double: the ``limit`` the job ran with
``<prefix><task>_job``                           string: the LMEvalJob
``<prefix><task>_completed_at``                  string: RFC 3339 UTC (epoch ms overflow int32)
``<prefix>provenance``                           string: evalkit version and the source
===============================================  ===========================================

Non-finite values cannot be sent (JSON has no NaN): they are skipped with a data issue.

>>> from evalkit.core import frames
>>> s = frames.conform("scores", [{"model": "m", "job": "j", "task": "arc_easy",
...     "metric": "acc", "filter": "none", "value": 0.8, "stderr": 0.04, "n": 100,
...     "completed_at": "2026-01-02T03:04:05Z"}])
>>> props, issues = score_properties(s)["m"]
>>> sorted(props)[:3], props["eval_arc_easy_n"]
(['eval_arc_easy_acc,none', 'eval_arc_easy_acc_stderr,none', 'eval_arc_easy_completed_at'], {'metadataType': 'MetadataIntValue', 'int_value': '100'})
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .._version import __version__
from ..core import frames
from ..core.errors import InputError
from . import values
from .parse import SOURCE


def latest_runs(scores: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``scores`` that belong to the winning run of each (model, task)."""
    frames.validate(scores, "scores")
    if scores.empty:
        return scores.copy()
    runs = (scores[["model", "task", "job", "completed_at", "created_at"]]
            .groupby(["model", "task", "job"], as_index=False, dropna=False, sort=False)
            .agg(completed_at=("completed_at", "max"), created_at=("created_at", "max")))
    runs = runs.sort_values(["model", "task", "completed_at", "created_at", "job"],
                            na_position="first", kind="mergesort")
    win = runs.groupby(["model", "task"], sort=False, dropna=False).tail(1)
    keys = set(zip(win["model"], win["task"], win["job"], strict=True))
    mask = [k in keys for k in zip(scores["model"], scores["task"], scores["job"], strict=True)]
    return scores[mask].reset_index(drop=True)


def check_prefix(prefix: str) -> str:
    """A property prefix: non-empty text without control characters, commas or backticks."""
    if not isinstance(prefix, str) or not prefix or any(
            c in prefix for c in ",`") or any(ord(c) < 32 for c in prefix):
        raise InputError(f"prefix {prefix!r}: give a non-empty name prefix such as 'eval_' "
                         "(no comma, backtick or control character)")
    return prefix


def iso_utc(t: Any) -> str | None:
    """RFC 3339 UTC text of a timestamp (``None`` for a missing one).

    >>> iso_utc(pd.Timestamp("2026-11-20 09:22:53.5", tz="UTC"))
    '2026-11-20T09:22:53.500Z'
    """
    if t is None or pd.isna(t):
        return None
    ts = pd.Timestamp(t)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    text = ts.strftime("%Y-%m-%dT%H:%M:%S")
    if ts.microsecond:
        text += f".{ts.microsecond // 1000:03d}"
    return text + "Z"


def provenance(jobs: list[str], source: str | None) -> str:
    """The provenance text: evalkit version, jobs and source — never the wall-clock time
    (a re-run with the same inputs writes the same value, so nothing changes)."""
    text = f"evalkit {__version__}; lm-eval results of LMEvalJob(s) {', '.join(jobs) or '-'}"
    return text + (f"; source: {source}" if source else "")


def score_properties(scores: pd.DataFrame, *, prefix: str = "eval_", include_stderr: bool = True,
                     source: str | None = None
                     ) -> dict[str, tuple[dict[str, dict[str, Any]], list[dict[str, str]]]]:
    """``{served model: (properties as typed values, issues)}`` from the latest runs."""
    check_prefix(prefix)
    latest = latest_runs(scores)
    out: dict[str, tuple[dict[str, dict[str, Any]], list[dict[str, str]]]] = {}
    for model, rows in latest.groupby("model", sort=True, dropna=True):
        props: dict[str, dict[str, Any]] = {}
        issues: list[dict[str, str]] = []
        origin: dict[str, str] = {}

        def put(key: str, value: Any, what: str, *, props: dict = props, issues: list = issues,
                origin: dict = origin, model: Any = model) -> None:
            try:
                typed = values.encode(value)
            except (ValueError, TypeError) as exc:
                issues.append(frames.issue(SOURCE, f"{model} {key}", "warning",
                                           f"not published: {exc}"))
                return
            if key in props and not values.same(props[key], typed):
                issues.append(frames.issue(SOURCE, f"{model} {key}", "warning",
                                           f"{what} and {origin[key]} map to the same property "
                                           "name; kept the first"))
                return
            props.setdefault(key, typed)
            origin.setdefault(key, what)

        for task, trows in rows.groupby("task", sort=True):
            for r in trows.sort_values(["metric", "filter"], kind="mergesort").itertuples():
                base = f"{prefix}{task}_{r.metric}"
                what = f"{task} {r.metric},{r.filter}"
                if not _finite(r.value):
                    issues.append(frames.issue(SOURCE, f"{model} {base},{r.filter}", "warning",
                                               f"score {r.value!r} is not finite; not published"
                                               " (the registry stores finite doubles only)"))
                else:
                    put(f"{base},{r.filter}", float(r.value), what)
                if include_stderr:
                    if _finite(r.stderr):
                        put(f"{base}_stderr,{r.filter}", float(r.stderr), what + " stderr")
                    else:
                        issues.append(frames.issue(SOURCE, f"{model} {base}_stderr,{r.filter}",
                                                   "info", "no finite stderr (lm-eval wrote "
                                                   "N/A); not published"))
            first = trows.iloc[0]
            ns = sorted({int(n) for n in trows["n"].dropna()})
            if ns:
                if len(ns) > 1:
                    issues.append(frames.issue(SOURCE, f"{model} {task}", "warning",
                                               f"metrics report different n {ns}; publishing "
                                               f"{ns[-1]}"))
                put(f"{prefix}{task}_n", ns[-1], f"{task} n")
            if _finite(first["limit"]):
                put(f"{prefix}{task}_limit", float(first["limit"]), f"{task} limit")
            put(f"{prefix}{task}_job", str(first["job"]), f"{task} job")
            done = iso_utc(first["completed_at"])
            if done is not None:
                put(f"{prefix}{task}_completed_at", done, f"{task} completion time")
        jobs = sorted({str(j) for j in rows["job"].dropna()})
        put(f"{prefix}provenance", provenance(jobs, source), "provenance")
        out[str(model)] = (props, issues)
    return out


def _finite(x: Any) -> bool:
    try:
        return x is not None and not pd.isna(x) and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False
