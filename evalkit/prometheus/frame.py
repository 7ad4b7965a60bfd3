"""Parsed answers → the long frame: ``timestamp``, ``value``, one categorical column per label.

>>> body = b'{"status":"success","data":{"resultType":"matrix","result":[' \\
...        b'{"metric":{"__name__":"up","job":"x"},"values":[[1700000000,"1"],[1700000015,"NaN"]]}]}}'
>>> f = parse_matrix(body)
>>> f.columns.tolist()
['timestamp', 'value', 'metric_name', 'job']
>>> f["value"].tolist()
[1.0, nan]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..core.result import Result
from .answer import Answer, RawSeries
from .parse import parse_answer

_RESERVED_COLUMNS = ("timestamp", "value", "metric_name")


def label_columns(keys: Iterable[str]) -> dict[str, str]:
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


def merge(answers: Sequence[Answer]) -> list[RawSeries]:
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


def ms_to_utc(ms: np.ndarray) -> pd.DatetimeIndex:
    """Integer milliseconds → a UTC ``DatetimeIndex``."""
    return pd.DatetimeIndex((ms * 1_000_000).view("datetime64[ns]")).tz_localize("UTC")


def frame_from_answers(answers: Sequence[Answer]) -> pd.DataFrame:
    """One long frame from the answers of one query (e.g. its time chunks, in order).

    Columns: ``timestamp`` (UTC), ``value`` (float64), then one categorical column per label
    (``__name__`` becomes ``metric_name``; see :func:`label_columns` for renamed labels).
    Warnings and partial answers are on :class:`QueryResult` (:func:`query_result`).
    """
    series = merge(answers)
    counts = np.fromiter((s.ts_ms.size for s in series), dtype=np.int64, count=len(series))
    if series:
        ms = np.concatenate([s.ts_ms for s in series])
        vals = np.concatenate([s.values for s in series])
    else:
        ms, vals = np.empty(0, np.int64), np.empty(0, np.float64)
    cols: dict[str, Any] = {"timestamp": ms_to_utc(ms), "value": vals}
    ordered = _label_keys(series)
    colname = label_columns(ordered)
    for key in ordered:
        cats: dict[str, int] = {}
        codes = np.fromiter(
            (cats.setdefault(s.labels[key], len(cats)) if key in s.labels else -1 for s in series),
            dtype=np.int32, count=len(series))
        cols[colname[key]] = pd.Categorical.from_codes(np.repeat(codes, counts),
                                                       categories=list(cats))
    return pd.DataFrame(cols, copy=False)


def _label_keys(series: Sequence[RawSeries]) -> list[str]:
    keys: dict[str, None] = {}
    for s in series:
        keys.update(dict.fromkeys(s.labels))
    return sorted(keys, key=lambda k: (k != "__name__", k))


@dataclass(repr=False)
class QueryResult(Result):
    """One query's answer as a frame, with what Prometheus said about it.

    ``partial`` is True when any answer (chunk) carried warnings: then ``frame`` is NOT a
    complete answer. ``label_columns`` maps each renamed label to its column.
    """

    frame: pd.DataFrame
    result_type: str = "matrix"
    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    label_columns: dict[str, str] = field(default_factory=dict)
    skipped_histograms: int = 0
    _frames = ("frame",)

    @property
    def partial(self) -> bool:
        return bool(self.warnings)

    def describe(self) -> str:
        return f"{self.result_type}{' PARTIAL' if self.partial else ''}"


def query_result(answers: Sequence[Answer]) -> QueryResult:
    """The :class:`QueryResult` of one query's answers (its time chunks, in order)."""
    warns = [w for a in answers for w in a.warnings]
    infos = [w for a in answers for w in a.infos]
    keys = _label_keys([s for a in answers for s in a.series])
    return QueryResult(
        frame=frame_from_answers(answers),
        result_type=answers[0].result_type if answers else "matrix",
        warnings=list(dict.fromkeys(warns)), infos=list(dict.fromkeys(infos)),
        label_columns={k: c for k, c in label_columns(keys).items() if k != c},
        skipped_histograms=sum(a.skipped_histograms for a in answers))


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
    ``value`` next to a ``label_value`` label → ``label_label_value``). Use
    :func:`evalkit.prometheus.parse_answer` (``.warnings``, ``.partial``) to see whether the
    answer is complete: a partial answer (with warnings) is NOT.

    Raises
    ------
    PrometheusError
        ``status: error`` (``.error_type``, ``.error``), or a body that is not an answer.

    Examples
    --------
    >>> f = parse_matrix('{"status":"success","warnings":["store down"],"data":{'
    ...     '"resultType":"matrix","result":[{"metric":{"l":"\\\\"values\\\\":[[1,\\\\"2\\\\"]]"},'
    ...     '"values":[[1700000000.5,"+Inf"]]}]}}')
    >>> f.loc[0, "l"], float(f.loc[0, "value"])
    ('"values":[[1,"2"]]', inf)
    """
    return frame_from_answers([parse_answer(payload)])
