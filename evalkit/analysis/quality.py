"""Quality analysis: is the quantized candidate as good as its full-precision baseline?

Frames in, frames out. Every formula is written out here and in ``docs/statistics.md``.

Public functions
----------------
:func:`compare`        one row per task (per metric with ``all_metrics=True``): scores, deltas,
                       paired or unpaired interval, exact/normal/t test, MDE, the sample size that
                       would resolve the margin, a verdict and the comparability of the two runs.
:func:`recovery`       100 x mean(candidate) / mean(baseline) over tasks, with a bootstrap interval.
:func:`comparability`  the lm-eval settings of the two runs side by side.
:func:`flips`          the documents whose outcome changed; ``[invalid]`` rates (gsm8k).
:func:`invalid_rates`  share of answers the gsm8k extractor could not parse, per model.
:func:`trend`          every completed run per model and task over time, with intervals.
:func:`verdict_text`   a verdict spelled out for humans.
:data:`LIMIT_NOTE`     lm-eval's ``limit`` takes the FIRST N documents (see :func:`limit_note`).

Notation: α = 1 − confidence, z = Φ⁻¹(1 − α/2), z₀.₈₀ = Φ⁻¹(0.80). Scores are on lm-eval's native
0–1 scale; "points" in texts are percentage points (×100).

>>> import pandas as pd
>>> from evalkit import frames
>>> scores = frames.conform("scores", [
...     {"model": "fp16", "job": "a", "task": "arc_easy", "metric": "acc_norm", "filter": "none",
...      "value": 0.80, "stderr": 0.040, "n": 100, "usable": True},
...     {"model": "w4a16", "job": "b", "task": "arc_easy", "metric": "acc_norm", "filter": "none",
...      "value": 0.78, "stderr": 0.041, "n": 100, "usable": True}])
>>> row = compare(scores, baseline="fp16", candidate="w4a16").iloc[0]
>>> row["method"], float(round(row["delta"], 2)), row["verdict"]
('unpaired (normal, lm-eval stderr)', -0.02, 'inconclusive')
>>> row["verdict_text"]
'inconclusive: 95% CI −13.2 to +9.2 points spans the 2-point margin; the observed difference (−2.0 points) is at or below −margin: no sample size would show non-inferiority'

"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .. import frames
from ..errors import UnknownModelError

__all__ = [
    "LIMIT_NOTE",
    "METHOD_PAIRED_BINARY",
    "METHOD_PAIRED_CONTINUOUS",
    "METHOD_UNPAIRED",
    "COMPARE_COLUMNS",
    "TASK_DOCS",
    "SCORE_SETTINGS",
    "RecoveryResult",
    "compare",
    "recovery",
    "comparability",
    "flips",
    "invalid_rates",
    "trend",
    "verdict_text",
    "limit_note",
    "paired_binary_stats",
    "paired_continuous_stats",
    "unpaired_stats",
]

#: Plain statement about lm-eval's ``--limit`` that every report shows next to the intervals.
LIMIT_NOTE = (
    "lm-eval's `limit` evaluates the FIRST N documents of each task, in the dataset's order, "
    "not a random sample: the intervals describe those documents, and a different slice of "
    "the task could score differently."
)

METHOD_PAIRED_BINARY = "paired-binary (McNemar exact, Agresti–Min CI)"
METHOD_PAIRED_CONTINUOUS = "paired-continuous (t)"
METHOD_UNPAIRED = "unpaired (normal, lm-eval stderr)"

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

_Z80 = float(stats.norm.ppf(0.80))
#: |d + margin| below this counts as "at the margin" (0.81 − 0.83 is −0.0199999999999999 in
#: floats); 1e-6 is 0.0001 points, far below any meaningful difference.
_AT_MARGIN = 1e-6
#: paired differences whose spread is below this (relative to their size) are "all equal":
#: x + 0.01 − x is not exactly 0.01 for every x in floats.
_NO_SPREAD = 1e-12
_SRC = "compare"


# --------------------------------------------------------------------------------------------
# small helpers


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return float(stats.norm.ppf(1.0 - (1.0 - confidence) / 2.0))


def limit_note(limit: float | None = None) -> str:
    """The plain note on lm-eval's ``limit``, naming the value when one is given.

    >>> limit_note(100.0).startswith("lm-eval's limit=100 evaluates the FIRST 100 documents")
    True
    """
    if limit is None or (isinstance(limit, float) and math.isnan(limit)):
        return LIMIT_NOTE
    if 0 < limit < 1:
        return (
            f"lm-eval's limit={limit:g} evaluates the FIRST ceil({limit:g} × N) documents of each "
            "task, in the dataset's order, not a random sample: the intervals describe those "
            "documents, and a different slice of the task could score differently."
        )
    return (
        f"lm-eval's limit={limit:g} evaluates the FIRST {limit:g} documents of each task, in the "
        "dataset's order, not a random sample: the intervals describe those documents, and a "
        "different slice of the task could score differently."
    )


def _headline_metric(task: str, available: list[tuple[str, str]],
                     overrides: dict | None) -> tuple[str | None, str | None, str]:
    """Ask the loader's headline table (imported lazily: the loader sits beside us)."""
    from evalkit.lmeval import headline_metric

    try:
        metric, filt, note = headline_metric(task, available, overrides)
    except (KeyError, ValueError, LookupError) as exc:
        return None, None, f"no headline metric for {task}: {exc}"
    return metric, filt, note or ""


def _check_models(scores: pd.DataFrame, names: Iterable[str]) -> None:
    present = sorted({str(m) for m in scores["model"].dropna().unique()})
    for name in names:
        if name not in present:
            raise UnknownModelError(
                f"model {name!r} is not in the scores; models present: "
                f"{', '.join(present) if present else '(none)'}"
            )


def _latest_jobs(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, task): the run that wins (latest ``completed_at``, then
    ``created_at``, then job name; runs without a completion time lose to those with one)."""
    cols = ["model", "task", "job", "completed_at", "created_at"]
    runs = (
        scores[cols]
        .groupby(["model", "task", "job"], as_index=False, dropna=False, sort=False)
        .agg(completed_at=("completed_at", "max"), created_at=("created_at", "max"))
    )
    runs = runs.sort_values(
        ["model", "task", "completed_at", "created_at", "job"], na_position="first",
        kind="mergesort",
    )
    return runs.groupby(["model", "task"], sort=False, dropna=False).tail(1).reset_index(drop=True)


def _fmt_points(x: float, signed: bool = True) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    v = 100.0 * x
    s = f"{v:+.1f}" if signed else f"{v:.1f}"
    return s.replace("-", "−")


def _fmt_margin(margin: float) -> str:
    v = 100.0 * margin
    return f"{v:g}-point" if v != 1 else "1-point"


def _round_sig(n: float, sig: int = 2) -> int:
    if n < 100:
        return int(n)
    digits = int(math.floor(math.log10(n))) + 1 - sig
    return int(round(n, -digits))


def _is_nan(x: Any) -> bool:
    try:
        return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))
    except TypeError:
        return False


# --------------------------------------------------------------------------------------------
# the formulas


def paired_binary_stats(b: int, c: int, n: int, confidence: float = 0.95) -> dict[str, float]:
    """Paired 0/1 outcomes: Agresti–Min interval and exact McNemar test.

    ``b`` = #(baseline 1, candidate 0), ``c`` = #(baseline 0, candidate 1), ``n`` matched docs.

    - ``paired_delta`` = (c − b)/n
    - Agresti–Min adjusted Wald (½ added to each of the four cells): n* = n + 2,
      centre = (c − b)/n*, se = √(((b + c + 1) − (c − b)²/n*)/n*²), CI = centre ± z·se
    - ``p_value`` = min(1, 2·P[X ≤ min(b, c)]), X ~ Binomial(b + c, ½); 1 when b + c = 0.

    >>> r = paired_binary_stats(b=6, c=4, n=100)
    >>> round(r["paired_delta"], 3), round(r["ci_low"], 4), round(r["ci_high"], 4)
    (-0.02, -0.0832, 0.044)
    >>> round(r["p_value"], 4)
    0.7539
    """
    if n <= 0:
        raise ValueError("n must be positive")
    if b < 0 or c < 0 or b + c > n:
        raise ValueError(f"need 0 <= b, c and b + c <= n; got b={b}, c={c}, n={n}")
    z = _z(confidence)
    n_star = n + 2.0
    centre = (c - b) / n_star
    se = math.sqrt(((b + c + 1.0) - (c - b) ** 2 / n_star) / n_star**2)
    if b + c == 0:
        p = 1.0
    else:
        p = min(1.0, 2.0 * float(stats.binom.cdf(min(b, c), b + c, 0.5)))
    return {
        "paired_delta": (c - b) / n, "ci_centre": centre, "se": se,
        "ci_low": centre - z * se, "ci_high": centre + z * se, "p_value": p,
    }


def paired_continuous_stats(d: np.ndarray, confidence: float = 0.95) -> dict[str, Any]:
    """Paired continuous outcomes: paired t interval and test on dᵢ = candidateᵢ − baselineᵢ.

    ``paired_delta`` = mean(d), se = sd(d, ddof=1)/√n, CI = mean(d) ± t₍n−1, 1−α/2₎·se, ``p_value``
    from the paired t-test (as :func:`scipy.stats.ttest_rel`). When every dᵢ is equal (sd = 0)
    or n = 1 there is no spread to build an interval from: se, CI and p are NaN and ``note`` says
    why — never a zero-width certainty.

    >>> r = paired_continuous_stats(np.array([0.1, -0.05, 0.0, 0.02]))
    >>> round(r["paired_delta"], 4), r["note"]
    (0.0175, '')
    """
    d = np.asarray(d, dtype=float)
    n = d.size
    if n == 0:
        raise ValueError("no paired differences")
    mean = float(d.mean())
    nan = float("nan")
    out: dict[str, Any] = {"paired_delta": mean, "ci_centre": mean, "se": nan,
                           "ci_low": nan, "ci_high": nan, "p_value": nan, "note": ""}
    if n == 1:
        out["note"] = "n = 1: one paired document gives no spread, so no interval or test"
        return out
    sd = float(d.std(ddof=1))
    # equal differences come out a few ulp apart (x + 0.01 − x), so compare with a tolerance
    if np.ptp(d) <= _NO_SPREAD * max(1.0, abs(mean)):
        out["se"] = 0.0
        out["note"] = (
            f"all {n} paired differences equal {mean:+.4g} (sd = 0): no spread to build an "
            "interval from; reported as such, not as a zero-width certainty"
        )
        return out
    se = sd / math.sqrt(n)
    t = float(stats.t.ppf(1.0 - (1.0 - confidence) / 2.0, n - 1))
    tstat = mean / se
    out.update(se=se, ci_low=mean - t * se, ci_high=mean + t * se,
               p_value=float(2.0 * stats.t.sf(abs(tstat), n - 1)))
    return out


def unpaired_stats(delta: float, se_b: float, se_c: float,
                   confidence: float = 0.95) -> dict[str, Any]:
    """Unpaired comparison from lm-eval's standard errors.

    se = √(se_b² + se_c²), CI = delta ± z·se, two-sided normal p = 2·(1 − Φ(|delta|/se)).
    A missing stderr gives NaN and a ``note`` that says why.

    >>> r = unpaired_stats(-0.02, 0.04, 0.0416)
    >>> round(r["se"], 4), round(r["ci_low"], 3), round(r["ci_high"], 3)
    (0.0577, -0.133, 0.093)
    """
    nan = float("nan")
    out: dict[str, Any] = {"paired_delta": nan, "ci_centre": delta, "se": nan,
                           "ci_low": nan, "ci_high": nan, "p_value": nan, "note": ""}
    missing = [w for w, s in (("baseline", se_b), ("candidate", se_c)) if _is_nan(s)]
    if missing:
        out["note"] = (
            f"lm-eval reported no standard error for the {' and '.join(missing)} score "
            "(\"N/A\": n ≤ 1, bootstrap_iters 0 or no stderr function), and no per-sample "
            "outcomes pair the runs: no interval"
        )
        return out
    se = math.sqrt(se_b**2 + se_c**2)
    if se == 0.0:
        out["se"] = 0.0
        out["note"] = ("both standard errors are 0 (every document scored alike): no spread to "
                       "build an interval from")
        return out
    z = _z(confidence)
    out.update(se=se, ci_low=delta - z * se, ci_high=delta + z * se,
               p_value=float(2.0 * stats.norm.sf(abs(delta) / se)))
    return out


def _verdict(ci_low: float, ci_high: float, margin: float) -> str:
    """``better`` (ci_low > 0), ``non-inferior`` (ci_low > −margin), ``inferior``
    (ci_high < −margin), else ``inconclusive`` (also when there is no interval)."""
    if ci_low > 0:
        return "better"
    if ci_low > -margin:
        return "non-inferior"
    if ci_high < -margin:
        return "inferior"
    return "inconclusive"


def _power(row: dict[str, Any], margin: float, confidence: float, spread_n: float) -> None:
    """Fill significant, mde, n_needed (+ note) from se, p_value and the estimate.

    mde = (z + z₀.₈₀)·se; n_needed = ⌈((z + z₀.₈₀)·se·√n / (d + margin))²⌉ with d the method's
    estimate; ``spread_n`` is se·√n, the per-item spread.
    """
    alpha = 1.0 - confidence
    zz = _z(confidence) + _Z80
    se = row["se"]
    p = row["p_value"]
    row["significant"] = bool(np.isfinite(p) and p < alpha)
    row["mde"] = zz * se if np.isfinite(se) and se > 0 else float("nan")
    d = row["paired_delta"] if row["method"] != METHOD_UNPAIRED else row["delta"]
    row["n_needed"] = pd.NA
    unit = "paired samples" if row["method"] != METHOD_UNPAIRED else "documents per model"
    if not np.isfinite(d):
        row["n_needed_note"] = "no estimate"
    elif d + margin <= _AT_MARGIN:  # a drop of exactly the margin, up to float rounding
        row["n_needed_note"] = (
            f"the observed difference ({_fmt_points(d)} points) is at or below −margin: "
            "no sample size would show non-inferiority"
        )
    elif not (np.isfinite(spread_n) and spread_n > 0):
        row["n_needed_note"] = "no per-item spread to project from"
    else:
        need = math.ceil((zz * spread_n / (d + margin)) ** 2)
        row["n_needed"] = need
        note = f"{unit} per task for non-inferiority at 80% power"
        n_docs = row.get("n_docs")
        if n_docs is not None and not _is_nan(n_docs) and need > n_docs:
            note += (f"; more than the task's {int(n_docs):,} documents, so even the full task "
                     "would not resolve the margin")
        row["n_needed_note"] = note


def verdict_text(row: pd.Series | dict[str, Any]) -> str:
    """Spell out a row of :func:`compare` for humans.

    >>> verdict_text({"verdict": "inconclusive", "n_needed": 1885, "margin": 0.02,
    ...               "method": METHOD_PAIRED_BINARY, "ci_low": -0.06, "ci_high": 0.06,
    ...               "confidence": 0.95})
    'inconclusive: ≈1,900 paired samples per task would resolve a 2-point margin'
    """
    get = row.get
    verdict = get("verdict", "inconclusive")
    margin = float(get("margin", 0.02))
    conf = float(get("confidence", 0.95))
    lo, hi = get("ci_low", float("nan")), get("ci_high", float("nan"))
    ci = (f"{conf:.0%} CI {_fmt_points(lo)} to {_fmt_points(hi)} points"
          if not (_is_nan(lo) or _is_nan(hi)) else "")
    if verdict == "better":
        return f"better: the candidate scores higher ({ci}, entirely above 0)"
    if verdict == "non-inferior":
        txt = (f"non-inferior: the {ci} lies above −{100 * margin:g} points, "
               f"the {_fmt_margin(margin)} margin")
        p, hi = get("p_value", float("nan")), get("ci_high", float("nan"))
        if not _is_nan(p) and not _is_nan(hi) and hi < 0 and p < 1.0 - conf:
            txt += f"; the drop itself is statistically significant (p = {p:.2g}), only small"
        return txt
    if verdict == "inferior":
        return (f"inferior: the {ci} lies entirely below −{100 * margin:g} points, "
                f"the {_fmt_margin(margin)} margin")
    # inconclusive
    paired = str(get("method", "")).startswith("paired")
    need = get("n_needed")
    if ci == "":
        why = get("method_note") or "no interval could be computed"
        return f"inconclusive: {why}"
    if need is not None and not _is_nan(need):
        unit = "paired samples" if paired else "documents per model"
        txt = (f"inconclusive: ≈{_round_sig(float(need)):,} {unit} per task would resolve a "
               f"{_fmt_margin(margin)} margin")
        n_docs = get("n_docs")
        if n_docs is not None and not _is_nan(n_docs) and float(need) > float(n_docs):
            txt += f" — more than the task's {int(n_docs):,} documents"
        return txt
    note = get("n_needed_note") or ""
    return f"inconclusive: {ci} spans the {_fmt_margin(margin)} margin" + (
        f"; {note}" if note else "")


# --------------------------------------------------------------------------------------------
# selecting what to compare


@dataclass
class _Pair:
    task: str
    metric: str
    filter: str
    b: pd.Series
    c: pd.Series
    is_group: bool
    headline_note: str = ""


@dataclass
class _Match:
    xb: np.ndarray
    xc: np.ndarray
    n_unmatched: int = 0
    n_hash_mismatch: int = 0
    n_prompt_mismatch: int = 0
    note: str = ""


@dataclass
class _Ctx:
    issues: list[dict[str, str]] = field(default_factory=list)

    def add(self, obj: str, severity: str, message: str, source: str = _SRC) -> None:
        self.issues.append(frames.issue(source, obj, severity, message))

    def frame(self) -> pd.DataFrame:
        return frames.conform("issues", self.issues) if self.issues else frames.empty("issues")


def _model_rows(scores: pd.DataFrame, latest: pd.DataFrame, model: str) -> pd.DataFrame:
    jobs = latest[latest["model"] == model][["task", "job"]]
    rows = scores[scores["model"] == model].merge(jobs, on=["task", "job"], how="inner")
    return rows


def _select_pairs(scores: pd.DataFrame, baseline: str, candidate: str, *, all_metrics: bool,
                  headline: dict | None, ctx: _Ctx, tasks: Sequence[str] | None = None,
                  src: str = _SRC) -> list[_Pair]:
    latest = _latest_jobs(scores)
    rb = _model_rows(scores, latest, baseline)
    rc = _model_rows(scores, latest, candidate)
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
    pairs: list[_Pair] = []
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
            m, f, note = _headline_metric(task, list(common), headline)
            if m is None or (m, f) not in common:
                ctx.add(task, "warning",
                        note or f"{task}: headline metric {m},{f} not reported by both models",
                        src)
                continue
            chosen = [(m, f, note)]
        for m, f, note in chosen:
            b = ub[(ub["metric"] == m) & (ub["filter"] == f)].iloc[0]
            c = uc[(uc["metric"] == m) & (uc["filter"] == f)].iloc[0]
            pairs.append(_Pair(task, m, f, b, c, bool(b["is_group"] or c["is_group"]), note))
    return pairs


def _samples_index(samples: pd.DataFrame | None,
                   jobs: set[str]) -> dict[tuple[str, str, str, str, str], pd.DataFrame]:
    if samples is None or len(samples) == 0:
        return {}
    frames.validate(samples, "samples")
    s = samples[samples["job"].isin(jobs)]
    cols = ["doc_id", "value", "doc_hash", "prompt_hash"]
    keys = ["model", "job", "task", "filter", "metric"]
    return {k: g[cols] for k, g in s.groupby(keys, sort=False)}


def _match(index: dict, p: _Pair, ctx: _Ctx, src: str = _SRC) -> tuple[_Match | None, str]:
    """Pair per-sample outcomes of the two runs on (task, doc_id, filter) for one metric."""
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
    if not fin.all():
        ctx.add(obj, "warning", f"{p.task} ({p.filter}): {int((~fin).sum())} paired document(s) "
                "without a finite value; dropped", src)
        vb, vc = vb[fin], vc[fin]
    res = _Match(vb, vc, n_unmatched=len(only_b) + len(only_c), n_hash_mismatch=int(bad.sum()),
                 n_prompt_mismatch=n_prompt)
    if vb.size == 0:
        msg = f"no documents of {p.task} ({p.filter}) pair up between the runs: compared unpaired"
        ctx.add(obj, "warning", msg, src)
        return None, msg
    return res, ""


def _is_binary(m: _Match) -> bool:
    return bool(np.isin(m.xb, (0.0, 1.0)).all() and np.isin(m.xc, (0.0, 1.0)).all())


def _n_docs(p: _Pair) -> float:
    for col in ("n_docs", "n_original"):
        if col in p.b.index and not _is_nan(p.b[col]):
            return float(p.b[col])
    if p.task in TASK_DOCS:
        return float(TASK_DOCS[p.task])
    if _is_nan(p.b["limit"]) and not _is_nan(p.b["n"]):
        return float(p.b["n"])  # the whole task was evaluated
    return float("nan")


# --------------------------------------------------------------------------------------------
# comparability


def _norm_setting(v: Any) -> Any:
    if _is_nan(v):
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


def _runs_row(runs: pd.DataFrame, job: str, task: str) -> pd.Series | None:
    r = runs[(runs["job"] == job) & (runs["task"] == task)]
    if r.empty:
        return None
    return r.sort_values("completed_at", na_position="first").iloc[-1]


def _settings_diff(rb: pd.Series, rc: pd.Series) -> tuple[list[dict[str, Any]], list[str]]:
    rows, differing = [], []
    for col, label in {**SCORE_SETTINGS, **INFO_SETTINGS}.items():
        vb = rb[col] if col in rb.index else None
        vc = rc[col] if col in rc.index else None
        same = _norm_setting(vb) == _norm_setting(vc)
        changes = col in SCORE_SETTINGS
        rows.append({"setting": col, "label": label, "baseline": vb, "candidate": vc,
                     "same": same, "changes_scores": changes})
        if not same and changes:
            differing.append(f"{label}: {_show(vb)} vs {_show(vc)}")
    return rows, differing


def _show(v: Any) -> str:
    if _is_nan(v):
        return "unset"
    s = str(v)
    return s if len(s) <= 40 else s[:37] + "..."


def _compare_runs(runs: pd.DataFrame | None, p: _Pair) -> tuple[Any, str]:
    """(comparable, note) for one pair of runs."""
    diffs: list[str] = []
    for col, label in (("num_fewshot", "number of few-shot examples"),
                       ("limit", "document limit")):
        if _norm_setting(p.b[col]) != _norm_setting(p.c[col]):
            diffs.append(f"{label}: {_show(p.b[col])} vs {_show(p.c[col])}")
    if runs is None:
        if diffs:
            return False, "differs in " + "; ".join(diffs)
        return pd.NA, "no run metadata given (runs=None): only n-shot and limit checked"
    rb, rc = _runs_row(runs, p.b["job"], p.task), _runs_row(runs, p.c["job"], p.task)
    if rb is None or rc is None:
        miss = [j for j, r in ((p.b["job"], rb), (p.c["job"], rc)) if r is None]
        note = f"no run metadata for job(s) {', '.join(miss)}"
        if diffs:
            return False, "differs in " + "; ".join(diffs) + f"; {note}"
        return pd.NA, note + ": only n-shot and limit checked"
    _, more = _settings_diff(rb, rc)
    for d in more:
        if d.split(":")[0] not in {x.split(":")[0] for x in diffs}:
            diffs.append(d)
    if diffs:
        return False, "differs in " + "; ".join(diffs)
    return True, ""


def comparability(runs: pd.DataFrame, baseline: str, candidate: str, *,
                  task: str | Sequence[str] | None = None,
                  scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """The lm-eval settings of the baseline and candidate runs side by side, per task.

    One row per (task, setting) with ``task``, ``setting``, ``label``, ``baseline``,
    ``candidate``, ``same``, ``changes_scores``, ``baseline_job``, ``candidate_job``,
    ``baseline_model``, ``candidate_model``.
    Settings in :data:`SCORE_SETTINGS` change scores: when one differs the runs are not
    comparable (``compare``'s ``comparable`` is False and names it). :data:`INFO_SETTINGS`
    (lm-eval version, tokenizer, model arguments) are shown but not held against comparability.
    The runs used are those :func:`compare` uses when ``scores`` is given (latest completed run
    per model and task), else the latest per model and task in ``runs``. A task run by one model
    only is listed in ``result.attrs["issues"]``.

    Examples
    --------
    >>> runs = frames.conform("runs", [
    ...     {"model": "fp16", "job": "a", "task": "gsm8k", "num_fewshot": 5, "limit": 100},
    ...     {"model": "w4", "job": "b", "task": "gsm8k", "num_fewshot": 8, "limit": 100}])
    >>> t = comparability(runs, baseline="fp16", candidate="w4")
    >>> t.loc[~t["same"], "setting"].tolist()
    ['num_fewshot']
    """
    frames.validate(runs, "runs")
    ctx = _Ctx()
    if scores is not None:
        frames.validate(scores, "scores")
        _check_models(scores, [baseline, candidate])
        latest = _latest_jobs(scores)[["model", "task", "job"]]
    else:
        present = sorted({str(m) for m in runs["model"].dropna().unique()})
        for name in (baseline, candidate):
            if name not in present:
                raise UnknownModelError(f"model {name!r} is not in the runs; models present: "
                                        f"{', '.join(present) if present else '(none)'}")
        r = runs.assign(created_at=pd.NaT)
        latest = _latest_jobs(r)[["model", "task", "job"]]
    tasks = [task] if isinstance(task, str) else (list(task) if task is not None else None)
    jb = latest[latest["model"] == baseline].set_index("task")["job"]
    jc = latest[latest["model"] == candidate].set_index("task")["job"]
    names = tasks if tasks is not None else sorted(set(jb.index) | set(jc.index))
    out: list[dict[str, Any]] = []
    for t in names:
        if t not in jb.index or t not in jc.index:
            ctx.add(t, "warning", f"{t}: run by one model only; nothing to compare",
                    "comparability")
            continue
        rb, rc = _runs_row(runs, jb[t], t), _runs_row(runs, jc[t], t)
        if rb is None or rc is None:
            ctx.add(t, "warning", f"{t}: no run metadata for job {jb[t] if rb is None else jc[t]}",
                    "comparability")
            continue
        rows, _ = _settings_diff(rb, rc)
        for r in rows:
            out.append({"task": t, **r, "baseline_job": jb[t], "candidate_job": jc[t],
                        "baseline_model": baseline, "candidate_model": candidate})
    cols = ["task", "setting", "label", "baseline", "candidate", "same", "changes_scores",
            "baseline_job", "candidate_job", "baseline_model", "candidate_model"]
    res = pd.DataFrame(out, columns=cols)
    res["same"] = res["same"].astype(bool)
    res["changes_scores"] = res["changes_scores"].astype(bool)
    frames.attach_issues(res, ctx.issues)
    return res


# --------------------------------------------------------------------------------------------
# compare


def compare(scores: pd.DataFrame, baseline: str, candidate: str | Sequence[str], *,
            samples: pd.DataFrame | None = None, runs: pd.DataFrame | None = None,
            margin: float = 0.02, confidence: float = 0.95, all_metrics: bool = False,
            headline: dict | None = None) -> pd.DataFrame:
    """Compare a candidate (or several) with a baseline, task by task, with honest uncertainty.

    Parameters
    ----------
    scores : DataFrame
        The ``scores`` frame (see :mod:`evalkit.frames`). When a model ran a task several times
        the latest completed run wins (``completed_at``, then ``created_at``, then job name).
        Rows with ``usable`` False never enter a comparison.
    baseline, candidate : str
        Model names; ``candidate`` may be a list (each is compared with the baseline, rows told
        apart by ``candidate_model``). An unknown name raises
        :class:`~evalkit.errors.UnknownModelError` listing the models present.
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

        ``result.attrs["issues"]`` lists every data problem met (``evalkit.frames.issues_of(result)``
        gives them as an ``issues`` frame): documents
        present for one model only or with differing ``doc_hash`` (dropped from the pairing),
        differing ``prompt_hash`` (counted, kept), a task run by one model only, unusable scores,
        runs without samples. ``result.attrs["limit_note"]`` is :data:`LIMIT_NOTE`.

    Examples
    --------
    >>> s = frames.conform("scores", [
    ...     {"model": m, "job": m, "task": "arc_easy", "metric": "acc_norm", "filter": "none",
    ...      "value": v, "stderr": 0.04, "n": 100, "usable": True}
    ...     for m, v in (("fp16", 0.80), ("w4a16", 0.79))])
    >>> r = compare(s, baseline="fp16", candidate="w4a16")
    >>> float(round(r.loc[0, "delta"], 3)), r.loc[0, "verdict"], int(r.loc[0, "n_needed"])
    (-0.01, 'inconclusive', 25117)
    """
    frames.validate(scores, "scores")
    if runs is not None:
        frames.validate(runs, "runs")
    if not 0 <= margin:
        raise ValueError(f"margin must be >= 0, got {margin!r}")
    _z(confidence)
    cands = [candidate] if isinstance(candidate, str) else list(candidate)
    if not cands:
        raise ValueError("candidate: give at least one model name")
    _check_models(scores, [baseline, *cands])
    ctx = _Ctx()
    latest = _latest_jobs(scores)
    jobs = set(latest.loc[latest["model"].isin([baseline, *cands]), "job"])
    index = _samples_index(samples, jobs)
    rows: list[dict[str, Any]] = []
    for cand in cands:
        pairs = _select_pairs(scores, baseline, cand, all_metrics=all_metrics,
                              headline=headline, ctx=ctx)
        for p in pairs:
            rows.append(_compare_pair(p, baseline, cand, index, runs, margin, confidence, ctx))
    res = pd.DataFrame(rows, columns=COMPARE_COLUMNS)
    res = _dtypes(res)
    frames.attach_issues(res, ctx.issues)
    res.attrs["limit_note"] = LIMIT_NOTE
    res.attrs["margin"] = margin
    res.attrs["confidence"] = confidence
    return res


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


def _compare_pair(p: _Pair, baseline: str, cand: str, index: dict, runs: pd.DataFrame | None,
                  margin: float, confidence: float, ctx: _Ctx) -> dict[str, Any]:
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
        "n_docs": _n_docs(p), "n_lost": pd.NA, "n_gained": pd.NA, "n_unmatched": pd.NA,
        "n_hash_mismatch": pd.NA, "n_prompt_mismatch": pd.NA,
    }
    match, why = _match(index, p, ctx)
    if match is not None:
        n = int(match.xb.size)
        row.update(n=n, n_unmatched=match.n_unmatched, n_hash_mismatch=match.n_hash_mismatch,
                   n_prompt_mismatch=match.n_prompt_mismatch)
        if _is_binary(match):
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
        ns = [int(x) for x in (nb, nc) if not _is_nan(x)]
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
    _power(row, margin, confidence, spread)
    row["verdict"] = _verdict(row["ci_low"], row["ci_high"], margin)
    comparable, cnote = _compare_runs(runs, p)
    row["comparable"], row["comparability_note"] = comparable, cnote
    row["verdict_text"] = verdict_text(row)
    return row


# --------------------------------------------------------------------------------------------
# recovery


@dataclass(frozen=True)
class RecoveryResult:
    """Recovery of the candidate relative to the baseline, in percent.

    Attributes
    ----------
    recovery : float
        100 × mean(candidate headline scores) / mean(baseline headline scores) over the counted
        tasks (the ratio of averages, as the RedHatAI model cards compute it).
    ci_low, ci_high : float
        Percentile bootstrap interval (NaN when a counted task has no way to resample).
    per_task : DataFrame
        task, metric, filter, is_group, counted, baseline, candidate, recovery (per task, %),
        n, method, note.
    confidence, n_resamples, seed : settings used.
    issues : DataFrame
        Data issues met (an ``issues`` frame).
    """

    recovery: float
    ci_low: float
    ci_high: float
    per_task: pd.DataFrame
    baseline: str = ""
    candidate: str = ""
    confidence: float = 0.95
    n_resamples: int = 10_000
    seed: int | None = 0
    issues: pd.DataFrame = field(default_factory=lambda: frames.empty("issues"))

    @property
    def tasks(self) -> list[str]:
        """The tasks counted in the average."""
        return self.per_task.loc[self.per_task["counted"], "task"].tolist()

    def to_dict(self) -> dict[str, Any]:
        """Plain values for ``summary.json``."""
        return {"recovery": self.recovery, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "confidence": self.confidence, "n_resamples": self.n_resamples,
                "baseline": self.baseline, "candidate": self.candidate, "tasks": self.tasks}

    def __repr__(self) -> str:
        ci = (f"{self.confidence:.0%} CI {self.ci_low:.1f}–{self.ci_high:.1f} %"
              if np.isfinite(self.ci_low) and np.isfinite(self.ci_high) else "no interval")
        tasks = self.tasks
        shown = ", ".join(tasks[:6]) + (", ..." if len(tasks) > 6 else "")
        return (f"<Recovery {self.candidate!s} vs {self.baseline!s}: {self.recovery:.1f} % "
                f"({ci}, {self.n_resamples:,} bootstrap resamples) over {len(tasks)} task(s): "
                f"{shown}>")

    __str__ = __repr__


_EXACT_BUDGET = 20_000_000  # resample indices drawn at most; above it, the normal approximation


def _boot_task(rng: np.random.Generator, m: _Match | None, p: _Pair,
               R: int) -> tuple[np.ndarray | None, np.ndarray | None, str, str]:
    """Bootstrap draws of (baseline mean, candidate mean) for one task."""
    if m is not None and _is_binary(m):
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
    if _is_nan(sb) or _is_nan(sc):
        return None, None, "none", "no samples and no stderr: cannot resample"
    return (rng.normal(float(p.b["value"]), float(sb), R),
            rng.normal(float(p.c["value"]), float(sc), R), "normal (lm-eval stderr)",
            "unpaired: the two scores are drawn independently")


def recovery(scores: pd.DataFrame, baseline: str, candidate: str, *,
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
    _check_models(scores, [baseline, candidate])
    alpha = 1.0 - confidence
    _z(confidence)
    ctx = _Ctx()
    src = "recovery"
    pairs = _select_pairs(scores, baseline, candidate, all_metrics=False, headline=headline,
                          ctx=ctx, tasks=list(tasks) if tasks is not None else None, src=src)
    latest = _latest_jobs(scores)
    index = _samples_index(samples, set(latest.loc[latest["model"].isin(
        [baseline, candidate]), "job"]))
    # decide what counts
    group_of: dict[str, str] = {}
    if "group" in scores.columns:
        g = scores[["task", "group"]].dropna().drop_duplicates("task")
        group_of = dict(zip(g["task"], g["group"], strict=True))
    requested = set(tasks) if tasks is not None else None
    rows: list[dict[str, Any]] = []
    counted_pairs: list[_Pair] = []
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
        m, _ = _match(index, p, ctx, src)
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
    per_task["n"] = pd.to_numeric(per_task["n"], errors="coerce").astype("Int64")
    per_task["counted"] = per_task["counted"].astype(bool)
    per_task["is_group"] = per_task["is_group"].astype(bool)
    cnt = per_task[per_task["counted"]]
    nan = float("nan")
    if cnt.empty:
        ctx.add("recovery", "warning", "no task is reported by both models: no recovery", src)
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
    return RecoveryResult(recovery=float(point), ci_low=lo, ci_high=hi, per_task=per_task,
                          baseline=baseline, candidate=candidate, confidence=confidence,
                          n_resamples=R, seed=seed, issues=ctx.frame())


# --------------------------------------------------------------------------------------------
# flips and invalid answers


def _sample_jobs(samples: pd.DataFrame, model: str, task: str, scores: pd.DataFrame | None,
                 ctx: _Ctx) -> str | None:
    if scores is not None:
        latest = _latest_jobs(scores)
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


def flips(samples: pd.DataFrame, baseline: str, candidate: str, *, task: str | None = None,
          filter: str | None = None, metric: str | None = None,
          scores: pd.DataFrame | None = None, threshold: float = 0.5,
          headline: dict | None = None) -> pd.DataFrame:
    """The documents whose outcome changed between the baseline and the candidate.

    Documents are paired on (task, doc_id, filter) for one metric per task (the headline metric
    unless ``metric``/``filter`` are given) within the latest run of each model (from ``scores``
    when given, else the last job name). For 0/1 outcomes a flip is any change; for continuous
    outcomes (truthfulqa_mc2) a flip is crossing ``threshold`` (0.5: the majority of the
    probability mass moved between true and false answers).

    Returns one row per flipped document: ``task``, ``metric``, ``filter``, ``doc_id``,
    ``baseline_value``, ``candidate_value``, ``delta``, ``change`` ("lost": the candidate got it
    wrong, "gained"), ``target``, ``baseline_response``, ``candidate_response``, ``doc_hash``,
    ``prompt_differs``. ``attrs["invalid_rate"]`` holds :func:`invalid_rates` records for the
    two models, ``attrs["issues"]`` the data issues (unmatched docs, hash mismatches;
    read them with ``evalkit.frames.issues_of``).

    >>> s = frames.conform("samples", [
    ...     {"model": m, "job": m, "task": "arc_easy", "doc_id": i, "filter": "none",
    ...      "metric": "acc_norm", "value": v, "target": "A"}
    ...     for m, vals in (("fp16", [1, 1, 0]), ("w4", [1, 0, 1])) for i, v in enumerate(vals)])
    >>> flips(s, "fp16", "w4", metric="acc_norm", filter="none")[["doc_id", "change"]].values.tolist()
    [[1, 'lost'], [2, 'gained']]
    """
    frames.validate(samples, "samples")
    present = sorted({str(m) for m in samples["model"].dropna().unique()})
    for name in (baseline, candidate):
        if name not in present:
            raise UnknownModelError(f"model {name!r} has no samples; models with samples: "
                                    f"{', '.join(present) if present else '(none)'}")
    ctx = _Ctx()
    tasks = [task] if task is not None else sorted(samples["task"].unique())
    parts: list[pd.DataFrame] = []
    used: list[pd.DataFrame] = []  # the sample rows of the runs compared (for invalid rates)
    for t in tasks:
        jb = _sample_jobs(samples, baseline, t, scores, ctx)
        jc = _sample_jobs(samples, candidate, t, scores, ctx)
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
            hm, hf, _ = _headline_metric(t, avail, headline)
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
    out.attrs["invalid_rate"] = invalid_rates(used_rows, [baseline, candidate],
                                              task=task).to_dict("records")
    frames.attach_issues(out, ctx.issues)
    return out


# --------------------------------------------------------------------------------------------
# trend


def trend(scores: pd.DataFrame, task: str | Sequence[str] | None = None, *,
          models: Sequence[str] | None = None, all_metrics: bool = False,
          confidence: float = 0.95, headline: dict | None = None) -> pd.DataFrame:
    """Every completed run per model and task over time, with intervals.

    One row per (model, task, metric, filter, job) for runs with a ``completed_at``, sorted by
    time: ``value``, ``stderr``, ``n``, ``ci_low``/``ci_high`` = value ± z·stderr (NaN when lm-eval
    gave no stderr), ``run`` (1 = oldest), ``n_runs`` and ``is_latest``. The headline metric per
    task unless ``all_metrics``. Unusable scores are left out and listed in
    ``attrs["issues"]``. ``attrs["multiple_runs"]`` is True when some model ran a task more than
    once (the report then shows "quality over time").

    >>> s = frames.conform("scores", [
    ...     {"model": "m", "job": j, "task": "arc_easy", "metric": "acc_norm", "filter": "none",
    ...      "value": v, "stderr": 0.01, "usable": True, "completed_at": ts}
    ...     for j, v, ts in (("j1", 0.80, "2025-01-01"), ("j2", 0.82, "2025-02-01"))])
    >>> trend(s)[["job", "run", "is_latest"]].values.tolist()
    [['j1', 1, False], ['j2', 2, True]]
    """
    frames.validate(scores, "scores")
    z = _z(confidence)
    ctx = _Ctx()
    s = scores[scores["completed_at"].notna()]
    if task is not None:
        s = s[s["task"].isin([task] if isinstance(task, str) else list(task))]
    if models is not None:
        _check_models(scores, models)
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
        m, f, _ = _headline_metric(str(t), avail, headline)
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
    frames.attach_issues(out, ctx.issues)
    out.attrs["multiple_runs"] = bool(len(out) and (out["n_runs"] > 1).any())
    return out
