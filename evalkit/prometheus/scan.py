"""The fast, exact scanner behind :func:`evalkit.prometheus.parse_answer`.

The JSON *structure* of an answer (objects, keys, strings with their escapes) is walked token
by token, so label values are never searched for ``"values":[``; only once the walker stands at
a series' ``"values"`` key is the regular ``[[t,"v"],...]`` array taken up to its ``]]``,
checked (only number characters, quotes, commas and brackets, in the counts and at the places
a regular array has them), rewritten as ``t,v`` lines and parsed in batches by a correctly
rounded C float parser (pandas >= 3 ``read_csv``, else numpy's text parser) on worker threads.
Anything irregular goes through :mod:`json` instead.
"""

from __future__ import annotations

import io
import json
import os
import re
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .answer import BadPayload, RawSeries

# pandas >= 3 parses floats with a correctly rounded parser (exact, ~2x numpy's text parser)
_FAST_CSV = int(pd.__version__.split(".")[0]) >= 3
_PARSE_THREADS = max(1, min(4, os.cpu_count() or 1))

_WS_RE = re.compile(rb"[ \t\r\n]*")
_STR_RE = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_TOKEN_RE = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)
_SCALAR_RE = re.compile(rb"[^,\]}\s]+")
_EMPTY_ARRAY_RE = re.compile(rb"\[[ \t\r\n]*\]")
_COMPACT_CHARS = b'0123456789.eE+-NaInfity",[]'
LBRACE, RBRACE, LBRACK, RBRACK = ord("{"), ord("}"), ord("["), ord("]")
QUOTE, COMMA, COLON = ord('"'), ord(","), ord(":")


def bad_payload(msg: str, buf: bytes, pos: int) -> BadPayload:
    around = buf[max(0, pos - 30):pos + 30].decode("utf-8", "replace")
    return BadPayload(f"Prometheus answer is not valid JSON of the expected shape: {msg} at "
                       f"byte {pos} (near {around!r})", error_type="bad_payload", error=msg)


class Scanner:
    """Walks the JSON structure of a Prometheus answer held in ``bytes``."""

    __slots__ = ("buf", "n")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.n = len(buf)

    def ws(self, pos: int) -> int:
        return _WS_RE.match(self.buf, pos).end()  # type: ignore[union-attr]

    def expect(self, pos: int, ch: int) -> int:
        pos = self.ws(pos)
        if pos >= self.n or self.buf[pos] != ch:
            raise bad_payload(f"expected {chr(ch)!r}", self.buf, pos)
        return pos + 1

    def peek(self, pos: int) -> tuple[int, int]:
        pos = self.ws(pos)
        if pos >= self.n:
            raise bad_payload("unexpected end of body", self.buf, pos)
        return pos, self.buf[pos]

    def string(self, pos: int) -> tuple[str, int]:
        pos = self.ws(pos)
        m = _STR_RE.match(self.buf, pos)
        if not m:
            raise bad_payload("expected a string", self.buf, pos)
        try:
            return json.loads(m.group()), m.end()
        except ValueError:
            raise bad_payload("invalid string", self.buf, pos) from None

    def skip(self, pos: int) -> int:
        """End position of the JSON value starting at ``pos``."""
        pos, c = self.peek(pos)
        if c == QUOTE:
            m = _STR_RE.match(self.buf, pos)
            if not m:
                raise bad_payload("unterminated string", self.buf, pos)
            return m.end()
        if c in (LBRACE, LBRACK):
            depth = 0
            for m in _TOKEN_RE.finditer(self.buf, pos):
                t = self.buf[m.start()]
                if t in (LBRACE, LBRACK):
                    depth += 1
                elif t in (RBRACE, RBRACK):
                    depth -= 1
                    if depth == 0:
                        return m.end()
            raise bad_payload("unterminated object or array", self.buf, pos)
        m = _SCALAR_RE.match(self.buf, pos)
        if not m:
            raise bad_payload("expected a value", self.buf, pos)
        return m.end()

    def value(self, pos: int) -> tuple[Any, int]:
        pos = self.ws(pos)
        end = self.skip(pos)
        try:
            return json.loads(self.buf[pos:end]), end
        except ValueError:
            raise bad_payload("invalid JSON value", self.buf, pos) from None

    def members(self, pos: int):
        """Yield ``(key, value_pos)`` of an object starting at ``pos``; the consumer must
        return the value's end position via ``send``."""
        pos = self.expect(pos, LBRACE)
        pos, c = self.peek(pos)
        if c == RBRACE:
            return pos + 1
        while True:
            key, pos = self.string(pos)
            pos = self.expect(pos, COLON)
            pos = yield key, self.ws(pos)
            pos, c = self.peek(pos)
            if c == COMMA:
                pos += 1
                continue
            if c == RBRACE:
                return pos + 1
            raise bad_payload("expected ',' or '}'", self.buf, pos)

    def walk_object(self, pos: int, handle: Callable[[str, int], int]) -> int:
        gen = self.members(pos)
        try:
            key, vpos = next(gen)
            while True:
                key, vpos = gen.send(handle(key, vpos))
        except StopIteration as stop:
            return stop.value

    def values(self, pos: int) -> tuple[Any, int]:
        """A ``[[t,"v"],...]`` array at ``pos``: a :class:`Rows` (compact, regular: parsed
        later in a batch by a C float parser) or ``(ms, values)`` arrays via :mod:`json`."""
        buf = self.buf
        m = _EMPTY_ARRAY_RE.match(buf, pos)
        if m:
            return (np.empty(0, np.int64), np.empty(0, np.float64)), m.end()
        if buf[pos] == LBRACK:
            end = buf.find(b"]]", pos)
            if end >= 0:
                rows = _compact_rows(buf[pos:end + 2])
                if rows is not None:
                    return rows, end + 2
        arr, end = self.value(pos)
        return pairs(arr, buf, pos), end


@dataclass
class Rows:
    """A regular values array rewritten as ``t,v\nt,v`` text, waiting for the batch parse."""

    text: bytes
    n: int


def _compact_rows(chunk: bytes) -> Rows | None:
    """``[[t,"v"],...]`` (compact, as Prometheus writes it) → ``Rows``, or ``None`` when
    the array is irregular in any way (then the exact json path handles it).

    Exactness check, on the n lines ``t,"v"`` (``],[`` → newline; no other newline can occur):
    2n quotes, n commas, no bracket; every even (opening) quote directly follows a comma,
    every odd (closing) quote is directly followed by a newline or the end, with at least one
    byte between the two. That pins every quote, comma and newline to its place, so ``[1,""2]``,
    ``[1"",2]`` or ``[1,"2"3]`` fall to the json path (which rejects them). Empty or malformed
    numbers are rejected by the float parser."""
    if chunk.translate(None, _COMPACT_CHARS) or chunk[:2] != b"[[" or chunk[-2:] != b"]]":
        return None
    inner = chunk[2:-2]
    lines = inner.replace(b"],[", b"\n")
    n = (len(inner) - len(lines)) // 2 + 1
    text = lines.translate(None, b'"')
    if (len(lines) - len(text) != 2 * n or b"[" in text or b"]" in text
            or text.count(b",") != n):
        return None
    a = np.frombuffer(lines, np.uint8)
    quotes = np.flatnonzero(a == QUOTE)
    opening, closing = quotes[0::2], quotes[1::2]
    after = closing + 1
    if (closing[-1] != a.size - 1 or opening[0] == 0 or not (a[opening - 1] == COMMA).all()
            or not (a[after[:-1]] == _NEWLINE).all() or not (closing - opening > 1).all()):
        return None
    return Rows(text, n)


_NEWLINE = ord("\n")


def _parse_rows(text: bytes, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Parse ``n`` lines of ``t,v`` with a correctly rounded C parser (pandas >= 3 read_csv,
    else numpy's text parser); ``None`` when anything does not parse as exactly n pairs."""
    if _FAST_CSV:
        try:
            df = pd.read_csv(io.BytesIO(text), header=None, names=["t", "v"], engine="c",
                             dtype=np.float64, keep_default_na=False, na_values=["NaN"],
                             skip_blank_lines=False)
        except (ValueError, pd.errors.ParserError):
            return None
        if len(df) != n:
            return None
        t, v = df["t"].to_numpy(), df["v"].to_numpy()
        if np.isnan(t).any():
            return None
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                nums = np.fromstring(text.replace(b"\n", b","), dtype=np.float64, sep=",")
            except (ValueError, DeprecationWarning):
                return None
        if nums.size != 2 * n:
            return None
        t, v = nums[0::2], nums[1::2]
    return to_ms_array(t), np.ascontiguousarray(v)


class Batcher:
    """Collects pending :class:`Rows` while the scanner walks on, and parses them in batches
    of ~``batch_bytes``: the C parser releases the GIL, so a full batch is parsed on a worker
    thread while the scan continues (small answers never start a thread)."""

    def __init__(self, batch_bytes: int = 8 << 20) -> None:
        self.batch_bytes = batch_bytes
        self.current: list[RawSeries] = []
        self.size = 0
        self.jobs: list[tuple[list[RawSeries], list[int], Any]] = []
        self.pool: ThreadPoolExecutor | None = None

    def add(self, s: RawSeries) -> None:
        self.current.append(s)
        self.size += len(s.values.text)
        if self.size >= self.batch_bytes:
            if self.pool is None and _PARSE_THREADS > 1:
                self.pool = ThreadPoolExecutor(_PARSE_THREADS, thread_name_prefix="evalkit-parse")
            self._submit()

    def _submit(self) -> None:
        batch, self.current, self.size = self.current, [], 0
        counts = [s.values.n for s in batch]
        text = b"\n".join(s.values.text for s in batch)
        for s in batch:  # the joined text is the only copy from here on
            s.values = np.empty(0, np.float64)
        fut = (self.pool.submit(_parse_rows, text, sum(counts)) if self.pool is not None
               else _parse_rows(text, sum(counts)))
        del text
        self.jobs.append((batch, counts, fut))

    def abort(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def finish(self) -> None:
        if self.current:
            self._submit()
        try:
            for batch, counts, fut in self.jobs:
                got = fut.result() if isinstance(fut, Future) else fut
                if got is None:
                    raise BadPayload("a values array holds something that is not a number",
                                      error_type="bad_payload", error="invalid sample value")
                ms, vals = got
                off = 0
                for s, n in zip(batch, counts, strict=True):
                    s.ts_ms, s.values = ms[off:off + n], vals[off:off + n]
                    off += n
        finally:
            self.abort()


def to_ms_array(t: np.ndarray) -> np.ndarray:
    return np.rint(t * 1000.0).astype(np.int64)


def pairs(arr: Any, buf: bytes = b"", pos: int = 0) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(arr, list):
        raise bad_payload("values is not an array", buf, pos)
    try:
        t = np.array([float(p[0]) for p in arr], dtype=np.float64)
        v = np.array([float(p[1]) for p in arr], dtype=np.float64)
        if any(len(p) != 2 for p in arr):
            raise ValueError
    except (TypeError, ValueError, IndexError):
        raise bad_payload("values is not a list of [timestamp, \"value\"] pairs", buf, pos) from None
    return to_ms_array(t), v
