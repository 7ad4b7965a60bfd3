"""Quality over time: every completed run per model and task, with intervals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from ..core import frames
from ..core.result import Result
from .base import Issues, check_models, headline_of, z_value


@dataclass(repr=False)
class Trend(Result):
    """Every completed run per model and task over time (``frame``)."""

    frame: pd.DataFrame
    _frames = ("frame",)

    @property
    def multiple_runs(self) -> bool:
        """True when some model ran a task more than once (then there is a trend to show)."""
        return bool(len(self.frame) and (self.frame["n_runs"] > 1).any())


def trend(scores: pd.DataFrame, task: str | Sequence[str] | None = None, *,
          models: Sequence[str] | None = None, all_metrics: bool = False,
          confidence: float = 0.95, headline: dict | None = None) -> Trend:
    """Every completed run per model and task over time, with intervals.

    One row per (model, task, metric, filter, job) for runs with a ``completed_at``, sorted by
    time: ``value``, ``stderr``, ``n``, ``ci_low``/``ci_high`` = value ± z·stderr (NaN when lm-eval
    gave no stderr), ``run`` (1 = oldest), ``n_runs`` and ``is_latest``. The headline metric per
    task unless ``all_metrics``. Unusable scores are left out and listed in
    ``.issues``. ``.multiple_runs`` is True when some model ran a task more than
    once (the report then shows "quality over time").

    >>> s = frames.conform("scores", [
    ...     {"model": "m", "job": j, "task": "arc_easy", "metric": "acc_norm", "filter": "none",
    ...      "value": v, "stderr": 0.01, "usable": True, "completed_at": ts}
    ...     for j, v, ts in (("j1", 0.80, "2025-01-01"), ("j2", 0.82, "2025-02-01"))])
    >>> trend(s).frame[["job", "run", "is_latest"]].values.tolist()
    [['j1', 1, False], ['j2', 2, True]]
    """
    frames.validate(scores, "scores")
    z = z_value(confidence)
    ctx = Issues()
    s = scores[scores["completed_at"].notna()]
    if task is not None:
        s = s[s["task"].isin([task] if isinstance(task, str) else list(task))]
    if models is not None:
        check_models(scores, models)
        s = s[s["model"].isin(list(models))]
    bad = s[~s["usable"].astype(bool)]
    for _, r in bad.iterrows():
        ctx.add(f"{r['job']}/{r['task']}", "warning",
                f"{r['task']} {r['metric']},{r['filter']} of job {r['job']} is not usable "
                f"(value {r['value']!r}); left out of the trend", "trend")
    s = s[s["usable"].astype(bool)]
    parts = []
    for t, g in s.groupby("task", sort=True):
        if all_metrics:
            parts.append(g)
            continue
        avail = list(dict.fromkeys(zip(g["metric"], g["filter"], strict=True)))
        m, f, _ = headline_of(str(t), avail, headline)
        if m is None:
            continue
        parts.append(g[(g["metric"] == m) & (g["filter"] == f)])
    cols = ["model", "task", "metric", "filter", "job", "completed_at", "created_at", "value",
            "stderr", "n", "limit", "num_fewshot", "ci_low", "ci_high", "run", "n_runs",
            "is_latest"]
    if not parts:
        out = pd.DataFrame(columns=cols)
    else:
        out = pd.concat(parts, ignore_index=True)
        out = out.drop_duplicates(["model", "task", "metric", "filter", "job"], keep="last")
        out = out.sort_values(["model", "task", "metric", "filter", "completed_at",
                               "created_at", "job"], kind="mergesort").reset_index(drop=True)
        out["ci_low"] = out["value"] - z * out["stderr"]
        out["ci_high"] = out["value"] + z * out["stderr"]
        key = ["model", "task", "metric", "filter"]
        out["run"] = out.groupby(key).cumcount() + 1
        out["n_runs"] = out.groupby(key)["job"].transform("size")
        out["is_latest"] = out["run"] == out["n_runs"]
        out = out[cols]
    return Trend(frame=out, issues=ctx.frame())
