"""Are the two runs comparable? The lm-eval settings that change scores, side by side.

>>> from evalkit.core import frames
>>> runs = frames.conform("runs", [
...     {"model": "fp16", "job": "a", "task": "gsm8k", "num_fewshot": 5, "limit": 100},
...     {"model": "w4", "job": "b", "task": "gsm8k", "num_fewshot": 8, "limit": 100}])
>>> t = comparability(runs, baseline="fp16", candidates="w4")
>>> t.frame.loc[~t.frame["same"], "setting"].tolist()
['num_fewshot']
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..core import frames
from ..core.errors import UnknownModelError
from ..core.result import Result
from .base import Issues, as_list, check_models, is_nan, latest_jobs
from .selection import Pair, subtasks_of

#: Run settings (columns of the ``runs`` frame) that change scores when they differ;
#: value: what the difference means.
SCORE_SETTINGS: dict[str, str] = {
    "task_version": "task version",
    "task_hash": "task definition (task_hashes)",
    "num_fewshot": "number of few-shot examples",
    "limit": "document limit",
    "chat_template_sha": "chat template",
    "fewshot_as_multiturn": "few-shot as multi-turn",
    "system_instruction_sha": "system instruction",
    "gen_kwargs": "generation settings (gen_kwargs)",
}
#: Settings shown side by side but not held against comparability: a quantized twin has other
#: model arguments by design, and usually ships its own copy of the same tokenizer; the lm-eval
#: version alone does not change a task whose hash is unchanged.
INFO_SETTINGS: dict[str, str] = {
    "lm_eval_version": "lm-eval version",
    "tokenizer": "tokenizer",
    "model_args": "model arguments",
}


def norm_setting(v: Any) -> Any:
    if is_nan(v):
        return None
    if isinstance(v, dict | list):
        return json.dumps(v, sort_keys=True)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str):
        s = v.strip()
        if s[:1] in "{[":
            try:
                return json.dumps(json.loads(s), sort_keys=True)
            except ValueError:
                return s
        return s
    return v


def runs_row(runs: pd.DataFrame, job: str, task: str) -> pd.Series | None:
    r = runs[(runs["job"] == job) & (runs["task"] == task)]
    if r.empty:
        return None
    return r.sort_values("completed_at", na_position="first").iloc[-1]


def settings_diff(rb: pd.Series, rc: pd.Series) -> tuple[list[dict[str, Any]], list[str]]:
    rows, differing = [], []
    for col, label in {**SCORE_SETTINGS, **INFO_SETTINGS}.items():
        vb = rb[col] if col in rb.index else None
        vc = rc[col] if col in rc.index else None
        same = norm_setting(vb) == norm_setting(vc)
        changes = col in SCORE_SETTINGS
        rows.append({"setting": col, "label": label, "baseline": vb, "candidate": vc,
                     "same": same, "changes_scores": changes})
        if not same and changes:
            differing.append(f"{label}: {show_setting(vb)} vs {show_setting(vc)}")
    return rows, differing


def show_setting(v: Any) -> str:
    if is_nan(v):
        return "unset"
    s = str(v)
    return s if len(s) <= 40 else s[:37] + "..."


def compare_runs(runs: pd.DataFrame | None, p: Pair,
                 scores: pd.DataFrame | None = None) -> tuple[Any, str]:
    """(comparable, note) for one pair of runs. A group row (mmlu) has no settings of its own:
    it is comparable when every subtask both jobs ran is (differences are named with the
    number of subtasks they affect)."""
    diffs: list[str] = []
    for col, label in (("num_fewshot", "number of few-shot examples"),
                       ("limit", "document limit")):
        if norm_setting(p.b[col]) != norm_setting(p.c[col]):
            diffs.append(f"{label}: {show_setting(p.b[col])} vs {show_setting(p.c[col])}")
    if runs is None:
        if diffs:
            return False, "differs in " + "; ".join(diffs)
        return pd.NA, "no run metadata given (runs=None): only n-shot and limit checked"
    rb, rc = runs_row(runs, p.b["job"], p.task), runs_row(runs, p.c["job"], p.task)
    if (rb is None or rc is None) and p.is_group and scores is not None:
        return _compare_group(runs, p, scores, diffs)
    if rb is None or rc is None:
        miss = [j for j, r in ((p.b["job"], rb), (p.c["job"], rc)) if r is None]
        note = f"no run metadata for job(s) {', '.join(miss)}"
        if diffs:
            return False, "differs in " + "; ".join(diffs) + f"; {note}"
        return pd.NA, note + ": only n-shot and limit checked"
    _, more = settings_diff(rb, rc)
    for d in more:
        if d.split(":")[0] not in {x.split(":")[0] for x in diffs}:
            diffs.append(d)
    if diffs:
        return False, "differs in " + "; ".join(diffs)
    return True, ""


def _compare_group(runs: pd.DataFrame, p: Pair, scores: pd.DataFrame,
                   diffs: list[str]) -> tuple[Any, str]:
    subs = subtasks_of(p.task, scores)
    counts: dict[str, int] = {}
    checked = 0
    for sub in subs:
        rb, rc = runs_row(runs, p.b["job"], sub), runs_row(runs, p.c["job"], sub)
        if rb is None or rc is None:
            continue
        checked += 1
        for d in settings_diff(rb, rc)[1]:
            counts[d] = counts.get(d, 0) + 1
    if not checked:
        note = f"group {p.task}: no run metadata for its subtasks"
        return (False, "differs in " + "; ".join(diffs) + f"; {note}") if diffs else (
            pd.NA, note + ": only n-shot and limit checked")
    found = diffs + [f"{d} (in {k} of {checked} subtasks)" for d, k in counts.items()]
    if found:
        return False, "differs in " + "; ".join(found)
    return True, f"group: settings of its {checked} subtasks, all the same"


@dataclass(repr=False)
class Comparability(Result):
    """The settings of the two runs side by side: one row per (task, setting) in ``frame``."""

    frame: pd.DataFrame
    baseline: str = ""
    candidates: list[str] = field(default_factory=list)
    _frames = ("frame",)


def comparability(runs: pd.DataFrame, baseline: str, candidates: str | Sequence[str], *,
                  task: str | Sequence[str] | None = None,
                  scores: pd.DataFrame | None = None) -> Comparability:
    """The lm-eval settings of the baseline and candidate runs side by side, per task.

    One row per (task, setting) with ``task``, ``setting``, ``label``, ``baseline``,
    ``candidate``, ``same``, ``changes_scores``, ``baseline_job``, ``candidate_job``,
    ``baseline_model``, ``candidate_model``.
    Settings in :data:`SCORE_SETTINGS` change scores: when one differs the runs are not
    comparable (``compare``'s ``comparable`` is False and names it). :data:`INFO_SETTINGS`
    (lm-eval version, tokenizer, model arguments) are shown but not held against comparability.
    The runs used are those :func:`compare` uses when ``scores`` is given (latest completed run
    per model and task), else the latest per model and task in ``runs``. A task run by one model
    only is listed in ``.issues``.

    Examples
    --------
    >>> runs = frames.conform("runs", [
    ...     {"model": "fp16", "job": "a", "task": "gsm8k", "num_fewshot": 5, "limit": 100},
    ...     {"model": "w4", "job": "b", "task": "gsm8k", "num_fewshot": 8, "limit": 100}])
    >>> t = comparability(runs, baseline="fp16", candidates="w4").frame
    >>> t.loc[~t["same"], "setting"].tolist()
    ['num_fewshot']
    """
    frames.validate(runs, "runs")
    ctx = Issues()
    cands = as_list(candidates)
    parts = [_one(runs, baseline, c, task=task, scores=scores, ctx=ctx) for c in cands]
    return Comparability(frame=pd.concat(parts, ignore_index=True), baseline=baseline,
                         candidates=cands, issues=ctx.frame())


def _one(runs: pd.DataFrame, baseline: str, candidate: str, *, task: Any,
         scores: pd.DataFrame | None, ctx: Issues) -> pd.DataFrame:
    if scores is not None:
        frames.validate(scores, "scores")
        check_models(scores, [baseline, candidate])
        latest = latest_jobs(scores, baseline)[["model", "task", "job"]]
    else:
        present = sorted({str(m) for m in runs["model"].dropna().unique()})
        for name in (baseline, candidate):
            if name not in present:
                raise UnknownModelError(f"model {name!r} is not in the runs; models present: "
                                        f"{', '.join(present) if present else '(none)'}")
        r = runs.assign(created_at=pd.NaT)
        latest = latest_jobs(r)[["model", "task", "job"]]
    tasks = [task] if isinstance(task, str) else (list(task) if task is not None else None)
    jb = latest[latest["model"] == baseline].set_index("task")["job"]
    jc = latest[latest["model"] == candidate].set_index("task")["job"]
    names = tasks if tasks is not None else sorted(set(jb.index) | set(jc.index))
    groups = set(scores.loc[scores["is_group"].astype(bool), "task"]) if scores is not None \
        else set()
    out: list[dict[str, Any]] = []
    for t in names:
        if t in groups:
            continue  # a group's settings are its subtasks' (listed under their own names)
        if t not in jb.index or t not in jc.index:
            ctx.add(t, "warning", f"{t}: run by one model only; nothing to compare",
                    "comparability")
            continue
        rb, rc = runs_row(runs, jb[t], t), runs_row(runs, jc[t], t)
        if rb is None or rc is None:
            ctx.add(t, "warning", f"{t}: no run metadata for job {jb[t] if rb is None else jc[t]}",
                    "comparability")
            continue
        rows, _ = settings_diff(rb, rc)
        for r in rows:
            out.append({"task": t, **r, "baseline_job": jb[t], "candidate_job": jc[t],
                        "baseline_model": baseline, "candidate_model": candidate})
    cols = ["task", "setting", "label", "baseline", "candidate", "same", "changes_scores",
            "baseline_job", "candidate_job", "baseline_model", "candidate_model"]
    res = pd.DataFrame(out, columns=cols)
    res["same"] = res["same"].astype(bool)
    res["changes_scores"] = res["changes_scores"].astype(bool)
    return res
