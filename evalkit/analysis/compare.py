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
from .base import Issues, as_list, check_margin, check_models, is_nan, latest_jobs, z_value
from .comparability import compare_runs
from .selection import Pair, is_binary, n_docs, pair_samples, samples_index, select_pairs
from .stats import (
    METHOD_PAIRED_BINARY,
    METHOD_PAIRED_CONTINUOUS,
    METHOD_UNPAIRED,
    paired_binary_stats,
    paired_continuous_stats,
    power_fields,
    unpaired_stats,
    verdict_rule,
)
from .verdicts import LIMIT_NOTE, verdict_text

#: Columns of :func:`compare`'s result, in order.
COMPARE_COLUMNS: list[str] = [
    "task", "metric", "filter", "is_group", "baseline_model", "candidate_model",
    "baseline", "candidate", "delta", "relative_delta",
    "baseline_stderr", "candidate_stderr", "baseline_job", "candidate_job",
    "baseline_n", "candidate_n", "limit", "n", "method",
    "paired_delta", "ci_centre", "se", "ci_low", "ci_high", "p_value", "significant",
    "mde", "n_needed", "n_needed_note", "n_docs", "verdict", "verdict_text",
    "comparable", "comparability_note", "headline_note", "method_note",
    "n_lost", "n_gained", "n_unmatched", "n_hash_mismatch", "n_prompt_mismatch",
    "margin", "confidence",
]


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
            margin: float = 0.02, confidence: float = 0.95, all_metrics: bool = False,
            headline: dict | None = None) -> Comparison:
    """Compare a candidate (or several) with a baseline, task by task, with honest uncertainty.

    Parameters
    ----------
    scores : DataFrame
        The ``scores`` frame (see :mod:`evalkit.frames`). When a model ran a task several times
        the latest completed run wins (``completed_at``, then ``created_at``, then job name).
        Rows with ``usable`` False never enter a comparison.
    baseline, candidates : str
        Model names; ``candidates`` is one name or a list (each is compared with the baseline,
        rows told apart by ``candidate_model``). An unknown name raises
        :class:`~evalkit.core.errors.UnknownModelError` listing the models present.
    samples : DataFrame, optional
        Per-sample outcomes. When both runs have them for a task, the comparison is paired on
        (task, doc_id, filter); else unpaired from lm-eval's standard errors.
    runs : DataFrame, optional
        Per-run lm-eval metadata; fills ``comparable`` / ``comparability_note``. Without it only
        ``num_fewshot`` and ``limit`` (in ``scores``) are checked and ``comparable`` is NA unless
        they differ.
    margin : float
        Non-inferiority margin on the native 0–1 scale (0.02 = 2 points).
    confidence : float
        Interval level; α = 1 − confidence, z = Φ⁻¹(1 − α/2).
    all_metrics : bool
        One row per metric and filter reported by both models, instead of the headline metric.
    headline : dict, optional
        Overrides for the headline-metric table (passed to ``evalkit.lmeval.headline_metric``).

    Returns
    -------
    DataFrame
        Columns :data:`COMPARE_COLUMNS`. ``delta`` = candidate − baseline of the reported scores;
        ``relative_delta`` = delta / baseline. Paired, 0/1 outcomes
        (``METHOD_PAIRED_BINARY``): b = #(baseline 1, candidate 0) (``n_lost``), c = #(baseline 0,
        candidate 1) (``n_gained``), ``paired_delta`` = (c − b)/n, Agresti–Min interval centred at
        ``ci_centre`` = (c − b)/(n + 2), exact McNemar p (see :func:`paired_binary_stats`).
        Paired, continuous (``METHOD_PAIRED_CONTINUOUS``): paired t (see
        :func:`paired_continuous_stats`). Otherwise ``METHOD_UNPAIRED``
        (see :func:`unpaired_stats`). ``significant`` = p < α; ``mde`` = (z + z₀.₈₀)·se;
        ``n_needed`` = ⌈((z + z₀.₈₀)·se·√n / (d + margin))²⌉ (d = paired_delta when paired, else
        delta; NA with the reason in ``n_needed_note`` when d ≤ −margin); ``verdict``:
        better (ci_low > 0), non-inferior (ci_low > −margin), inferior (ci_high < −margin), else
        inconclusive; ``verdict_text`` spells it out (:func:`verdict_text`).

        Returned as a :class:`Comparison`: ``.frame`` holds the rows, ``.issues`` every data
        problem met: documents
        present for one model only or with differing ``doc_hash`` (dropped from the pairing),
        differing ``prompt_hash`` (counted, kept), a task run by one model only, unusable scores,
        runs without samples. ``.limit_note`` is :data:`LIMIT_NOTE`.

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
    z_value(confidence)
    cands = as_list(candidates)
    check_models(scores, [baseline, *cands])
    ctx = Issues()
    latest = latest_jobs(scores)
    jobs = set(latest.loc[latest["model"].isin([baseline, *cands]), "job"])
    index = samples_index(samples, jobs)
    rows: list[dict[str, Any]] = []
    for cand in cands:
        pairs = select_pairs(scores, baseline, cand, all_metrics=all_metrics,
                              headline=headline, ctx=ctx)
        for p in pairs:
            rows.append(_compare_pair(p, baseline, cand, index, runs, margin, confidence, ctx))
    res = pd.DataFrame(rows, columns=COMPARE_COLUMNS)
    res = _dtypes(res)
    return Comparison(frame=res, margin=margin, confidence=confidence, issues=ctx.frame())


def _dtypes(res: pd.DataFrame) -> pd.DataFrame:
    for col in ("baseline", "candidate", "delta", "relative_delta", "baseline_stderr",
                "candidate_stderr", "limit", "paired_delta", "ci_centre", "se", "ci_low",
                "ci_high", "p_value", "mde", "n_docs", "margin", "confidence"):
        res[col] = pd.to_numeric(res[col], errors="coerce").astype("float64")
    for col in ("baseline_n", "candidate_n", "n", "n_needed", "n_lost", "n_gained",
                "n_unmatched", "n_hash_mismatch", "n_prompt_mismatch"):
        res[col] = pd.to_numeric(res[col], errors="coerce").astype("Int64")
    res["significant"] = res["significant"].astype(bool)
    res["is_group"] = res["is_group"].astype(bool)
    res["comparable"] = res["comparable"].astype("boolean")
    return res


def _compare_pair(p: Pair, baseline: str, cand: str, index: dict, runs: pd.DataFrame | None,
                  margin: float, confidence: float, ctx: Issues) -> dict[str, Any]:
    vb, vc = float(p.b["value"]), float(p.c["value"])
    delta = vc - vb
    row: dict[str, Any] = {
        "task": p.task, "metric": p.metric, "filter": p.filter, "is_group": p.is_group,
        "baseline_model": baseline, "candidate_model": cand, "baseline": vb, "candidate": vc,
        "delta": delta, "relative_delta": delta / vb if vb != 0 else float("nan"),
        "baseline_stderr": p.b["stderr"], "candidate_stderr": p.c["stderr"],
        "baseline_job": p.b["job"], "candidate_job": p.c["job"],
        "baseline_n": p.b["n"], "candidate_n": p.c["n"], "limit": p.b["limit"],
        "headline_note": p.headline_note, "margin": margin, "confidence": confidence,
        "n_docs": n_docs(p), "n_lost": pd.NA, "n_gained": pd.NA, "n_unmatched": pd.NA,
        "n_hash_mismatch": pd.NA, "n_prompt_mismatch": pd.NA,
    }
    match, why = pair_samples(index, p, ctx)
    if match is not None:
        n = int(match.xb.size)
        row.update(n=n, n_unmatched=match.n_unmatched, n_hash_mismatch=match.n_hash_mismatch,
                   n_prompt_mismatch=match.n_prompt_mismatch)
        if is_binary(match):
            b = int(((match.xb == 1) & (match.xc == 0)).sum())
            c = int(((match.xb == 0) & (match.xc == 1)).sum())
            st = paired_binary_stats(b, c, n, confidence)
            row.update(method=METHOD_PAIRED_BINARY, n_lost=b, n_gained=c, method_note="", **st)
        else:
            st = paired_continuous_stats(match.xc - match.xb, confidence)
            row.update(method=METHOD_PAIRED_CONTINUOUS, method_note=st.pop("note"), **st)
        spread = row["se"] * math.sqrt(n) if np.isfinite(row["se"]) else float("nan")
    else:
        st = unpaired_stats(delta, p.b["stderr"], p.c["stderr"], confidence)
        note = st.pop("note")
        nb, nc = p.b["n"], p.c["n"]
        ns = [int(x) for x in (nb, nc) if not is_nan(x)]
        n = min(ns) if ns else pd.NA
        # per-item spread: sqrt(se_b² n_b + se_c² n_c) (= se·√n when n_b = n_c = n)
        if len(ns) == 2 and np.isfinite(st["se"]):
            spread = (st["se"] * math.sqrt(ns[0]) if ns[0] == ns[1] else
                      math.sqrt(p.b["stderr"] ** 2 * ns[0] + p.c["stderr"] ** 2 * ns[1]))
        else:
            spread = float("nan")
        if not why and index:
            why = "no per-sample outcomes for this task: compared unpaired"
        note = "; ".join(x for x in (why, note) if x)
        row.update(method=METHOD_UNPAIRED, n=n, method_note=note, **st)
    power_fields(row, margin, confidence, spread)
    row["verdict"] = verdict_rule(row["ci_low"], row["ci_high"], margin)
    comparable, cnote = compare_runs(runs, p)
    row["comparable"], row["comparability_note"] = comparable, cnote
    row["verdict_text"] = verdict_text(row)
    return row
