"""One Prometheus API answer (bytes, text or decoded dict) → :class:`Answer`.

>>> a = parse_answer('{"status":"success","warnings":["partial"],'
...                  '"data":{"resultType":"vector","result":[]}}')
>>> a.result_type, a.partial
('vector', True)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..core.errors import PrometheusError
from .answer import Answer, BadPayload, RawSeries
from .scan import (
    COMMA,
    LBRACE,
    LBRACK,
    RBRACK,
    Batcher,
    Rows,
    Scanner,
    bad_payload,
    pairs,
)


def _as_bytes(payload: bytes | bytearray | memoryview | str) -> bytes:
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return bytes(payload)


def parse_answer(payload: bytes | str | Mapping[str, Any], *, endpoint: str = "",
                 status: int | None = None) -> Answer:
    """Parse one Prometheus API answer into an :class:`Answer` (series as numpy arrays).

    Raises :class:`~evalkit.core.errors.PrometheusError` with ``error_type``/``error`` when the
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
    except _SHAPE_ERRORS as exc:  # untrusted input: any other failure means "not an answer"
        where = f" from {endpoint}" if endpoint else ""
        raise BadPayload(f"Prometheus answer{where} is not of the expected shape "
                         f"({type(exc).__name__}: {str(exc)[:120]})", error_type="bad_payload",
                         error=type(exc).__name__, endpoint=endpoint, status=status) from None


#: what a malformed answer can raise deep inside the parser (nesting too deep, a pair that is
#: an object, an integer too long to convert, ...)
_SHAPE_ERRORS = (RecursionError, TypeError, ValueError, KeyError, IndexError, AttributeError,
                 OverflowError)


def _parse_bytes(buf: bytes, endpoint: str, status: int | None) -> Answer:
    sc = Scanner(buf)
    top: dict[str, Any] = {}
    state: dict[str, Any] = {"result_type": None, "series": None, "hist": 0, "scalar": None}
    batcher = Batcher()

    def series_obj(pos: int) -> tuple[RawSeries | None, int]:
        labels: dict[str, str] = {}
        got: dict[str, Any] = {}

        def h(key: str, vpos: int) -> int:
            if key == "metric":
                val, end = sc.value(vpos)
                if not isinstance(val, dict):
                    raise bad_payload("metric is not an object", buf, vpos)
                labels.update({str(k): str(v) for k, v in val.items()})
                return end
            if key == "values":
                got["rows"], end = sc.values(vpos)
                return end
            if key == "value":
                val, end = sc.value(vpos)
                got["rows"] = pairs([val], buf, vpos)
                return end
            if key in ("histograms", "histogram"):
                state["hist"] += 1
            return sc.skip(vpos)

        end = sc.walk_object(pos, h)
        rows = got.get("rows")
        if rows is None:
            return None, end
        if isinstance(rows, Rows):
            s = RawSeries(labels, np.empty(0, np.int64), rows)  # type: ignore[arg-type]
            batcher.add(s)
            return s, end
        return RawSeries(labels, rows[0], rows[1]), end

    def result(pos: int) -> int:
        pos, c = sc.peek(pos)
        if c != LBRACK:
            raise bad_payload("result is not an array", buf, pos)
        p2, c2 = sc.peek(pos + 1)
        if c2 not in (LBRACE, RBRACK):  # scalar / string: [t, "v"]
            val, end = sc.value(pos)
            state["scalar"] = val
            return end
        out: list[RawSeries] = []
        pos = pos + 1
        p, c = sc.peek(pos)
        if c == RBRACK:
            state["series"] = out
            return p + 1
        while True:
            s, pos = series_obj(pos)
            if s is not None:
                out.append(s)
            pos, c = sc.peek(pos)
            if c == COMMA:
                pos += 1
                continue
            if c == RBRACK:
                state["series"] = out
                return pos + 1
            raise bad_payload("expected ',' or ']' in result", buf, pos)

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
            if c == LBRACE:
                return sc.walk_object(vpos, data)
        val, end = sc.value(vpos)
        top[key] = val
        return end

    try:
        pos, c = sc.peek(0)
        if c != LBRACE:
            raise bad_payload("body does not start with '{'", buf, pos)
        end = sc.walk_object(pos, top_h)
        if sc.ws(end) != len(buf):
            raise bad_payload("trailing data after the answer", buf, end)
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
        raise BadPayload(f"not a Prometheus API answer (status={st!r})",
                          error_type="bad_payload", error=f"status={st!r}", endpoint=endpoint)


def _finish(result_type: Any, series: list[RawSeries] | None, scalar: Any,
            top: Mapping[str, Any], hist: int) -> Answer:
    if result_type == "string":
        text = scalar[1] if isinstance(scalar, list) and len(scalar) == 2 else scalar
        raise PrometheusError(
            f"Prometheus answered resultType 'string' ({str(text)[:80]!r}): evalkit reads "
            "numeric answers only (matrix, vector, scalar); query a numeric expression",
            error_type="unsupported_result_type", error="resultType string")
    for key in ("warnings", "infos"):
        if not isinstance(top.get(key) or [], list):
            raise BadPayload(f"Prometheus answer: `{key}` is a {type(top.get(key)).__name__}, "
                             "not a list", error_type="bad_payload", error=f"{key} not a list")
    warns = [str(w) for w in (top.get("warnings") or [])]
    infos = [str(w) for w in (top.get("infos") or [])]
    if scalar is not None:
        t, v = pairs([scalar])
        series = [RawSeries({}, t, v)]
    if series is None:
        raise BadPayload("Prometheus answer has no data.result", error_type="bad_payload",
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
                raise BadPayload("a result entry is not an object", error_type="bad_payload",
                                  error="result entry is not an object")
            if "histograms" in item or "histogram" in item:
                hist += 1
            if "values" in item:
                t, v = pairs(item["values"])
            elif "value" in item:
                t, v = pairs([item["value"]])
            else:
                continue
            series.append(RawSeries({str(k): str(x) for k, x in (item.get("metric") or {}).items()},
                                    t, v))
    return _finish(rt, series, scalar, doc, hist)
