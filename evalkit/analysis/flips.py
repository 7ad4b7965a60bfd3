"""Which documents flipped between the baseline and the candidate; gsm8k's ``[invalid]``
answer rates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..core import frames
from ..core.errors import UnknownModelError
from ..core.result import Result
from .base import Issues, as_list, headline_of, latest_jobs


@dataclass(repr=False)
class Flips(Result):
    """What :func:`flips` returns: one row per flipped document, plus invalid-answer rates."""

    frame: pd.DataFrame
    invalid_rates: pd.DataFrame = field(default_factory=pd.DataFrame)
    baseline: str = ""
    candidates: list[str] = field(default_factory=list)
    _frames = ("frame", "invalid_rates")

    def counts(self) -> pd.DataFrame:
        """Flipped documents per task, metric, filter and direction."""
        if self.frame.empty:
            return pd.DataFrame(columns=["candidate_model", "task", "metric", "filter", "change",
                                         "documents"])
        return (self.frame.groupby(["candidate_model", "task", "metric", "filter", "change"])
                .size().rename("documents").reset_index())


def _sample_jobs(samples: pd.DataFrame, model: str, task: str, latest: pd.DataFrame | None,
                 ctx: Issues) -> str | None:
    """The job whose samples are compared: the scores' compared run (``latest``, from
    :func:`latest_jobs`) when scores were given, else the last job name."""
    if latest is not None:
        j = latest[(latest["model"] == model) & (latest["task"] == task)]["job"]
        return str(j.iloc[0]) if len(j) else None
    jobs = sorted(samples.loc[(samples["model"] == model) & (samples["task"] == task),
                              "job"].unique())
    if not jobs:
        return None
    if len(jobs) > 1:
        ctx.add(f"{model}/{task}", "warning",
                f"{model} has samples of {task} from {len(jobs)} jobs ({', '.join(jobs)}); "
                f"using {jobs[-1]} (pass scores= to use the latest completed run)", "flips")
    return str(jobs[-1])


def invalid_rates(samples: pd.DataFrame, models: Sequence[str] | None = None, *,
                  task: str | None = None) -> pd.DataFrame:
    """Share of answers gsm8k's extractor could not parse (``response == "[invalid]"``).

    One row per (model, job, task, filter) with ``n`` (documents), ``invalid`` and ``rate``.
    Only tasks with at least one ``[invalid]`` response in some run are listed, unless ``task``
    names one.

    >>> s = frames.conform("samples", [
    ...     {"model": "m", "job": "j", "task": "gsm8k", "doc_id": i, "filter": "strict-match",
    ...      "metric": "exact_match", "value": 0.0, "response": r}
    ...     for i, r in enumerate(["[invalid]", "42", "[invalid]", "7"])])
    >>> invalid_rates(s)[["model", "n", "invalid", "rate"]].values.tolist()
    [['m', 4, 2, 0.5]]
    """
    frames.validate(samples, "samples")
    s = samples
    if models is not None:
        s = s[s["model"].isin(list(models))]
    if task is not None:
        s = s[s["task"] == task]
    else:
        has = s.loc[s["response"].astype(str) == "[invalid]", "task"].unique()
        s = s[s["task"].isin(has)]
    s = s.drop_duplicates(["job", "task", "filter", "doc_id"])
    g = s.assign(_inv=(s["response"].astype(str) == "[invalid]")).groupby(
        ["model", "job", "task", "filter"], sort=True)
    out = g.agg(n=("doc_id", "size"), invalid=("_inv", "sum")).reset_index()
    out["n"] = out["n"].astype("int64")
    out["invalid"] = out["invalid"].astype("int64")
    out["rate"] = out["invalid"] / out["n"]
    return out


def flips(samples: pd.DataFrame, baseline: str, candidates: str | Sequence[str], *,
          task: str | None = None,
          filter: str | None = None, metric: str | None = None,
          scores: pd.DataFrame | None = None, threshold: float = 0.5,
          headline: dict | None = None) -> Flips:
    """The documents whose outcome changed between the baseline and the candidate.

    Documents are paired on (task, doc_id, filter) for one metric per task (the headline metric
    unless ``metric``/``filter`` are given) within the latest run of each model (from ``scores``
    when given, else the last job name). For 0/1 outcomes a flip is any change; for continuous
    outcomes (truthfulqa_mc2) a flip is crossing ``threshold`` (0.5: the majority of the
    probability mass moved between true and false answers).

    Returns one row per flipped document: ``task``, ``metric``, ``filter``, ``doc_id``,
    ``baseline_value``, ``candidate_value``, ``delta``, ``change`` ("lost": the candidate got it
    wrong, "gained"), ``target``, ``baseline_response``, ``candidate_response``, ``doc_hash``,
    ``prompt_differs`` — as ``.frame`` of a :class:`Flips`, whose ``.invalid_rates`` holds
    :func:`invalid_rates` for the two models and ``.issues`` the data issues (unmatched docs,
    hash mismatches).

    >>> s = frames.conform("samples", [
    ...     {"model": m, "job": m, "task": "arc_easy", "doc_id": i, "filter": "none",
    ...      "metric": "acc_norm", "value": v, "target": "A"}
    ...     for m, vals in (("fp16", [1, 1, 0]), ("w4", [1, 0, 1])) for i, v in enumerate(vals)])
    >>> flips(s, "fp16", "w4", metric="acc_norm", filter="none").frame[["doc_id", "change"]].values.tolist()
    [[1, 'lost'], [2, 'gained']]
    """
    frames.validate(samples, "samples")
    ctx = Issues()
    cands = as_list(candidates)
    got = [_one(samples, baseline, c, task=task, filter=filter, metric=metric, scores=scores,
                threshold=threshold, headline=headline, ctx=ctx) for c in cands]
    rates = pd.concat([r for _, r in got], ignore_index=True).drop_duplicates(
        ["model", "job", "task", "filter"]).reset_index(drop=True)
    return Flips(frame=pd.concat([f for f, _ in got], ignore_index=True), invalid_rates=rates,
                 baseline=baseline, candidates=cands, issues=ctx.frame())


def _one(samples: pd.DataFrame, baseline: str, candidate: str, *, task: str | None,
         filter: str | None, metric: str | None, scores: pd.DataFrame | None,
         threshold: float, headline: dict | None,
         ctx: Issues) -> tuple[pd.DataFrame, pd.DataFrame]:
    present = sorted({str(m) for m in samples["model"].dropna().unique()})
    for name in (baseline, candidate):
        if name not in present:
            raise UnknownModelError(f"model {name!r} has no samples; models with samples: "
                                    f"{', '.join(present) if present else '(none)'}")
    tasks = [task] if task is not None else sorted(samples["task"].unique())
    latest = latest_jobs(scores, baseline) if scores is not None else None
    parts: list[pd.DataFrame] = []
    used: list[pd.DataFrame] = []  # the sample rows of the runs compared (for invalid rates)
    for t in tasks:
        jb = _sample_jobs(samples, baseline, t, latest, ctx)
        jc = _sample_jobs(samples, candidate, t, latest, ctx)
        if jb is None or jc is None:
            ctx.add(t, "info", f"{t}: samples for one model only; no flips", "flips")
            continue
        sb = samples[(samples["model"] == baseline) & (samples["job"] == jb)
                     & (samples["task"] == t)]
        sc = samples[(samples["model"] == candidate) & (samples["job"] == jc)
                     & (samples["task"] == t)]
        used.extend([sb, sc])
        m, f = metric, filter
        if m is None or f is None:
            avail = list(dict.fromkeys(zip(sb["metric"], sb["filter"], strict=True)))
            avail = [k for k in avail if k in set(zip(sc["metric"], sc["filter"], strict=True))]
            if m is not None:
                avail = [k for k in avail if k[0] == m]
            if f is not None:
                avail = [k for k in avail if k[1] == f]
            if not avail:
                continue
            hm, hf, _ = headline_of(t, avail, headline)
            m = m if m is not None else hm
            f = f if f is not None else hf
        keep = ["doc_id", "value", "doc_hash", "prompt_hash", "target", "response"]
        xb = sb[(sb["metric"] == m) & (sb["filter"] == f)][keep].drop_duplicates(
            "doc_id", keep="last")
        xc = sc[(sc["metric"] == m) & (sc["filter"] == f)][keep].drop_duplicates(
            "doc_id", keep="last")
        if xb.empty or xc.empty:
            continue
        mm = xb.merge(xc, on="doc_id", how="inner", suffixes=("_b", "_c"))
        n_unm = len(xb) + len(xc) - 2 * len(mm)
        if n_unm:
            ctx.add(f"{t}/{f}", "warning", f"{t} ({f}): {n_unm} document(s) present for one "
                    "model only; not compared", "flips")
        hb, hc = mm["doc_hash_b"], mm["doc_hash_c"]
        bad = hb.notna() & hc.notna() & (hb.astype(str) != hc.astype(str))
        if bad.any():
            ctx.add(f"{t}/{f}", "warning", f"{t} ({f}): {int(bad.sum())} document(s) with a "
                    "different doc_hash; not compared", "flips")
        mm = mm[~bad]
        vb, vc = mm["value_b"].to_numpy(float), mm["value_c"].to_numpy(float)
        binary = np.isin(vb, (0.0, 1.0)).all() and np.isin(vc, (0.0, 1.0)).all()
        if binary:
            changed = vb != vc
            lost = vb > vc
        else:
            changed = (vb >= threshold) != (vc >= threshold)
            lost = vb >= threshold
        mm = mm[changed]
        lost = lost[changed]
        pb, pc = mm["prompt_hash_b"], mm["prompt_hash_c"]
        part = pd.DataFrame({
            "task": t, "metric": m, "filter": f, "doc_id": mm["doc_id"].to_numpy(),
            "baseline_value": mm["value_b"].to_numpy(float),
            "candidate_value": mm["value_c"].to_numpy(float),
            "delta": (mm["value_c"] - mm["value_b"]).to_numpy(float),
            "change": np.where(lost, "lost", "gained"),
            "target": mm["target_b"].where(mm["target_b"].notna(), mm["target_c"]).to_numpy(),
            "baseline_response": mm["response_b"].to_numpy(),
            "candidate_response": mm["response_c"].to_numpy(),
            "doc_hash": mm["doc_hash_b"].to_numpy(),
            "prompt_differs": (pb.notna() & pc.notna() & (pb.astype(str) != pc.astype(str)))
            .to_numpy(bool),
        })
        parts.append(part)
    cols = ["task", "metric", "filter", "doc_id", "baseline_value", "candidate_value", "delta",
            "change", "target", "baseline_response", "candidate_response", "doc_hash",
            "prompt_differs"]
    out = (pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols))[cols]
    out = out.sort_values(["task", "filter", "doc_id"], kind="mergesort").reset_index(drop=True)
    used_rows = pd.concat(used, ignore_index=True) if used else samples.iloc[:0]
    rates = invalid_rates(used_rows, [baseline, candidate], task=task)
    out.insert(0, "candidate_model", candidate)
    return out, rates
