"""Everything the report shows, computed once: :func:`analyze` and ``summary.json``.

The report notebook calls :func:`analyze` and displays what it returns; the same object writes
``summary.json`` (schema in ``docs/summary-schema.md``), so the file and the HTML always agree.

>>> import evalkit as ek
>>> a = ek.analyze(ek.load_lmeval(ek.demo_path()))
>>> a.baseline, a.candidates
('mistral-24b', ['mistral-24b-quantized'])
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import frames
from ._version import __version__

SUMMARY_SCHEMA_VERSION = 1


@dataclass
class Analysis:
    """The report's content for one baseline and one or more candidates."""

    result: Any
    baseline: str
    candidates: list[str]
    margin: float
    confidence: float
    comparison: pd.DataFrame
    all_metrics: pd.DataFrame
    recovery: dict[str, Any]
    comparability: pd.DataFrame
    issues: pd.DataFrame
    serving: pd.DataFrame | None = None
    serving_summary: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def candidate(self) -> str | list[str]:
        return self.candidates[0] if len(self.candidates) == 1 else self.candidates

    def __repr__(self) -> str:
        demo = " (DEMO DATA)" if self.result.demo else ""
        verdicts = ", ".join(f"{r.task}: {r.verdict}" for r in self.comparison.itertuples()
                             if hasattr(r, "verdict"))
        return (f"<Analysis {self.baseline} vs {', '.join(self.candidates)}{demo}: "
                f"{len(self.comparison)} task(s) [{verdicts}], {len(self.issues)} data issue(s)>")

    # -- what the notebook displays --------------------------------------------------------
    def header_markdown(self) -> str:
        """Title block: models, source, demo banner, method notes."""
        lines = []
        if self.result.demo:
            lines.append("> **GENERATED DEMO DATA** — made by `scripts/make_demo_snapshot.py` "
                         "(seeded), not measured on a cluster. Do not base a decision on it.")
            lines.append("")
        lines.append(f"**Baseline:** `{self.baseline}` &nbsp; **Candidate(s):** "
                     + ", ".join(f"`{c}`" for c in self.candidates))
        lines.append("")
        lines.append(f"**Source:** `{self.result.source}` &nbsp; **evalkit** {__version__} "
                     f"&nbsp; **margin** {100 * self.margin:g} points &nbsp; "
                     f"**confidence** {self.confidence:.0%}")
        lines += ["", *[f"- {n}" for n in self.notes if not n.startswith("GENERATED")]]
        return "\n".join(lines)

    def jobs_table(self) -> pd.DataFrame:
        cols = ["job", "model", "state", "reason", "tasks", "limit", "has_results",
                "completed_at", "message"]
        return self.result.jobs[[c for c in cols if c in self.result.jobs.columns]]

    def issues_table(self) -> pd.DataFrame | str:
        if self.issues.empty:
            return "No data issues."
        order = {"error": 0, "warning": 1, "info": 2}
        return self.issues.sort_values("severity", key=lambda s: s.map(order).fillna(3),
                                       kind="stable").reset_index(drop=True)

    def comparability_table(self) -> pd.DataFrame:
        """Settings (rows) by task (columns): the shared value, or ``≠ baseline → candidate``
        where the runs differ. ``changes scores`` marks the settings that decide
        comparability. The long form is :attr:`comparability`."""
        c = self.comparability
        if c.empty:
            return c

        def show(v: Any) -> str:
            text = "—" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
            if len(text) == 64 and all(ch in "0123456789abcdef" for ch in text):
                return text[:12]  # a SHA-256: the prefix tells them apart
            return text if len(text) <= 40 else text[:37] + "..."

        value = [show(r.baseline) if r.same else f"≠ {show(r.baseline)} → {show(r.candidate)}"
                 for r in c.itertuples()]
        cols = ["task"] if len(self.candidates) == 1 else ["candidate_model", "task"]
        wide = (c.assign(value=value, changes=c["changes_scores"].map({True: "yes", False: "no"}))
                .pivot_table(index=["label", "changes"], columns=cols, values="value",
                             aggfunc="first", sort=False))
        wide.index.names = ["setting", "changes scores"]
        wide.columns.name = None
        return wide

    def comparability_markdown(self) -> str:
        c = self.comparison
        if "comparable" not in c.columns or c.empty:
            return "No task has results for both models."
        bad = c[c["comparable"].astype("boolean").fillna(False) == False]  # noqa: E712
        if bad.empty:
            return "**Comparable:** every task ran with the same score-relevant settings."
        rows = [f"- **{r.task}**: {r.comparability_note}" for r in bad.itertuples()]
        return ("**Not comparable** — these tasks ran with settings that change scores; their "
                "verdicts below are not evidence about quantization:\n" + "\n".join(rows))

    def verdicts_markdown(self) -> str:
        c = self.comparison
        if c.empty:
            return "No task has results for both models."
        lines = []
        for r in c.itertuples():
            who = f" ({r.candidate_model})" if len(self.candidates) > 1 else ""
            lines.append(f"- **{r.task}**{who} `{r.metric},{r.filter}`: {r.verdict_text} "
                         f"— method: {r.method}")
        return "\n".join(lines)

    def comparison_table(self) -> pd.DataFrame:
        cols = ["task", "metric", "filter", "candidate_model", "baseline", "candidate", "delta",
                "paired_delta", "ci_low", "ci_high", "p_value", "n", "method", "verdict",
                "n_needed", "comparable"]
        df = self.comparison[[c for c in cols if c in self.comparison.columns]].copy()
        if len(self.candidates) == 1 and "candidate_model" in df:
            df = df.drop(columns="candidate_model")
        for c in ("baseline", "candidate", "delta", "paired_delta", "ci_low", "ci_high",
                  "p_value"):
            if c in df:
                df[c] = df[c].astype("float64").round(4)
        return df

    def recovery_markdown(self) -> str:
        lines = []
        for cand, r in self.recovery.items():
            ci = (f"{r.confidence:.0%} CI {r.ci_low:.1f}–{r.ci_high:.1f} %, percentile bootstrap "
                  f"over documents, {r.n_resamples:,} resamples"
                  if math.isfinite(r.ci_low) and math.isfinite(r.ci_high) else "no interval")
            lines.append(f"- **{cand}** keeps **{r.recovery:.1f} %** of `{self.baseline}`'s "
                         f"average headline score ({ci}) over {len(r.tasks)} task(s): "
                         f"{', '.join(r.tasks)}. Ratio of averages, as the RedHatAI model "
                         "cards compute it.")
        return "\n".join(lines)

    def flips_table(self) -> pd.DataFrame | str:
        from .analysis import quality

        if self.result.samples.empty:
            return "No per-sample logs in this source: flips need `logSamples: true`."
        parts = []
        for cand in self.candidates:
            f = quality.flips(self.result.samples, self.baseline, cand, scores=self.result.scores)
            if len(f):
                f = f.assign(candidate_model=cand)
                parts.append(f.groupby(["candidate_model", "task", "metric", "filter", "change"])
                             .size().rename("documents").reset_index())
        if not parts:
            return "No document changed outcome."
        return pd.concat(parts, ignore_index=True)

    def trend_table(self) -> pd.DataFrame | None:
        from .analysis import quality

        t = quality.trend(self.result.scores, models=[self.baseline, *self.candidates],
                          confidence=self.confidence)
        runs = t.groupby(["model", "task"])["job"].nunique() if len(t) else pd.Series(dtype=int)
        return t if len(runs) and (runs > 1).any() else None

    def serving_markdown(self) -> str:
        prom = (self.result.manifest.get("sources") or {}).get("prometheus") or {}
        when = (f"Window {prom.get('start')} to {prom.get('end')} (step {prom.get('step_s')} s). "
                if prom.get("start") else "")
        s = self.serving_summary
        if s is not None and "partial" in s and s["partial"].astype(bool).any():
            which = ", ".join(sorted(set(s.loc[s["partial"].astype(bool), "metric"])))
            when = (f"**PARTIAL DATA**: Prometheus answered with warnings for {which}; those "
                    "figures are incomplete (see the data issues). " + when)
        return (when + "Histogram quantiles (TTFT, inter-token latency) are interpolated within "
                "Prometheus buckets: estimates bounded by their bucket. Window quantiles come "
                "from `histogram_quantile` over the whole window, not from averaging a P99 series.")

    def serving_table(self) -> pd.DataFrame:
        """Window summary side by side: one row per metric, one column per model, and the
        candidate/baseline ratio; ``statistic`` says how each value was computed."""
        s = self.serving_summary
        if s is None or s.empty:
            return pd.DataFrame()
        s = s.astype({"model": str, "metric": str, "unit": str}).drop_duplicates(["model", "metric"])
        wide = s.pivot(index=["metric", "unit"], columns="model", values="value")
        wide.columns.name = None
        models = [m for m in [self.baseline, *self.candidates] if m in wide.columns]
        models += [m for m in wide.columns if m not in models]
        wide = wide[models]
        for cand in self.candidates:
            if cand in wide.columns and self.baseline in wide.columns:
                wide[f"{cand} / {self.baseline}"] = wide[cand] / wide[self.baseline]
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

    def to_summary(self) -> dict[str, Any]:
        """The ``summary.json`` document (JSON-safe: NaN → null, timestamps → ISO 8601)."""
        res = self.result
        return {
            "schema_version": SUMMARY_SCHEMA_VERSION,
            "evalkit_version": __version__,
            "source": res.source,
            "demo": bool(res.demo),
            "baseline": self.baseline,
            "candidate": self.candidate,
            "margin": self.margin,
            "confidence": self.confidence,
            "notes": self.notes,
            "tasks": _records(self.comparison),
            "all_metrics": _records(self.all_metrics),
            "recovery": {c: _jsonable(r) for c, r in self.recovery.items()},
            "comparability": _records(self.comparability),
            "serving": _records(self.serving_summary) if self.serving_summary is not None else [],
            "data_issues": _records(self.issues[list(frames.SCHEMAS["issues"])]),
        }

    def write_summary(self, path: str | os.PathLike[str]) -> Path:
        """Write ``summary.json``; returns its path."""
        p = Path(path)
        p.write_text(json.dumps(self.to_summary(), indent=2, allow_nan=False) + "\n")
        return p


def analyze(result: Any, baseline: str | None = None, candidate: str | list[str] | None = None,
            *, margin: float = 0.02, confidence: float = 0.95) -> Analysis:
    """Compare ``candidate`` (one or several) with ``baseline`` on everything ``result`` holds.

    ``result`` is what :func:`evalkit.load_lmeval` returned. Model names default to the
    snapshot's full-precision and quantized models (see :func:`evalkit.report.default_models`).
    """
    from .analysis import quality
    from .report import default_models

    if baseline is None or candidate is None:
        b, c = default_models(result)
        baseline, candidate = baseline or b, candidate or c
    cands = [candidate] if isinstance(candidate, str) else list(candidate)
    kw = dict(baseline=baseline, samples=result.samples, runs=result.runs, margin=margin,
              confidence=confidence)
    cand_arg: str | list[str] = cands[0] if len(cands) == 1 else cands
    comparison = quality.compare(result.scores, candidate=cand_arg, **kw)
    all_metrics = quality.compare(result.scores, candidate=cand_arg, all_metrics=True, **kw)
    recov = {c: quality.recovery(result.scores, baseline=baseline, candidate=c,
                                 samples=result.samples, confidence=confidence) for c in cands}
    comp = pd.concat([quality.comparability(result.runs, baseline=baseline, candidate=c,
                                            scores=result.scores) for c in cands],
                     ignore_index=True)
    serving, serving_sum, serving_issues = _serving(result)
    issue_parts = [result.issues, frames.issues_of(comparison), serving_issues]
    issues = pd.concat([p for p in issue_parts if p is not None and len(p)], ignore_index=True) \
        if any(p is not None and len(p) for p in issue_parts) else frames.empty("issues")
    issues = issues.drop_duplicates(list(frames.SCHEMAS["issues"])).reset_index(drop=True)
    notes = [quality.LIMIT_NOTE]
    if result.demo:
        notes.insert(0, "GENERATED DEMO DATA: these numbers were made by "
                        "scripts/make_demo_snapshot.py, not measured.")
    return Analysis(result=result, baseline=baseline, candidates=cands, margin=margin,
                    confidence=confidence, comparison=comparison, all_metrics=all_metrics,
                    recovery=recov, comparability=comp, issues=issues, serving=serving,
                    serving_summary=serving_sum, notes=notes)


def _serving(result: Any) -> tuple[pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None]:
    """Serving series, window summary and their issues from the source snapshot, if any."""
    if not result.snapshot or not (Path(result.snapshot) / "prometheus").is_dir():
        return None, None, None
    from .analysis.serving import serving_summary
    from .prometheus import load_snapshot_series, load_snapshot_window

    series = load_snapshot_series(result.snapshot)
    window = load_snapshot_window(result.snapshot)
    summary = serving_summary(series, window)
    issues = [frames.issues_of(f) for f in (series, window)]
    issues = [i for i in issues if len(i)]
    return series, summary, (pd.concat(issues, ignore_index=True) if issues else None)


def _jsonable(x: Any) -> Any:
    """Convert numpy/pandas scalars and containers to JSON-safe Python (NaN → None)."""
    if isinstance(x, pd.DataFrame):
        return _records(x)
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if hasattr(x, "to_dict") and callable(x.to_dict) and not isinstance(x, pd.Series):
        return _jsonable(x.to_dict())
    if isinstance(x, pd.Timestamp):
        return None if pd.isna(x) else x.isoformat()
    if x is None or x is pd.NA or x is pd.NaT:
        return None
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, bool | int | str):
        return x
    try:
        if pd.isna(x):
            return None
    except (TypeError, ValueError):
        pass
    return str(x)


def _records(df: pd.DataFrame | None) -> list[dict[str, Any]]:
    if df is None or df.empty:
        return []
    return [_jsonable(rec) for rec in df.to_dict(orient="records")]
