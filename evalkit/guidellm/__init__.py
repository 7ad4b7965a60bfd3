"""GuideLLM benchmark reports (``benchmarks.json``) of every schema generation → one tidy
benchmarks frame.

- :func:`load_guidellm` — a report file (JSON/YAML), a folder of them, or a parsed ``dict``;
- :func:`parse_report` — the pure parser of one report document;
- :func:`from_registry_properties` — the demo's ``benchmark_rate_<rate>_<suffix>`` Model
  Registry properties as the same frame;
- :class:`GuideLLMResult` — ``benchmarks`` (long frame), ``reports``, ``issues``, ``source``.

The frame's columns, units, count rows and throughput convention are described in
:mod:`evalkit.guidellm.parse`; capacity at an SLO is :func:`evalkit.analysis.capacity.capacity`.

>>> from evalkit.guidellm import parse_report
>>> res = parse_report({"metadata": {"version": 2, "guidellm_version": "0.8.1"},
...                     "config": {"spec": {"backend": {"model": "m"}}}, "benchmarks": []})
>>> res.reports[["generation", "guidellm_version"]].values.tolist()
[['0.7-0.8', '0.8.1']]
"""

from __future__ import annotations

from .load import load_guidellm
from .parse import (
    COLUMNS,
    UNITS,
    detect_generation,
    from_registry_properties,
    is_guidellm_report,
    parse_report,
)
from .result import GuideLLMResult

__all__ = [
    "COLUMNS",
    "UNITS",
    "GuideLLMResult",
    "detect_generation",
    "from_registry_properties",
    "is_guidellm_report",
    "load_guidellm",
    "parse_report",
]
