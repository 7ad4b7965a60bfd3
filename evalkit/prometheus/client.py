"""Talking to a Prometheus-compatible API (Prometheus, Thanos querier, Mimir): one client,
form-encoded queries, chunked and concurrent range queries stitched so every timestamp
appears exactly once, error answers kept with their ``errorType``/``error``.

>>> make_client("http://127.0.0.1:9090").name
'prometheus'
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import BadResponseBody, HTTPError, PrometheusError
from ..core.http import Client, safe_url
from ..core.settings import service_client
from ..core.timeutil import fmt_ms, iso_ms, step_to_ms, to_ms, to_unix
from .answer import Answer, BadPayload
from .frame import QueryResult, query_result
from .parse import parse_answer

#: Prometheus refuses range queries with more than 11,000 points per series.
MAX_POINTS = 11_000


def chunks(start_ms: int, end_ms: int, step_ms: int, max_points: int) -> list[tuple[int, int]]:
    """Aligned, disjoint ``(start, end)`` chunks covering the step grid of [start, end]."""
    if step_ms < 1:
        raise ValueError(f"step must be at least 1 ms, got {step_ms} ms")
    if end_ms < start_ms:
        raise ValueError("end is before start")
    n = (end_ms - start_ms) // step_ms + 1
    per = max(1, min(max_points, MAX_POINTS))
    out = []
    for k in range(0, n, per):
        s = start_ms + k * step_ms
        e = start_ms + (min(k + per, n) - 1) * step_ms
        out.append((s, e))
    return out



def make_client(url: str | None = None, *, token: Any = None,
                ca_bundle: str | os.PathLike[str] | None = None, insecure: bool = False,
                headers: Mapping[str, str] | None = None, max_workers: int = 4,
                service_account: bool = False, **kw: Any) -> Client:
    """An :class:`evalkit.core.http.Client` for a Prometheus-compatible API.

    ``url`` is the API root (else ``$EVALKIT_PROMETHEUS_URL``): ``http://prometheus:9090``,
    ``https://thanos-querier.openshift-monitoring.svc:9091`` or, for Mimir,
    ``http://mimir/prometheus`` (with ``headers={"X-Scope-OrgID": "tenant"}``). ``token`` may
    be a string or an auth object; without one, ``$EVALKIT_PROMETHEUS_TOKEN(_FILE)`` is used,
    and the in-cluster service-account token only with ``service_account=True`` (https only).
    """
    return service_client("prometheus", url, token=token, service_account=service_account,
                          ca_bundle=ca_bundle, insecure=insecure, headers=headers,
                          pool_size=max(10, max_workers), **kw)


class TransientError(PrometheusError, BadResponseBody):
    """A Prometheus error answer with a retryable status (503 ``timeout``/``unavailable``):
    the HTTP layer retries it and raises the last one, ``error_type``/``error`` intact."""


#: statuses the HTTP layer keeps handling itself even with a JSON error body (AuthError with
#: its permission hint; 429 with Retry-After)
_HTTP_LAYER_STATUSES = frozenset({401, 403, 429})


def _is_error_body(content: bytes) -> bool:
    """True when ``content`` is a Prometheus ``{"status":"error",...}`` JSON answer."""
    head = content[:64].lstrip()
    if not head.startswith(b"{") or len(content) > 1 << 20:
        return False
    try:
        doc = json.loads(content)
    except ValueError:
        return False
    return isinstance(doc, dict) and doc.get("status") == "error"


def _accept_error_body(resp: Any) -> bool:
    # A status >= 400 whose body is a Prometheus error answer (400 bad_data, 422 execution,
    # 499 canceled, 500 internal, 503 timeout/unavailable, ...) goes to the parser so its
    # errorType/error survive; anything else (a proxy's text or HTML) stays with the HTTP
    # layer: retried when the status is retryable, else raised at once with its status.
    return resp.status_code not in _HTTP_LAYER_STATUSES and _is_error_body(resp.content)


def validator(client: Client, endpoint: str) -> Callable[[Any], Answer]:
    retryable = frozenset(getattr(getattr(client, "retry", None), "statuses", ()) or ())

    def validate(r: Any) -> Answer:
        status = r.status_code
        try:
            return parse_answer(r.content, endpoint=endpoint, status=status)
        except BadPayload as exc:
            if status >= 400:  # not a Prometheus answer: a plain, non-retried HTTP error
                raise HTTPError(f"prometheus at {endpoint}: HTTP {status} with a body that is "
                                f"not a Prometheus answer ({exc.error})", endpoint=endpoint,
                                status=status, cause=exc.error) from None
            raise
        except PrometheusError as exc:
            if status in retryable:
                raise TransientError(str(exc), error_type=exc.error_type, error=exc.error,
                                      endpoint=endpoint, status=status) from None
            raise

    return validate


def fetch(client: Client, path: str, form: Mapping[str, str],
           params: Mapping[str, str] | None) -> tuple[bytes, Answer]:
    """POST one form-encoded query; return the raw body and its parsed answer.

    A 200 body that is not a Prometheus answer (an HTML login page, a truncated or invalid
    JSON body) is retried by the HTTP layer like any transient failure (``validate``). A
    Prometheus error answer raises :class:`PrometheusError` with its ``errorType``/``error``
    and HTTP status (after retries when the status is retryable, e.g. 503 ``timeout``).
    """
    endpoint = safe_url(client.url(path))
    resp = client.request(
        "POST", path, data=dict(form), params=dict(params or {}), ok=_accept_error_body,
        idempotent=True,  # a query changes nothing on the server
        validate=validator(client, endpoint))
    return resp.content, resp.evalkit_value  # type: ignore[attr-defined]


def _tenancy(namespace: str | None) -> dict[str, str]:
    return {"namespace": namespace} if namespace else {}


@dataclass
class QueryRecord:
    """One query evalkit ran (or generated): what, for which model and metric, and the raw
    answers (one per time chunk, in order)."""

    model: str | None
    metric: str | None
    unit: str | None
    query: str | None
    kind: str  # "range" | "window" | "instant"
    start_ms: int = 0
    end_ms: int = 0
    step_ms: int = 0
    bodies: list[bytes] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    note: str = ""

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {"model": self.model, "metric": self.metric, "unit": self.unit,
                             "kind": self.kind, "query": self.query}
        if self.kind == "range":
            d.update(start=iso_ms(self.start_ms), end=iso_ms(self.end_ms),
                     step_s=self.step_ms / 1000, chunks=len(self.bodies))
        else:
            d.update(time=iso_ms(self.end_ms), window_s=(self.end_ms - self.start_ms) / 1000)
        d["partial"] = any(a.partial for a in self.answers)
        if self.note:
            d["note"] = self.note
        return d


def run_queries(client: Client, records: list[QueryRecord], *, max_workers: int,
         progress: bool | None, tenant: str | None, max_points: int = MAX_POINTS,
         desc: str = "prometheus") -> None:
    """Fetch every record's chunks on one thread pool; fill ``bodies``/``answers`` in order."""
    tasks: list[tuple[QueryRecord, int, str, dict[str, str]]] = []
    for rec in records:
        if rec.query is None:
            continue
        if rec.kind == "range":
            spans = chunks(rec.start_ms, rec.end_ms, rec.step_ms, max_points)
            rec.bodies = [b""] * len(spans)
            rec.answers = [None] * len(spans)  # type: ignore[list-item]
            for i, (s, e) in enumerate(spans):
                tasks.append((rec, i, "api/v1/query_range",
                              {"query": rec.query, "start": fmt_ms(s), "end": fmt_ms(e),
                               "step": fmt_ms(rec.step_ms)}))
        else:
            rec.bodies, rec.answers = [b""], [None]  # type: ignore[list-item]
            tasks.append((rec, 0, "api/v1/query", {"query": rec.query, "time": fmt_ms(rec.end_ms)}))
    params = _tenancy(tenant)
    bar = None
    if (progress is None and len(tasks) > 1) or progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(tasks), desc=desc, unit="chunk", leave=False)
    lock = threading.Lock()

    def one(task: tuple[QueryRecord, int, str, dict[str, str]]) -> None:
        rec, i, path, form = task
        body, ans = fetch(client, path, form, params)
        rec.bodies[i], rec.answers[i] = body, ans
        if bar is not None:
            with lock:
                bar.update(1)

    try:
        if max_workers <= 1 or len(tasks) <= 1:
            for t in tasks:
                one(t)
        else:
            with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="evalkit-prom") as ex:
                for fut in [ex.submit(one, t) for t in tasks]:
                    fut.result()
    finally:
        if bar is not None:
            bar.close()


def query_range(url: str, query: str, start: Any, end: Any, step: float | str, *,
                token: Any = None, ca_bundle: str | os.PathLike[str] | None = None,
                insecure: bool = False, headers: Mapping[str, str] | None = None,
                tenant: str | None = None, max_workers: int = 4,
                progress: bool | None = None, client: Client | None = None,
                max_points: int = MAX_POINTS) -> QueryResult:
    """Run a range query, split into chunks of at most ``max_points`` (≤ 11,000) points per
    series, fetched concurrently and stitched so every timestamp appears exactly once.

    Parameters
    ----------
    url : API root (Prometheus, Thanos querier, or Mimir's ``.../prometheus``).
    query : PromQL (sent form-encoded in a POST body, so long queries are fine).
    start, end : unix seconds, datetimes (naive = UTC) or RFC 3339 strings.
    step : seconds or a duration string (``"15s"``, ``"1m"``).
    token, ca_bundle, insecure : auth and TLS, see :func:`make_client`.
    headers : extra headers, e.g. ``{"X-Scope-OrgID": "tenant"}`` for Mimir.
    tenant : Thanos tenancy namespace (querier port 9092): sent as ``?namespace=NS``.
    max_workers : concurrent chunk requests.
    progress : tqdm.auto bar; ``None`` shows it for multi-chunk pulls.
    client : a ready :class:`evalkit.core.http.Client` (then token/TLS/headers are ignored).

    Returns
    -------
    A :class:`~evalkit.prometheus.frame.QueryResult`: ``.frame`` (the :func:`parse_matrix`
    frame), ``.partial`` (True when any chunk carried warnings, listed in ``.warnings``).

    Examples
    --------
    >>> f = query_range("http://127.0.0.1:9090", 'sum(rate(vllm:generation_tokens_total[5m]))',
    ...                 "2025-01-01T00:00:00Z", "2025-01-31T00:00:00Z", "15s")  # doctest: +SKIP
    """
    step_ms = step_to_ms(step)
    rec = QueryRecord(None, None, None, query, "range", to_ms(to_unix(start)), to_ms(to_unix(end)),
                      step_ms)
    cl = client or make_client(url, token=token, ca_bundle=ca_bundle, insecure=insecure,
                               headers=headers, max_workers=max_workers)
    try:
        run_queries(cl, [rec], max_workers=max_workers, progress=progress, tenant=tenant,
             max_points=max_points)
    finally:
        if client is None:
            cl.close()
    return query_result(rec.answers)


def query(url: str, promql_query: str, time: Any = None, *, token: Any = None,
          ca_bundle: str | os.PathLike[str] | None = None, insecure: bool = False,
          headers: Mapping[str, str] | None = None, tenant: str | None = None,
          client: Client | None = None) -> QueryResult:
    """Run an instant query (at ``time``, default now) → a
    :class:`~evalkit.prometheus.frame.QueryResult`.

    >>> query("http://127.0.0.1:9090", "up")  # doctest: +SKIP
    """
    t_ms = to_ms(to_unix(time)) if time is not None else to_ms(dt.datetime.now(dt.UTC).timestamp())
    rec = QueryRecord(None, None, None, promql_query, "instant", t_ms, t_ms)
    cl = client or make_client(url, token=token, ca_bundle=ca_bundle, insecure=insecure,
                               headers=headers)
    try:
        run_queries(cl, [rec], max_workers=1, progress=False, tenant=tenant)
    finally:
        if client is None:
            cl.close()
    return query_result(rec.answers)
