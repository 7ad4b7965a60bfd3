"""Prometheus (Thanos, Mimir) as a :class:`~evalkit.source.Source`: pull the serving metrics
of each model over a window into a snapshot, load them back.

Every argument is checked when the source is made — before any network call — so a bad
``--step``, an unparsable time, ``start`` after ``end`` or a malformed selector is an
:class:`~evalkit.core.errors.InputError` (exit 2) at once.

>>> PrometheusSource("http://127.0.0.1:9090", {"m": 'model_name="m"'},
...                  start="2025-01-01T00:00:00Z", end="2025-01-01T01:00:00Z").describe()
'Prometheus at http://127.0.0.1:9090, 1 model(s)'
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import promql
from ..core.errors import EvalkitError, InputError
from ..core.http import safe_url
from ..core.result import Result
from ..core.settings import check_url
from ..core.snapshot import Snapshot, SnapshotWriter
from ..core.timeutil import step_to_ms, to_seconds, to_unix
from ..source import Check, Source
from .serving import SOURCE, ServingSeries, model_selectors
from .snapshot import load_snapshot_series, load_snapshot_window, snapshot_prometheus

#: the window pulled when no start is given: one hour before ``end``
DEFAULT_WINDOW_S = 3600.0


@dataclass(repr=False)
class ServingData(Result):
    """What a snapshot holds from Prometheus: the series over time and the whole-window
    answers, with their issues."""

    series: ServingSeries
    window: ServingSeries
    info: dict[str, Any]

    @property
    def partial(self) -> bool:
        return self.series.partial or self.window.partial

    def describe(self) -> str:
        return f"{self.info.get('start')} to {self.info.get('end')}" + (
            " PARTIAL" if self.partial else "")


class PrometheusSource(Source):
    """Serving metrics of ``selectors`` (``{model name: PromQL selector}``) between ``start``
    and ``end`` (default: the hour before now) at ``step``."""

    key = SOURCE

    def __init__(self, url: str | None, selectors: Mapping[str, promql.SelectorLike], *,
                 start: Any = None, end: Any = None, step: float | str = "30s",
                 window: str = "5m", token: Any = None,
                 ca_bundle: str | os.PathLike[str] | None = None, insecure: bool = False,
                 headers: Mapping[str, str] | None = None, tenant: str | None = None,
                 service_account: bool = False, max_workers: int = 4) -> None:
        url = url or os.environ.get("EVALKIT_PROMETHEUS_URL")
        if not url:
            raise InputError("no Prometheus URL: pass --prometheus URL or set "
                             "EVALKIT_PROMETHEUS_URL")
        self.url = check_url(url, "prometheus")
        if not selectors:
            raise InputError("Prometheus needs at least one model: --model NAME=SELECTOR")
        try:
            self.selectors = model_selectors(selectors)
        except (ValueError, TypeError) as exc:
            raise InputError(f"model selector: {exc}") from None
        try:
            self.end = to_unix(end) if end is not None else time.time()
            self.start = to_unix(start) if start is not None else self.end - DEFAULT_WINDOW_S
            self.step = step
            step_to_ms(step)
            to_seconds(window)
        except (ValueError, TypeError) as exc:
            raise InputError(f"Prometheus window: {exc}") from None
        if not self.start < self.end:
            raise InputError(f"the Prometheus window starts after it ends (start {start!r}, "
                             f"end {end!r}); give --start before --end")
        if tenant is not None and not tenant.strip():
            raise InputError("the Prometheus tenant (Thanos namespace) is empty")
        self.window = window
        self.kw = {"token": token, "ca_bundle": ca_bundle, "insecure": insecure,
                   "headers": dict(headers or {}) or None, "tenant": tenant,
                   "service_account": service_account, "max_workers": max_workers}

    def describe(self) -> str:
        return f"Prometheus at {safe_url(self.url)}, {len(self.selectors)} model(s)"

    def pull(self, writer: SnapshotWriter) -> dict[str, Any]:
        return snapshot_prometheus(writer, url=self.url, selectors=self.selectors,
                                   start=self.start, end=self.end, step=self.step,
                                   window=self.window, **self.kw)

    @classmethod
    def load(cls, snapshot: Snapshot) -> ServingData | None:
        info = snapshot.sources.get(SOURCE)
        if not isinstance(info, dict):
            return None
        series = load_snapshot_series(snapshot)
        window = load_snapshot_window(snapshot)
        from ..core import frames

        return ServingData(series=series, window=window, info=info,
                           issues=frames.issues_frame(series.issues, window.issues))

    def check(self) -> list[Check]:
        from .client import make_client

        kw = {k: v for k, v in self.kw.items() if k not in ("tenant",)}
        try:
            with make_client(self.url, **kw) as cl:
                cl.get_json("api/v1/status/buildinfo")
        except EvalkitError as exc:
            return [Check(self.key, f"reach {safe_url(self.url)}", False, str(exc))]
        return [Check(self.key, f"reach {safe_url(self.url)}", True, "buildinfo answered")]
