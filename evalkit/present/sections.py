"""What the report notebook displays, built from an :class:`~evalkit.analysis.pipeline.Analysis`:
Markdown blocks (every name from the data escaped with :func:`~evalkit.present.text.md`) and
HTML tables (:mod:`~evalkit.present.tables`). Nothing here computes a number; it only words
and lays out what the analysis holds. Figures are drawn by :mod:`evalkit.present.plots` and
shown with :func:`show` (PNG with its alt text).

>>> import evalkit as ek
>>> a = ek.analyze(ek.load())
>>> "GENERATED DEMO DATA" in answer(a)
True
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .._version import __version__
from .tables import html_table
from .text import md


def _code(x: Any) -> str:
    """An input name in monospace, escaped (never a raw backtick span)."""
    return f"<code>{md(x)}</code>"


def _fmt(x: float, spec: str = ".1f", suffix: str = "") -> str:
    return f"{x:{spec}}{suffix}" if isinstance(x, int | float) and math.isfinite(x) else "—"


# ------------------------------------------------------------------------------ the answer


def title(a: Any) -> str:
    return (f"# {md(a.baseline)} vs {md(', '.join(a.candidates))}: can the quantized model "
            "replace the full-precision one?")


def answer(a: Any) -> str:
    """The decision per candidate with its reasons, and what the data may not be trusted for."""
    lines = []
    if a.demo:
        lines += ["> **GENERATED DEMO DATA** — made by `scripts/make_demo_snapshot.py` "
                  "(seeded), not measured on a cluster. Do not base a decision on it.", ""]
    modified = a.issues[(a.issues["source"] == "snapshot") & (a.issues["severity"] == "error")]
    if len(modified):
        lines += [f"> **SNAPSHOT MODIFIED** — {len(modified)} file(s) differ from what was "
                  "pulled (see the data issues); these results are not what the systems "
                  "answered.", ""]
    for r in a.tradeoff.frame.itertuples():
        lines.append(f"- **{md(r.decision.upper())}** — {md(r.recommendation)}.")
    lines += ["", "Verdicts use non-inferiority with a margin of "
              f"{100 * a.margin:g} points (proportions) or {100 * a.relative_margin:g} % "
              f"(other metrics) at {a.confidence:.0%} confidence; a verdict of better or "
              "inferior also needs the test to reject. Method and inputs beside every number "
              "below; formulas in `docs/statistics.md`."]
    return "\n".join(lines)


def answer_table(a: Any) -> str:
    t = a.tradeoff.frame.copy()
    t["verdicts"] = [f"{r.n_non_inferior + r.n_better} non-inferior, {r.n_inconclusive} "
                     f"inconclusive, {r.n_inferior} inferior, {r.n_not_comparable} not "
                     "comparable" for r in t.itertuples()]
    t["recovery_ci"] = [f"{_fmt(r.recovery)} % ({_fmt(r.recovery_ci_low)}–"
                        f"{_fmt(r.recovery_ci_high)})" for r in t.itertuples()]
    t["cost"] = [f"{_fmt(r.cost_ratio, '.2f', '×')} ({r.cost_basis or 'no cost'})"
                 for r in t.itertuples()]
    return html_table(t, [("candidate_model", "candidate", "text"),
                          ("decision", "decision", "text"), ("verdicts", "tasks", "text"),
                          ("recovery_ci", "recovery (95% CI)", "text"),
                          ("cost", "cost per 1M tokens vs baseline", "text"),
                          ("ttft_p50_ratio", "TTFT P50 vs baseline", "ratio"),
                          ("ttft_p99_ratio", "TTFT P99 vs baseline", "ratio")])


# ------------------------------------------------------------------------------ jobs, issues


def jobs_table(a: Any) -> str:
    return html_table(a.result.jobs, [
        ("job", "job", "text"), ("model", "model", "text"), ("state", "state", "text"),
        ("reason", "reason", "text"), ("tasks", "tasks", "text"), ("limit", "limit", "text"),
        ("has_results", "results", "bool"), ("completed_at", "completed", "ts"),
        ("message", "message", "text")])


def issues_table(a: Any) -> str:
    if a.issues.empty:
        return "<p>No data issues.</p>"
    order = {"error": 0, "warning": 1, "info": 2}
    df = a.issues.sort_values("severity", key=lambda s: s.map(order).fillna(3), kind="stable")
    return html_table(df, [("severity", "severity", "text"), ("step", "found by", "text"),
                           ("source", "source", "text"), ("object", "object", "text"),
                           ("message", "message", "text")])


def comparability_markdown(a: Any) -> str:
    c = a.comparison.frame
    if c.empty:
        return _nothing_compared(a)
    bad = c[c["comparable"].astype("boolean").fillna(False) == False]  # noqa: E712
    if bad.empty:
        return "**Comparable:** every task ran with the same score-relevant settings."
    rows = [f"- **{md(r.task)}**: {md(r.comparability_note)}" for r in bad.itertuples()]
    return ("**Not comparable** — these tasks ran with settings that change scores; their "
            "verdicts below are not evidence about quantization:\n" + "\n".join(rows))


def _nothing_compared(a: Any) -> str:
    per_model = a.result.scores.groupby("model")["task"].nunique()
    have = ", ".join(f"{md(m)}: {n} task(s)" for m, n in per_model.items())
    return ("No task has a usable headline score for both models, so nothing is compared "
            f"(scores per model — {have or 'none'}); the data issues say why.")


def comparability_table(a: Any) -> str:
    """One row per setting: the value shared by every task, or each task where the two runs
    differ (``task: baseline → candidate``, never truncated) — compact for 4 or 100 tasks."""
    c = a.comparability.frame
    if c.empty:
        return "<p>No run settings to compare.</p>"

    def show(v: Any) -> str:
        text = "—" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
        if len(text) == 64 and all(ch in "0123456789abcdef" for ch in text):
            return text[:12]  # a SHA-256: the prefix tells them apart
        return text

    several = len(a.candidates) > 1
    rows = []
    for (label, changes), g in c.groupby(["label", "changes_scores"], sort=False):
        same = g[g["same"].astype(bool)]
        shared = sorted({show(v) for v in same["baseline"]})
        diff = g[~g["same"].astype(bool)]
        where = [f"{(r.candidate_model + ' · ') if several else ''}{r.task}: "
                 f"{show(r.baseline)} → {show(r.candidate)}" for r in diff.itertuples()]
        rows.append({"setting": label, "changes": "yes" if changes else "no",
                     "same": "; ".join(shared) if len(same) else "—",
                     "n_same": len(same), "differs": "; ".join(where) or "—"})
    table = pd.DataFrame(rows)
    return html_table(table, [("setting", "setting", "text"), ("changes", "changes scores", "text"),
                              ("same", "same in both runs", "text"),
                              ("n_same", "tasks alike", "int"),
                              ("differs", "differs (task: baseline → candidate)", "text")])


# ------------------------------------------------------------------------------ quality


def verdicts_markdown(a: Any) -> str:
    c = a.comparison.frame
    if c.empty:
        return _nothing_compared(a)
    lines = []
    for r in c.itertuples():
        who = f" ({md(r.candidate_model)})" if len(a.candidates) > 1 else ""
        lines.append(f"- **{md(r.task)}**{who} {_code(f'{r.metric},{r.filter}')}: "
                     f"{md(r.verdict_text)} — method: {md(r.method)}")
    return "\n".join(lines)


#: short method names for tables (the full names are in the verdict lines and the methods)
SHORT_METHODS = {
    "paired-binary (McNemar exact, Agresti–Min CI)": "paired 0/1",
    "paired-continuous (t)": "paired t",
    "paired relative change (delta method)": "paired relative",
    "unpaired (normal, lm-eval stderr)": "unpaired normal",
    "unpaired relative change (delta method, lm-eval stderr)": "unpaired relative",
}


def comparison_table(a: Any) -> str:
    df = a.comparison.frame.assign(
        method=lambda d: d["method"].map(SHORT_METHODS).fillna(d["method"]))
    pts = df[df["scale"] == "points"]
    rel = df[df["scale"] == "relative"]
    out = ""
    cand = [] if len(a.candidates) == 1 else [("candidate_model", "candidate", "text")]
    if len(pts):
        out += html_table(pts, [("task", "task", "text"), ("metric", "metric", "text"),
                                ("filter", "filter", "text"), *cand,
                                ("baseline", "baseline (%)", "pts"),
                                ("candidate", "candidate (%)", "pts"),
                                ("delta", "Δ reported (points)", "pts"),
                                ("estimate", "Δ estimate (points)", "pts"),
                                ("ci_low", "CI low (points)", "pts"),
                                ("ci_high", "CI high (points)", "pts"),
                                ("p_value", "p", "p"), ("n", "n", "int"),
                                ("method", "method", "text"), ("verdict", "verdict", "text"),
                                ("n_needed", "n needed", "int"),
                                ("comparable", "comparable", "bool")],
                          caption="Proportions (scores in %, differences in percentage points)")
    if len(rel):
        out += html_table(rel.assign(**{c: rel[c] * 100 for c in ("estimate", "ci_low",
                                                                   "ci_high")}),
                          [("task", "task", "text"), ("metric", "metric", "text"),
                           ("filter", "filter", "text"), *cand,
                           ("direction", "better is", "text"),
                           ("baseline", "baseline", "num"), ("candidate", "candidate", "num"),
                           ("estimate", "change (% of baseline)", "pct"),
                           ("ci_low", "CI low (%)", "pct"), ("ci_high", "CI high (%)", "pct"),
                           ("p_value", "p", "p"), ("method", "method", "text"),
                           ("verdict", "verdict", "text"),
                           ("comparable", "comparable", "bool")],
                          caption="Other metrics (relative change, % of the baseline)")
    return out or f"<p>{md(_nothing_compared(a))}</p>"


def recovery_markdown(a: Any) -> str:
    r = a.recovery
    lines = []
    for row in r.summary.itertuples():
        if not math.isfinite(row.recovery):
            lines.append(f"- **{md(row.candidate_model)}**: no recovery — no higher-is-better "
                         "proportion (accuracy-like metric) was reported by both models.")
            continue
        ci = (f"{r.confidence:.0%} CI {row.ci_low:.1f}–{row.ci_high:.1f} %, "
              f"{md(row.method)}, {r.n_resamples:,} resamples"
              if math.isfinite(row.ci_low) and math.isfinite(row.ci_high) else "no interval")
        lines.append(f"- **{md(row.candidate_model)}** keeps **{row.recovery:.1f} %** of "
                     f"{_code(a.baseline)}'s average headline score ({ci}) over "
                     f"{row.n_tasks} task(s): {md(', '.join(row.tasks))}. Ratio of averages, "
                     "as the RedHatAI model cards compute it.")
    if r.tasks_rule:
        lines.append(f"\nCounted: {md(r.tasks_rule)}; only higher-is-better proportions count "
                     "(tasks left out are named in the table and the data issues).")
    return "\n".join(lines)


def recovery_table(a: Any) -> str:
    cand = [] if len(a.candidates) == 1 else [("candidate_model", "candidate", "text")]
    return html_table(a.recovery.per_task, [
        *cand, ("task", "task", "text"), ("metric", "metric", "text"),
        ("counted", "counted", "bool"), ("baseline", "baseline (%)", "pts"),
        ("candidate", "candidate (%)", "pts"), ("recovery", "recovery (%)", "pct"),
        ("n", "n", "int"), ("method", "interval method", "text"), ("note", "note", "text")])


def flips_table(a: Any) -> str:
    if a.flips is None:
        return ("<p>No per-sample logs for both models: flips need <code>logSamples: true</code> "
                "on the baseline's and the candidate's jobs.</p>")
    counts = a.flips.counts()
    if counts.empty:
        return "<p>No document changed outcome.</p>"
    cand = [] if len(a.candidates) == 1 else [("candidate_model", "candidate", "text")]
    return html_table(counts, [*cand, ("task", "task", "text"), ("metric", "metric", "text"),
                               ("filter", "filter", "text"), ("change", "change", "text"),
                               ("documents", "documents", "int")],
                      caption="Documents whose outcome changed (lost: the candidate got it "
                              "wrong; paired samples only)")


def trend_table(a: Any) -> str:
    return html_table(a.trend.frame, [
        ("model", "model", "text"), ("task", "task", "text"), ("metric", "metric", "text"),
        ("job", "job", "text"), ("completed_at", "completed", "ts"),
        ("value", "score (%)", "pts"), ("ci_low", "CI low (%)", "pts"),
        ("ci_high", "CI high (%)", "pts"), ("run", "run", "int"),
        ("is_latest", "latest", "bool")])


# ------------------------------------------------------------------------------ facts, serving


def facts_table(a: Any) -> str:
    return html_table(a.economics.facts, [
        ("model", "model", "text"), ("registered_model", "registered model", "text"),
        ("version", "version", "text"), ("quantization", "quantization", "text"),
        ("gpus", "GPUs", "int"), ("gpus_source", "GPUs from", "text"),
        ("accelerator", "accelerator", "text"), ("base_model", "base model", "text")])


def registry_markdown(a: Any, agreement: pd.DataFrame) -> str:
    if a.bundle.registry is None:
        return ("No Model Registry answers in this source (pull with `evalkit pull --registry "
                "URL`): the facts below come from the serving series or the snapshot manifest.")
    bad = agreement[~agreement["agree"]] if len(agreement) else agreement
    if len(bad):
        return (f"**{len(bad)} eval result(s) stored in the registry differ from what the "
                "LMEvalJobs report now** (the table shows both); republish with "
                "`evalkit publish`.")
    if len(agreement):
        return (f"The {len(agreement)} eval result(s) stored in the registry agree with the "
                "LMEvalJob results.")
    return "The registry holds no eval results for these versions yet (`evalkit publish`)."


def agreement_table(agreement: pd.DataFrame) -> str:
    return html_table(agreement, [
        ("model", "model", "text"), ("task", "task", "text"), ("metric", "metric", "text"),
        ("filter", "filter", "text"), ("stored", "stored in registry", "num"),
        ("evaluated", "LMEvalJob result", "num"), ("agree", "agree", "bool")])


def serving_markdown(a: Any) -> str:
    s = a.bundle.serving
    if s is None and a.serving_summary is None:
        return ("No Prometheus series in this source (pull with `evalkit pull --prometheus "
                "URL`).")
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
            "from `histogram_quantile` over the whole window, not from averaging a P99 series. "
            "These figures describe the traffic each model received, not its capacity.")


def serving_table(a: Any) -> str:
    """Window summary side by side: one row per metric, one column per model, the
    candidate/baseline ratio and how each value was computed."""
    s = a.serving_summary
    if s is None or s.empty:
        return "<p>No serving summary.</p>"
    s = s.astype({"model": str, "metric": str, "unit": str}).drop_duplicates(["model", "metric"])
    wide = s.pivot(index=["metric", "unit"], columns="model", values="value").reset_index()
    models = [m for m in [a.baseline, *a.candidates] if m in wide.columns]
    gib = wide["unit"] == "bytes"
    for m in models:
        wide.loc[gib, m] = wide.loc[gib, m] / 2**30
    wide.loc[gib, "unit"] = "GiB"
    ratios = []
    for cand in a.candidates:
        if cand in wide.columns and a.baseline in wide.columns:
            col = f"{cand} / {a.baseline}"
            wide[col] = wide[cand] / wide[a.baseline]
            ratios.append((col, col, "ratio"))
    stat = s.drop_duplicates("metric").set_index("metric")["statistic"]
    wide["statistic"] = wide["metric"].map(stat)
    partial = s[s["partial"].astype(bool)].groupby("metric")["model"].agg(", ".join) \
        if "partial" in s else pd.Series(dtype=object)
    cols = [("metric", "metric", "text"), ("unit", "unit", "text"),
            *[(m, m, "num") for m in models], *ratios, ("statistic", "how", "text")]
    if len(partial):
        wide["partial"] = wide["metric"].map(partial)
        cols.append(("partial", "PARTIAL", "text"))
    return html_table(wide, cols)


# ------------------------------------------------------------------------------ capacity, cost


def capacity_markdown(a: Any) -> str:
    e = a.economics
    if not len(e.capacity):
        return ("No load test (GuideLLM report) in this source: capacity is unknown, and any "
                "cost below is at OBSERVED traffic — it compares the load the models got, not "
                "their cost. Add reports with `evalkit pull --guidellm PATH`.")
    return (f"Capacity at the SLO **{md(e.slo.name)}** ({md(e.slo.describe())}): the highest "
            "request rate whose percentiles meet every target with no errored request; "
            "saturation (throughput) runs never count. Throughput: successful requests, mean.")


def capacity_table(a: Any) -> str:
    return html_table(a.economics.capacity, [
        ("model", "model", "text"), ("benchmark", "operating point", "text"),
        ("requests_per_second", "requests/s", "num"),
        ("output_tokens_per_second", "output tokens/s", "num"),
        ("n_passing", "benchmarks meeting the SLO", "int"),
        ("n_benchmarks", "benchmarks", "int"), ("reason", "why none", "text")])


def cost_markdown(a: Any) -> str:
    return ("Cost per 1M output tokens = GPUs × $/GPU-hour / (output tokens/s × 3600) × 1e6; "
            "per 1,000 requests and queries per dollar likewise. Every input is in the table; "
            "each price comes with its source and date: the default table, a snapshot's own "
            "price table (its manifest), or `--prices FILE` — in that order of precedence, "
            "the last winning.")


def cost_table(a: Any) -> str:
    return html_table(a.economics.cost.frame, [
        ("model", "model", "text"), ("basis", "basis", "text"), ("gpus", "GPUs", "int"),
        ("gpus_source", "GPUs from", "text"), ("accelerator", "accelerator", "text"),
        ("usd_per_gpu_hour", "$/GPU-hour", "usd"), ("price_source", "price source", "text"),
        ("output_tokens_per_second", "output tokens/s", "num"),
        ("requests_per_second", "requests/s", "num"),
        ("usd_per_1m_output_tokens", "$ per 1M output tokens", "usd"),
        ("usd_per_1k_requests", "$ per 1,000 requests", "usd"),
        ("queries_per_dollar", "queries per $", "num"), ("note", "note", "text")])


# ------------------------------------------------------------------------------ provenance


def methods_markdown(a: Any) -> str:
    b = a.bundle
    m = b.manifest or {}
    sources = ", ".join(sorted((m.get("sources") or {}).keys())) if isinstance(m, dict) else ""
    lines = [f"- **Source:** {md(a.result.kind)} from {_code(b.source)}"
             + (f" (snapshot of {md(m.get('created_at'))}, sources: {md(sources)})"
                if m.get("created_at") else ""),
             f"- **evalkit** {__version__}; snapshot written by "
             f"{md(m.get('evalkit_version') or 'n/a')}",
             f"- **Margins:** {100 * a.margin:g} points for proportions, "
             f"{100 * a.relative_margin:g} % for other metrics; **confidence** "
             f"{a.confidence:.0%}",
             "- **Intervals and tests:** paired 0/1 outcomes — Agresti–Min interval and exact "
             "McNemar test; paired continuous — paired t (small-sample rule for identical "
             "differences); unpaired — normal from lm-eval's stderr; other metrics — relative "
             "change by the delta method. Recovery — ratio of averages, percentile bootstrap.",
             "- **Formulas:** `docs/statistics.md`; cost and capacity: `docs/cost.md`."]
    lines += [f"- {md(n)}" for n in a.notes if not n.startswith("GENERATED")]
    return "\n".join(lines)


# ------------------------------------------------------------------------------ figures


#: where :func:`show` also writes each figure as ``NN-<slug>.png`` (``evalkit report`` sets it
#: to ``OUTPUT/figures``); None writes nothing
FIGURES: list[Any] = [None, 0]


def save_figures(folder: Any) -> None:
    """From now on, :func:`show` also writes every figure into ``folder`` (created, emptied of
    earlier ``*.png``); ``None`` stops it."""
    from pathlib import Path

    if folder is None:
        FIGURES[:] = [None, 0]
        return
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("*.png"):
        old.unlink()
    FIGURES[:] = [path, 0]


def show(fig: Any) -> None:
    """Display a Figure as PNG with its alt text (kept by the HTML export), then close it."""
    import base64
    import re

    from IPython.display import display

    from .plots.theme import alt_text, png_bytes

    png = png_bytes(fig)
    if FIGURES[0] is not None:
        FIGURES[1] += 1
        title = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""
        slug = re.sub(r"[^a-z0-9]+", "-", str(title).lower()).strip("-")[:48] or "figure"
        (FIGURES[0] / f"{FIGURES[1]:02d}-{slug}.png").write_bytes(png)
    data = base64.b64encode(png).decode()
    display({"image/png": data, "text/plain": alt_text(fig)},
            metadata={"image/png": {"alt": alt_text(fig)}}, raw=True)
