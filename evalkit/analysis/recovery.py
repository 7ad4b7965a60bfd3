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
from ..lmeval.metrics import higher_is_better, is_proportion
from .base import Issues, as_list, check_models, is_nan, latest_jobs, z_value
from .selection import (
    Match,
    Pair,
    ancestors,
    group_map,
    is_binary,
    pair_samples,
    samples_index,
    select_pairs,
)

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
    tasks_rule: str = ""
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
#: pseudo-documents of the small-sample rule: the four corners of [0, 1]², weight ½ each
_CORNERS = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
#: a reported score may differ from the mean of its samples by rounding only
SAMPLES_TOLERANCE = 5e-4


def _boot_task(rng: np.random.Generator, m: Match | None, p: Pair,
               R: int) -> tuple[np.ndarray | None, np.ndarray | None, str, str]:
    """Bootstrap draws of (baseline mean, candidate mean) for one task, with the small-sample
    rule: the paired documents are augmented with the four corners (1,1), (1,0), (0,1), (0,0)
    of weight ½ each — for 0/1 outcomes exactly Agresti–Min's ½ per cell. Documents are drawn
    from the augmented set and every replicate's means include the corners' weight
    ((sum + 1)/(n + 2)), so no replicate is degenerate (identical models, n = 1, a task scored 0
    by both) and every interval is finite with a real width."""
    if m is not None and m.xb.size and is_binary(m):
        n = m.xb.size
        cells = np.array([((m.xb == 1) & (m.xc == 1)).sum(), ((m.xb == 1) & (m.xc == 0)).sum(),
                          ((m.xb == 0) & (m.xc == 1)).sum(), ((m.xb == 0) & (m.xc == 0)).sum()],
                         dtype=float) + 0.5
        draw = rng.multinomial(n, cells / cells.sum(), size=R)
        # each replicate keeps the pseudo-documents too: its means are never 0/0
        return ((draw[:, 0] + draw[:, 1] + 1.0) / (n + 2.0),
                (draw[:, 0] + draw[:, 2] + 1.0) / (n + 2.0),
                "paired multinomial (2×2 cells, ½ added to each)", "")
    if m is not None and m.xb.size:
        n = m.xb.size
        x = np.vstack([np.column_stack([m.xb, m.xc]), _CORNERS])
        w = np.r_[np.ones(n), np.full(4, 0.5)]
        prob = w / w.sum()
        if n * R <= _EXACT_BUDGET:
            bm, cm = np.empty(R), np.empty(R)
            step = max(1, _EXACT_BUDGET // 10 // max(n, 1))
            for s in range(0, R, step):
                k = min(step, R - s)
                idx = rng.choice(x.shape[0], size=(k, n), p=prob)
                bm[s:s + k] = (x[idx, 0].sum(1) + 1.0) / (n + 2.0)  # + the corners' weight
                cm[s:s + k] = (x[idx, 1].sum(1) + 1.0) / (n + 2.0)
            return bm, cm, "paired bootstrap (documents, corners ½ added)", ""
        mean = np.average(x, axis=0, weights=w)
        cov = np.cov(x.T, aweights=w, ddof=1) / n
        draw = rng.multivariate_normal(mean, cov, size=R,
                                       method="cholesky" if np.all(np.linalg.eigvalsh(cov) > 0)
                                       else "eigh")
        return (draw[:, 0], draw[:, 1], "paired normal approximation (n × resamples too large)",
                "")
    ses = []
    for row in (p.b, p.c):
        se, v, n = row["stderr"], float(row["value"]), row["n"]
        if is_nan(se):
            return None, None, "none", "no samples and no stderr: cannot resample"
        if float(se) == 0.0 and not is_nan(n) and int(n) > 0:  # Agresti–Coull for p = 0 or 1
            pt = (int(n) * v + 1.0) / (int(n) + 2.0)
            se = (pt * (1 - pt) / (int(n) + 2.0)) ** 0.5
        ses.append(float(se))
    return (rng.normal(float(p.b["value"]), ses[0], R),
            rng.normal(float(p.c["value"]), ses[1], R), "normal (lm-eval stderr)",
            "unpaired: the two scores are drawn independently")


def recovery(scores: pd.DataFrame, baseline: str, candidates: str | Sequence[str], *,
             tasks: str | Sequence[str] | None = "top", samples: pd.DataFrame | None = None,
             n_resamples: int = 10_000, seed: int | None = 0, confidence: float = 0.95,
             headline: dict | None = None, direction: dict | None = None) -> RecoveryResult:
    """How much of the baseline's quality each candidate keeps, in percent, with an interval.

    ``recovery`` = 100 × mean_t(candidate_t) / mean_t(baseline_t) over the counted tasks, from
    the reported headline scores (the ratio of averages, as the RedHatAI model cards compute it;
    NOT the mean of per-task ratios). A task whose reported score disagrees with its own
    samples beyond rounding uses the samples' means instead (and says so), so the point and
    its interval come from the same numbers.

    **What counts.** Only higher-is-better proportions (accuracy-like metrics in [0, 1]): a
    ratio of perplexities or bleu scores is not a "share of quality kept"; each task left out
    is named (``counted`` False with the reason in ``note``). ``tasks="top"`` (default) counts
    an lm-eval group once, as the model cards do (mmlu, not its 57 subtasks);
    ``tasks="subtasks"`` counts the leaf tasks instead of their groups; a list names the tasks.

    **Interval.** A percentile bootstrap: each replicate resamples the documents of every task
    independently (stratified by task) and recomputes the ratio of averages; the interval is
    the α/2 and 1 − α/2 percentiles. Paired 0/1 outcomes are drawn as the four cells of the 2×2
    table, Multinomial(n, cell shares); paired continuous outcomes by resampling documents
    (n × n_resamples ≤ 2·10⁷, else the bivariate normal of the means); without samples each
    score is drawn from Normal(score, lm-eval stderr), independently (conservative). The
    small-sample rule of :func:`_boot_task` keeps every interval finite and of positive width.

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
                                 headline=headline, direction=direction or {}, ctx=ctx)
        summaries.append(row)
        per_tasks.append(per)
    return RecoveryResult(summary=pd.DataFrame(summaries, columns=SUMMARY_COLUMNS),
                          per_task=pd.concat(per_tasks, ignore_index=True), baseline=baseline,
                          candidates=cands, confidence=confidence, n_resamples=int(n_resamples),
                          seed=seed, tasks_rule=_rule_text(tasks), issues=ctx.frame())


def _rule_text(tasks: str | Sequence[str] | None) -> str:
    if tasks is None or tasks == "top":
        return "top-level tasks: an lm-eval group counts once, its subtasks not again"
    if tasks == "subtasks":
        return "leaf tasks: lm-eval groups are not counted, their subtasks are"
    return "the tasks named: " + ", ".join(map(str, tasks))


def _counts(p: Pair, tasks: str | Sequence[str] | None, group_of: dict[str, str],
            chosen: set[str], hib: bool) -> tuple[bool, str]:
    """Whether pair ``p`` counts, and why not."""
    if not hib:
        return False, f"{p.metric} is lower-is-better: not a share of quality kept"
    if not is_proportion(p.metric, [p.b["value"], p.c["value"]]):
        return False, f"{p.metric} is not a proportion in [0, 1]: a ratio of it is not recovery"
    if isinstance(tasks, str) or tasks is None:
        if tasks == "subtasks" and p.is_group:
            return False, "lm-eval group: its subtasks are counted instead"
        if tasks != "subtasks":
            ups = [g for g in ancestors(p.task, group_of) if g in chosen]
            if ups:
                return False, f"subtask of the group {ups[-1]}, which counts once"
        return True, ""
    ups = [g for g in ancestors(p.task, group_of) if g in set(tasks)]
    if ups:
        return False, f"subtask of the requested group {ups[-1]}: not counted twice"
    return True, ""


def _recovery_one(scores: pd.DataFrame, baseline: str, candidate: str, *,
                  tasks: str | Sequence[str] | None, samples: pd.DataFrame | None,
                  n_resamples: int, seed: int | None, confidence: float, headline: dict | None,
                  direction: dict, ctx: Issues) -> tuple[dict[str, Any], pd.DataFrame]:
    alpha = 1.0 - confidence
    src = "recovery"
    listed = list(tasks) if tasks is not None and not isinstance(tasks, str) else None
    pairs = select_pairs(scores, baseline, candidate, all_metrics=False, headline=headline,
                         ctx=ctx, tasks=listed, src=src)
    latest = latest_jobs(scores, baseline)
    index = samples_index(samples, set(latest.loc[latest["model"].isin(
        [baseline, candidate]), "job"]))
    group_of = group_map(scores)
    chosen = {p.task for p in pairs if p.is_group}
    rng = np.random.default_rng(seed)
    R = int(n_resamples)
    bsum, csum = np.zeros(R), np.zeros(R)
    ok = R > 0
    rows: list[dict[str, Any]] = []
    excluded: list[str] = []
    for p in pairs:
        reported = [v for v in (p.b.get("higher_is_better"), p.c.get("higher_is_better"))
                    if isinstance(v, bool)]
        hib = higher_is_better(p.metric, reported[0] if reported else None, direction, p.task)
        counted, note = _counts(p, tasks, group_of, chosen, hib)
        vb, vc = float(p.b["value"]), float(p.c["value"])
        row = {"task": p.task, "metric": p.metric, "filter": p.filter, "is_group": p.is_group,
               "counted": counted, "baseline": vb, "candidate": vc, "n": p.b["n"],
               "method": "", "note": note}
        if counted:
            m, _ = pair_samples(index, p, ctx, src)
            if m is not None and m.xb.size:
                row["n"] = m.xb.size
                mb, mc = float(m.xb.mean()), float(m.xc.mean())
                if abs(mb - vb) > SAMPLES_TOLERANCE or abs(mc - vc) > SAMPLES_TOLERANCE:
                    row["baseline"], row["candidate"] = mb, mc
                    row["note"] = (f"reported scores ({vb:.4g}, {vc:.4g}) disagree with their "
                                   f"samples ({mb:.4g}, {mc:.4g}): the samples are used")
                    ctx.add(p.task, "warning", f"{p.task}: {row['note']}", src)
            if R > 0:
                bm, cm, method, bnote = _boot_task(rng, m, p, R)
                row["method"] = method
                if bnote:
                    row["note"] = "; ".join(x for x in (row["note"], bnote) if x)
                if bm is None:
                    ok = False
                else:
                    bsum += bm
                    csum += cm
        elif note:
            excluded.append(f"{p.task} ({note})")
        b_ = row["baseline"]
        row["recovery"] = 100.0 * row["candidate"] / b_ if b_ != 0 else float("nan")
        rows.append(row)
    if excluded:
        ctx.add(candidate, "info", f"recovery of {candidate} leaves out: " + "; ".join(excluded),
                src)
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
        ctx.add("recovery", "warning", f"no higher-is-better proportion is reported by both "
                f"{baseline} and {candidate}: no recovery", src)
        point = lo = hi = nan
    else:
        mb = cnt["baseline"].mean()
        point = 100.0 * cnt["candidate"].mean() / mb if mb != 0 else nan
        if ok:
            ratio = 100.0 * csum / bsum  # the small-sample rule keeps bsum > 0
            lo, hi = (float(x) for x in np.percentile(ratio, [100 * alpha / 2,
                                                              100 * (1 - alpha / 2)]))
        else:
            lo = hi = nan
    methods = sorted(set(per_task.loc[per_task["counted"], "method"]) - {""})
    return ({"candidate_model": candidate, "recovery": float(point), "ci_low": lo, "ci_high": hi,
             "n_tasks": int(len(cnt)), "tasks": cnt["task"].tolist(),
             "method": "; ".join(methods)}, per_task)
