"""The fast, exact scanner behind :func:`evalkit.prometheus.parse_answer`.

The JSON *structure* of an answer (objects, keys, strings with their escapes) is walked token
by token, so label values are never searched for ``"values":[``; only once the walker stands at
a series' ``"values"`` key is the regular ``[[t,"v"],...]`` array taken up to its ``]]``,
checked (only number characters, quotes, commas and brackets, in the counts and at the places
a regular array has them; timestamps as Prometheus writes them), rewritten by one
``translate`` as ``,t,v`` lines and parsed in batches on worker threads by pyarrow's CSV
reader: a correctly rounded C float parser that releases the GIL and, over the characters let
through, accepts exactly what Python's ``float()`` accepts and gives the same bits (pinned by
``tests/test_prometheus_scan.py`` on every supported stack). Small batches, and any batch
pyarrow refuses, are parsed by ``float()`` itself; without a loadable pyarrow, pandas >= 3
``read_csv`` (also correctly rounded) or ``float()`` take over. Anything irregular goes through
:mod:`json` instead.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .answer import BadPayload, RawSeries

# pandas >= 3 read_csv parses floats with a correctly rounded parser (the fallback when pyarrow
# cannot be loaded; pandas 2.x's default parser is not correctly rounded)
_PANDAS_CSV = int(pd.__version__.split(".")[0]) >= 3
_PARSE_THREADS = max(1, min(4, os.cpu_count() or 1))
# batches smaller than this are parsed with float() right away (no pyarrow import, no thread)
_SMALL_BATCH = 1 << 16
# |timestamp| in seconds above which milliseconds no longer fit datetime64[ns]
_MAX_UNIX_S = 9.2e12

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
    """A regular values array rewritten as ``,t,v\n,t,v`` text (an empty first field on
    every line), waiting for the batch parse."""

    text: bytes
    n: int


_ROWS_TABLE = bytes.maketrans(b"]", b"\n")
_COMMA_B = b","
_ZERO = ord("0")
_FIRST_DIGIT = np.zeros(256, bool)  # a timestamp starts with 1-9 ...
_FIRST_DIGIT[ord("1"):ord("9") + 1] = True
_DIGIT = _FIRST_DIGIT.copy()  # ... and ends with 0-9
_DIGIT[_ZERO] = True


def _compact_rows(chunk: bytes) -> Rows | None:
    """``[[t,"v"],...]`` (compact, as Prometheus writes it) → ``Rows``, or ``None`` when
    the array is irregular in any way (then the exact json path handles it).

    Exactness check, on the inside ``t,"v"],[t,"v"],...,[t,"v"`` of n pairs: 2n quotes, n-1
    ``]``, n-1 ``[`` and 2n-1 commas, at these places only: each opening (even) quote right
    after a comma and at least two bytes after the pair's start, each closing quote at least
    two bytes after its opening one and followed by ``],[`` (the last one by the end). That
    pins every structural byte, so ``[1,""2]``, ``[1"",2]``, ``[1,"2"3]`` or ``[1,2,"3"]``
    fall to the json path (which rejects them or reads the odd shape). Each timestamp must
    start with a digit 1-9 and end with a digit, and ``.e``/``.E`` may not occur: the numbers
    ``float()`` reads but JSON forbids (``+1``, ``01``, ``.5``, ``1.``, ``1.e3``, ``-1``)
    take the json path. Empty or malformed numbers are rejected by the float parser,
    non-finite timestamps after it. One ``translate`` then writes the ``,t,v`` lines."""
    if chunk.translate(None, _COMPACT_CHARS) or chunk[:2] != b"[[" or chunk[-2:] != b"]]":
        return None
    inner = chunk[2:-2]
    a = np.frombuffer(inner, np.uint8)
    marks = np.flatnonzero((a == QUOTE) | (a == RBRACK))  # one pass for both kinds
    is_quote = a[marks] == QUOTE
    quotes, rb = marks[is_quote], marks[~is_quote]
    n = quotes.size // 2
    if n == 0 or quotes.size != 2 * n:
        return None
    opening, closing = quotes[0::2], quotes[1::2]
    if (rb.size != n - 1 or closing[-1] != a.size - 1 or opening[0] < 2
            or not (closing - opening > 1).all() or not (a[opening - 1] == COMMA).all()
            or not (rb == closing[:-1] + 1).all() or not (a[rb + 1] == COMMA).all()
            or not (a[rb + 2] == LBRACK).all() or not (opening[1:] - rb > 4).all()):
        return None
    # timestamps: first bytes at 0 and after each "],[", last bytes before each ',"'
    if (not _FIRST_DIGIT[a[0]] or not _FIRST_DIGIT[a[rb + 3]].all()
            or not _DIGIT[a[opening - 2]].all()):
        return None
    text = inner.translate(_ROWS_TABLE, b'["')
    # every '[' (n-1 of them) and quote (2n) is gone, so no '[' hides anywhere else; the
    # commas: n-1 after the ']'s and n before the opening quotes, no other
    if (len(inner) - len(text) != 3 * n - 1 or inner.count(_COMMA_B) != 2 * n - 1
            or ((b"e" in text or b"E" in text) and (b".e" in text or b".E" in text))):
        return None
    return Rows(b"," + text, n)


def _parse_rows(text: bytes, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Parse ``n`` lines of ``,t,v``: pyarrow's CSV reader (correctly rounded, GIL released),
    else pandas >= 3 ``read_csv``; small batches and any batch those refuse with ``float()``
    itself. ``None`` when the text is not exactly n pairs of numbers ``float()`` accepts, or a
    timestamp is not finite or out of range."""
    got = None
    if len(text) >= _SMALL_BATCH:
        arrow = _arrow()
        if arrow is not None:
            got = _parse_arrow(arrow, text, n)
        elif _PANDAS_CSV:
            got = _parse_pandas(text, n)
    if got is None:
        got = _parse_float(text, n)
    if got is None:
        return None
    t, v = got
    if not (np.abs(t) < _MAX_UNIX_S).all():  # also False for NaN
        return None
    return to_ms_array(t), np.ascontiguousarray(v)


_ARROW_UNSET: Any = object()
_ARROW: Any = _ARROW_UNSET


def _arrow() -> Any:
    """``(pyarrow, pyarrow.csv, options)``, or ``None`` when pyarrow cannot be loaded (e.g. a
    pyarrow built for numpy 2 next to numpy 1.x): imported on first use only."""
    global _ARROW
    if _ARROW is _ARROW_UNSET:
        try:
            import pyarrow as pa
            import pyarrow.csv as pc

            opts = (pc.ReadOptions(column_names=["_", "t", "v"], use_threads=False),
                    pc.ParseOptions(quote_char=False, double_quote=False, escape_char=False,
                                    newlines_in_values=False, ignore_empty_lines=False),
                    pc.ConvertOptions(column_types={"t": pa.float64(), "v": pa.float64()},
                                      include_columns=["t", "v"],
                                      null_values=[], strings_can_be_null=False,
                                      quoted_strings_can_be_null=False, check_utf8=False))
            _ARROW = (pa, pc, opts)
        except Exception:  # ImportError, or a binary that does not load with this numpy
            _ARROW = None
    return _ARROW


def _parse_arrow(arrow: Any, text: bytes, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    pa, pc, (read, parse, convert) = arrow
    try:
        tab = pc.read_csv(pa.py_buffer(text), read_options=read, parse_options=parse,
                          convert_options=convert)
    except (pa.ArrowInvalid, ValueError):
        return None
    if tab.num_rows != n or tab.column("t").null_count or tab.column("v").null_count:
        return None
    v = np.asarray(tab.column("v").to_numpy(), np.float64)
    # a single-chunk column is a read-only view of pyarrow's buffer: give callers their own
    return np.asarray(tab.column("t").to_numpy(), np.float64), (
        v if v.flags.writeable else v.copy())


def _parse_pandas(text: bytes, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        df = pd.read_csv(io.BytesIO(text), header=None, names=["_", "t", "v"],
                         usecols=["t", "v"], engine="c", dtype={"t": np.float64, "v": np.float64},
                         keep_default_na=False, na_values=["NaN"], skip_blank_lines=False)
    except (ValueError, pd.errors.ParserError):
        return None
    if len(df) != n:
        return None
    return df["t"].to_numpy(), df["v"].to_numpy()


def _parse_float(text: bytes, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``float()`` of every number: the reference itself (holds the GIL; ~0.2 us a number)."""
    toks = text.replace(b"\n", b",").split(b",")
    if len(toks) != 3 * n or any(toks[0::3]):
        return None
    try:
        t = np.fromiter(map(float, toks[1::3]), np.float64, n)
        v = np.fromiter(map(float, toks[2::3]), np.float64, n)
    except ValueError:
        return None
    return t, v


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
    if not (np.abs(t) < _MAX_UNIX_S).all():
        raise bad_payload("a timestamp is not a finite number of seconds in range", buf, pos)
    return to_ms_array(t), v
