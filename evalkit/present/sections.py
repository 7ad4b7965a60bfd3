"""What the report notebook displays, built from an :class:`~evalkit.analysis.pipeline.Analysis`:
Markdown blocks (every name from the data escaped with :func:`~evalkit.present.text.md`) and
display-ready tables. Nothing here computes a number; it only words and lays out what the
analysis holds.

>>> import evalkit as ek
>>> a = ek.analyze(ek.load())
>>> "GENERATED DEMO DATA" in header(a)
True
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .._version import __version__
from .text import md


def _code(x: Any) -> str:
    """An input name shown in monospace, escaped (never a raw backtick span)."""
    return f"<code>{md(x)}</code>"


def header(a: Any) -> str:
    """Title block: models, source, demo banner, method notes."""
    lines = []
    if a.demo:
        lines += ["> **GENERATED DEMO DATA** — made by `scripts/make_demo_snapshot.py` "
                  "(seeded), not measured on a cluster. Do not base a decision on it.", ""]
    lines.append(f"**Baseline:** {_code(a.baseline)} &nbsp; **Candidate(s):** "
                 + ", ".join(_code(c) for c in a.candidates))
    lines.append("")
    lines.append(f"**Source:** {md(a.result.kind)} from {_code(a.bundle.source)} &nbsp; "
                 f"**evalkit** {__version__} &nbsp; **margin** {100 * a.margin:g} points "
                 f"&nbsp; **confidence** {a.confidence:.0%}")
    bad = a.issues[a.issues["severity"] == "error"] if len(a.issues) else a.issues
    modified = bad[bad["source"] == "snapshot"] if len(bad) else bad
    if len(modified):
        lines += ["", f"> **SNAPSHOT MODIFIED** — {len(modified)} file(s) differ from what was "
                  "pulled (see the data issues); these results are not what the systems "
                  "answered."]
    lines += ["", *[f"- {md(n)}" for n in a.notes if not n.startswith("GENERATED")]]
    return "\n".join(lines)


def jobs_table(a: Any) -> pd.DataFrame:
    cols = ["job", "model", "state", "reason", "tasks", "limit", "has_results",
            "completed_at", "message"]
    jobs = a.result.jobs
    return jobs[[c for c in cols if c in jobs.columns]]


def issues_table(a: Any) -> pd.DataFrame | str:
    if a.issues.empty:
        return "No data issues."
    order = {"error": 0, "warning": 1, "info": 2}
    return a.issues.sort_values("severity", key=lambda s: s.map(order).fillna(3),
                                kind="stable").reset_index(drop=True)


def comparability_table(a: Any) -> pd.DataFrame:
    """Settings (rows) by task (columns): the shared value, or ``≠ baseline → candidate``
    where the runs differ; ``changes scores`` marks the settings that decide comparability."""
    c = a.comparability.frame
    if c.empty:
        return c

    def show(v: Any) -> str:
        text = "—" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
        if len(text) == 64 and all(ch in "0123456789abcdef" for ch in text):
            return text[:12]  # a SHA-256: the prefix tells them apart
        return text if len(text) <= 40 else text[:37] + "..."

    value = [show(r.baseline) if r.same else f"≠ {show(r.baseline)} → {show(r.candidate)}"
             for r in c.itertuples()]
    cols = ["task"] if len(a.candidates) == 1 else ["candidate_model", "task"]
    wide = (c.assign(value=value, changes=c["changes_scores"].map({True: "yes", False: "no"}))
            .pivot_table(index=["label", "changes"], columns=cols, values="value",
                         aggfunc="first", sort=False))
    wide.index.names = ["setting", "changes scores"]
    wide.columns.name = None
    return wide


def comparability_markdown(a: Any) -> str:
    c = a.comparison.frame
    if c.empty:
        return "No task has results for both models."
    bad = c[c["comparable"].astype("boolean").fillna(False) == False]  # noqa: E712
    if bad.empty:
        return "**Comparable:** every task ran with the same score-relevant settings."
    rows = [f"- **{md(r.task)}**: {md(r.comparability_note)}" for r in bad.itertuples()]
    return ("**Not comparable** — these tasks ran with settings that change scores; their "
            "verdicts below are not evidence about quantization:\n" + "\n".join(rows))


def verdicts_markdown(a: Any) -> str:
    c = a.comparison.frame
    if c.empty:
        return "No task has results for both models."
    lines = []
    for r in c.itertuples():
        who = f" ({md(r.candidate_model)})" if len(a.candidates) > 1 else ""
        lines.append(f"- **{md(r.task)}**{who} {_code(f'{r.metric},{r.filter}')}: "
                     f"{md(r.verdict_text)} — method: {md(r.method)}")
    return "\n".join(lines)


def comparison_table(a: Any) -> pd.DataFrame:
    cols = ["task", "metric", "filter", "candidate_model", "baseline", "candidate", "delta",
            "paired_delta", "ci_low", "ci_high", "p_value", "n", "method", "verdict",
            "n_needed", "comparable"]
    frame = a.comparison.frame
    df = frame[[c for c in cols if c in frame.columns]].copy()
    if len(a.candidates) == 1 and "candidate_model" in df:
        df = df.drop(columns="candidate_model")
    for c in ("baseline", "candidate", "delta", "paired_delta", "ci_low", "ci_high", "p_value"):
        if c in df:
            df[c] = df[c].astype("float64").round(4)
    return df


def recovery_markdown(a: Any) -> str:
    r = a.recovery
    lines = []
    for row in r.summary.itertuples():
        ci = (f"{r.confidence:.0%} CI {row.ci_low:.1f}–{row.ci_high:.1f} %, "
              f"{md(row.method)}, {r.n_resamples:,} resamples"
              if math.isfinite(row.ci_low) and math.isfinite(row.ci_high) else "no interval")
        if not math.isfinite(row.recovery):
            lines.append(f"- **{md(row.candidate_model)}**: no recovery — no higher-is-better "
                         "proportion (accuracy-like metric) was reported by both models.")
            continue
        lines.append(f"- **{md(row.candidate_model)}** keeps **{row.recovery:.1f} %** of "
                     f"{_code(a.baseline)}'s average headline score ({ci}) over "
                     f"{row.n_tasks} task(s): {md(', '.join(row.tasks))}. Ratio of averages, "
                     "as the RedHatAI model cards compute it.")
    if r.tasks_rule:
        lines.append(f"\nCounted: {md(r.tasks_rule)}; only higher-is-better proportions count "
                     "(tasks left out are named in the table and the data issues).")
    return "\n".join(lines)


def flips_table(a: Any) -> pd.DataFrame | str:
    if a.flips is None:
        return ("No per-sample logs for both models: flips need `logSamples: true` on the "
                "baseline's and the candidate's jobs.")
    counts = a.flips.counts()
    if counts.empty:
        return "No document changed outcome."
    return counts if len(a.candidates) > 1 else counts.drop(columns="candidate_model")


def serving_markdown(a: Any) -> str:
    s = a.bundle.serving
    info = s.info if s is not None else {}
    when = (f"Window {md(info.get('start'))} to {md(info.get('end'))} (step "
            f"{md(info.get('step_s'))} s). " if info.get("start") else "")
    summ = a.serving_summary
    if summ is not None and "partial" in summ and summ["partial"].astype(bool).any():
        which = ", ".join(sorted(set(summ.loc[summ["partial"].astype(bool), "metric"])))
        when = (f"**PARTIAL DATA**: Prometheus answered with warnings for {md(which)}; those "
                "figures are incomplete (see the data issues). " + when)
    return (when + "Histogram quantiles (TTFT, inter-token latency) are interpolated within "
            "Prometheus buckets: estimates bounded by their bucket. Window quantiles come "
            "from `histogram_quantile` over the whole window, not from averaging a P99 series.")


def serving_table(a: Any) -> pd.DataFrame:
    """Window summary side by side: one row per metric, one column per model, and the
    candidate/baseline ratio; ``statistic`` says how each value was computed."""
    s = a.serving_summary
    if s is None or s.empty:
        return pd.DataFrame()
    s = s.astype({"model": str, "metric": str, "unit": str}).drop_duplicates(["model", "metric"])
    wide = s.pivot(index=["metric", "unit"], columns="model", values="value")
    wide.columns.name = None
    models = [m for m in [a.baseline, *a.candidates] if m in wide.columns]
    models += [m for m in wide.columns if m not in models]
    wide = wide[models]
    for cand in a.candidates:
        if cand in wide.columns and a.baseline in wide.columns:
            wide[f"{cand} / {a.baseline}"] = wide[cand] / wide[a.baseline]
    stat = s.drop_duplicates("metric").set_index("metric")["statistic"]
    partial = s[s["partial"].astype(bool)].groupby("metric")["model"].agg(", ".join) \
        if "partial" in s else pd.Series(dtype=object)
    wide = wide.astype("float64")
    gib = wide.index.get_level_values("unit") == "bytes"  # shown in GiB; summary.json keeps bytes
    wide.loc[gib, models] = wide.loc[gib, models] / 2**30
    wide.index = pd.MultiIndex.from_tuples(
        [(m, "GiB" if u == "bytes" else u) for m, u in wide.index], names=["metric", "unit"])
    for m in models:
        wide[m] = [f"{v:,.4g}" if math.isfinite(v) else "—" for v in wide[m]]
    wide["statistic"] = [stat.get(m, "") for m, _ in wide.index]
    if len(partial):
        wide["PARTIAL"] = [partial.get(m, "") for m, _ in wide.index]
    return wide.round(3).reset_index()
