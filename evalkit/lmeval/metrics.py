"""What lm-eval's metrics mean: the headline metric per task and which metrics are bounded
proportions.

>>> headline_metric("gsm8k", [("exact_match", "strict-match"), ("exact_match", "flexible-extract")])
('exact_match', 'flexible-extract', '')
"""

from __future__ import annotations

from collections.abc import Iterable

#: The headline metric per task: (metric, filter). Override per call with ``headline=``.
HEADLINE_METRICS: dict[str, tuple[str, str]] = {
    "arc_easy": ("acc_norm", "none"),
    "arc_challenge": ("acc_norm", "none"),
    "hellaswag": ("acc_norm", "none"),
    "gsm8k": ("exact_match", "flexible-extract"),
    "truthfulqa_mc2": ("acc", "none"),
}
_FALLBACK_ORDER = ("acc_norm", "acc", "exact_match")

#: Metrics whose values must lie in [0, 1]; others (perplexity, bleu, ...) are not range-checked.
BOUNDED_METRICS = frozenset({
    "acc", "acc_norm", "exact_match", "acc_mutual_info", "mc1", "mc2", "em", "f1",
    "contains", "pass@1", "pass_at_1",
})



def headline_metric(task: str, available: Iterable[tuple[str, str]],
                    overrides: dict[str, tuple[str, str]] | None = None) -> tuple[str, str, str]:
    """The headline ``(metric, filter, note)`` for ``task`` among the ``available`` pairs.

    ``note`` is ``""`` when the table (or ``overrides``) named the metric, else a sentence
    saying which fallback was used. Raises ``KeyError`` when nothing fits.

    >>> headline_metric("gsm8k", [("exact_match", "strict-match"), ("exact_match", "flexible-extract")])
    ('exact_match', 'flexible-extract', '')
    >>> headline_metric("piqa", [("acc", "none"), ("acc_norm", "none")])[2]
    'piqa has no headline metric in the table; using acc_norm,none (first of acc_norm/acc/exact_match)'
    """
    avail = list(dict.fromkeys(available))
    table = {**HEADLINE_METRICS, **(overrides or {})}
    if task in table:
        m, f = table[task]
        if (m, f) in avail:
            return m, f, ""
    for name in _FALLBACK_ORDER:
        for m, f in avail:
            if m == name:
                why = "no headline metric in the table" if task not in table else \
                    f"its table entry {table[task][0]},{table[task][1]} is missing"
                return m, f, (f"{task} has {why}; using {m},{f} "
                              "(first of acc_norm/acc/exact_match)")
    raise KeyError(f"{task}: no headline metric among {avail}")
