"""The formulas: paired 0/1 outcomes (Agresti–Min interval, exact McNemar), paired continuous
outcomes (paired t), unpaired scores (normal, lm-eval's stderr), the verdict rule and the
sample size that would settle an inconclusive task. Every formula is in ``docs/statistics.md``.

Notation: α = 1 − confidence, z = Φ⁻¹(1 − α/2), z₀.₈₀ = Φ⁻¹(0.80).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .base import fmt_points, is_nan, z_value

METHOD_PAIRED_BINARY = "paired-binary (McNemar exact, Agresti–Min CI)"
METHOD_PAIRED_CONTINUOUS = "paired-continuous (t)"
METHOD_UNPAIRED = "unpaired (normal, lm-eval stderr)"

Z80 = float(stats.norm.ppf(0.80))
#: |d + margin| below this counts as "at the margin" (0.81 − 0.83 is −0.0199999999999999 in
#: floats); 1e-6 is 0.0001 points, far below any meaningful difference.
AT_MARGIN = 1e-6
#: paired differences whose spread is below this (relative to their size) are "all equal":
#: x + 0.01 − x is not exactly 0.01 for every x in floats.
NO_SPREAD = 1e-12



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
    z = z_value(confidence)
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
    if np.ptp(d) <= NO_SPREAD * max(1.0, abs(mean)):
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
    missing = [w for w, s in (("baseline", se_b), ("candidate", se_c)) if is_nan(s)]
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
    z = z_value(confidence)
    out.update(se=se, ci_low=delta - z * se, ci_high=delta + z * se,
               p_value=float(2.0 * stats.norm.sf(abs(delta) / se)))
    return out


def verdict_rule(ci_low: float, ci_high: float, margin: float) -> str:
    """``better`` (ci_low > 0), ``non-inferior`` (ci_low > −margin), ``inferior``
    (ci_high < −margin), else ``inconclusive`` (also when there is no interval)."""
    if ci_low > 0:
        return "better"
    if ci_low > -margin:
        return "non-inferior"
    if ci_high < -margin:
        return "inferior"
    return "inconclusive"


def power_fields(row: dict[str, Any], margin: float, confidence: float, spread_n: float) -> None:
    """Fill significant, mde, n_needed (+ note) from se, p_value and the estimate.

    mde = (z + z₀.₈₀)·se; n_needed = ⌈((z + z₀.₈₀)·se·√n / (d + margin))²⌉ with d the method's
    estimate; ``spread_n`` is se·√n, the per-item spread.
    """
    alpha = 1.0 - confidence
    zz = z_value(confidence) + Z80
    se = row["se"]
    p = row["p_value"]
    row["significant"] = bool(np.isfinite(p) and p < alpha)
    row["mde"] = zz * se if np.isfinite(se) and se > 0 else float("nan")
    d = row["paired_delta"] if row["method"] != METHOD_UNPAIRED else row["delta"]
    row["n_needed"] = pd.NA
    unit = "paired samples" if row["method"] != METHOD_UNPAIRED else "documents per model"
    if not np.isfinite(d):
        row["n_needed_note"] = "no estimate"
    elif d + margin <= AT_MARGIN:  # a drop of exactly the margin, up to float rounding
        row["n_needed_note"] = (
            f"the observed difference ({fmt_points(d)} points) is at or below −margin: "
            "no sample size would show non-inferiority"
        )
    elif not (np.isfinite(spread_n) and spread_n > 0):
        row["n_needed_note"] = "no per-item spread to project from"
    else:
        need = math.ceil((zz * spread_n / (d + margin)) ** 2)
        row["n_needed"] = need
        note = f"{unit} per task for non-inferiority at 80% power"
        n_docs = row.get("n_docs")
        if n_docs is not None and not is_nan(n_docs) and need > n_docs:
            note += (f"; more than the task's {int(n_docs):,} documents, so even the full task "
                     "would not resolve the margin")
        row["n_needed_note"] = note
