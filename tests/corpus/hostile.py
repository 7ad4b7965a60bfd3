"""Hostile HTTP servers that no well-behaved test server imitates: they speak raw sockets.

``HostileServer(mode)`` (a context manager; ``.url``, ``.requests`` counts connections):

==================  ==============================================================
``trickle_body``     valid headers (``Content-Length: 100000``), then one byte every
                     ``interval`` seconds — each read succeeds, so only a total deadline
                     ends it
``trickle_headers``  the status line and headers one byte every ``interval`` seconds
``huge``             ``Content-Length`` of ``size`` bytes (default 3 GB), streamed as fast
                     as the client reads
``endless``          a chunked body that never ends
``short``            ``Content-Length: 5000`` and only 100 bytes, then the connection
                     closes
``silent``           accepts the connection and never answers
``redirect``         ``302`` to the same path on ``to`` (another origin)
==================  ==============================================================
"""

from __future__ import annotations

import socket
import threading
from typing import Any

MODES = ("trickle_body", "trickle_headers", "huge", "endless", "short", "silent", "redirect")


class HostileServer:
    def __init__(self, mode: str, *, interval: float = 0.2, size: int = 3 * 2**30,
                 to: str = "") -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {MODES}")
        self.mode = mode
        self.interval = interval
        self.size = size
        self.to = to.rstrip("/")
        self.requests = 0
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        assert self._sock is not None
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def __enter__(self) -> HostileServer:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        s.settimeout(0.1)
        self._sock = s
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._sock is not None:
            self._sock.close()

    def _accept(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self.requests += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(30)
            buf = b""
            while b"\r\n\r\n" not in buf and len(buf) < 65536:
                got = conn.recv(65536)
                if not got:
                    return
                buf += got
            self._path = buf.split(b" ", 2)[1] if buf.count(b" ") >= 2 else b"/"
            getattr(self, f"_{self.mode}")(conn)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _drip(self, conn: socket.socket, data: bytes) -> None:
        for b in data:
            if self._stop.wait(self.interval):
                return
            conn.sendall(bytes([b]))

    def _trickle_body(self, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100000\r\n\r\n")
        self._drip(conn, b" " * 100000)

    def _trickle_headers(self, conn: socket.socket) -> None:
        self._drip(conn, b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100000)

    def _huge(self, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(self.size).encode() + b"\r\n\r\n")
        block = b" " * (1 << 20)
        sent = 0
        while sent < self.size and not self._stop.is_set():
            conn.sendall(block)
            sent += len(block)

    def _endless(self, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (1 << 16, b" " * (1 << 16))
        while not self._stop.is_set():
            conn.sendall(chunk)

    def _short(self, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 5000\r\nConnection: close\r\n\r\n" + b" " * 100)

    def _redirect(self, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: " + self.to.encode() + self._path
                     + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    def _silent(self, conn: socket.socket) -> None:
        self._stop.wait(60)


class PrometheusStub:
    """A Prometheus that answers every query with an empty matrix and records the headers of
    each request (``.seen``: list of header dicts) — to see which credentials reach it."""

    ANSWER = b'{"status":"success","data":{"resultType":"matrix","result":[]}}'

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                return

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with stub._lock:
                    stub.seen.append(dict(self.headers.items()))
                body = stub.ANSWER
                if "/api/v1/query" in self.path and "query_range" not in self.path:
                    body = b'{"status":"success","data":{"resultType":"vector","result":[]}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

        self.seen: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> PrometheusStub:
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
