"""The formulas: paired 0/1 outcomes (Agresti–Min interval, exact McNemar), paired continuous
outcomes (paired t, with a documented small-sample rule for identical differences), unpaired
scores (normal, lm-eval's stderr), relative changes (delta method), the verdict rule and the
sample size that would settle an inconclusive task. Every formula is in
``docs/statistics.md``.

Notation: α = 1 − confidence, z = Φ⁻¹(1 − α/2), z₀.₈₀ = Φ⁻¹(0.80). Every interval and test here
is two-sided at the same α, so "the interval excludes 0" and "the test rejects" can be required
together (:func:`verdict_rule`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import special  # scipy.stats costs ~1 s to import; these are its kernels

from .base import is_nan, z_value

METHOD_PAIRED_BINARY = "paired-binary (McNemar exact, Agresti–Min CI)"
METHOD_PAIRED_CONTINUOUS = "paired-continuous (t)"
METHOD_PAIRED_RELATIVE = "paired relative change (delta method)"
METHOD_UNPAIRED = "unpaired (normal, lm-eval stderr)"
METHOD_UNPAIRED_RELATIVE = "unpaired relative change (delta method, lm-eval stderr)"

Z80 = float(special.ndtri(0.80))
#: |d + margin| below this counts as "at the margin" (0.81 − 0.83 is −0.0199999999999999 in
#: floats); 1e-6 is 0.0001 points, far below any meaningful difference.
AT_MARGIN = 1e-6
#: paired differences whose spread is below this (relative to their size) are "all equal":
#: x + 0.01 − x is not exactly 0.01 for every x in floats.
NO_SPREAD = 1e-12
#: below this many documents an n_needed projection is called rough
ROUGH_N = 30


def paired_binary_stats(b: int, c: int, n: int, confidence: float = 0.95) -> dict[str, float]:
    """Paired 0/1 outcomes: Agresti–Min interval and exact McNemar test.

    ``b`` = #(baseline 1, candidate 0), ``c`` = #(baseline 0, candidate 1), ``n`` matched docs.

    - ``paired_delta`` = (c − b)/n
    - Agresti–Min adjusted Wald (½ added to each of the four cells): n* = n + 2,
      centre = (c − b)/n*, se = √(((b + c + 1) − (c − b)²/n*)/n*²), CI = centre ± z·se
    - ``p_value`` = min(1, 2·P[X ≤ min(b, c)]), X ~ Binomial(b + c, ½); 1 when b + c = 0.
    - ``sd`` = the plug-in per-document spread √((b + c)/n − ((c − b)/n)²) (for sample sizes).

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
    z = z_value(confidence)
    n_star = n + 2.0
    centre = (c - b) / n_star
    se = math.sqrt(((b + c + 1.0) - (c - b) ** 2 / n_star) / n_star**2)
    if b + c == 0:
        p = 1.0
    else:
        p = min(1.0, 2.0 * float(special.bdtr(min(b, c), b + c, 0.5)))
    d = (c - b) / n
    return {
        "paired_delta": d, "ci_centre": centre, "se": se,
        "ci_low": centre - z * se, "ci_high": centre + z * se, "p_value": p,
        "sd": math.sqrt(max((b + c) / n - d * d, 0.0)),
    }


def paired_continuous_stats(d: np.ndarray, confidence: float = 0.95) -> dict[str, Any]:
    """Paired continuous outcomes in [0, 1]: paired t interval and test on
    dᵢ = candidateᵢ − baselineᵢ.

    ``paired_delta`` = mean(d), se = sd(d, ddof=1)/√n, CI = mean(d) ± t₍n−1, 1−α/2₎·se, ``p_value``
    from the paired t-test (as :func:`scipy.stats.ttest_rel`).

    **Small-sample rule.** When every dᵢ is equal (sd = 0, e.g. identical models, or every
    document exactly 5 points worse) or n = 1, the plain t interval would have zero width — a
    certainty no finite sample gives. As Agresti–Min adds ½ to each cell of the 2×2 table, two
    pseudo-documents with the bounded metric's extreme differences, +1 and −1, are added with
    weight ½ each, and the t interval and test are computed on the augmented sample (weighted
    mean and variance, n + 1 degrees of freedom in total weight). ``note`` says so. A uniform
    drop is then still called what it is (a uniform 5-point drop on 100 documents is below a
    2-point margin), and identical models give the same answer as identical 0/1 outcomes.

    >>> r = paired_continuous_stats(np.array([0.1, -0.05, 0.0, 0.02]))
    >>> round(r["paired_delta"], 4), r["note"]
    (0.0175, '')
    >>> r = paired_continuous_stats(np.full(100, -0.05))
    >>> round(r["ci_low"], 4), round(r["ci_high"], 4)
    (-0.0693, -0.0297)
    """
    d = np.asarray(d, dtype=float)
    n = d.size
    if n == 0:
        raise ValueError("no paired differences")
    mean = float(d.mean())
    out: dict[str, Any] = {"paired_delta": mean, "ci_centre": mean, "note": ""}
    tq = 1.0 - (1.0 - confidence) / 2.0
    spread = float(np.ptp(d)) if n > 1 else 0.0
    if n > 1 and spread > NO_SPREAD * max(1.0, abs(mean)):
        sd = float(d.std(ddof=1))
        se = sd / math.sqrt(n)
        t = float(special.stdtrit(n - 1, tq))
        out.update(se=se, sd=sd, ci_low=mean - t * se, ci_high=mean + t * se,
                   p_value=float(2.0 * special.stdtr(n - 1, -abs(mean) / se)))
        return out
    # identical differences (or one document): the augmented sample of the docstring
    x = np.concatenate([d, [1.0, -1.0]])
    w = np.concatenate([np.ones(n), [0.5, 0.5]])
    total = float(w.sum())  # n + 1
    m = float((w * x).sum() / total)
    var = float((w * (x - m) ** 2).sum() / (total - 1.0))
    se = math.sqrt(var / total)
    df = total - 1.0
    t = float(special.stdtrit(df, tq))
    why = ("one paired document" if n == 1 else
           f"all {n} paired differences equal {mean:+.4g}")
    out.update(ci_centre=m, se=se, sd=math.sqrt(var), ci_low=m - t * se, ci_high=m + t * se,
               p_value=float(2.0 * special.stdtr(df, -abs(m) / se)),
               note=f"{why}: small-sample rule (pseudo-documents +1 and −1 with weight ½, as "
                    "Agresti–Min), so the interval has a real width")
    return out


def unpaired_stats(delta: float, se_b: float, se_c: float, confidence: float = 0.95, *,
                   values: tuple[float, float] | None = None,
                   ns: tuple[Any, Any] | None = None) -> dict[str, Any]:
    """Unpaired comparison from lm-eval's standard errors.

    se = √(se_b² + se_c²), CI = delta ± z·se, two-sided normal p = 2·(1 − Φ(|delta|/se)).
    A missing stderr gives NaN and a ``note`` that says why. A stderr of exactly 0 (a
    proportion of 0 or 1) is replaced, when ``values`` and ``ns`` are given, by the
    Agresti–Coull one √(p̃(1 − p̃)/(n + 2)) with p̃ = (n·p + 1)/(n + 2) — never a zero-width
    certainty.

    >>> r = unpaired_stats(-0.02, 0.04, 0.0416)
    >>> round(r["se"], 4), round(r["ci_low"], 3), round(r["ci_high"], 3)
    (0.0577, -0.133, 0.093)
    """
    nan = float("nan")
    out: dict[str, Any] = {"paired_delta": nan, "ci_centre": delta, "se": nan, "sd": nan,
                           "ci_low": nan, "ci_high": nan, "p_value": nan, "note": ""}
    missing = [w for w, s in (("baseline", se_b), ("candidate", se_c)) if is_nan(s)]
    if missing:
        out["note"] = (
            f"lm-eval reported no standard error for the {' and '.join(missing)} score "
            "(\"N/A\": n ≤ 1, bootstrap_iters 0 or no stderr function), and no per-sample "
            "outcomes pair the runs: no interval"
        )
        return out
    ses = [float(se_b), float(se_c)]
    if values is not None and ns is not None:
        for i in (0, 1):
            if ses[i] == 0.0 and not is_nan(ns[i]) and int(ns[i]) > 0:
                n_i = int(ns[i])
                pt = (n_i * float(values[i]) + 1.0) / (n_i + 2.0)
                ses[i] = math.sqrt(pt * (1.0 - pt) / (n_i + 2.0))
                out["note"] = ("a standard error of 0 (every document scored alike) was replaced "
                               "by the Agresti–Coull one")
    se = math.sqrt(ses[0] ** 2 + ses[1] ** 2)
    if se == 0.0:
        out["se"] = 0.0
        out["note"] = ("both standard errors are 0 and the document counts are unknown: no "
                       "spread to build an interval from")
        return out
    z = z_value(confidence)
    out.update(se=se, ci_low=delta - z * se, ci_high=delta + z * se,
               p_value=float(2.0 * special.ndtr(-abs(delta) / se)))
    return out


def relative_stats(mb: float, mc: float, var_b: float, var_c: float, cov: float,
                   confidence: float = 0.95) -> dict[str, Any]:
    """The relative change r = mc/mb − 1 with a delta-method interval:
    var(r) ≈ (var_c + R²·var_b − 2R·cov)/mb², R = mc/mb, where ``var_*`` are the variances of
    the two estimates (stderr²) and ``cov`` their covariance (0 unpaired). CI = r ± z·se,
    p = 2·(1 − Φ(|r|/se)).

    >>> r = relative_stats(4.56, 5.68, 0.1**2, 0.12**2, 0.0)
    >>> round(r["estimate"], 4), r["ci_low"] > 0
    (0.2456, True)
    """
    nan = float("nan")
    out: dict[str, Any] = {"estimate": nan, "se": nan, "ci_low": nan, "ci_high": nan,
                           "p_value": nan, "note": ""}
    if not (math.isfinite(mb) and math.isfinite(mc)) or mb == 0:
        out["note"] = "the baseline score is 0 or not finite: no relative change"
        return out
    ratio = mc / mb
    out["estimate"] = ratio - 1.0
    var = (var_c + ratio**2 * var_b - 2.0 * ratio * cov) / mb**2
    if not (math.isfinite(var) and var > 0):
        out["note"] = "no spread to build an interval from (missing or zero standard errors)"
        return out
    se = math.sqrt(var)
    z = z_value(confidence)
    out.update(se=se, ci_low=out["estimate"] - z * se, ci_high=out["estimate"] + z * se,
               p_value=float(2.0 * special.ndtr(-abs(out["estimate"]) / se)))
    return out


def verdict_rule(ci_low: float, ci_high: float, margin: float, *, p_value: float = float("nan"),
                 confidence: float = 0.95, higher_is_better: bool = True) -> str:
    """The verdict in the metric's direction, never contradicting the test beside it.

    With the improvement interval [lo, hi] (the interval of candidate − baseline when higher is
    better, of baseline − candidate when lower is better):

    - ``better``: lo > 0 AND the test rejects equality (p < α);
    - ``non-inferior``: lo > −margin (a "better" interval whose test does not reject lands here);
    - ``inferior``: hi < −margin AND the test rejects equality (p < α);
    - else ``inconclusive`` (also when there is no interval).

    >>> verdict_rule(0.005, 0.09, 0.02, p_value=0.0625)   # interval above 0, test does not reject
    'non-inferior'
    >>> verdict_rule(-0.6, -0.05, 0.02, p_value=0.0625)   # interval below −margin, test does not
    'inconclusive'
    >>> verdict_rule(0.1, 0.6, 0.02, p_value=0.001, higher_is_better=False)  # perplexity rose
    'inferior'
    """
    if is_nan(ci_low) or is_nan(ci_high):
        return "inconclusive"
    lo, hi = (ci_low, ci_high) if higher_is_better else (-ci_high, -ci_low)
    rejects = not is_nan(p_value) and p_value < 1.0 - confidence
    if lo > 0 and rejects:
        return "better"
    if lo > -margin:
        return "non-inferior"
    if hi < -margin and rejects:
        return "inferior"
    return "inconclusive"


def n_needed(improvement: float, margin: float, sd: float, confidence: float = 0.95, *,
             t_method: bool = False, n_now: int | None = None) -> tuple[Any, str]:
    """Documents per task that would show non-inferiority at 80 % power IF the observed
    improvement held: n = ⌈((q₁ + q₂)·sd / (improvement + margin))²⌉ with q₁ = z₁₋α/₂ and
    q₂ = z₀.₈₀ (normal approximation), or the t quantiles with n − 1 degrees of freedom solved
    by fixed-point iteration for the t method. ``sd`` is the per-document spread (plug-in, not
    the interval's pseudo-counts). Returns ``(n or NA, note)``.

    >>> n_needed(-0.01, 0.02, 0.2)
    (3140, 'normal approximation, if the observed difference held, at 80% power')
    """
    if is_nan(improvement):
        return pd.NA, "no estimate"
    if improvement + margin <= AT_MARGIN:  # a drop of the margin or more, up to float rounding
        return pd.NA, ("the observed difference is at or beyond −margin: no sample size would "
                       "show non-inferiority")
    if is_nan(sd) or not sd > 0:
        return pd.NA, "no per-document spread to project from"
    gap = improvement + margin
    zq = z_value(confidence) + Z80
    n = math.ceil((zq * sd / gap) ** 2)
    how = "normal approximation"
    if t_method:
        tq = 1.0 - (1.0 - confidence) / 2.0
        for _ in range(50):
            df = max(n - 1, 1)
            nxt = math.ceil(((special.stdtrit(df, tq) + special.stdtrit(df, 0.80)) * sd / gap) ** 2)
            if nxt == n:
                break
            n = nxt
        how = "t quantiles"
    n = max(n, 2)
    note = f"{how}, if the observed difference held, at 80% power"
    if n_now is not None and n_now < ROUGH_N:
        note += f"; rough: projected from n = {n_now}"
    return n, note
