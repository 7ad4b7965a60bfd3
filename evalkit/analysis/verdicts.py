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



def _ci_text(row: Any, conf: float) -> str:
    lo, hi = row.get("ci_low", float("nan")), row.get("ci_high", float("nan"))
    if is_nan(lo) or is_nan(hi):
        return ""
    if row.get("scale", "points") == "relative":
        return f"{conf:.0%} CI {_pct(lo)} to {_pct(hi)} of the baseline"
    return f"{conf:.0%} CI {fmt_points(lo)} to {fmt_points(hi)} points"


def _pct(x: float) -> str:
    return f"{100 * x:+.1f} %".replace("-", "−")


def _margin_text(row: Any) -> str:
    margin = float(row.get("margin", 0.02))
    if row.get("scale", "points") == "relative":
        return f"{100 * margin:g} % relative margin"
    return f"{fmt_margin(margin)} margin"


def verdict_text(row: pd.Series | dict[str, Any]) -> str:
    """Spell out a row of :func:`~evalkit.analysis.compare.compare` for humans, in the
    metric's direction and scale, with the conditions of every projection.

    >>> verdict_text({"verdict": "inconclusive", "n_needed": 1885, "margin": 0.02,
    ...               "method": "paired-binary", "ci_low": -0.06, "ci_high": 0.06,
    ...               "confidence": 0.95, "n_needed_note": "normal approximation, if the "
    ...               "observed difference held, at 80% power"})
    'inconclusive: if the observed difference held, ≈1,900 paired documents per task would show non-inferiority at a 2-point margin with 80% power (normal approximation)'
    """
    get = row.get
    verdict = get("verdict", "inconclusive")
    conf = float(get("confidence", 0.95))
    ci = _ci_text(row, conf)
    lower = get("direction", "higher") == "lower"
    margin = float(get("margin", 0.02))
    rel = get("scale", "points") == "relative"
    bound = f"{100 * margin:g} %" if rel else f"{100 * margin:g} points"
    worse_side = "above +" if lower else "below −"
    better_side = "below +" if lower else "above −"
    if verdict == "better":
        word = "lower (lower is better)" if lower else "higher"
        return (f"better: the candidate scores {word} ({ci}, entirely on the better side of 0; "
                f"p = {float(get('p_value')):.2g})")
    if verdict == "non-inferior":
        txt = f"non-inferior: the {ci} lies {better_side}{bound}, the {_margin_text(row)}"
        p = get("p_value", float("nan"))
        lo, hi = get("ci_low", float("nan")), get("ci_high", float("nan"))
        worse = (lo > 0) if lower else (hi < 0)
        if not is_nan(p) and not is_nan(hi) and worse and p < 1.0 - conf:
            txt += f"; the drop itself is statistically significant (p = {p:.2g}), only small"
        return txt
    if verdict == "inferior":
        return (f"inferior: the {ci} lies entirely {worse_side}{bound}, the "
                f"{_margin_text(row)} (p = {float(get('p_value')):.2g})")
    # inconclusive
    if ci == "":
        why = get("method_note") or "no interval could be computed"
        return f"inconclusive: {why}"
    paired = str(get("method", "")).startswith("paired")
    need = get("n_needed")
    if need is not None and not is_nan(need):
        unit = "paired documents" if paired else "documents per model"
        note = str(get("n_needed_note") or "")
        how = note.split(",")[0] if note else "normal approximation"
        txt = (f"inconclusive: if the observed difference held, ≈{round_sig(float(need)):,} "
               f"{unit} per task would show non-inferiority at a {_margin_text(row)} with 80% "
               f"power ({how})")
        n_docs = get("n_docs")
        if n_docs is not None and not is_nan(n_docs) and float(need) > float(n_docs):
            txt += f" — more than the task's {int(n_docs):,} documents"
        if "rough" in note:
            txt += f"; {note[note.index('rough'):]}"
        return txt
    note = get("n_needed_note") or ""
    return f"inconclusive: {ci} spans the {_margin_text(row)}" + (f"; {note}" if note else "")
