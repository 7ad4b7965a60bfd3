"""What one Prometheus API answer holds, once parsed: series as numpy arrays, plus the
``warnings``/``infos`` Prometheus attached (an answer with warnings is partial)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.errors import BadResponseBody, PrometheusError


@dataclass
class RawSeries:
    """One series of an answer: its labels, timestamps (integer ms) and float values."""

    labels: dict[str, str]
    ts_ms: np.ndarray
    values: np.ndarray


@dataclass
class Answer:
    """A parsed answer: ``result_type`` ("matrix", "vector", "scalar", "string"), its series,
    and the ``warnings``/``infos`` Prometheus attached (a partial answer has warnings)."""

    result_type: str
    series: list[RawSeries]
    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    skipped_histograms: int = 0

    @property
    def partial(self) -> bool:
        return bool(self.warnings)


class BadPayload(PrometheusError, BadResponseBody):
    """The body is not a Prometheus API answer at all (HTML, truncated, not JSON); the HTTP
    layer retries it."""
