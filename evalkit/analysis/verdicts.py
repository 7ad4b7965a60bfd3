"""Verdicts in words, and the plain note on lm-eval's ``--limit`` every report shows."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .base import fmt_margin, fmt_points, is_nan, round_sig

#: Plain statement about lm-eval's ``--limit`` that every report shows next to the intervals.
LIMIT_NOTE = (
    "lm-eval's `limit` evaluates the FIRST N documents of each task, in the dataset's order, "
    "not a random sample: the intervals describe those documents, and a different slice of "
    "the task could score differently."
)


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



def verdict_text(row: pd.Series | dict[str, Any]) -> str:
    """Spell out a row of :func:`compare` for humans.

    >>> verdict_text({"verdict": "inconclusive", "n_needed": 1885, "margin": 0.02,
    ...               "method": "paired-binary", "ci_low": -0.06, "ci_high": 0.06,
    ...               "confidence": 0.95})
    'inconclusive: ≈1,900 paired samples per task would resolve a 2-point margin'
    """
    get = row.get
    verdict = get("verdict", "inconclusive")
    margin = float(get("margin", 0.02))
    conf = float(get("confidence", 0.95))
    lo, hi = get("ci_low", float("nan")), get("ci_high", float("nan"))
    ci = (f"{conf:.0%} CI {fmt_points(lo)} to {fmt_points(hi)} points"
          if not (is_nan(lo) or is_nan(hi)) else "")
    if verdict == "better":
        return f"better: the candidate scores higher ({ci}, entirely above 0)"
    if verdict == "non-inferior":
        txt = (f"non-inferior: the {ci} lies above −{100 * margin:g} points, "
               f"the {fmt_margin(margin)} margin")
        p, hi = get("p_value", float("nan")), get("ci_high", float("nan"))
        if not is_nan(p) and not is_nan(hi) and hi < 0 and p < 1.0 - conf:
            txt += f"; the drop itself is statistically significant (p = {p:.2g}), only small"
        return txt
    if verdict == "inferior":
        return (f"inferior: the {ci} lies entirely below −{100 * margin:g} points, "
                f"the {fmt_margin(margin)} margin")
    # inconclusive
    paired = str(get("method", "")).startswith("paired")
    need = get("n_needed")
    if ci == "":
        why = get("method_note") or "no interval could be computed"
        return f"inconclusive: {why}"
    if need is not None and not is_nan(need):
        unit = "paired samples" if paired else "documents per model"
        txt = (f"inconclusive: ≈{round_sig(float(need)):,} {unit} per task would resolve a "
               f"{fmt_margin(margin)} margin")
        n_docs = get("n_docs")
        if n_docs is not None and not is_nan(n_docs) and float(need) > float(n_docs):
            txt += f" — more than the task's {int(n_docs):,} documents"
        return txt
    note = get("n_needed_note") or ""
    return f"inconclusive: {ci} spans the {fmt_margin(margin)} margin" + (
        f"; {note}" if note else "")
