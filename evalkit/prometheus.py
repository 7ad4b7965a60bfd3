"""Prometheus, Thanos and Mimir as a source: fast parsing, chunked pulls, local quantiles.

Transport and parsing are separate. :func:`parse_matrix` turns the bytes of one
``/api/v1/query_range`` (matrix) or ``/api/v1/query`` (vector) answer into a long frame;
:func:`query_range` fetches (chunked, concurrent, retried) and parses with the same code;
:func:`serving_metrics` pulls evalkit's vLLM/DCGM serving metrics (:mod:`evalkit.promql`) into
the ``series`` frame; :func:`snapshot_prometheus` saves the raw answers into a snapshot and
:func:`load_snapshot_series` rebuilds the very same frame from them.

>>> body = b'{"status":"success","data":{"resultType":"matrix","result":[' \\
...        b'{"metric":{"__name__":"up","job":"x"},"values":[[1700000000,"1"],[1700000015,"NaN"]]}]}}'
>>> f = parse_matrix(body)
>>> f.columns.tolist()
['timestamp', 'value', 'metric_name', 'job']
>>> f["value"].tolist()
[1.0, nan]

How the fast path stays exact: the JSON *structure* (objects, keys, strings with their escapes)
is walked token by token, so label values are never searched for ``"values":[``; only once the
walker stands at a series' ``"values"`` key is the regular ``[[t,"v"],...]`` array taken up to
its ``]]``, checked (only number characters, quotes, commas and brackets, in the counts and
at the places a regular array has them), rewritten as ``t,v`` lines and parsed in batches by a
correctly rounded C float parser (pandas >= 3 ``read_csv``, else numpy's text parser) on worker
threads. Anything irregular goes through :mod:`json` instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import os
import re
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import frames, promql
from .errors import BadResponseBody, HTTPError, PrometheusError, SchemaError, SourceError
from .http import Client, resolve_auth, safe_url

__all__ = [
    "Answer", "RawSeries", "parse_answer", "parse_matrix", "frame_from_answers", "query_range",
    "query", "quantiles_from_buckets", "serving_metrics", "serving_window",
    "snapshot_prometheus", "load_snapshot_series", "load_snapshot_window", "save_answers",
    "QueryRecord", "to_unix", "to_seconds", "make_client", "MAX_POINTS",
]

#: Prometheus refuses range queries with more than 11,000 points per series.
MAX_POINTS = 11_000
SOURCE = "prometheus"
SNAPSHOT_DIR = "prometheus"
# pandas >= 3 parses floats with a correctly rounded parser (exact, ~2x numpy's text parser)
_FAST_CSV = int(pd.__version__.split(".")[0]) >= 3
_PARSE_THREADS = max(1, min(4, os.cpu_count() or 1))

# =============================================================================== parsing


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


class _BadPayload(PrometheusError, BadResponseBody):
    """The body is not a Prometheus API answer at all (HTML, truncated, not JSON); the HTTP
    layer retries it."""


_WS_RE = re.compile(rb"[ \t\r\n]*")
_STR_RE = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_TOKEN_RE = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)
_SCALAR_RE = re.compile(rb"[^,\]}\s]+")
_EMPTY_ARRAY_RE = re.compile(rb"\[[ \t\r\n]*\]")
_COMPACT_CHARS = b'0123456789.eE+-NaInfity",[]'
_LBRACE, _RBRACE, _LBRACK, _RBRACK = ord("{"), ord("}"), ord("["), ord("]")
_QUOTE, _COMMA, _COLON = ord('"'), ord(","), ord(":")


def _bad(msg: str, buf: bytes, pos: int) -> _BadPayload:
    around = buf[max(0, pos - 30):pos + 30].decode("utf-8", "replace")
    return _BadPayload(f"Prometheus answer is not valid JSON of the expected shape: {msg} at "
                       f"byte {pos} (near {around!r})", error_type="bad_payload", error=msg)


class _Scanner:
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
            raise _bad(f"expected {chr(ch)!r}", self.buf, pos)
        return pos + 1

    def peek(self, pos: int) -> tuple[int, int]:
        pos = self.ws(pos)
        if pos >= self.n:
            raise _bad("unexpected end of body", self.buf, pos)
        return pos, self.buf[pos]

    def string(self, pos: int) -> tuple[str, int]:
        pos = self.ws(pos)
        m = _STR_RE.match(self.buf, pos)
        if not m:
            raise _bad("expected a string", self.buf, pos)
        try:
            return json.loads(m.group()), m.end()
        except ValueError:
            raise _bad("invalid string", self.buf, pos) from None

    def skip(self, pos: int) -> int:
        """End position of the JSON value starting at ``pos``."""
        pos, c = self.peek(pos)
        if c == _QUOTE:
            m = _STR_RE.match(self.buf, pos)
            if not m:
                raise _bad("unterminated string", self.buf, pos)
            return m.end()
        if c in (_LBRACE, _LBRACK):
            depth = 0
            for m in _TOKEN_RE.finditer(self.buf, pos):
                t = self.buf[m.start()]
                if t in (_LBRACE, _LBRACK):
                    depth += 1
                elif t in (_RBRACE, _RBRACK):
                    depth -= 1
                    if depth == 0:
                        return m.end()
            raise _bad("unterminated object or array", self.buf, pos)
        m = _SCALAR_RE.match(self.buf, pos)
        if not m:
            raise _bad("expected a value", self.buf, pos)
        return m.end()

    def value(self, pos: int) -> tuple[Any, int]:
        pos = self.ws(pos)
        end = self.skip(pos)
        try:
            return json.loads(self.buf[pos:end]), end
        except ValueError:
            raise _bad("invalid JSON value", self.buf, pos) from None

    def members(self, pos: int):
        """Yield ``(key, value_pos)`` of an object starting at ``pos``; the consumer must
        return the value's end position via ``send``."""
        pos = self.expect(pos, _LBRACE)
        pos, c = self.peek(pos)
        if c == _RBRACE:
            return pos + 1
        while True:
            key, pos = self.string(pos)
            pos = self.expect(pos, _COLON)
            pos = yield key, self.ws(pos)
            pos, c = self.peek(pos)
            if c == _COMMA:
                pos += 1
                continue
            if c == _RBRACE:
                return pos + 1
            raise _bad("expected ',' or '}'", self.buf, pos)

    def walk_object(self, pos: int, handle: Callable[[str, int], int]) -> int:
        gen = self.members(pos)
        try:
            key, vpos = next(gen)
            while True:
                key, vpos = gen.send(handle(key, vpos))
        except StopIteration as stop:
            return stop.value

    def values(self, pos: int) -> tuple[Any, int]:
        """A ``[[t,"v"],...]`` array at ``pos``: a :class:`_Rows` (compact, regular: parsed
        later in a batch by a C float parser) or ``(ms, values)`` arrays via :mod:`json`."""
        buf = self.buf
        m = _EMPTY_ARRAY_RE.match(buf, pos)
        if m:
            return (np.empty(0, np.int64), np.empty(0, np.float64)), m.end()
        if buf[pos] == _LBRACK:
            end = buf.find(b"]]", pos)
            if end >= 0:
                rows = _compact_rows(buf[pos:end + 2])
                if rows is not None:
                    return rows, end + 2
        arr, end = self.value(pos)
        return _pairs(arr, buf, pos), end


@dataclass
class _Rows:
    """A regular values array rewritten as ``t,v\nt,v`` text, waiting for the batch parse."""

    text: bytes
    n: int


def _compact_rows(chunk: bytes) -> _Rows | None:
    """``[[t,"v"],...]`` (compact, as Prometheus writes it) → ``_Rows``, or ``None`` when
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
    quotes = np.flatnonzero(a == _QUOTE)
    opening, closing = quotes[0::2], quotes[1::2]
    after = closing + 1
    if (closing[-1] != a.size - 1 or opening[0] == 0 or not (a[opening - 1] == _COMMA).all()
            or not (a[after[:-1]] == _NEWLINE).all() or not (closing - opening > 1).all()):
        return None
    return _Rows(text, n)


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
    return _to_ms(t), np.ascontiguousarray(v)


class _Batcher:
    """Collects pending :class:`_Rows` while the scanner walks on, and parses them in batches
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
                    raise _BadPayload("a values array holds something that is not a number",
                                      error_type="bad_payload", error="invalid sample value")
                ms, vals = got
                off = 0
                for s, n in zip(batch, counts, strict=True):
                    s.ts_ms, s.values = ms[off:off + n], vals[off:off + n]
                    off += n
        finally:
            self.abort()


def _to_ms(t: np.ndarray) -> np.ndarray:
    return np.rint(t * 1000.0).astype(np.int64)


def _pairs(arr: Any, buf: bytes = b"", pos: int = 0) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(arr, list):
        raise _bad("values is not an array", buf, pos)
    try:
        t = np.array([float(p[0]) for p in arr], dtype=np.float64)
        v = np.array([float(p[1]) for p in arr], dtype=np.float64)
        if any(len(p) != 2 for p in arr):
            raise ValueError
    except (TypeError, ValueError, IndexError):
        raise _bad("values is not a list of [timestamp, \"value\"] pairs", buf, pos) from None
    return _to_ms(t), v


def _as_bytes(payload: bytes | bytearray | memoryview | str) -> bytes:
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return bytes(payload)


def parse_answer(payload: bytes | str | Mapping[str, Any], *, endpoint: str = "",
                 status: int | None = None) -> Answer:
    """Parse one Prometheus API answer into an :class:`Answer` (series as numpy arrays).

    Raises :class:`~evalkit.errors.PrometheusError` with ``error_type``/``error`` when the
    answer says ``status: error``, and with ``error_type="bad_payload"`` when the body is
    not a Prometheus answer (HTML, truncated, not JSON).

    >>> a = parse_answer('{"status":"success","warnings":["partial"],'
    ...                  '"data":{"resultType":"vector","result":[]}}')
    >>> a.result_type, a.partial
    ('vector', True)
    """
    try:
        if isinstance(payload, Mapping):
            return _parse_dict(payload, endpoint=endpoint, status=status)
        return _parse_bytes(_as_bytes(payload), endpoint, status)
    except PrometheusError as exc:
        if exc.status is None:
            exc.status = status
        if not exc.endpoint:
            exc.endpoint = endpoint
        raise


def _parse_bytes(buf: bytes, endpoint: str, status: int | None) -> Answer:
    sc = _Scanner(buf)
    top: dict[str, Any] = {}
    state: dict[str, Any] = {"result_type": None, "series": None, "hist": 0, "scalar": None}
    batcher = _Batcher()

    def series_obj(pos: int) -> tuple[RawSeries | None, int]:
        labels: dict[str, str] = {}
        got: dict[str, Any] = {}

        def h(key: str, vpos: int) -> int:
            if key == "metric":
                val, end = sc.value(vpos)
                if not isinstance(val, dict):
                    raise _bad("metric is not an object", buf, vpos)
                labels.update({str(k): str(v) for k, v in val.items()})
                return end
            if key == "values":
                got["rows"], end = sc.values(vpos)
                return end
            if key == "value":
                val, end = sc.value(vpos)
                got["rows"] = _pairs([val], buf, vpos)
                return end
            if key in ("histograms", "histogram"):
                state["hist"] += 1
            return sc.skip(vpos)

        end = sc.walk_object(pos, h)
        rows = got.get("rows")
        if rows is None:
            return None, end
        if isinstance(rows, _Rows):
            s = RawSeries(labels, np.empty(0, np.int64), rows)  # type: ignore[arg-type]
            batcher.add(s)
            return s, end
        return RawSeries(labels, rows[0], rows[1]), end

    def result(pos: int) -> int:
        pos, c = sc.peek(pos)
        if c != _LBRACK:
            raise _bad("result is not an array", buf, pos)
        p2, c2 = sc.peek(pos + 1)
        if c2 not in (_LBRACE, _RBRACK):  # scalar / string: [t, "v"]
            val, end = sc.value(pos)
            state["scalar"] = val
            return end
        out: list[RawSeries] = []
        pos = pos + 1
        p, c = sc.peek(pos)
        if c == _RBRACK:
            state["series"] = out
            return p + 1
        while True:
            s, pos = series_obj(pos)
            if s is not None:
                out.append(s)
            pos, c = sc.peek(pos)
            if c == _COMMA:
                pos += 1
                continue
            if c == _RBRACK:
                state["series"] = out
                return pos + 1
            raise _bad("expected ',' or ']' in result", buf, pos)

    def data(key: str, vpos: int) -> int:
        if key == "resultType":
            val, end = sc.value(vpos)
            state["result_type"] = val
            return end
        if key == "result":
            return result(vpos)
        return sc.skip(vpos)

    def top_h(key: str, vpos: int) -> int:
        if key == "data":
            _, c = sc.peek(vpos)
            if c == _LBRACE:
                return sc.walk_object(vpos, data)
        val, end = sc.value(vpos)
        top[key] = val
        return end

    try:
        pos, c = sc.peek(0)
        if c != _LBRACE:
            raise _bad("body does not start with '{'", buf, pos)
        end = sc.walk_object(pos, top_h)
        if sc.ws(end) != len(buf):
            raise _bad("trailing data after the answer", buf, end)
        _check_status(top, endpoint, status)
    except BaseException:
        batcher.abort()
        raise
    batcher.finish()
    return _finish(state["result_type"], state["series"], state["scalar"], top, state["hist"])


def _check_status(top: Mapping[str, Any], endpoint: str, status: int | None) -> None:
    st = top.get("status")
    if st == "error":
        et, err = str(top.get("errorType", "")), str(top.get("error", ""))
        raise PrometheusError(f"Prometheus{' at ' + endpoint if endpoint else ''} answered "
                              f"{et or 'error'}: {err}", error_type=et, error=err,
                              endpoint=endpoint, status=status)
    if st != "success":
        raise _BadPayload(f"not a Prometheus API answer (status={st!r})",
                          error_type="bad_payload", error=f"status={st!r}", endpoint=endpoint)


def _finish(result_type: Any, series: list[RawSeries] | None, scalar: Any,
            top: Mapping[str, Any], hist: int) -> Answer:
    if result_type == "string":
        text = scalar[1] if isinstance(scalar, list) and len(scalar) == 2 else scalar
        raise PrometheusError(
            f"Prometheus answered resultType 'string' ({str(text)[:80]!r}): evalkit reads "
            "numeric answers only (matrix, vector, scalar); query a numeric expression",
            error_type="unsupported_result_type", error="resultType string")
    warns = [str(w) for w in (top.get("warnings") or [])]
    infos = [str(w) for w in (top.get("infos") or [])]
    if scalar is not None:
        t, v = _pairs([scalar])
        series = [RawSeries({}, t, v)]
    if series is None:
        raise _BadPayload("Prometheus answer has no data.result", error_type="bad_payload",
                          error="no data.result")
    rt = str(result_type or ("matrix" if series else "vector"))
    return Answer(rt, series, warns, infos, hist)


def _parse_dict(doc: Mapping[str, Any], *, endpoint: str, status: int | None) -> Answer:
    _check_status(doc, endpoint, status)
    data = doc.get("data") or {}
    res = data.get("result")
    rt = data.get("resultType")
    scalar, series, hist = None, None, 0
    if rt in ("scalar", "string"):
        scalar = res
    elif isinstance(res, list):
        series = []
        for item in res:
            if not isinstance(item, Mapping):
                raise _BadPayload("a result entry is not an object", error_type="bad_payload",
                                  error="result entry is not an object")
            if "histograms" in item or "histogram" in item:
                hist += 1
            if "values" in item:
                t, v = _pairs(item["values"])
            elif "value" in item:
                t, v = _pairs([item["value"]])
            else:
                continue
            series.append(RawSeries({str(k): str(x) for k, x in (item.get("metric") or {}).items()},
                                    t, v))
    return _finish(rt, series, scalar, doc, hist)


_RESERVED_COLUMNS = ("timestamp", "value", "metric_name")


def _label_columns(keys: Iterable[str]) -> dict[str, str]:
    """Column name of each label: ``__name__`` → ``metric_name``; a label named
    ``timestamp``/``value``/``metric_name`` → ``label_<name>``, prefixed with ``label_`` again
    while that clashes with another label (``value`` next to a real ``label_value`` label →
    ``label_label_value``), so no label is ever lost; every other label keeps its name."""
    keys = list(keys)
    taken = set(_RESERVED_COLUMNS) | {k for k in keys if k not in _RESERVED_COLUMNS}
    out: dict[str, str] = {}
    for k in keys:
        if k == "__name__":
            out[k] = "metric_name"
        elif k in _RESERVED_COLUMNS:
            col = f"label_{k}"
            while col in taken:
                col = f"label_{col}"
            taken.add(col)
            out[k] = col
        else:
            out[k] = k
    return out


def _ms_to_utc(ms: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex((ms * 1_000_000).view("datetime64[ns]")).tz_localize("UTC")


def _merge(answers: Sequence[Answer]) -> list[RawSeries]:
    """Series of several answers (chunks in time order) merged by label set, each timestamp
    kept exactly once."""
    if len(answers) == 1:
        return answers[0].series
    parts: dict[tuple[tuple[str, str], ...], list[RawSeries]] = {}
    for a in answers:
        for s in a.series:
            parts.setdefault(tuple(sorted(s.labels.items())), []).append(s)
    out = []
    for pieces in parts.values():
        ts = np.concatenate([p.ts_ms for p in pieces])
        vals = np.concatenate([p.values for p in pieces])
        if ts.size > 1 and not bool(np.all(ts[1:] > ts[:-1])):
            order = np.argsort(ts, kind="stable")
            ts, vals = ts[order], vals[order]
            keep = np.r_[True, ts[1:] != ts[:-1]]
            ts, vals = ts[keep], vals[keep]
        out.append(RawSeries(pieces[0].labels, ts, vals))
    return out


def frame_from_answers(answers: Sequence[Answer]) -> pd.DataFrame:
    """One long frame from the answers of one query (e.g. its time chunks, in order).

    Columns: ``timestamp`` (UTC), ``value`` (float64), then one categorical column per label
    (``__name__`` becomes ``metric_name``). ``attrs``: ``result_type``, ``warnings``,
    ``infos``, ``partial`` (True when any answer carried warnings), ``series``.
    """
    series = _merge(answers)
    counts = np.fromiter((s.ts_ms.size for s in series), dtype=np.int64, count=len(series))
    if series:
        ms = np.concatenate([s.ts_ms for s in series])
        vals = np.concatenate([s.values for s in series])
    else:
        ms, vals = np.empty(0, np.int64), np.empty(0, np.float64)
    cols: dict[str, Any] = {"timestamp": _ms_to_utc(ms), "value": vals}
    keys: dict[str, None] = {}
    for s in series:
        keys.update(dict.fromkeys(s.labels))
    ordered = sorted(keys, key=lambda k: (k != "__name__", k))
    colname = _label_columns(ordered)
    for key in ordered:
        cats: dict[str, int] = {}
        codes = np.fromiter(
            (cats.setdefault(s.labels[key], len(cats)) if key in s.labels else -1 for s in series),
            dtype=np.int32, count=len(series))
        cols[colname[key]] = pd.Categorical.from_codes(np.repeat(codes, counts),
                                                       categories=list(cats))
    df = pd.DataFrame(cols, copy=False)
    warns = [w for a in answers for w in a.warnings]
    infos = [w for a in answers for w in a.infos]
    df.attrs.update({
        "result_type": answers[0].result_type if answers else "matrix",
        "warnings": list(dict.fromkeys(warns)),
        "infos": list(dict.fromkeys(infos)),
        "partial": bool(warns),
        "series": len(series),
        "label_columns": {k: c for k, c in colname.items() if k != c},
    })
    hist = sum(a.skipped_histograms for a in answers)
    if hist:
        df.attrs["skipped_native_histograms"] = hist
    return df


def parse_matrix(payload: bytes | str | Mapping[str, Any]) -> pd.DataFrame:
    """A query_range (matrix) or instant (vector/scalar) answer → long frame.

    Parameters
    ----------
    payload : the raw body (``bytes``/``str``) or its decoded ``dict``.

    Returns
    -------
    DataFrame with ``timestamp`` (``datetime64[ns, UTC]``), ``value`` (float64; ``"NaN"``,
    ``"+Inf"``, ``"-Inf"`` parsed) and one categorical column per label (``__name__`` →
    ``metric_name``; a label called ``timestamp``/``value``/``metric_name`` becomes
    ``label_<name>``, with one more ``label_`` prefix per clash with another label, e.g.
    ``value`` next to a ``label_value`` label → ``label_label_value``; ``attrs["label_columns"]``
    maps each renamed label to its column). ``frame.attrs`` holds ``warnings``, ``infos`` and
    ``partial``: a frame with ``partial=True`` is NOT a complete answer.

    Raises
    ------
    PrometheusError
        ``status: error`` (``.error_type``, ``.error``), or a body that is not an answer.

    Examples
    --------
    >>> f = parse_matrix('{"status":"success","warnings":["store down"],"data":{'
    ...     '"resultType":"matrix","result":[{"metric":{"l":"\\\\"values\\\\":[[1,\\\\"2\\\\"]]"},'
    ...     '"values":[[1700000000.5,"+Inf"]]}]}}')
    >>> f.loc[0, "l"], float(f.loc[0, "value"]), f.attrs["partial"]
    ('"values":[[1,"2"]]', inf, True)
    """
    return frame_from_answers([parse_answer(payload)])


# =============================================================================== time


def to_unix(t: float | int | str | dt.datetime | pd.Timestamp | np.datetime64) -> float:
    """Unix seconds from a number, a datetime (naive = UTC) or an RFC 3339 string.

    >>> to_unix("2023-11-14T22:13:20Z"), to_unix(1700000000)
    (1700000000.0, 1700000000.0)
    """
    if isinstance(t, bool):
        raise TypeError("a boolean is not a time")
    if isinstance(t, (int, float, np.integer, np.floating)):
        return float(t)
    if isinstance(t, str):
        s = t.strip()
        try:
            return float(s)
        except ValueError:
            pass
        ts = pd.Timestamp(s)
    elif isinstance(t, (dt.datetime, np.datetime64, pd.Timestamp)):
        ts = pd.Timestamp(t)
    else:
        raise TypeError(f"cannot read a time from {type(t).__name__}")
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.value / 1e9


_DUR_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_DUR_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def to_seconds(step: float | int | str | dt.timedelta) -> float:
    """Seconds from a number, a ``timedelta`` or a duration string (``"15s"``, ``"1m30s"``).

    >>> to_seconds("1m30s"), to_seconds(15), to_seconds("250ms")
    (90.0, 15.0, 0.25)
    """
    if isinstance(step, dt.timedelta):
        out = step.total_seconds()
    elif isinstance(step, str):
        s = step.strip()
        try:
            out = float(s)
        except ValueError:
            parts = _DUR_PART.findall(s)
            if not parts or "".join(a + b for a, b in parts) != s:
                raise ValueError(f"invalid duration {step!r}; use seconds or e.g. '15s', '1m'") from None
            out = sum(float(a) * _DUR_S[b] for a, b in parts)
    else:
        out = float(step)
    if not out > 0 or math.isinf(out):
        raise ValueError(f"duration must be positive, got {step!r}")
    return out


def _ms(x: float) -> int:
    return int(round(x * 1000))


def _step_ms(step: float | int | str | dt.timedelta) -> int:
    """A query step in whole milliseconds; ``ValueError`` unless it is > 0 and ≥ 1 ms
    (evalkit's time grid is in ms, like Prometheus' timestamps)."""
    sec = to_seconds(step)
    ms = _ms(sec)
    if ms < 1:
        raise ValueError(f"step {step!r} is {sec:g} s: it must be at least 1ms (0.001 s)")
    return ms


def _fmt_ms(ms: int) -> str:
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    return f"{sign}{ms // 1000}.{ms % 1000:03d}"


def _iso(ms: int) -> str:
    return pd.Timestamp(ms, unit="ms", tz="UTC").isoformat().replace("+00:00", "Z")


def _chunks(start_ms: int, end_ms: int, step_ms: int, max_points: int) -> list[tuple[int, int]]:
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


# =============================================================================== transport


def make_client(url: str, *, token: Any = None, ca_bundle: str | os.PathLike[str] | None = None,
                insecure: bool = False, headers: Mapping[str, str] | None = None,
                max_workers: int = 4, **kw: Any) -> Client:
    """An :class:`evalkit.http.Client` for a Prometheus-compatible API.

    ``url`` is the API root: ``http://prometheus:9090``,
    ``https://thanos-querier.openshift-monitoring.svc:9091`` or, for Mimir,
    ``http://mimir/prometheus`` (with ``headers={"X-Scope-OrgID": "tenant"}``). ``token`` may
    be a string or an auth object; without one, ``$EVALKIT_PROMETHEUS_TOKEN(_FILE)`` and the
    in-cluster service-account token are tried.

    >>> make_client("http://127.0.0.1:9090").name
    'prometheus'
    """
    auth = resolve_auth(token, env_prefix="EVALKIT_PROMETHEUS")
    return Client(url, auth=auth, ca_bundle=ca_bundle, insecure=insecure, headers=headers,
                  name="prometheus", pool_size=max(10, max_workers), **kw)


class _TransientError(PrometheusError, BadResponseBody):
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


def _validator(client: Client, endpoint: str) -> Callable[[Any], Answer]:
    retryable = frozenset(getattr(getattr(client, "retry", None), "statuses", ()) or ())

    def validate(r: Any) -> Answer:
        status = r.status_code
        try:
            return parse_answer(r.content, endpoint=endpoint, status=status)
        except _BadPayload as exc:
            if status >= 400:  # not a Prometheus answer: a plain, non-retried HTTP error
                raise HTTPError(f"prometheus at {endpoint}: HTTP {status} with a body that is "
                                f"not a Prometheus answer ({exc.error})", endpoint=endpoint,
                                status=status, cause=exc.error) from None
            raise
        except PrometheusError as exc:
            if status in retryable:
                raise _TransientError(str(exc), error_type=exc.error_type, error=exc.error,
                                      endpoint=endpoint, status=status) from None
            raise

    return validate


def _fetch(client: Client, path: str, form: Mapping[str, str],
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
        validate=_validator(client, endpoint))
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
            d.update(start=_iso(self.start_ms), end=_iso(self.end_ms),
                     step_s=self.step_ms / 1000, chunks=len(self.bodies))
        else:
            d.update(time=_iso(self.end_ms), window_s=(self.end_ms - self.start_ms) / 1000)
        d["partial"] = any(a.partial for a in self.answers)
        if self.note:
            d["note"] = self.note
        return d


def _run(client: Client, records: list[QueryRecord], *, max_workers: int,
         progress: bool | None, namespace: str | None, max_points: int = MAX_POINTS,
         desc: str = "prometheus") -> None:
    """Fetch every record's chunks on one thread pool; fill ``bodies``/``answers`` in order."""
    tasks: list[tuple[QueryRecord, int, str, dict[str, str]]] = []
    for rec in records:
        if rec.query is None:
            continue
        if rec.kind == "range":
            chunks = _chunks(rec.start_ms, rec.end_ms, rec.step_ms, max_points)
            rec.bodies = [b""] * len(chunks)
            rec.answers = [None] * len(chunks)  # type: ignore[list-item]
            for i, (s, e) in enumerate(chunks):
                tasks.append((rec, i, "api/v1/query_range",
                              {"query": rec.query, "start": _fmt_ms(s), "end": _fmt_ms(e),
                               "step": _fmt_ms(rec.step_ms)}))
        else:
            rec.bodies, rec.answers = [b""], [None]  # type: ignore[list-item]
            tasks.append((rec, 0, "api/v1/query", {"query": rec.query, "time": _fmt_ms(rec.end_ms)}))
    params = _tenancy(namespace)
    bar = None
    if (progress is None and len(tasks) > 1) or progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(tasks), desc=desc, unit="chunk", leave=False)
    lock = threading.Lock()

    def one(task: tuple[QueryRecord, int, str, dict[str, str]]) -> None:
        rec, i, path, form = task
        body, ans = _fetch(client, path, form, params)
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
                namespace: str | None = None, max_workers: int = 4,
                progress: bool | None = None, client: Client | None = None,
                max_points: int = MAX_POINTS) -> pd.DataFrame:
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
    namespace : Thanos tenancy port (9092): sent as ``?namespace=NS``.
    max_workers : concurrent chunk requests.
    progress : tqdm.auto bar; ``None`` shows it for multi-chunk pulls.
    client : a ready :class:`evalkit.http.Client` (then token/TLS/headers are ignored).

    Returns
    -------
    The :func:`parse_matrix` frame; ``attrs["partial"]`` is True when any chunk carried
    warnings (listed in ``attrs["warnings"]``).

    Examples
    --------
    >>> f = query_range("http://127.0.0.1:9090", 'sum(rate(vllm:generation_tokens_total[5m]))',
    ...                 "2025-01-01T00:00:00Z", "2025-01-31T00:00:00Z", "15s")  # doctest: +SKIP
    """
    step_ms = _step_ms(step)
    rec = QueryRecord(None, None, None, query, "range", _ms(to_unix(start)), _ms(to_unix(end)),
                      step_ms)
    cl = client or make_client(url, token=token, ca_bundle=ca_bundle, insecure=insecure,
                               headers=headers, max_workers=max_workers)
    try:
        _run(cl, [rec], max_workers=max_workers, progress=progress, namespace=namespace,
             max_points=max_points)
    finally:
        if client is None:
            cl.close()
    return frame_from_answers(rec.answers)


def query(url: str, promql_query: str, time: Any = None, *, token: Any = None,
          ca_bundle: str | os.PathLike[str] | None = None, insecure: bool = False,
          headers: Mapping[str, str] | None = None, namespace: str | None = None,
          client: Client | None = None) -> pd.DataFrame:
    """Run an instant query (at ``time``, default now) → the :func:`parse_matrix` frame.

    >>> query("http://127.0.0.1:9090", "up")  # doctest: +SKIP
    """
    t_ms = _ms(to_unix(time)) if time is not None else _ms(dt.datetime.now(dt.UTC).timestamp())
    rec = QueryRecord(None, None, None, promql_query, "instant", t_ms, t_ms)
    cl = client or make_client(url, token=token, ca_bundle=ca_bundle, insecure=insecure,
                               headers=headers)
    try:
        _run(cl, [rec], max_workers=1, progress=False, namespace=namespace)
    finally:
        if client is None:
            cl.close()
    return frame_from_answers(rec.answers)


# =============================================================================== quantiles


def _parse_le(values: Iterable[Any]) -> np.ndarray:
    out = []
    for v in values:
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            out.append(np.nan)
    return np.array(out, dtype=np.float64)


def quantiles_from_buckets(frame: pd.DataFrame, q: float) -> pd.DataFrame:
    """``histogram_quantile(q, ...)`` computed locally from raw ``_bucket`` samples.

    Follows ``bucketQuantile`` of Prometheus **v2.42** ``promql/quantile.go`` (the version
    evalkit's tests run against): buckets with the same upper bound are summed; the highest
    bucket must be ``+Inf`` (else NaN); counts are forced monotonic (``ensureMonotonic``: a
    running max from the first bucket; there is no small-delta precision step in v2.42, it came
    in later versions); fewer than two buckets or zero observations give NaN; the bucket is
    found with Go's ``sort.Search`` (binary search for ``count >= q * observations``, so NaN
    counts land where Prometheus' do); a quantile in the ``+Inf`` bucket returns the
    second-highest bound; the lowest bucket interpolates from 0 when its bound is > 0 (and
    returns its bound when ≤ 0); ``q`` < 0 → -Inf, > 1 → +Inf, NaN → NaN. Samples whose ``le``
    is missing or not a number are ignored.

    Parameters
    ----------
    frame : long frame of bucket samples (as :func:`parse_matrix` returns for e.g.
        ``sum by (le) (rate(x_bucket[5m]))``), with columns ``timestamp``, ``value``, ``le``.
    q : the quantile, 0 ≤ q ≤ 1.

    Returns
    -------
    One row per timestamp and label set (all labels except ``le`` and ``metric_name``):
    the label columns, ``timestamp`` and ``value``.

    Examples
    --------
    >>> f = pd.DataFrame({"timestamp": pd.to_datetime([0, 0, 0], unit="s", utc=True),
    ...                   "le": ["0.1", "1", "+Inf"], "value": [5.0, 10.0, 10.0]})
    >>> quantiles_from_buckets(f, 0.75)["value"].round(12).tolist()
    [0.55]
    """
    for c in ("timestamp", "value", "le"):
        if c not in frame.columns:
            raise SchemaError(f"quantiles_from_buckets needs column {c!r}; pull the raw "
                                     "_bucket series (with their le label)")
    keys = [c for c in frame.columns if c not in ("timestamp", "value", "le", "metric_name")]
    le_raw = frame["le"]
    if isinstance(le_raw.dtype, pd.CategoricalDtype):
        cats = _parse_le(le_raw.cat.categories)
        codes = le_raw.cat.codes.to_numpy()
        le = np.where(codes >= 0, cats[np.maximum(codes, 0)], np.nan)
    else:
        le = _parse_le(le_raw.tolist())
    ok = ~np.isnan(le)
    f = frame.loc[ok, keys + ["timestamp"]].reset_index(drop=True)
    le = le[ok]
    cnt = frame["value"].to_numpy(dtype=np.float64)[ok]
    if len(f) == 0:
        return pd.DataFrame({**{k: pd.Series([], dtype=frame[k].dtype) for k in keys},
                             "timestamp": pd.Series([], dtype=frame["timestamp"].dtype),
                             "value": pd.Series([], dtype=np.float64)})
    gid = f.groupby(keys + ["timestamp"], sort=False, dropna=False, observed=True).ngroup().to_numpy()
    order = np.lexsort((le, gid))
    gid, le, cnt = gid[order], le[order], cnt[order]
    first_rows = order  # original row index of each sorted entry
    # coalesce equal upper bounds within a group (sum; NaN propagates as in Go)
    new = np.r_[True, (gid[1:] != gid[:-1]) | (le[1:] != le[:-1])]
    starts = np.flatnonzero(new)
    cnt = np.add.reduceat(cnt, starts)
    gid, le, first_rows = gid[starts], le[starts], first_rows[starts]
    n_groups = int(gid.max()) + 1
    gstart = np.r_[0, np.flatnonzero(gid[1:] != gid[:-1]) + 1]
    lens = np.diff(np.r_[gstart, gid.size])
    width = int(lens.max())
    pos = np.arange(gid.size) - np.repeat(gstart, lens)
    U = np.full((n_groups, width), np.nan)
    C = np.full((n_groups, width), np.nan)
    U[gid, pos], C[gid, pos] = le, cnt
    valid = np.arange(width)[None, :] < lens[:, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # ensureMonotonic (v2.42): max starts at the first count (a NaN there stays the max)
        mx = C[:, 0].copy()
        for i in range(1, width):
            v = valid[:, i]
            cur = C[:, i]
            gt, lt = v & (cur > mx), v & (cur < mx)
            mx = np.where(gt, cur, mx)
            C[:, i] = np.where(lt, mx, cur)
        rows = np.arange(n_groups)
        last = lens - 1
        obs = C[rows, last]
        rank = q * obs
        # b = sort.Search(len-1, count >= rank): the same binary search as Go, so a NaN count
        # (never >= rank) sends it where Go goes, not to the first count >= rank
        lo, hi = np.zeros(n_groups, np.int64), last.astype(np.int64)
        while True:
            act = lo < hi
            if not act.any():
                break
            h = (lo + hi) // 2
            ge = C[rows, h] >= rank
            lo = np.where(act & ~ge, h + 1, lo)
            hi = np.where(act & ge, h, hi)
        b = lo
        ub = U[rows, b]
        bm1 = np.maximum(b - 1, 0)
        start = np.where(b > 0, U[rows, bm1], 0.0)
        cb = C[rows, b]
        prevc = np.where(b > 0, C[rows, bm1], 0.0)
        count = np.where(b > 0, cb - prevc, cb)
        r = np.where(b > 0, rank - prevc, rank)
        res = start + (ub - start) * (r / count)
        res = np.where((b == 0) & (U[rows, 0] <= 0), U[rows, 0], res)
        res = np.where(b == last, U[rows, np.maximum(last - 1, 0)], res)
        res = np.where(obs == 0, np.nan, res)
        res = np.where(lens < 2, np.nan, res)
        res = np.where(U[rows, last] == np.inf, res, np.nan)
    if math.isnan(q):
        res[:] = np.nan
    elif q < 0:
        res[:] = -np.inf
    elif q > 1:
        res[:] = np.inf
    rep = first_rows[gstart]  # one source row per group, in group order
    out = f.iloc[rep][keys + ["timestamp"]].reset_index(drop=True)
    out["value"] = res
    return out.sort_values(["timestamp", *keys], kind="stable").reset_index(drop=True)


# =============================================================================== serving


def _models(models: Mapping[str, promql.SelectorLike] | Sequence[str]) -> dict[str, promql.Selector]:
    if not isinstance(models, Mapping):
        models = {m: None for m in models}
    out = {}
    for name, sel in models.items():
        out[str(name)] = (promql.Selector.of(sel) if sel is not None
                          else promql.selector(model_name=str(name)))
    if not out:
        raise ValueError("models is empty: pass {name: selector}")
    return out


def _range_records(models: Mapping[str, promql.Selector], start_ms: int, end_ms: int,
                   step_ms: int, window: str | float, gpu_metric: str,
                   metrics: Iterable[str] | None) -> list[QueryRecord]:
    promql.metric_name(gpu_metric)
    w_s = max(to_seconds(window), step_ms / 1000)
    wanted = list(metrics) if metrics is not None else list(promql.METRICS)
    recs = []
    for name, sel in models.items():
        qs = promql.serving_queries(sel, window=promql.duration(w_s), gpu_metric=gpu_metric)
        for metric in wanted:
            q = qs.get(metric)
            unit = _unit(metric, gpu_metric)
            note = "" if q else "not built: the model selector has no pod matcher"
            recs.append(QueryRecord(name, metric, unit, q, "range", start_ms, end_ms, step_ms,
                                    note=note))
    return recs


def _unit(metric: str, gpu_metric: str) -> str:
    if metric == "gpu_utilization" and gpu_metric != "DCGM_FI_DEV_GPU_UTIL":
        return "fraction (0-1)"
    return promql.UNITS.get(metric, "")


def _window_records(models: Mapping[str, promql.Selector], start_ms: int,
                    end_ms: int) -> list[QueryRecord]:
    recs = []
    w_s = (end_ms - start_ms) / 1000
    for name, sel in models.items():
        for metric, q in promql.window_queries(sel, w_s).items():
            recs.append(QueryRecord(name, metric, promql.UNITS[metric], q, "window",
                                    start_ms, end_ms))
    return recs


def _series_frame(records: Sequence[QueryRecord]) -> pd.DataFrame:
    """The long ``series`` frame from executed/loaded records; issues in ``attrs``."""
    ts_parts, val_parts, meta, issues = [], [], [], []
    partial = False
    for rec in records:
        obj = f"{rec.model}/{rec.metric}"
        if rec.query is None:
            issues.append(frames.issue(SOURCE, obj, "warning",
                                       f"{rec.metric} not pulled for {rec.model}: {rec.note}"))
            continue
        hist = sum(a.skipped_histograms for a in rec.answers)
        if hist:
            issues.append(frames.issue(
                SOURCE, obj, "warning",
                f"{hist} series with native-histogram samples in the answer for {rec.metric} "
                f"of {rec.model}: those samples were dropped (evalkit reads float samples "
                "only); query the classic _bucket series, or a float function of the native "
                "histogram such as histogram_quantile or histogram_count"))
        for a in rec.answers:
            for w in a.warnings:
                partial = True
                issues.append(frames.issue(SOURCE, obj, "warning",
                                           f"partial answer (Prometheus warning): {w}"))
            for w in a.infos:
                issues.append(frames.issue(SOURCE, obj, "info", f"Prometheus info: {w}"))
        series = _merge(rec.answers)
        if not series:
            issues.append(frames.issue(SOURCE, obj, "warning",
                                       f"no data for {rec.metric} of {rec.model} (query: {rec.query})"))
            continue
        if len(series) > 1:
            series = sorted(series, key=lambda s: -int(np.count_nonzero(~np.isnan(s.values))))
            others = ", ".join(str(s.labels) for s in series[1:4])
            issues.append(frames.issue(
                SOURCE, obj, "warning",
                f"the selector of {rec.model} matches {len(series)} series for {rec.metric}; "
                f"kept {series[0].labels}, dropped {others}. Narrow the selector."))
        s = series[0]
        ts_parts.append(s.ts_ms)
        val_parts.append(s.values)
        meta.append((rec.model, rec.metric, rec.unit, s.ts_ms.size))
    if ts_parts:
        ms, vals = np.concatenate(ts_parts), np.concatenate(val_parts)
        sizes = [m[3] for m in meta]
        df = pd.DataFrame({
            "timestamp": _ms_to_utc(ms),
            "model": np.repeat(np.array([m[0] for m in meta], dtype=object), sizes),
            "metric": np.repeat(np.array([m[1] for m in meta], dtype=object), sizes),
            "value": vals,
            "unit": np.repeat(np.array([m[2] for m in meta], dtype=object), sizes),
        })
        df = frames.conform("series", df)
    else:
        df = frames.empty("series")
    frames.attach_issues(df, issues)
    df.attrs["partial"] = partial
    df.attrs["queries"] = [r.describe() for r in records]
    return df


def serving_metrics(url: str, models: Mapping[str, promql.SelectorLike] | Sequence[str],
                    start: Any, end: Any, step: float | str = "60s", *,
                    window: str | float = "5m", token: Any = None,
                    ca_bundle: str | os.PathLike[str] | None = None, insecure: bool = False,
                    headers: Mapping[str, str] | None = None, namespace: str | None = None,
                    max_workers: int = 4, progress: bool | None = None,
                    client: Client | None = None, metrics: Iterable[str] | None = None,
                    gpu_metric: str = "DCGM_FI_DEV_GPU_UTIL") -> pd.DataFrame:
    """Pull evalkit's serving metrics for each model → the long ``series`` frame.

    Parameters
    ----------
    url : API root (see :func:`make_client`).
    models : ``{name: selector}``; a selector is a matcher string
        (``'namespace="ns",pod=~"m-predictor.*"'``), a mapping, or ``None`` for
        ``model_name="<name>"``. GPU metrics need a ``pod`` matcher.
    start, end, step : the range (see :func:`query_range`).
    window : rate/quantile window (``"5m"``); widened to ``step`` when the step is longer.
    metrics : subset of :data:`evalkit.promql.METRICS`.
    gpu_metric : ``"DCGM_FI_DEV_GPU_UTIL"`` (%) or ``"DCGM_FI_PROF_GR_ENGINE_ACTIVE"`` (0–1).

    Returns
    -------
    Columns ``timestamp``, ``model``, ``metric``, ``value``, ``unit``. ``attrs["issues"]``:
    an ``issues`` frame (missing metrics, partial answers, ambiguous selectors);
    ``attrs["partial"]``: True when any answer carried warnings — then the frame is NOT
    complete; ``attrs["queries"]``: the PromQL that ran.

    Examples
    --------
    >>> f = serving_metrics("http://127.0.0.1:9090",
    ...     {"mistral-24b": 'namespace="private-ai-demo",pod=~"mistral-24b-predictor.*"'},
    ...     "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z", "1m")  # doctest: +SKIP
    >>> f.attrs["issues"]  # doctest: +SKIP
    """
    sels = _models(models)
    step_ms = _step_ms(step)
    recs = _range_records(sels, _ms(to_unix(start)), _ms(to_unix(end)), step_ms, window,
                          gpu_metric, metrics)
    cl = client or make_client(url, token=token, ca_bundle=ca_bundle, insecure=insecure,
                               headers=headers, max_workers=max_workers)
    try:
        _run(cl, recs, max_workers=max_workers, progress=progress, namespace=namespace,
             desc="serving metrics")
    finally:
        if client is None:
            cl.close()
    return _series_frame(recs)


def serving_window(url: str, models: Mapping[str, promql.SelectorLike] | Sequence[str],
                   start: Any, end: Any, *, token: Any = None,
                   ca_bundle: str | os.PathLike[str] | None = None, insecure: bool = False,
                   headers: Mapping[str, str] | None = None, namespace: str | None = None,
                   max_workers: int = 4, client: Client | None = None) -> pd.DataFrame:
    """Pull the whole-window answers :func:`evalkit.serving_summary` needs: quantiles from
    ``histogram_quantile(q, sum by (le) (increase(..._bucket[window])))``, the mean TTFT and
    average rates over ``[start, end]`` (instant queries at ``end``).

    Returns the ``series`` schema with one row per model and metric (``timestamp`` = end);
    ``attrs["window"]`` = ``{"start", "end", "seconds"}``, plus ``issues``/``partial``.

    >>> w = serving_window("http://127.0.0.1:9090", {"m": 'model_name="m"'},
    ...                    "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z")  # doctest: +SKIP
    """
    sels = _models(models)
    s_ms, e_ms = _ms(to_unix(start)), _ms(to_unix(end))
    recs = _window_records(sels, s_ms, e_ms)
    cl = client or make_client(url, token=token, ca_bundle=ca_bundle, insecure=insecure,
                               headers=headers, max_workers=max_workers)
    try:
        _run(cl, recs, max_workers=max_workers, progress=False, namespace=namespace)
    finally:
        if client is None:
            cl.close()
    return _window_frame(recs, s_ms, e_ms)


def _window_frame(recs: Sequence[QueryRecord], s_ms: int, e_ms: int) -> pd.DataFrame:
    df = _series_frame(recs)
    df.attrs["window"] = {"start": _iso(s_ms), "end": _iso(e_ms), "seconds": (e_ms - s_ms) / 1000}
    return df


# =============================================================================== snapshots


def _slug(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "model"
    if s != name:
        s = f"{s}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"
    return s


def _relpath(rec: QueryRecord, i: int) -> str:
    base = f"{SNAPSHOT_DIR}/{_slug(str(rec.model))}/{rec.kind}/{rec.metric}"
    return f"{base}.json" if rec.kind != "range" else f"{base}/{i:03d}.json"


def save_answers(writer: Any, records: Sequence[QueryRecord], *, url: str,
                 models: Mapping[str, promql.SelectorLike], start_ms: int, end_ms: int,
                 step_ms: int, window: str | float = "5m", extra: Mapping[str, Any] | None = None,
                 ) -> dict[str, Any]:
    """Write records' raw answers under ``prometheus/`` and describe them in the manifest
    (``writer.add_source("prometheus", ...)``). Used by :func:`snapshot_prometheus` and by
    the demo generator, so both produce the layout :func:`load_snapshot_series` reads.

    Layout::

        prometheus/<model>/range/<metric>/000.json   raw query_range answers, one per chunk
        prometheus/<model>/window/<metric>.json      raw instant answers over the whole window
    """
    queries = []
    for rec in records:
        d = rec.describe()
        files = []
        for i, body in enumerate(rec.bodies):
            rel = _relpath(rec, i)
            writer.write_bytes(rel, body)
            files.append(rel)
        d["files"] = files
        queries.append(d)
    info: dict[str, Any] = {
        "url": safe_url(url) if url else None,
        "start": _iso(start_ms), "end": _iso(end_ms), "step_s": step_ms / 1000,
        "window": window if isinstance(window, str) else promql.duration(window),
        "models": {k: str(promql.Selector.of(v)) for k, v in models.items()},
        "layout": "prometheus/<model>/range/<metric>/NNN.json; prometheus/<model>/window/<metric>.json",
        "partial": any(q["partial"] for q in queries),
        "queries": queries,
    }
    if extra:
        info.update(extra)
    writer.add_source(SOURCE, info)
    return info


def snapshot_prometheus(writer: Any, *, url: str, models: Mapping[str, promql.SelectorLike],
                        start: Any, end: Any, step: float | str, token: Any = None,
                        ca_bundle: str | os.PathLike[str] | None = None, insecure: bool = False,
                        headers: Mapping[str, str] | None = None, namespace: str | None = None,
                        window: str | float = "5m", max_workers: int = 4,
                        progress: bool | None = None, client: Client | None = None,
                        ) -> dict[str, Any]:
    """Pull the serving metrics and the whole-window answers and save them RAW into a
    snapshot (see :func:`save_answers` for the layout); returns the manifest source entry.

    >>> from evalkit.snapshot import SnapshotWriter
    >>> with SnapshotWriter("snap") as w:                                    # doctest: +SKIP
    ...     snapshot_prometheus(w, url="http://127.0.0.1:9090", models={"m": None},
    ...                         start="2025-01-01T00:00:00Z", end="2025-01-02T00:00:00Z", step="1m")
    """
    sels = _models(models)
    s_ms, e_ms = _ms(to_unix(start)), _ms(to_unix(end))
    step_ms = _step_ms(step)
    recs = _range_records(sels, s_ms, e_ms, step_ms, window, "DCGM_FI_DEV_GPU_UTIL", None)
    recs += _window_records(sels, s_ms, e_ms)
    cl = client or make_client(url, token=token, ca_bundle=ca_bundle, insecure=insecure,
                               headers=headers, max_workers=max_workers)
    try:
        _run(cl, recs, max_workers=max_workers, progress=progress, namespace=namespace,
             desc="prometheus snapshot")
        desc = cl.describe()
    finally:
        if client is None:
            cl.close()
    extra = {"client": desc, "namespace": namespace,
             "headers": sorted(headers) if headers else []}
    return save_answers(writer, recs, url=url, models=sels, start_ms=s_ms, end_ms=e_ms,
                        step_ms=step_ms, window=window, extra=extra)


def _load_records(snapshot_or_path: Any, kind: str) -> tuple[list[QueryRecord], dict[str, Any]] | None:
    from .snapshot import Snapshot, open_snapshot

    snap = snapshot_or_path if isinstance(snapshot_or_path, Snapshot) else open_snapshot(snapshot_or_path)
    info = snap.manifest.get("sources", {}).get(SOURCE)
    if not info:
        return None
    recs = []
    for q in info.get("queries", []):
        if q.get("kind") != kind:
            continue
        rec = QueryRecord(q.get("model"), q.get("metric"), q.get("unit"), q.get("query"), kind,
                          note=q.get("note", ""))
        for rel in q.get("files", []):
            p = Path(snap.path) / rel
            try:
                body = p.read_bytes()
            except OSError as exc:
                raise SourceError(f"snapshot {snap.path}: cannot read {rel} ({exc.strerror}); "
                                  "the snapshot is incomplete") from None
            try:
                ans = parse_answer(body, endpoint=rel)
            except PrometheusError as exc:
                if isinstance(exc, _BadPayload):
                    raise SourceError(f"snapshot {snap.path}: {rel} is not a Prometheus answer "
                                      f"({exc.error})") from None
                rec.note = f"saved answer is an error: {exc.error_type}: {exc.error}"
                continue
            rec.bodies.append(body)
            rec.answers.append(ans)
        if rec.note and not rec.answers:
            rec.query = None
        recs.append(rec)
    return recs, info


def load_snapshot_series(snapshot_or_path: Any) -> pd.DataFrame:
    """The ``series`` frame from a snapshot's saved query_range answers (same parser as a
    live pull, so the numbers are identical).

    A snapshot without Prometheus answers gives an empty frame with an ``info`` issue.

    >>> from evalkit.snapshot import demo_path
    >>> load_snapshot_series(demo_path())["metric"].nunique()  # doctest: +SKIP
    16
    """
    got = _load_records(snapshot_or_path, "range")
    if got is None:
        df = frames.empty("series")
        frames.attach_issues(df, [frames.issue(
            SOURCE, "snapshot", "info", "the snapshot holds no Prometheus answers; pull with "
            "`evalkit pull --prometheus URL` to add serving metrics")])
        df.attrs["partial"] = False
        df.attrs["queries"] = []
        return df
    recs, _ = got
    return _series_frame(recs)


def load_snapshot_window(snapshot_or_path: Any) -> pd.DataFrame:
    """The whole-window frame (as :func:`serving_window` returns) from a snapshot."""
    got = _load_records(snapshot_or_path, "window")
    if got is None:
        df = frames.empty("series")
        frames.attach_issues(df, [])
        df.attrs["partial"] = False
        df.attrs["window"] = None
        return df
    recs, info = got
    s_ms, e_ms = _ms(to_unix(info["start"])), _ms(to_unix(info["end"]))
    return _window_frame(recs, s_ms, e_ms)


# errors are re-exported for ``except evalkit.prometheus.PrometheusError``
__all__ += ["PrometheusError", "HTTPError"]
