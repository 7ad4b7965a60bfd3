""":func:`analyze`: everything the report shows, computed once, as pure data — no kernel, no
files read. The notebook displays an :class:`Analysis`; ``evalkit analyze`` writes it as
``summary.json`` plus Parquet frames; ``gate`` and publishing read that.

Every issue found by every step — loading, comparison, recovery, comparability, flips,
trend, serving — lands in one ``issues`` frame whose ``step`` column says which step found it.

>>> import evalkit as ek
>>> a = ek.analyze(ek.load(ek.demo_path()))
>>> a.baseline, a.candidates
('mistral-24b', ['mistral-24b-quantized'])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..bundle import Bundle
from ..core import frames
from ..core.result import Result
from ..lmeval import LMEvalResult
from .base import reusing_latest_jobs
from .capacity import SLO
from .comparability import Comparability, comparability
from .compare import Comparison, compare
from .economics import Economics, economics
from .flips import Flips, flips
from .models import check_settings, default_models, resolve_models  # noqa: F401 - API
from .recovery import RecoveryResult, recovery
from .serving import serving_summary
from .tradeoff import Tradeoff, tradeoff
from .trend import Trend, trend
from .verdicts import LIMIT_NOTE


@dataclass(repr=False)
class Analysis(Result):
    """The report's content for one baseline and one or more candidates."""

    bundle: Bundle
    baseline: str
    candidates: list[str]
    margin: float
    confidence: float
    relative_margin: float
    comparison: Comparison
    all_metrics: Comparison
    recovery: RecoveryResult
    comparability: Comparability
    flips: Flips | None
    trend: Trend
    serving_summary: pd.DataFrame | None = None
    economics: Economics | None = None
    tradeoff: Tradeoff | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def result(self) -> LMEvalResult:
        """The LMEvalJob/lm-eval data compared."""
        return self.bundle.lmeval

    @property
    def demo(self) -> bool:
        return self.bundle.demo

    @property
    def candidate(self) -> str | list[str]:
        return self.candidates[0] if len(self.candidates) == 1 else self.candidates

    @property
    def serving(self) -> pd.DataFrame | None:
        """Serving series over time, when the source holds Prometheus answers."""
        s = self.bundle.serving
        return None if s is None else s.series.series

    def describe(self) -> str:
        demo = " (DEMO DATA)" if self.demo else ""
        verdicts = ", ".join(f"{r.task}: {r.verdict}" for r in self.comparison.frame.itertuples())
        return f"{self.baseline} vs {', '.join(self.candidates)}{demo} [{verdicts}]"


def analyze(data: Bundle | LMEvalResult, baseline: str | None = None,
            candidates: str | Sequence[str] | None = None, *, margin: float = 0.02,
            relative_margin: float = 0.02, confidence: float = 0.95,
            headline: dict | None = None, direction: dict | None = None,
            tasks: str | Sequence[str] | None = "top", slo: SLO | str | None = None,
            prices: dict | str | os.PathLike[str] | None = None,
            usd_per_gpu_hour: Any = None) -> Analysis:
    """Compare ``candidates`` (one name or several) with ``baseline`` on everything ``data``
    holds: what :func:`evalkit.load` (or :func:`evalkit.load_lmeval`) returned. Model names
    default to the snapshot's full-precision and quantized models.

    ``margin`` applies to proportions (points on the 0–1 scale), ``relative_margin`` to every
    other metric (a fraction of the baseline); ``direction`` overrides lm-eval's
    ``higher_is_better``; ``tasks`` ("top", "subtasks" or a list) decides how lm-eval groups
    count in the headline table and recovery (see :func:`evalkit.recovery`). ``slo`` (an
    :class:`SLO`, ``"chat"`` — the default — or ``"rag"``), ``prices`` (a price table or a
    YAML/JSON file of one, see :func:`evalkit.analysis.cost.load_prices`) and
    ``usd_per_gpu_hour`` drive capacity and cost."""
    with reusing_latest_jobs():  # every step picks the same runs: once is enough
        return _analyze(data, baseline, candidates, margin=margin,
                        relative_margin=relative_margin, confidence=confidence,
                        headline=headline, direction=direction, tasks=tasks, slo=slo,
                        prices=prices, usd_per_gpu_hour=usd_per_gpu_hour)


def _analyze(data: Bundle | LMEvalResult, baseline: str | None,
             candidates: str | Sequence[str] | None, *, margin: float, relative_margin: float,
             confidence: float, headline: dict | None, direction: dict | None,
             tasks: str | Sequence[str] | None, slo: SLO | str | None,
             prices: dict | str | os.PathLike[str] | None, usd_per_gpu_hour: Any) -> Analysis:
    bundle = data if isinstance(data, Bundle) else Bundle(
        lmeval=data, source=data.source, demo=data.demo, manifest=data.manifest)
    slo, prices = check_settings(margin=margin, relative_margin=relative_margin,
                                 confidence=confidence, slo=slo, prices=prices)
    baseline, cands = resolve_models(bundle, baseline, candidates)
    res = bundle.lmeval
    kw = dict(baseline=baseline, samples=res.samples, runs=res.runs, margin=margin,
              relative_margin=relative_margin, confidence=confidence, headline=headline,
              direction=direction)
    comparison = compare(res.scores, candidates=cands,
                         tasks="top" if tasks == "subtasks" else tasks, **kw)
    all_metrics = compare(res.scores, candidates=cands, all_metrics=True, tasks="all", **kw)
    recov = recovery(res.scores, baseline=baseline, candidates=cands, samples=res.samples,
                     confidence=confidence, headline=headline, direction=direction,
                     tasks=tasks)
    comp = comparability(res.runs, baseline=baseline, candidates=cands, scores=res.scores)
    with_samples = set(res.samples["model"].astype(str)) if len(res.samples) else set()
    flip_cands = [c for c in cands if c in with_samples]
    flip = (flips(res.samples, baseline, flip_cands, scores=res.scores, headline=headline)
            if baseline in with_samples and flip_cands else None)
    tr = trend(res.scores, models=[baseline, *cands], confidence=confidence, headline=headline)
    serving_sum = None
    issue_parts: list[tuple[str, Any]] = [("load", bundle.issues), ("load", res.issues)]
    if bundle.serving is not None:
        s = bundle.serving
        serving_sum = serving_summary(s.series, s.window)
        issue_parts.append(("serving", s.issues))
    for name, obj in (("registry", bundle.registry), ("guidellm", bundle.guidellm)):
        if obj is not None:
            issue_parts.append((name, obj.issues))
    econ = economics(bundle, baseline, cands, serving_summary=serving_sum, slo=slo,
                     prices=prices, usd_per_gpu_hour=usd_per_gpu_hour)
    decision = tradeoff(comparison.frame, baseline=baseline, candidates=cands, recovery=recov,
                        serving_summary=serving_sum, cost=econ.cost)
    issue_parts += [("cost", econ.issues), ("compare", comparison.issues),
                    ("compare", all_metrics.issues),
                    ("recovery", recov.issues), ("comparability", comp.issues),
                    ("flips", flip.issues if flip is not None else None), ("trend", tr.issues)]
    issues = frames.issues_frame(*[frames.issues_frame(p, step=step) for step, p in issue_parts
                                   if p is not None and len(p)])
    if "step" not in issues.columns:
        issues["step"] = pd.Series(dtype="object")
    notes = [LIMIT_NOTE]
    if bundle.demo:
        notes.insert(0, "GENERATED DEMO DATA: these numbers were made by "
                        "scripts/make_demo_snapshot.py, not measured.")
    return Analysis(bundle=bundle, baseline=baseline, candidates=cands, margin=margin,
                    confidence=confidence, relative_margin=relative_margin,
                    comparison=comparison, all_metrics=all_metrics,
                    recovery=recov, comparability=comp, flips=flip, trend=tr,
                    serving_summary=serving_sum, economics=econ, tradeoff=decision,
                    notes=notes, issues=issues)
