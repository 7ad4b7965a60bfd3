"""A loopback, fault-injecting reverse proxy to put in front of any HTTP test server.

Point a client at ``proxy.url`` instead of the upstream: every request is forwarded to
``upstream_url`` (same path and query, same headers except hop-by-hop ones and
``Accept-Encoding``, so answers arrive uncompressed) unless a queued fault applies.

API
---
``FaultProxy(upstream_url, *, upstream_timeout=30.0, upstream_ssl_context=None)``
    context manager; ``.url`` is ``http://127.0.0.1:<port>``.
``.inject(kind, times=1, **kw)``
    queue a fault for the next ``times`` matching requests (``times=None``: every request until
    :meth:`clear`). Faults apply in the order they were queued. Keywords:

    ==================  ==================================================================
    ``"500"``           HTTP 500 (``"502"``, ``"503"`` likewise) with a short text body
    ``"429"``           HTTP 429 with ``Retry-After: <retry_after>`` (default ``1``;
                        ``retry_after=None`` sends no header; an HTTP-date string works too)
    ``"slow"``          wait ``delay`` seconds (default 2.0) before forwarding; give the client
                        a shorter read timeout
    ``"drop"``          close the connection without any answer
    ``"truncate"``      forward, then send the upstream's headers with its full
                        ``Content-Length`` but only the first half of the body, and close
    ``"invalid_json"``  HTTP 200, ``Content-Type: application/json``, a body cut mid-document
    ``"html"``          an HTML error page (OpenShift router's "Application is not available")
                        with ``status`` 200 (default) or e.g. 502
    ==================  ==================================================================

    Every kind also takes ``match="substring"`` (only requests whose path+query contains it),
    ``body=`` (bytes/str replacing the canned body of 500/502/503/429/invalid_json/html) and
    ``headers={...}`` (extra response headers).
``.clear()``
    drop every queued fault.
``.requests_seen``
    a copy of the list of :class:`SeenRequest` (``method``, ``path`` with query, ``headers``,
    ``fault`` applied or ``None``, ``status`` sent or ``None`` when nothing was sent).
``.pending``
    the faults still queued, as ``(kind, remaining_times)`` pairs.

Example::

    with KubeAPIServer(...) as api, FaultProxy(api.url) as proxy:
        proxy.inject("503", times=2)
        proxy.inject("429", retry_after=3)
        client = Client(proxy.url, sleep=fake_sleep)   # retried and complete
        assert [r.fault for r in proxy.requests_seen][:3] == ["503", "503", "429"]
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ._base import LoopbackServer, QuietHandler

FAULT_KINDS = ("500", "502", "503", "429", "slow", "drop", "truncate", "invalid_json", "html")

_REASONS = {"500": "Internal Server Error", "502": "Bad Gateway", "503": "Service Unavailable",
            "429": "Too Many Requests"}
_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
        "transfer-encoding", "upgrade", "content-length", "host", "accept-encoding"}
_UNSET: Any = object()

HTML_PAGE = (b"<html><head><meta name=\"viewport\" content=\"width=device-width\">"
             b"<title>Application is not available</title></head><body><h1>Application is not "
             b"available</h1><p>The application is currently not serving requests at this "
             b"endpoint. It may not have been started or is still starting.</p></body></html>")
INVALID_JSON = b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"'


@dataclass
class SeenRequest:
    """One request the proxy received (recorded on arrival; ``status`` is set once answered)."""

    method: str
    path: str
    headers: dict[str, str]
    fault: str | None
    status: int | None


@dataclass
class _Fault:
    kind: str
    times: int | None
    kw: dict[str, Any] = field(default_factory=dict)

    def matches(self, path: str) -> bool:
        m = self.kw.get("match")
        return m is None or m in path


class FaultProxy(LoopbackServer):
    """Fault-injecting reverse proxy (see the module docstring for the full API).

    >>> with FaultProxy("http://127.0.0.1:9090") as proxy:     # doctest: +SKIP
    ...     proxy.inject("429", retry_after=2)
    """

    def __init__(self, upstream_url: str, *, upstream_timeout: float = 30.0,
                 upstream_ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__()
        parts = urlsplit(upstream_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"upstream_url must be http(s)://host:port, got {upstream_url!r}")
        self.upstream_scheme = parts.scheme
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or (443 if parts.scheme == "https" else 80)
        self.upstream_prefix = parts.path.rstrip("/")
        self.upstream_timeout = upstream_timeout
        self.upstream_ssl_context = upstream_ssl_context
        self._faults: list[_Fault] = []
        self._seen: list[SeenRequest] = []

    handler_class: type  # set below

    # public API ------------------------------------------------------------------------------
    def inject(self, kind: str, times: int | None = 1, **kw: Any) -> None:
        """Queue ``kind`` for the next ``times`` matching requests (``None``: until :meth:`clear`)."""
        kind = str(kind)
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {FAULT_KINDS}")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        allowed = {"match", "body", "headers", "retry_after", "delay", "status"}
        unknown = set(kw) - allowed
        if unknown:
            raise TypeError(f"unknown fault option(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
        with self.lock:
            self._faults.append(_Fault(kind, times, dict(kw)))

    def clear(self) -> None:
        """Forget every queued fault."""
        with self.lock:
            self._faults.clear()

    @property
    def requests_seen(self) -> list[SeenRequest]:
        with self.lock:
            return list(self._seen)

    @property
    def pending(self) -> list[tuple[str, int | None]]:
        with self.lock:
            return [(f.kind, f.times) for f in self._faults]

    # internals -------------------------------------------------------------------------------
    def _take_fault(self, path: str) -> _Fault | None:
        with self.lock:
            for i, f in enumerate(self._faults):
                if f.matches(path):
                    if f.times is not None:
                        f.times -= 1
                        if f.times <= 0:
                            del self._faults[i]
                    return f
        return None

    def _record(self, req: SeenRequest) -> None:
        with self.lock:
            self._seen.append(req)

    def forward(self, method: str, path: str, headers: dict[str, str],
                body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        """Send one request upstream; return ``(status, reason, headers, body)``."""
        conn: http.client.HTTPConnection
        if self.upstream_scheme == "https":
            ctx = self.upstream_ssl_context or ssl.create_default_context()
            conn = http.client.HTTPSConnection(self.upstream_host, self.upstream_port,
                                               timeout=self.upstream_timeout, context=ctx)
        else:
            conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port,
                                              timeout=self.upstream_timeout)
        try:
            fwd = {k: v for k, v in headers.items() if k.lower() not in _HOP}
            fwd["Accept-Encoding"] = "identity"
            conn.request(method, self.upstream_prefix + path, body=body or None, headers=fwd)
            resp = conn.getresponse()
            data = resp.read()
            out = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP]
            return resp.status, resp.reason, out, data
        finally:
            conn.close()


class _ProxyHandler(QuietHandler):
    server: Any

    def _handle(self) -> None:
        proxy: FaultProxy = self.server.owner
        body = self.read_body()
        headers = {k: v for k, v in self.headers.items()}
        fault = proxy._take_fault(self.path)
        kind = fault.kind if fault else None
        seen = SeenRequest(self.command, self.path, headers, kind, None)
        proxy._record(seen)
        kw = fault.kw if fault else {}
        extra = dict(kw.get("headers") or {})
        status: int | None = None
        try:
            if kind in ("500", "502", "503"):
                status = int(kind)
                text = kw.get("body", f"injected fault: HTTP {kind} {_REASONS[kind]}\n")
                self.send_bytes(status, _b(text), "text/plain; charset=utf-8", extra)
            elif kind == "429":
                status = 429
                ra = kw.get("retry_after", 1)
                if ra is not None:
                    extra["Retry-After"] = str(ra)
                text = kw.get("body", "Too Many Requests\n")
                self.send_bytes(status, _b(text), "text/plain; charset=utf-8", extra)
            elif kind == "drop":
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            elif kind == "invalid_json":
                status = 200
                self.send_bytes(status, _b(kw.get("body", INVALID_JSON)), "application/json",
                                extra)
            elif kind == "html":
                status = int(kw.get("status", 200))
                self.send_bytes(status, _b(kw.get("body", HTML_PAGE)), "text/html; charset=utf-8",
                                extra)
            else:
                if kind == "slow":
                    proxy.stopping.wait(float(kw.get("delay", 2.0)))
                try:
                    up_status, reason, up_headers, data = proxy.forward(self.command, self.path,
                                                                        headers, body)
                except OSError as exc:  # upstream down: answer like a real gateway would
                    status = 502
                    self.send_bytes(502, f"FaultProxy: upstream unreachable ({exc})\n".encode(),
                                    "text/plain; charset=utf-8")
                    return
                status = up_status
                self.send_response(up_status, reason)
                for k, v in up_headers + list(extra.items()):
                    self.send_header(k, v)
                length = len(data) if (data or kind != "truncate") else 100
                self.send_header("Content-Length", str(length))
                if kind == "truncate":
                    self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data[: len(data) // 2] if kind == "truncate" else data)
                if kind == "truncate":
                    self.wfile.flush()
                    self.close_connection = True
        except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            self.close_connection = True  # the client gave up (e.g. after a "slow" fault)
        finally:
            seen.status = status

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


def _b(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


FaultProxy.handler_class = _ProxyHandler
