"""Recovery: how much of the baseline's quality the candidate keeps, in percent, with an
interval."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..core import frames
from ..core.errors import InputError, UnknownModelError
from ..core.result import Result
from .base import Issues, as_list, check_models, is_nan, latest_jobs, z_value
from .selection import Match, Pair, is_binary, pair_samples, samples_index, select_pairs


SUMMARY_COLUMNS = ["candidate_model", "recovery", "ci_low", "ci_high", "n_tasks", "tasks",
                   "method"]


@dataclass(repr=False)
class RecoveryResult(Result):
    """Recovery of each candidate relative to the baseline, in percent.

    Attributes
    ----------
    summary : DataFrame
        One row per candidate: ``recovery`` = 100 × mean(candidate headline scores) /
        mean(baseline headline scores) over the counted tasks (the ratio of averages, as the
        RedHatAI model cards compute it), ``ci_low``/``ci_high`` (percentile bootstrap; NaN when
        a counted task has no way to resample), ``n_tasks``, ``tasks``, ``method``.
    per_task : DataFrame
        candidate_model, task, metric, filter, is_group, counted, baseline, candidate,
        recovery (per task, %), n, method, note.
    confidence, n_resamples, seed : settings used.

    With one candidate, ``recovery``, ``ci_low``, ``ci_high``, ``tasks`` and ``candidate`` read
    its row; :meth:`of` picks one candidate out of several.
    """

    summary: pd.DataFrame
    per_task: pd.DataFrame
    baseline: str = ""
    candidates: list[str] = field(default_factory=list)
    confidence: float = 0.95
    n_resamples: int = 10_000
    seed: int | None = 0
    _frames = ("summary", "per_task")

    def _row(self) -> pd.Series:
        if len(self.summary) != 1:
            raise InputError(f"recovery holds {len(self.summary)} candidates "
                             f"({', '.join(self.candidates)}); read .summary or .of(name)")
        return self.summary.iloc[0]

    @property
    def candidate(self) -> str:
        return str(self._row()["candidate_model"])

    @property
    def recovery(self) -> float:
        return float(self._row()["recovery"])

    @property
    def ci_low(self) -> float:
        return float(self._row()["ci_low"])

    @property
    def ci_high(self) -> float:
        return float(self._row()["ci_high"])

    @property
    def tasks(self) -> list[str]:
        """The tasks counted in the average."""
        return list(self._row()["tasks"])

    def of(self, candidate: str) -> RecoveryResult:
        """The result for one candidate."""
        if candidate not in self.candidates:
            raise UnknownModelError(f"{candidate!r} is not a candidate of this recovery; "
                                    f"candidates: {', '.join(self.candidates)}")
        keep = self.summary["candidate_model"] == candidate
        return RecoveryResult(summary=self.summary[keep].reset_index(drop=True),
                              per_task=self.per_task[self.per_task["candidate_model"] == candidate]
                              .reset_index(drop=True), baseline=self.baseline,
                              candidates=[candidate], confidence=self.confidence,
                              n_resamples=self.n_resamples, seed=self.seed, issues=self.issues)

    def describe(self) -> str:
        parts = []
        for r in self.summary.itertuples():
            ci = (f"{self.confidence:.0%} CI {r.ci_low:.1f}–{r.ci_high:.1f} %"
                  if np.isfinite(r.ci_low) and np.isfinite(r.ci_high) else "no interval")
            parts.append(f"{r.candidate_model} vs {self.baseline}: {r.recovery:.1f} % ({ci}) "
                         f"over {r.n_tasks} task(s)")
        return "; ".join(parts)


_EXACT_BUDGET = 20_000_000  # resample indices drawn at most; above it, the normal approximation


def _boot_task(rng: np.random.Generator, m: Match | None, p: Pair,
               R: int) -> tuple[np.ndarray | None, np.ndarray | None, str, str]:
    """Bootstrap draws of (baseline mean, candidate mean) for one task."""
    if m is not None and is_binary(m):
        n = m.xb.size
        cells = np.array([((m.xb == 1) & (m.xc == 1)).sum(), ((m.xb == 1) & (m.xc == 0)).sum(),
                          ((m.xb == 0) & (m.xc == 1)).sum(), ((m.xb == 0) & (m.xc == 0)).sum()],
                         dtype=float)
        draw = rng.multinomial(n, cells / n, size=R)
        return ((draw[:, 0] + draw[:, 1]) / n, (draw[:, 0] + draw[:, 2]) / n,
                "paired multinomial (2×2 cells)", "")
    if m is not None:
        n = m.xb.size
        if n * R <= _EXACT_BUDGET:
            bm, cm = np.empty(R), np.empty(R)
            step = max(1, _EXACT_BUDGET // 10 // max(n, 1))
            for s in range(0, R, step):
                k = min(step, R - s)
                idx = rng.integers(0, n, size=(k, n))
                bm[s:s + k], cm[s:s + k] = m.xb[idx].mean(1), m.xc[idx].mean(1)
            return bm, cm, "paired bootstrap (documents)", ""
        cov = np.cov(np.vstack([m.xb, m.xc]), ddof=1) / n
        draw = rng.multivariate_normal([m.xb.mean(), m.xc.mean()], cov, size=R,
                                       method="cholesky" if np.all(np.linalg.eigvalsh(cov) > 0)
                                       else "eigh")
        return (draw[:, 0], draw[:, 1], "paired normal approximation (n × resamples too large)",
                "")
    sb, sc = p.b["stderr"], p.c["stderr"]
    if is_nan(sb) or is_nan(sc):
        return None, None, "none", "no samples and no stderr: cannot resample"
    return (rng.normal(float(p.b["value"]), float(sb), R),
            rng.normal(float(p.c["value"]), float(sc), R), "normal (lm-eval stderr)",
            "unpaired: the two scores are drawn independently")


def recovery(scores: pd.DataFrame, baseline: str, candidates: str | Sequence[str], *,
             tasks: Sequence[str] | None = None, samples: pd.DataFrame | None = None,
             n_resamples: int = 10_000, seed: int | None = 0, confidence: float = 0.95,
             headline: dict | None = None) -> RecoveryResult:
    """How much of the baseline's quality the candidate keeps, in percent, with an interval.

    ``recovery`` = 100 × mean_t(candidate_t) / mean_t(baseline_t) over the counted tasks, from the
    reported headline scores (the ratio of averages; NOT the mean of per-task ratios).

    The interval is a percentile bootstrap: each of ``n_resamples`` replicates resamples the
    documents of every task independently (stratified by task) and recomputes the ratio of
    averages; the interval is the α/2 and 1 − α/2 percentiles.

    - paired 0/1 outcomes: the four cells (1,1), (1,0), (0,1), (0,0) are drawn at once,
      Multinomial(n, cell shares), which is the document bootstrap without touching documents;
    - paired continuous outcomes (truthfulqa_mc2): documents are resampled (paired) when
      n × n_resamples ≤ 2·10⁷, else (very large tasks, where the CLT holds) the pair of means is
      drawn from the bivariate normal with the sample covariance / n;
    - no samples: each score is drawn from Normal(score, lm-eval stderr), independently
      (ignores the positive correlation of the two models, so the interval is conservative).

    lm-eval group rows (e.g. ``mmlu``) are reported with ``counted`` False and never averaged
    with their subtasks; name a group in ``tasks`` to count it instead (its subtasks, when a
    ``group`` column in ``scores`` tells which they are, are then left out).

    Examples
    --------
    >>> rows = [{"model": m, "job": m, "task": t, "metric": "acc", "filter": "none",
    ...          "value": v / 100, "stderr": 0.01, "n": 1000, "usable": True}
    ...         for t, b, c in (("arc_challenge", 72.18, 71.16), ("gsm8k", 90.14, 89.69))
    ...         for m, v in (("bf16", b), ("w4a16", c))]
    >>> r = recovery(frames.conform("scores", rows), "bf16", "w4a16",
    ...              headline={"gsm8k": ("acc", "none")})
    >>> round(r.recovery, 2)
    99.09
    """
    frames.validate(scores, "scores")
    cands = as_list(candidates)
    check_models(scores, [baseline, *cands])
    z_value(confidence)
    ctx = Issues()
    summaries, per_tasks = [], []
    for cand in cands:
        row, per = _recovery_one(scores, baseline, cand, tasks=tasks, samples=samples,
                                 n_resamples=n_resamples, seed=seed, confidence=confidence,
                                 headline=headline, ctx=ctx)
        summaries.append(row)
        per_tasks.append(per)
    return RecoveryResult(summary=pd.DataFrame(summaries, columns=SUMMARY_COLUMNS),
                          per_task=pd.concat(per_tasks, ignore_index=True), baseline=baseline,
                          candidates=cands, confidence=confidence, n_resamples=int(n_resamples),
                          seed=seed, issues=ctx.frame())


def _recovery_one(scores: pd.DataFrame, baseline: str, candidate: str, *,
                  tasks: Sequence[str] | None, samples: pd.DataFrame | None, n_resamples: int,
                  seed: int | None, confidence: float, headline: dict | None,
                  ctx: Issues) -> tuple[dict[str, Any], pd.DataFrame]:
    alpha = 1.0 - confidence
    src = "recovery"
    pairs = select_pairs(scores, baseline, candidate, all_metrics=False, headline=headline,
                          ctx=ctx, tasks=list(tasks) if tasks is not None else None, src=src)
    latest = latest_jobs(scores)
    index = samples_index(samples, set(latest.loc[latest["model"].isin(
        [baseline, candidate]), "job"]))
    # decide what counts
    group_of: dict[str, str] = {}
    if "group" in scores.columns:
        g = scores[["task", "group"]].dropna().drop_duplicates("task")
        group_of = dict(zip(g["task"], g["group"], strict=True))
    requested = set(tasks) if tasks is not None else None
    rows: list[dict[str, Any]] = []
    counted_pairs: list[Pair] = []
    for p in pairs:
        note = ""
        if requested is None:
            counted = not p.is_group
            if p.is_group:
                note = "lm-eval group: reported, not averaged with its subtasks"
        else:
            counted = True
            parent, seen = group_of.get(p.task), set()
            while parent is not None and parent not in seen:  # nested groups: any ancestor
                if parent in requested:
                    counted = False
                    note = f"subtask of the requested group {parent}: not counted twice"
                    break
                seen.add(parent)
                parent = group_of.get(parent)
        rows.append({"task": p.task, "metric": p.metric, "filter": p.filter,
                     "is_group": p.is_group, "counted": counted,
                     "baseline": float(p.b["value"]), "candidate": float(p.c["value"]),
                     "recovery": 100.0 * float(p.c["value"]) / float(p.b["value"])
                     if float(p.b["value"]) != 0 else float("nan"),
                     "n": pd.NA, "method": "", "note": note})
        if counted:
            counted_pairs.append(p)
    rng = np.random.default_rng(seed)
    R = int(n_resamples)
    bsum = np.zeros(R)
    csum = np.zeros(R)
    ok = R > 0
    by_task = {r["task"]: r for r in rows}
    for p in counted_pairs:
        m, _ = pair_samples(index, p, ctx, src)
        r = by_task[p.task]
        r["n"] = m.xb.size if m is not None else p.b["n"]
        if R <= 0:
            continue
        bm, cm, method, bnote = _boot_task(rng, m, p, R)
        r["method"] = method
        if bnote:
            r["note"] = (r["note"] + "; " if r["note"] else "") + bnote
        if bm is None:
            ok = False
            continue
        bsum += bm
        csum += cm
    per_task = pd.DataFrame(rows, columns=["task", "metric", "filter", "is_group", "counted",
                                           "baseline", "candidate", "recovery", "n", "method",
                                           "note"])
    per_task.insert(0, "candidate_model", candidate)
    per_task["n"] = pd.to_numeric(per_task["n"], errors="coerce").astype("Int64")
    per_task["counted"] = per_task["counted"].astype(bool)
    per_task["is_group"] = per_task["is_group"].astype(bool)
    cnt = per_task[per_task["counted"]]
    nan = float("nan")
    if cnt.empty:
        ctx.add("recovery", "warning", f"no task is reported by both {baseline} and {candidate}: "
                "no recovery", src)
        point = lo = hi = nan
    else:
        mb = cnt["baseline"].mean()
        point = 100.0 * cnt["candidate"].mean() / mb if mb != 0 else nan
        if ok and counted_pairs:
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = 100.0 * csum / bsum
            lo, hi = (float(x) for x in np.nanpercentile(ratio, [100 * alpha / 2,
                                                                 100 * (1 - alpha / 2)]))
        else:
            lo = hi = nan
    methods = sorted(set(per_task.loc[per_task["counted"], "method"]) - {""})
    return ({"candidate_model": candidate, "recovery": float(point), "ci_low": lo, "ci_high": hi,
             "n_tasks": int(len(cnt)), "tasks": cnt["task"].tolist(),
             "method": "; ".join(methods)}, per_task)
