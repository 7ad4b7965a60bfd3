"""Compare a candidate (or several) with a baseline, task by task, with honest uncertainty."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..core import frames
from ..core.result import Result
from ..lmeval.metrics import higher_is_better, is_proportion
from .base import Issues, as_list, check_margin, check_models, is_nan, latest_jobs, z_value
from .comparability import compare_runs
from .selection import (
    Pair,
    is_binary,
    n_docs,
    pair_samples,
    samples_index,
    select_pairs,
    top_level,
)
from .stats import (
    METHOD_PAIRED_BINARY,
    METHOD_PAIRED_CONTINUOUS,
    METHOD_PAIRED_RELATIVE,
    METHOD_UNPAIRED,
    METHOD_UNPAIRED_RELATIVE,
    Z80,
    n_needed,
    paired_binary_stats,
    paired_continuous_stats,
    relative_stats,
    unpaired_stats,
    verdict_rule,
)
from .verdicts import LIMIT_NOTE, verdict_text

#: Columns of :func:`compare`'s result, in order.
COMPARE_COLUMNS: list[str] = [
    "task", "metric", "filter", "is_group", "baseline_model", "candidate_model",
    "direction", "scale", "baseline", "candidate", "delta", "relative_delta",
    "baseline_stderr", "candidate_stderr", "baseline_job", "candidate_job",
    "baseline_n", "candidate_n", "limit", "n", "method", "estimate", "estimate_source",
    "paired_delta", "ci_centre", "se", "ci_low", "ci_high", "p_value", "significant",
    "mde", "n_needed", "n_needed_note", "n_docs", "verdict", "verdict_text",
    "comparable", "comparability_note", "headline_note", "method_note",
    "n_lost", "n_gained", "n_unmatched", "n_hash_mismatch", "n_prompt_mismatch",
    "margin", "confidence",
]
#: a reported score and the mean of its own samples may differ by rounding only
SAMPLES_TOLERANCE = 5e-4


@dataclass(repr=False)
class Comparison(Result):
    """What :func:`compare` returns: one row per task (and candidate) in ``frame`` (columns
    :data:`COMPARE_COLUMNS`), the data issues met, and the settings used."""

    frame: pd.DataFrame
    margin: float = 0.02
    confidence: float = 0.95
    limit_note: str = LIMIT_NOTE
    _frames = ("frame",)

    def describe(self) -> str:
        v = ", ".join(f"{r.task}: {r.verdict}" for r in self.frame.itertuples())
        return f"[{v}]" if v else ""

    def __len__(self) -> int:
        return len(self.frame)


def compare(scores: pd.DataFrame, baseline: str, candidates: str | Sequence[str], *,
            samples: pd.DataFrame | None = None, runs: pd.DataFrame | None = None,
            margin: float = 0.02, relative_margin: float = 0.02, margins: dict | None = None,
            confidence: float = 0.95, all_metrics: bool = False, headline: dict | None = None,
            direction: dict | None = None, tasks: str | Sequence[str] | None = "top",
            ) -> Comparison:
    """Compare a candidate (or several) with a baseline, task by task, with honest uncertainty.

    Parameters
    ----------
    scores : DataFrame
        The ``scores`` frame (:mod:`evalkit.core.frames`). When a model ran a task several times
        the latest completed run wins (``completed_at``, then ``created_at``, then job name).
        Rows with ``usable`` False never enter a comparison.
    baseline, candidates : str
        Model names; ``candidates`` is one name or a list (each is compared with the baseline,
        rows told apart by ``candidate_model``). An unknown name raises
        :class:`~evalkit.core.errors.UnknownModelError` listing the models present.
    samples : DataFrame, optional
        Per-sample outcomes. When both runs have them for a task and lm-eval aggregates the
        metric as a mean, the comparison is paired on (task, doc_id, filter); else unpaired
        from lm-eval's standard errors (corpus-level metrics such as bleu, mcc, f1 on GLUE,
        perplexity: their score is not a mean of per-sample values).
    runs : DataFrame, optional
        Per-run lm-eval metadata; fills ``comparable`` / ``comparability_note`` (group rows
        take their subtasks' settings).
    margin : float
        Non-inferiority margin for proportions (accuracy-like metrics in [0, 1]), on the native
        0–1 scale: 0.02 = 2 percentage points.
    relative_margin : float
        Margin for every other metric (perplexity, bleu, LLM-judge scores...), as a fraction
        of the baseline: 0.02 = 2 %.
    margins : dict, optional
        Per-metric margins in the metric's own scale, keyed by ``metric`` or ``(task, metric)``.
    confidence : float
        Interval level; α = 1 − confidence.
    all_metrics : bool
        One row per metric and filter reported by both models, instead of the headline metric.
    headline : dict, optional
        Overrides for the headline-metric table (``evalkit.lmeval.headline_metric``).
    direction : dict, optional
        Overrides of lm-eval's ``higher_is_better`` keyed by ``metric`` or ``(task, metric)``:
        ``"higher"``/``"lower"`` or a bool.
    tasks : ``"top"`` (default), ``"all"`` or a list of task names
        ``"top"`` counts an lm-eval group once, as model cards do: a group row (mmlu) stands for
        its subtasks, which are left out when the group's own score is there for both models.

    Returns
    -------
    Comparison
        ``.frame`` with columns :data:`COMPARE_COLUMNS`; ``.issues`` every data problem met.
        ``direction`` is "higher" or "lower" (is better); ``scale`` is "points" (proportions:
        ``estimate``, ``ci_low``, ``ci_high``, ``margin`` on the 0–1 scale of candidate −
        baseline) or "relative" (the same for (candidate − baseline)/|baseline|). ``delta`` is
        always candidate − baseline of the reported scores; ``estimate`` is what the method
        estimates and ``estimate_source`` says from what ("samples" or "reported").
        ``verdict`` is in the metric's direction and never contradicts the test beside it
        (:func:`evalkit.analysis.stats.verdict_rule`); ``verdict_text`` spells it out.

    Examples
    --------
    >>> s = frames.conform("scores", [
    ...     {"model": m, "job": m, "task": "arc_easy", "metric": "acc_norm", "filter": "none",
    ...      "value": v, "stderr": 0.04, "n": 100, "usable": True}
    ...     for m, v in (("fp16", 0.80), ("w4a16", 0.79))])
    >>> r = compare(s, baseline="fp16", candidates="w4a16").frame
    >>> float(round(r.loc[0, "delta"], 3)), r.loc[0, "verdict"], int(r.loc[0, "n_needed"])
    (-0.01, 'inconclusive', 25117)
    """
    frames.validate(scores, "scores")
    if runs is not None:
        frames.validate(runs, "runs")
    check_margin(margin)
    check_margin(relative_margin)
    z_value(confidence)
    cands = as_list(candidates)
    check_models(scores, [baseline, *cands])
    ctx = Issues()
    latest = latest_jobs(scores, baseline)
    jobs = set(latest.loc[latest["model"].isin([baseline, *cands]), "job"])
    index = samples_index(samples, jobs)
    settings = _Settings(margin, relative_margin, margins or {}, direction or {}, confidence)
    listed = list(tasks) if tasks is not None and not isinstance(tasks, str) else None
    rows: list[dict[str, Any]] = []
    for cand in cands:
        pairs = select_pairs(scores, baseline, cand, all_metrics=all_metrics,
                             headline=headline, ctx=ctx, tasks=listed)
        if tasks == "top" and not all_metrics:
            pairs = top_level(pairs, scores)
        for p in pairs:
            rows.append(_compare_pair(p, baseline, cand, index, runs, scores, settings, ctx))
    res = _dtypes(pd.DataFrame(rows, columns=COMPARE_COLUMNS))
    return Comparison(frame=res, margin=margin, confidence=confidence, issues=ctx.frame())


@dataclass
class _Settings:
    margin: float
    relative_margin: float
    margins: dict
    direction: dict
    confidence: float

    def margin_for(self, task: str, metric: str, scale: str) -> float:
        for key in ((task, metric), metric):
            if key in self.margins:
                return check_margin(float(self.margins[key]))
        return self.margin if scale == "points" else self.relative_margin


def _dtypes(res: pd.DataFrame) -> pd.DataFrame:
    for col in ("baseline", "candidate", "delta", "relative_delta", "baseline_stderr",
                "candidate_stderr", "limit", "estimate", "paired_delta", "ci_centre", "se",
                "ci_low", "ci_high", "p_value", "mde", "n_docs", "margin", "confidence"):
        res[col] = pd.to_numeric(res[col], errors="coerce").astype("float64")
    for col in ("baseline_n", "candidate_n", "n", "n_needed", "n_lost", "n_gained",
                "n_unmatched", "n_hash_mismatch", "n_prompt_mismatch"):
        res[col] = pd.to_numeric(res[col], errors="coerce").astype("Int64")
    res["significant"] = res["significant"].astype(bool)
    res["is_group"] = res["is_group"].astype(bool)
    res["comparable"] = res["comparable"].astype("boolean")
    return res


def _direction(p: Pair, s: _Settings) -> bool:
    reported = [v for v in (p.b.get("higher_is_better"), p.c.get("higher_is_better"))
                if isinstance(v, bool)]
    return higher_is_better(p.metric, reported[0] if reported else None, s.direction, p.task)


def _compare_pair(p: Pair, baseline: str, cand: str, index: dict, runs: pd.DataFrame | None,
                  scores: pd.DataFrame, s: _Settings, ctx: Issues) -> dict[str, Any]:
    vb, vc = float(p.b["value"]), float(p.c["value"])
    hib = _direction(p, s)
    match, why = pair_samples(index, p, ctx)
    paired = match is not None and match.xb.size > 0
    values = [vb, vc] + ([float(match.xb.min()), float(match.xb.max()), float(match.xc.min()),
                          float(match.xc.max())] if paired else [])
    scale = "points" if is_proportion(p.metric, values) else "relative"
    margin = s.margin_for(p.task, p.metric, scale)
    delta = vc - vb
    row: dict[str, Any] = {
        "task": p.task, "metric": p.metric, "filter": p.filter, "is_group": p.is_group,
        "baseline_model": baseline, "candidate_model": cand,
        "direction": "higher" if hib else "lower", "scale": scale,
        "baseline": vb, "candidate": vc, "delta": delta,
        "relative_delta": delta / abs(vb) if vb != 0 else float("nan"),
        "baseline_stderr": p.b["stderr"], "candidate_stderr": p.c["stderr"],
        "baseline_job": p.b["job"], "candidate_job": p.c["job"],
        "baseline_n": p.b["n"], "candidate_n": p.c["n"], "limit": p.b["limit"],
        "headline_note": p.headline_note, "margin": margin, "confidence": s.confidence,
        "n_docs": n_docs(p), "n_lost": pd.NA, "n_gained": pd.NA,
        "n_unmatched": match.n_unmatched if match is not None else pd.NA,
        "n_hash_mismatch": match.n_hash_mismatch if match is not None else pd.NA,
        "n_prompt_mismatch": match.n_prompt_mismatch if match is not None else pd.NA,
        "paired_delta": float("nan"),
    }
    agg = {str(x) for x in (p.b.get("aggregation"), p.c.get("aggregation")) if isinstance(x, str)}
    if paired and agg and agg != {"mean"}:
        why = (f"lm-eval aggregates {p.metric} as {', '.join(sorted(agg))}, not as a mean of "
               "per-sample values: compared from its reported stderr (unpaired)")
        paired = False
    if paired:
        assert match is not None
        why = _check_samples(p, match, vb, vc, ctx) or why
        _paired(row, match, scale, s.confidence)
    else:
        _unpaired(row, p, vb, vc, scale, s.confidence)
    row["method_note"] = "; ".join(x for x in (why, row.pop("note", "")) if x)
    improvement = row["estimate"] if hib else -row["estimate"]
    alpha = 1.0 - s.confidence
    p_val = row["p_value"]
    row["significant"] = bool(np.isfinite(p_val) and p_val < alpha)
    se = row["se"]
    row["mde"] = (z_value(s.confidence) + Z80) * se if np.isfinite(se) and se > 0 else float("nan")
    n_now = int(row["n"]) if not is_nan(row["n"]) else None
    row["n_needed"], row["n_needed_note"] = n_needed(
        improvement, margin, row.pop("sd"), s.confidence,
        t_method=row["method"] == METHOD_PAIRED_CONTINUOUS, n_now=n_now)
    docs = row["n_docs"]
    if not is_nan(row["n_needed"]) and not is_nan(docs) and row["n_needed"] > docs:
        row["n_needed_note"] += (f"; more than the task's {int(docs):,} documents, so even the "
                                 "full task would not resolve the margin")
    row["verdict"] = verdict_rule(row["ci_low"], row["ci_high"], margin, p_value=p_val,
                                  confidence=s.confidence, higher_is_better=hib)
    comparable, cnote = compare_runs(runs, p, scores)
    row["comparable"], row["comparability_note"] = comparable, cnote
    row["verdict_text"] = verdict_text(row)
    return row


def _check_samples(p: Pair, m: Any, vb: float, vc: float, ctx: Issues) -> str:
    """A reported score that disagrees with the mean of its own samples is a data issue; the
    comparison then uses the samples (the interval and the estimate come from them)."""
    notes = []
    for who, reported, x, job in (("baseline", vb, m.xb, p.b["job"]),
                                  ("candidate", vc, m.xc, p.c["job"])):
        mean = float(x.mean())
        if abs(mean - reported) > SAMPLES_TOLERANCE:
            msg = (f"{p.task} {p.metric},{p.filter}: the {who}'s reported score {reported:.4g} "
                   f"disagrees with the mean of its {x.size} paired samples ({mean:.4g}); the "
                   "comparison uses the samples")
            ctx.add(f"{job}/{p.task}", "warning", msg)
            notes.append(f"{who} reported {reported:.4g} vs samples {mean:.4g}")
    return ("reported score disagrees with its samples (" + "; ".join(notes) +
            "): estimate and interval from the samples") if notes else ""


def _paired(row: dict[str, Any], m: Any, scale: str, confidence: float) -> None:
    n = int(m.xb.size)
    row.update(n=n, estimate_source="samples")
    if scale == "relative":
        mb, mc = float(m.xb.mean()), float(m.xc.mean())
        vb_, vc_ = (float(m.xb.var(ddof=1)) / n, float(m.xc.var(ddof=1)) / n) if n > 1 else (
            float("nan"), float("nan"))
        cov = float(np.cov(m.xb, m.xc, ddof=1)[0, 1]) / n if n > 1 else float("nan")
        st = relative_stats(mb, mc, vb_, vc_, cov, confidence)
        row.update(method=METHOD_PAIRED_RELATIVE, estimate=st["estimate"], se=st["se"],
                   ci_low=st["ci_low"], ci_high=st["ci_high"], p_value=st["p_value"],
                   ci_centre=st["estimate"], note=st["note"],
                   paired_delta=mc - mb, sd=st["se"] * math.sqrt(n))
        return
    if is_binary(m):
        b = int(((m.xb == 1) & (m.xc == 0)).sum())
        c = int(((m.xb == 0) & (m.xc == 1)).sum())
        st = paired_binary_stats(b, c, n, confidence)
        row.update(method=METHOD_PAIRED_BINARY, n_lost=b, n_gained=c, note="", **st)
    else:
        st = paired_continuous_stats(m.xc - m.xb, confidence)
        row.update(method=METHOD_PAIRED_CONTINUOUS, **st)
    row["estimate"] = row["paired_delta"]


def _unpaired(row: dict[str, Any], p: Pair, vb: float, vc: float, scale: str,
              confidence: float) -> None:
    nb, nc = p.b["n"], p.c["n"]
    ns = [int(x) for x in (nb, nc) if not is_nan(x)]
    row.update(n=min(ns) if ns else pd.NA, estimate_source="reported")
    se_b, se_c = p.b["stderr"], p.c["stderr"]
    if scale == "relative":
        vars_ = [float("nan") if is_nan(x) else float(x) ** 2 for x in (se_b, se_c)]
        st = relative_stats(vb, vc, vars_[0], vars_[1], 0.0, confidence)
        spread = st["se"] * math.sqrt(ns[0]) if len(ns) == 2 and ns[0] == ns[1] else float("nan")
        row.update(method=METHOD_UNPAIRED_RELATIVE, estimate=st["estimate"], se=st["se"],
                   ci_low=st["ci_low"], ci_high=st["ci_high"], p_value=st["p_value"],
                   ci_centre=st["estimate"], note=st["note"], sd=spread)
        return
    st = unpaired_stats(vc - vb, se_b, se_c, confidence, values=(vb, vc), ns=(nb, nc))
    # per-item spread: sqrt(se_b² n_b + se_c² n_c) (= se·√n when n_b = n_c = n)
    if len(ns) == 2 and np.isfinite(st["se"]):
        spread = (st["se"] * math.sqrt(ns[0]) if ns[0] == ns[1] else
                  math.sqrt(float(se_b) ** 2 * ns[0] + float(se_c) ** 2 * ns[1]))
    else:
        spread = float("nan")
    st["sd"] = spread
    row.update(method=METHOD_UNPAIRED, estimate=vc - vb, **st)
