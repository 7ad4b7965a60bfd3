""":class:`GuideLLMResult`: what :func:`~evalkit.guidellm.load_guidellm` and
:func:`~evalkit.guidellm.parse_report` return.

>>> from evalkit.guidellm.parse import benchmark_frame
>>> GuideLLMResult(benchmarks=benchmark_frame(), source="empty")
<GuideLLMResult from 'empty', 0 report(s), model(s) []: benchmarks 0 row(s), reports 0 row(s), 0 data issue(s)>
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..core.result import Result

#: (column, metric, status, stat) of :meth:`GuideLLMResult.summary`
SUMMARY_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("successful", "requests", "successful", "count"),
    ("errored", "requests", "errored", "count"),
    ("incomplete", "requests", "incomplete", "count"),
    ("requests_per_second", "requests_per_second", "successful", "mean"),
    ("output_tokens_per_second", "output_tokens_per_second", "successful", "mean"),
    ("ttft_p99_ms", "time_to_first_token_ms", "successful", "p99"),
    ("itl_p99_ms", "inter_token_latency_ms", "successful", "p99"),
    ("latency_p99_s", "request_latency", "successful", "p99"),
)
_KEYS = ["report", "model", "benchmark", "benchmark_id", "strategy", "rate"]


def empty_reports() -> pd.DataFrame:
    return pd.DataFrame({"report": pd.Series(dtype="object"),
                         "generation": pd.Series(dtype="object"),
                         "guidellm_version": pd.Series(dtype="object"),
                         "metadata_version": pd.Series(dtype="object"),
                         "benchmarks": pd.Series(dtype="int64")})


@dataclass(repr=False)
class GuideLLMResult(Result):
    """GuideLLM benchmark reports as tidy frames.

    Attributes
    ----------
    benchmarks : the long frame of :mod:`evalkit.guidellm.parse` (one row per benchmark,
        metric, status and stat; columns :data:`~evalkit.guidellm.parse.COLUMNS`).
    reports : one row per report: ``report, generation, guidellm_version,
        metadata_version, benchmarks`` (the generation is detected by shape).
    issues : data issues (``source, object, severity, message``): GuideLLM's own warnings,
        errored requests, missing counts, null confidence intervals, unreadable files.
    source : what was read (a path, or the ``report`` name given to ``parse_report``).
    conclusions : GuideLLM 0.8's ``conclusions`` (e.g. a goodput profile's
        ``best_passing_streams``), one dict per report entry, as written.
    """

    benchmarks: pd.DataFrame
    reports: pd.DataFrame = field(default_factory=empty_reports)
    source: str = ""
    conclusions: list[dict[str, Any]] = field(default_factory=list)
    _frames = ("benchmarks", "reports")

    @property
    def models(self) -> list[str]:
        """Models with at least one row, sorted."""
        return sorted(self.benchmarks["model"].dropna().astype(str).unique().tolist())

    def describe(self) -> str:
        return f"from {self.source!r}, {len(self.reports)} report(s), model(s) {self.models}"

    def summary(self) -> pd.DataFrame:
        """One row per benchmark: counts, successful-mean throughput and p99 latencies.

        Columns ``report, model, benchmark, benchmark_id, strategy, rate`` then
        ``successful, errored, incomplete`` (request counts), ``requests_per_second`` and
        ``output_tokens_per_second`` (successful mean), ``ttft_p99_ms``, ``itl_p99_ms`` and
        ``latency_p99_s`` (successful p99).
        """
        df = self.benchmarks
        out = df[_KEYS].drop_duplicates(["report", "benchmark_id"]).reset_index(drop=True)
        for col, metric, status, stat in SUMMARY_COLUMNS:
            sel = df[(df["metric"] == metric) & (df["status"] == status) & (df["stat"] == stat)]
            sel = sel.drop_duplicates(["report", "benchmark_id"])[
                ["report", "benchmark_id", "value"]].rename(columns={"value": col})
            out = out.merge(sel, on=["report", "benchmark_id"], how="left")
        return out

    def _repr_html_(self) -> str:  # pragma: no cover - Jupyter display
        parts = [f"<p><code>{html.escape(repr(self))}</code></p>"]
        if len(self.reports):
            parts.append("<p><b>reports</b></p>" + self.reports.to_html(index=False, escape=True))
        if len(self.benchmarks):
            parts.append("<p><b>benchmarks</b> (summary; the long frame is "
                         "<code>.benchmarks</code>)</p>"
                         + self.summary().drop(columns=["benchmark_id"]).to_html(
                             index=False, escape=True, float_format=lambda v: f"{v:.4g}"))
        if len(self.issues):
            parts.append("<p><b>issues</b></p>"
                         + self.issues.head(50).to_html(index=False, escape=True))
        return "".join(parts)
