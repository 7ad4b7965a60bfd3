"""lm-eval results as Prometheus text exposition (format 0.0.4): :func:`exposition`.

One sample per label set: the latest run per model and task
(:func:`evalkit.analysis.base.latest_jobs`). Label values are escaped as the format requires
(``\\`` → ``\\\\``, ``"`` → ``\\"``, newline → ``\\n``), so any model name survives the trip
through a Pushgateway into Prometheus unchanged. Non-finite scores are left out (an
``NaN`` accuracy says nothing a missing sample does not).

=====================================================  =========================================
``lm_eval_accuracy{model,task,metric,filter}``         the score (lm-eval's native 0–1 scale)
``lm_eval_accuracy_stderr{model,task,metric,filter}``  its standard error
``lm_eval_samples_evaluated{model,task}``              effective samples
``lm_eval_completion_time{model,task}``                completion, unix seconds
``lm_eval_accuracy_delta{baseline,candidate,task,``    candidate − baseline (with a comparison)
``metric,filter}``
``lm_eval_recovery_percent{baseline,candidate}``       recovery in percent (with a recovery)
=====================================================  =========================================

``metric`` and ``filter`` are on the delta too, so a comparison made with ``all_metrics=True``
still has one sample per label set.

>>> from evalkit.core import frames
>>> s = frames.conform("scores", [{"model": 'a"b', "job": "j", "task": "arc_easy",
...     "metric": "acc", "filter": "none", "value": 0.5, "stderr": 0.05, "n": 100}])
>>> print(exposition(s).splitlines()[2])
lm_eval_accuracy{model="a\\"b",task="arc_easy",metric="acc",filter="none"} 0.5
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from ..analysis.base import latest_jobs
from ..core import frames
from ..core.errors import InputError

#: every label the exposition itself sets (a grouping key may not reuse them)
LABELS = frozenset({"model", "task", "metric", "filter", "baseline", "candidate"})
#: metric name -> help text
HELP = {
    "lm_eval_accuracy": "lm-evaluation-harness score of the latest run per model and task "
                        "(native scale, 0-1 for accuracies).",
    "lm_eval_accuracy_stderr": "Standard error of lm_eval_accuracy as lm-eval reports it.",
    "lm_eval_samples_evaluated": "Effective samples evaluated in the latest run per model and "
                                 "task.",
    "lm_eval_completion_time": "Completion time of the latest run per model and task, unix "
                               "seconds.",
    "lm_eval_accuracy_delta": "Candidate minus baseline score of the headline metric per task "
                              "(evalkit compare).",
    "lm_eval_recovery_percent": "Candidate mean headline score as a percentage of the baseline's "
                                "(evalkit recovery).",
}


def escape_label(value: Any) -> str:
    """A label value escaped for the text format.

    >>> escape_label('a\\\\b"c\\nd')
    'a\\\\\\\\b\\\\"c\\\\nd'
    """
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    """HELP text escaped (backslash and newline only)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    """A sample value: the shortest text that reads back as the same float64.

    >>> format_value(0.1), format_value(float("inf")), format_value(3.0), format_value(100)
    ('0.1', '+Inf', '3.0', '100')
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    v = float(value)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)


def _labels(pairs: Iterable[tuple[str, Any]]) -> str:
    return "{" + ",".join(f'{k}="{escape_label(v)}"' for k, v in pairs) + "}"


class _Family:
    def __init__(self, name: str) -> None:
        self.name = name
        self.samples: dict[str, str] = {}

    def add(self, labels: list[tuple[str, Any]], value: Any) -> None:
        try:
            v = float(value)
        except (TypeError, ValueError):
            return
        if not math.isfinite(v):
            return
        key = _labels(labels)
        shown = value if isinstance(value, int) and not isinstance(value, bool) else v
        self.samples.setdefault(key, format_value(shown))  # one sample per label set

    def text(self) -> list[str]:
        if not self.samples:
            return []
        return [f"# HELP {self.name} {escape_help(HELP[self.name])}",
                f"# TYPE {self.name} gauge",
                *(f"{self.name}{k} {v}" for k, v in self.samples.items())]


def exposition(scores: pd.DataFrame, *, comparison: Any = None, recovery: Any = None) -> str:
    """The text exposition of ``scores`` (and of a ``comparison``/``recovery`` when given);
    see the module docstring. Ends with a newline; empty families are left out."""
    frames.validate(scores, "scores")
    fams = {name: _Family(name) for name in HELP}
    if len(scores):
        win = latest_jobs(scores)
        keys = set(zip(win["model"], win["task"], win["job"], strict=True))
        latest = scores[[k in keys for k in zip(scores["model"], scores["task"], scores["job"],
                                                  strict=True)]]
        latest = latest.sort_values(["model", "task", "metric", "filter"], kind="mergesort")
        for r in latest.itertuples():
            ident = [("model", r.model), ("task", r.task), ("metric", r.metric),
                     ("filter", r.filter)]
            fams["lm_eval_accuracy"].add(ident, r.value)
            fams["lm_eval_accuracy_stderr"].add(ident, r.stderr)
            if not pd.isna(r.n):
                fams["lm_eval_samples_evaluated"].add(ident[:2], int(r.n))
            if not pd.isna(r.completed_at):
                fams["lm_eval_completion_time"].add(ident[:2],
                                                    pd.Timestamp(r.completed_at).timestamp())
    if comparison is not None:
        frame = getattr(comparison, "frame", comparison)
        need = {"baseline_model", "candidate_model", "task", "metric", "filter", "delta"}
        if not isinstance(frame, pd.DataFrame) or not need <= set(frame.columns):
            raise InputError("comparison: pass the result of evalkit.compare(...)")
        for r in frame.itertuples():
            fams["lm_eval_accuracy_delta"].add(
                [("baseline", r.baseline_model), ("candidate", r.candidate_model),
                 ("task", r.task), ("metric", r.metric), ("filter", r.filter)], r.delta)
    if recovery is not None:
        summary = getattr(recovery, "summary", None)
        if not isinstance(summary, pd.DataFrame) or "recovery" not in summary.columns:
            raise InputError("recovery: pass the result of evalkit.recovery(...)")
        for r in summary.itertuples():
            fams["lm_eval_recovery_percent"].add(
                [("baseline", recovery.baseline), ("candidate", r.candidate_model)], r.recovery)
    lines = [line for fam in fams.values() for line in fam.text()]
    return "\n".join(lines) + "\n" if lines else ""
