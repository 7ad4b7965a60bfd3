"""The answer to "is the quantized model good enough, and what does it save?", per candidate.

The recommendation follows from the non-inferiority verdicts and the comparability check —
never from a threshold on a point estimate:

1. a task whose runs are not comparable (settings that change scores differ) → **no
   recommendation** until the runs are repeated with the same settings;
2. any task inferior (its interval entirely beyond the margin, the test rejecting) → **keep
   the baseline**;
3. every task non-inferior or better → **the candidate can replace the baseline** (with the
   cost ratio at capacity when one is known);
4. otherwise (some task inconclusive) → **not enough evidence**, naming the tasks and the
   documents that would settle them.

>>> import pandas as pd
>>> cmp = pd.DataFrame({"candidate_model": ["w4"] * 2, "task": ["arc", "gsm8k"],
...                     "verdict": ["non-inferior", "non-inferior"], "comparable": [True, True],
...                     "n_needed": [pd.NA, pd.NA]})
>>> t = tradeoff(cmp, baseline="fp16", candidates=["w4"])
>>> t.frame.loc[0, "decision"]
'replace'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..core.result import Result
from .base import as_list, is_nan

COLUMNS = ["candidate_model", "decision", "recommendation", "n_tasks", "n_better",
           "n_non_inferior", "n_inconclusive", "n_inferior", "n_not_comparable",
           "recovery", "recovery_ci_low", "recovery_ci_high", "cost_ratio", "cost_basis",
           "ttft_p50_ratio", "ttft_p99_ratio", "reasons"]


@dataclass(repr=False)
class Tradeoff(Result):
    """One row per candidate (``frame``): the decision, the reasons and the numbers beside it."""

    frame: pd.DataFrame
    baseline: str = ""
    _frames = ("frame",)

    def describe(self) -> str:
        return "; ".join(f"{r.candidate_model}: {r.decision}" for r in self.frame.itertuples())


def _tasks(rows: pd.DataFrame, verdict: str) -> list[str]:
    return rows.loc[rows["verdict"] == verdict, "task"].astype(str).tolist()


def tradeoff(comparison: pd.DataFrame, *, baseline: str, candidates: str | Sequence[str],
             recovery: Any = None, serving_summary: pd.DataFrame | None = None,
             cost: Any = None) -> Tradeoff:
    """The decision per candidate from ``comparison`` (the frame of
    :func:`evalkit.compare`), with recovery (a
    :class:`~evalkit.analysis.recovery.RecoveryResult`), latency ratios from the serving
    summary (TTFT P50/P99, candidate / baseline) and the cost ratio (a
    :class:`~evalkit.analysis.cost.CostResult`; capacity basis, else observed, labelled)."""
    rows = []
    for cand in as_list(candidates):
        c = comparison[comparison["candidate_model"] == cand] if "candidate_model" in \
            comparison.columns else comparison
        not_comp = c[c["comparable"].astype("boolean").fillna(True) == False]  # noqa: E712
        comp = c.drop(index=not_comp.index)
        counts = {v: len(_tasks(comp, v)) for v in ("better", "non-inferior", "inconclusive",
                                                   "inferior")}
        reasons: list[str] = []
        rec, lo, hi = _recovery(recovery, cand)
        ratio, basis = _cost(cost, cand, baseline)
        if c.empty:
            decision = "no recommendation"
            reasons.append("no task has results for both models")
        elif len(not_comp):
            decision = "no recommendation"
            reasons.append("not comparable: " + ", ".join(not_comp["task"].astype(str)) +
                           " ran with settings that change scores; repeat them with the same "
                           "settings")
        elif counts["inferior"]:
            decision = "keep the baseline"
            reasons.append("inferior on " + ", ".join(_tasks(comp, "inferior")) +
                           " (the interval lies entirely beyond the margin)")
        elif counts["inconclusive"]:
            decision = "not enough evidence"
            need = []
            for r in comp[comp["verdict"] == "inconclusive"].itertuples():
                n = getattr(r, "n_needed", pd.NA)
                need.append(f"{r.task}" + (f" (≈{int(n):,} documents)" if not is_nan(n) else ""))
            reasons.append("inconclusive on " + ", ".join(need))
        else:
            decision = "replace"
            reasons.append(f"non-inferior or better on all {len(comp)} task(s)")
        if decision == "replace" and math.isfinite(ratio):
            saving = (1 - ratio) * 100
            reasons.append(f"costs {ratio:.2f}× the baseline per 1M output tokens "
                           f"({BASIS_TEXT[str(basis)]})"
                           + (f", {saving:.0f} % less" if saving > 0 else ""))
        text = {"replace": f"{cand} can replace {baseline}",
                "keep the baseline": f"keep {baseline}: {cand} is worse",
                "not enough evidence": f"not enough evidence to replace {baseline} with {cand}",
                "no recommendation": f"no recommendation for {cand}"}[decision]
        rows.append({
            "candidate_model": cand, "decision": decision,
            "recommendation": f"{text}: " + "; ".join(reasons), "n_tasks": len(c),
            "n_better": counts["better"], "n_non_inferior": counts["non-inferior"],
            "n_inconclusive": counts["inconclusive"], "n_inferior": counts["inferior"],
            "n_not_comparable": len(not_comp), "recovery": rec, "recovery_ci_low": lo,
            "recovery_ci_high": hi, "cost_ratio": ratio, "cost_basis": basis,
            "ttft_p50_ratio": _latency(serving_summary, "ttft_p50", cand, baseline),
            "ttft_p99_ratio": _latency(serving_summary, "ttft_p99", cand, baseline),
            "reasons": reasons})
    return Tradeoff(frame=pd.DataFrame(rows, columns=COLUMNS), baseline=baseline)


def _recovery(recovery: Any, cand: str) -> tuple[float, float, float]:
    nan = float("nan")
    if recovery is None or cand not in getattr(recovery, "candidates", []):
        return nan, nan, nan
    r = recovery.summary.set_index("candidate_model").loc[cand]
    return float(r["recovery"]), float(r["ci_low"]), float(r["ci_high"])


#: how each cost basis is said in a recommendation
BASIS_TEXT = {"capacity": "at capacity, from load tests at the SLO",
              "observed": "at OBSERVED traffic: compares the traffic the models got, not their "
                          "cost"}


def _cost(cost: Any, cand: str, baseline: str) -> tuple[float, str | None]:
    """The candidate/baseline cost ratio and its basis (``capacity``, else ``observed``)."""
    if cost is None:
        return float("nan"), None
    for basis in ("capacity", "observed"):
        r = cost.ratio(cand, baseline, basis)
        if math.isfinite(r):
            return r, basis
    return float("nan"), None


def _latency(summary: pd.DataFrame | None, metric: str, cand: str, baseline: str) -> float:
    if summary is None or summary.empty:
        return float("nan")
    s = summary[summary["metric"] == metric].set_index("model")["value"]
    if cand in s.index and baseline in s.index and s[baseline] > 0:
        return float(s[cand] / s[baseline])
    return float("nan")
