"""A wall-clock deadline for one HTTP request, enforced on its socket.

A read timeout bounds each ``recv``, not a request: a server that sends one byte every few
seconds — in its headers or its body — keeps every read short and the request alive forever.
:class:`Deadline` arms a timer when a request starts; when it fires it shuts the request's
socket down, so the blocked read returns at once and the request fails (the caller turns that
into "no complete answer within the deadline"). :class:`Adapter` is the ``requests`` adapter
whose connection pools tell the current thread's :class:`Deadline` which connection the
request uses.

>>> with Deadline(5.0) as d:
...     pass
>>> d.fired
False
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import requests
import urllib3.poolmanager
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_ACTIVE = threading.local()


class Deadline:
    """Shut down the socket of the request made inside the ``with`` block (in this thread)
    once ``seconds`` have passed; :attr:`fired` says whether it did."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False
        self._conn: Any = None
        self._done = threading.Event()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        _ACTIVE.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._timer.cancel()
        _ACTIVE.deadline = None

    def attach(self, conn: Any) -> None:
        """The connection the request is about to use (called by the connection pool)."""
        self._conn = conn
        if self.fired:
            self._shutdown()

    def _fire(self) -> None:
        self.fired = True
        while not self._done.is_set():  # the socket may not exist yet (still connecting)
            if self._shutdown():
                return
            self._done.wait(0.05)

    def _shutdown(self) -> bool:
        sock = getattr(self._conn, "sock", None)
        if sock is None:
            return False
        try:  # the plain socket's shutdown: wakes a blocked read, TLS or not
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass
        return True


def _attach(conn: Any) -> None:
    d = getattr(_ACTIVE, "deadline", None)
    if d is not None:
        d.attach(conn)


class _Pool(HTTPConnectionPool):
    def _make_request(self, conn: Any, *args: Any, **kw: Any) -> Any:
        _attach(conn)
        return super()._make_request(conn, *args, **kw)


class _TLSPool(HTTPSConnectionPool):
    def _make_request(self, conn: Any, *args: Any, **kw: Any) -> Any:
        _attach(conn)
        return super()._make_request(conn, *args, **kw)


_POOLS = {"http": _Pool, "https": _TLSPool}


class Adapter(requests.adapters.HTTPAdapter):
    """``HTTPAdapter`` whose pools report each request's connection to its :class:`Deadline`
    (direct connections and HTTP proxies; SOCKS proxies keep their own pools)."""

    def init_poolmanager(self, *args: Any, **kw: Any) -> None:
        super().init_poolmanager(*args, **kw)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **kw: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kw)
        if manager.pool_classes_by_scheme is urllib3.poolmanager.pool_classes_by_scheme:
            manager.pool_classes_by_scheme = _POOLS
        return manager
