"""What gets compared: the latest run per model and task, the metric pairs of two models,
and their per-sample outcomes matched document by document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core import frames
from .base import Issues, headline_of, is_nan, latest_jobs

_SRC = "compare"

#: Document counts of the evaluated split, used to flag an ``n_needed`` no run could reach.
#: A ``n_docs`` (or ``n_original``) column in ``scores`` takes precedence.
TASK_DOCS: dict[str, int] = {
    "arc_easy": 2376,
    "arc_challenge": 1172,
    "hellaswag": 10042,
    "gsm8k": 1319,
    "truthfulqa_mc1": 817,
    "truthfulqa_mc2": 817,
    "winogrande": 1267,
    "mmlu": 14042,
}


@dataclass
class Pair:
    task: str
    metric: str
    filter: str
    b: pd.Series
    c: pd.Series
    is_group: bool
    headline_note: str = ""


@dataclass
class Match:
    xb: np.ndarray
    xc: np.ndarray
    n_unmatched: int = 0
    n_hash_mismatch: int = 0
    n_prompt_mismatch: int = 0
    note: str = ""


def model_rows(scores: pd.DataFrame, latest: pd.DataFrame, model: str) -> pd.DataFrame:
    jobs = latest[latest["model"] == model][["task", "job"]]
    rows = scores[scores["model"] == model].merge(jobs, on=["task", "job"], how="inner")
    return rows


def select_pairs(scores: pd.DataFrame, baseline: str, candidate: str, *, all_metrics: bool,
                  headline: dict | None, ctx: Issues, tasks: Sequence[str] | None = None,
                  src: str = _SRC) -> list[Pair]:
    latest = latest_jobs(scores, baseline)
    rb = model_rows(scores, latest, baseline)
    rc = model_rows(scores, latest, candidate)
    for who, frame_ in (("baseline", rb), ("candidate", rc)):
        dup = frame_.duplicated(["task", "metric", "filter"], keep="last")
        for _, r in frame_[dup].iterrows():
            ctx.add(f"{r['job']}/{r['task']}", "warning",
                    f"{who} job {r['job']} reports {r['task']} {r['metric']},{r['filter']} more "
                    "than once; the last row is used", src)
    rb = rb.drop_duplicates(["task", "metric", "filter"], keep="last")
    rc = rc.drop_duplicates(["task", "metric", "filter"], keep="last")
    all_tasks = sorted(set(rb["task"]) | set(rc["task"]))
    if tasks is not None:
        all_tasks = [t for t in tasks]
    pairs: list[Pair] = []
    for task in all_tasks:
        tb, tc = rb[rb["task"] == task], rc[rc["task"] == task]
        if tb.empty or tc.empty:
            if tb.empty and tc.empty:
                ctx.add(task, "warning", f"{task}: no results for either model; not compared", src)
                continue
            have, who, job = ((baseline, "baseline", tb["job"].iloc[0]) if tc.empty
                              else (candidate, "candidate", tc["job"].iloc[0]))
            ctx.add(task, "warning",
                    f"{task}: results for the {who} {have!r} only (job {job}); not compared", src)
            continue
        for who, t in (("baseline", tb), ("candidate", tc)):
            for _, r in t[~t["usable"].astype(bool)].iterrows():
                ctx.add(f"{r['job']}/{task}", "warning",
                        f"{task} {r['metric']},{r['filter']} of the {who} (job {r['job']}) is "
                        f"not usable (value {r['value']!r}); kept out of the comparison", src)
        ub, uc = tb[tb["usable"].astype(bool)], tc[tc["usable"].astype(bool)]
        keys_c = set(zip(uc["metric"], uc["filter"], strict=True))
        common = [k for k in zip(ub["metric"], ub["filter"], strict=True) if k in keys_c]
        if all_metrics:
            chosen = [(m, f, "") for m, f in common]
            one_side = (set(zip(ub["metric"], ub["filter"], strict=True)) ^ keys_c)
            for m, f in sorted(one_side):
                ctx.add(task, "info", f"{task} {m},{f} is reported for one model only", src)
        else:
            if not common:
                ctx.add(task, "warning",
                        f"{task}: no usable metric reported by both models; not compared", src)
                continue
            m, f, note = headline_of(task, list(common), headline)
            if m is None or (m, f) not in common:
                ctx.add(task, "warning",
                        note or f"{task}: headline metric {m},{f} not reported by both models",
                        src)
                continue
            chosen = [(m, f, note)]
        for m, f, note in chosen:
            b = ub[(ub["metric"] == m) & (ub["filter"] == f)].iloc[0]
            c = uc[(uc["metric"] == m) & (uc["filter"] == f)].iloc[0]
            pairs.append(Pair(task, m, f, b, c, bool(b["is_group"] or c["is_group"]), note))
    return pairs


def ancestors(task: str, group_of: dict[str, str]) -> list[str]:
    """The groups ``task`` belongs to, innermost first (nested groups: mmlu_anatomy →
    mmlu_stem → mmlu)."""
    out, seen = [], {task}
    parent = group_of.get(task)
    while parent is not None and parent not in seen:
        out.append(parent)
        seen.add(parent)
        parent = group_of.get(parent)
    return out


def group_map(scores: pd.DataFrame) -> dict[str, str]:
    """``{task: its lm-eval group}`` from the ``group`` column of ``scores``."""
    if "group" not in scores.columns:
        return {}
    g = scores[["task", "group"]].dropna().drop_duplicates("task")
    return {str(t): str(p) for t, p in zip(g["task"], g["group"], strict=True)}


def top_level(pairs: list[Pair], scores: pd.DataFrame) -> list[Pair]:
    """The pairs a headline table and recovery count, as model cards do: a task that belongs
    to a group compared here (its own score present for both models) is left out — the group
    counts once."""
    group_of = group_map(scores)
    present = {p.task for p in pairs if p.is_group}
    return [p for p in pairs if not any(g in present for g in ancestors(p.task, group_of))]


def subtasks_of(group: str, scores: pd.DataFrame) -> list[str]:
    """The leaf tasks under ``group`` (nested groups followed)."""
    group_of = group_map(scores)
    groups = set(group_of.values())
    return sorted(t for t in group_of if t not in groups and group in ancestors(t, group_of))


def samples_index(samples: pd.DataFrame | None,
                   jobs: set[str]) -> dict[tuple[str, str, str, str, str], pd.DataFrame]:
    if samples is None or len(samples) == 0:
        return {}
    frames.validate(samples, "samples")
    s = samples[samples["job"].isin(jobs)]
    cols = ["doc_id", "value", "doc_hash", "prompt_hash"]
    keys = ["model", "job", "task", "filter", "metric"]
    return {k: g[cols] for k, g in s.groupby(keys, sort=False)}


def pair_samples(index: dict, p: Pair, ctx: Issues, src: str = _SRC) -> tuple[Match | None, str]:
    """Pair per-sample outcomes of the two runs on (task, doc_id, filter) for one metric.

    Returns ``(match, why)``: ``match`` is None when a run has no samples of this metric (``why``
    says which), and may hold zero pairs (then ``why`` says so and ``n_unmatched`` counts every
    document that did not pair, NaN values included)."""
    if not index:
        return None, ""
    kb = (p.b["model"], p.b["job"], p.task, p.filter, p.metric)
    kc = (p.c["model"], p.c["job"], p.task, p.filter, p.metric)
    sb, sc = index.get(kb), index.get(kc)
    if sb is None or sc is None:
        if sb is None and sc is None:
            return None, ""
        missing = "baseline" if sb is None else "candidate"
        job = p.b["job"] if sb is None else p.c["job"]
        msg = (f"no per-sample outcomes for the {missing} run (job {job}) of {p.task} "
               f"{p.metric},{p.filter}: compared unpaired")
        ctx.add(f"{job}/{p.task}", "info", msg, src)
        return None, msg
    obj = f"{p.task}/{p.filter}"
    for who, s, job in (("baseline", sb, p.b["job"]), ("candidate", sc, p.c["job"])):
        dups = int(s["doc_id"].duplicated().sum())
        if dups:
            ctx.add(obj, "warning", f"{who} job {job}: {dups} repeated doc_id row(s) in the "
                    f"samples of {p.task} {p.metric},{p.filter}; the last is used", src)
    sb = sb.drop_duplicates("doc_id", keep="last")
    sc = sc.drop_duplicates("doc_id", keep="last")
    m = sb.merge(sc, on="doc_id", how="outer", suffixes=("_b", "_c"), indicator=True)
    only_b = m.loc[m["_merge"] == "left_only", "doc_id"]
    only_c = m.loc[m["_merge"] == "right_only", "doc_id"]
    both = m[m["_merge"] == "both"]
    for who, ids in (("baseline", only_b), ("candidate", only_c)):
        if len(ids):
            ex = ", ".join(str(int(i)) for i in sorted(ids)[:5])
            ctx.add(obj, "warning",
                    f"{p.task} ({p.filter}): {len(ids)} document(s) present for the {who} only "
                    f"(doc_id {ex}{', ...' if len(ids) > 5 else ''}); dropped from the paired "
                    "analysis", src)
    hb, hc = both["doc_hash_b"], both["doc_hash_c"]
    bad = (hb.notna() & hc.notna() & (hb.astype(str) != hc.astype(str))).to_numpy()
    if bad.any():
        ex = ", ".join(str(int(i)) for i in sorted(both.loc[bad, "doc_id"])[:5])
        ctx.add(obj, "warning",
                f"{p.task} ({p.filter}): {int(bad.sum())} document(s) with the same doc_id but "
                f"a different doc_hash (doc_id {ex}); dropped from the paired analysis", src)
    pb, pc = both["prompt_hash_b"], both["prompt_hash_c"]
    pdiff = (pb.notna() & pc.notna() & (pb.astype(str) != pc.astype(str))).to_numpy()
    kept = both[~bad]
    n_prompt = int(pdiff[~bad].sum())
    if n_prompt:
        ctx.add(obj, "warning",
                f"{p.task} ({p.filter}): {n_prompt} paired document(s) were asked with a "
                "different prompt (prompt_hash differs: few-shot examples or chat template); "
                "kept, but the models did not see the same input", src)
    vb, vc = kept["value_b"].to_numpy(float), kept["value_c"].to_numpy(float)
    fin = np.isfinite(vb) & np.isfinite(vc)
    n_nan = int((~fin).sum())
    if n_nan:
        ctx.add(obj, "warning", f"{p.task} ({p.filter}): {n_nan} paired document(s) without a "
                "finite value; dropped (counted as unmatched)", src)
        vb, vc = vb[fin], vc[fin]
    res = Match(vb, vc, n_unmatched=len(only_b) + len(only_c) + n_nan,
                n_hash_mismatch=int(bad.sum()), n_prompt_mismatch=n_prompt)
    if vb.size == 0:
        msg = (f"no documents of {p.task} ({p.filter}) pair up between the runs "
               f"({res.n_unmatched} unmatched): compared unpaired")
        ctx.add(obj, "warning", msg, src)
        res.note = msg
    return res, res.note


def is_binary(m: Match) -> bool:
    return bool(np.isin(m.xb, (0.0, 1.0)).all() and np.isin(m.xc, (0.0, 1.0)).all())


def n_docs(p: Pair) -> float:
    for col in ("n_docs", "n_original"):
        if col in p.b.index and not is_nan(p.b[col]):
            return float(p.b[col])
    if p.task in TASK_DOCS:
        return float(TASK_DOCS[p.task])
    if is_nan(p.b["limit"]) and not is_nan(p.b["n"]):
        return float(p.b["n"])  # the whole task was evaluated
    return float("nan")
