"""What lm-eval's metrics mean: the headline metric per task, the direction of each metric
(higher or lower is better), which metrics are bounded proportions (compared in percentage
points) and which are everything else (compared as a relative change).

Direction comes from lm-eval's own ``higher_is_better`` map when a file has one, except where
lm-eval is known to be wrong (:data:`LMEVAL_WRONG`: it registers TER, an error rate, as
higher-is-better); files without the map (lm-eval 0.3, 0.4.0-0.4.2) use
:data:`LOWER_IS_BETTER`; a call can override all of them.

>>> headline_metric("gsm8k", [("exact_match", "strict-match"), ("exact_match", "flexible-extract")])
('exact_match', 'flexible-extract', '')
>>> higher_is_better("perplexity"), higher_is_better("acc"), higher_is_better("ter", True)
(False, True, False)
>>> is_proportion("acc", [0.8, 0.79]), is_proportion("bleu", [0.3, 0.31]), is_proportion("f1", [85.1, 84.0])
(True, False, False)
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

#: Proportions in [0, 1]: compared in percentage points. Any other metric (perplexity, bleu,
#: chrf, ter, rouge, mcc, LLM-judge scores) is compared as a relative change (% of the baseline).
PROPORTIONS = frozenset({
    "acc", "acc_norm", "exact_match", "acc_mutual_info", "mc1", "mc2", "em", "f1",
    "contains", "pass@1", "pass_at_1", "exact", "prompt_level_strict_acc",
    "prompt_level_loose_acc", "inst_level_strict_acc", "inst_level_loose_acc",
})
#: Metrics whose values must lie in [0, 1]: a value outside is a data error. (``f1`` is not
#: range-checked: SQuAD-style tasks report it on a 0-100 scale.)
BOUNDED_METRICS = PROPORTIONS - {"f1", "exact"}
#: lower is better, for files without lm-eval's ``higher_is_better`` map (lm-eval 0.3)
LOWER_IS_BETTER = frozenset({
    "perplexity", "word_perplexity", "byte_perplexity", "bits_per_byte", "ter", "brier_score",
    "ppl", "loss", "wer", "cer",
})

#: metrics whose ``higher_is_better`` lm-eval writes wrongly (``ter``: registered True in
#: lm_eval/api/metrics.py up to 0.4.12, but it is the translation error rate)
LMEVAL_WRONG: dict[str, bool] = {"ter": False}


def higher_is_better(metric: str, reported: object = None,
                     overrides: dict | None = None, task: str | None = None) -> bool:
    """The metric's direction: ``overrides`` (keyed by ``(task, metric)`` or ``metric``; values
    ``True``/``False`` or ``"higher"``/``"lower"``), else lm-eval's reported
    ``higher_is_better`` (a bool) unless :data:`LMEVAL_WRONG` corrects it, else
    :data:`LOWER_IS_BETTER`."""
    for key in ((task, metric), metric):
        if overrides and key in overrides:
            v = overrides[key]
            return v if isinstance(v, bool) else str(v).lower().startswith("higher")
    if metric.lower() in LMEVAL_WRONG:
        return LMEVAL_WRONG[metric.lower()]
    if isinstance(reported, bool):
        return reported
    return metric.lower() not in LOWER_IS_BETTER


def is_proportion(metric: str, values: Iterable[float]) -> bool:
    """True when ``metric`` is a proportion (:data:`PROPORTIONS`) and every finite value lies
    in [0, 1] (SQuAD's ``f1`` on a 0-100 scale is not)."""
    if metric not in PROPORTIONS:
        return False
    vals = [v for v in values if v is not None and v == v]
    return all(0.0 <= float(v) <= 1.0 for v in vals)



def headline_metric(task: str, available: Iterable[tuple[str, str]],
                    overrides: dict[str, tuple[str, str]] | None = None) -> tuple[str, str, str]:
    """The headline ``(metric, filter, note)`` for ``task`` among the ``available`` pairs.

    ``note`` is ``""`` when the table (or ``overrides``) named the metric, else a sentence
    saying which fallback was used: the first of acc_norm/acc/exact_match, else the task's first
    reported metric (a generation suite reporting only bleu, an ``mcc``-only GLUE task). Raises
    ``KeyError`` only when nothing is reported.

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
    why = ("no headline metric in the table" if task not in table else
           f"its table entry {table[task][0]},{table[task][1]} is missing")
    for name in _FALLBACK_ORDER:
        for m, f in avail:
            if m == name:
                return m, f, (f"{task} has {why}; using {m},{f} "
                              "(first of acc_norm/acc/exact_match)")
    if avail:
        m, f = avail[0]
        return m, f, f"{task} has {why}; using {m},{f} (its first reported metric)"
    raise KeyError(f"{task}: no metric reported")
