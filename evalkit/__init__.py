"""evalkit: evidence for replacing a full-precision LLM with its quantized twin.

>>> import evalkit as ek
>>> a = ek.analyze(ek.load(ek.demo_path()))                  # doctest: +SKIP
>>> a.comparison.frame[["task", "delta", "ci_low", "ci_high", "verdict"]]  # doctest: +SKIP

The house (see ``docs/architecture.md``): ``core`` → sources (``lmeval``, ``prometheus``,
``registry``, ``guidellm``; ``kube``, ``promql``) → ``bundle``/``pull`` → ``analysis`` →
``analyze`` → ``present`` and ``publish`` → ``cli``; layers only look down. Nothing heavy is
imported here: plotting, papermill, kubernetes and the model registry client load only when a
function that needs them runs.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__
from .core.errors import (
    AuthError,
    BadResponseBody,
    ConfigError,
    EvalkitError,
    HTTPError,
    InputError,
    LockedError,
    NotFoundError,
    PrometheusError,
    ReportError,
    SchemaError,
    SnapshotError,
    SourceError,
    UnknownModelError,
)

# public name -> module that defines it (imported on first use)
_LAZY = {
    "load": "evalkit.bundle",
    "Bundle": "evalkit.bundle",
    "load_lmeval": "evalkit.lmeval",
    "LMEvalResult": "evalkit.lmeval",
    "HEADLINE_METRICS": "evalkit.lmeval",
    "headline_metric": "evalkit.lmeval",
    "open_snapshot": "evalkit.core.snapshot",
    "SnapshotWriter": "evalkit.core.snapshot",
    "demo_path": "evalkit._resources",
    "compare": "evalkit.analysis.compare",
    "recovery": "evalkit.analysis.recovery",
    "comparability": "evalkit.analysis.comparability",
    "flips": "evalkit.analysis.flips",
    "trend": "evalkit.analysis.trend",
    "serving_summary": "evalkit.analysis.serving",
    "serving_metrics": "evalkit.prometheus",
    "serving_window": "evalkit.prometheus",
    "query_range": "evalkit.prometheus",
    "analyze": "evalkit.analysis.pipeline",
    "Analysis": "evalkit.analysis.pipeline",
    "run_report": "evalkit.present.report",
    "write_outputs": "evalkit.present.summary_json",
    "pull": "evalkit.collect",
    "pull_sources": "evalkit.collect",
    "read_versions": "evalkit.registry",
    "model_facts": "evalkit.registry",
    "map_models": "evalkit.registry",
    "publish_scores": "evalkit.registry",
    "exposition": "evalkit.publish",
    "push": "evalkit.publish",
    "load_guidellm": "evalkit.guidellm",
    "capacity": "evalkit.analysis.capacity",
    "SLO": "evalkit.analysis.capacity",
    "cost": "evalkit.analysis.cost",
}

_ERRORS = ["AuthError", "BadResponseBody", "ConfigError", "EvalkitError", "HTTPError",
           "InputError", "LockedError", "NotFoundError", "PrometheusError", "ReportError",
           "SchemaError", "SnapshotError", "SourceError", "UnknownModelError"]
__all__ = sorted(["__version__", *_ERRORS, *_LAZY])


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'evalkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
