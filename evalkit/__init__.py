"""evalkit: evidence for replacing a full-precision LLM with its quantized twin.

>>> import evalkit as ek
>>> res = ek.load_lmeval(ek.demo_path())            # doctest: +SKIP
>>> ek.compare(res.scores, baseline="mistral-24b", candidate="mistral-24b-quantized")  # doctest: +SKIP

Nothing heavy is imported here: plotting, papermill, kubernetes and the model registry client
load only when a function that needs them runs.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__
from .errors import (
    AuthError,
    BadResponseBody,
    ConfigError,
    EvalkitError,
    HTTPError,
    NotFoundError,
    PrometheusError,
    ReportError,
    SchemaError,
    SourceError,
    UnknownModelError,
)

# public name -> module that defines it (imported on first use)
_LAZY = {
    "load_lmeval": "evalkit.lmeval",
    "LMEvalResult": "evalkit.lmeval",
    "HEADLINE_METRICS": "evalkit.lmeval",
    "headline_metric": "evalkit.lmeval",
    "open_snapshot": "evalkit.snapshot",
    "SnapshotWriter": "evalkit.snapshot",
    "demo_path": "evalkit.snapshot",
    "compare": "evalkit.analysis.quality",
    "recovery": "evalkit.analysis.quality",
    "comparability": "evalkit.analysis.quality",
    "flips": "evalkit.analysis.quality",
    "trend": "evalkit.analysis.quality",
    "serving_metrics": "evalkit.prometheus",
    "serving_window": "evalkit.prometheus",
    "query_range": "evalkit.prometheus",
    "serving_summary": "evalkit.analysis.serving",
    "analyze": "evalkit.summary",
    "Analysis": "evalkit.summary",
    "run_report": "evalkit.report",
    "pull": "evalkit.pull",
}

__all__ = sorted([
    "__version__", "AuthError", "BadResponseBody", "ConfigError", "EvalkitError", "HTTPError", "NotFoundError", "PrometheusError",
    "ReportError", "SchemaError", "SourceError", "UnknownModelError", *_LAZY,
])


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'evalkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
