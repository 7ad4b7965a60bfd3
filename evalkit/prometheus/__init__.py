"""Prometheus, Thanos and Mimir as a source: fast parsing, chunked pulls, local quantiles.

Transport and parsing are separate. :func:`parse_matrix` turns the bytes of one
``/api/v1/query_range`` (matrix) or ``/api/v1/query`` (vector) answer into a long frame
(:mod:`~evalkit.prometheus.scan` is the fast, exact scanner behind it);
:func:`query_range` fetches (chunked, concurrent, retried) and parses with the same code;
:func:`serving_metrics` pulls evalkit's vLLM/DCGM serving metrics (:mod:`evalkit.promql`);
:func:`snapshot_prometheus` saves the raw answers into a snapshot and
:func:`load_snapshot_series` rebuilds the very same result from them;
:func:`quantiles_from_buckets` is ``histogram_quantile`` computed locally.

>>> f = parse_matrix(b'{"status":"success","data":{"resultType":"vector","result":[]}}')
>>> f.columns.tolist()
['timestamp', 'value']
"""

from ..core.errors import HTTPError, PrometheusError
from ..core.timeutil import to_seconds, to_unix
from .answer import Answer, RawSeries
from .client import MAX_POINTS, QueryRecord, make_client, query, query_range
from .frame import QueryResult, frame_from_answers, parse_matrix
from .histogram import quantiles_from_buckets
from .parse import parse_answer
from .serving import ServingSeries, serving_metrics, serving_window
from .snapshot import load_snapshot_series, load_snapshot_window, save_answers, snapshot_prometheus
from .source import PrometheusSource, ServingData

__all__ = [
    "MAX_POINTS", "Answer", "HTTPError", "PrometheusError", "PrometheusSource", "QueryRecord",
    "QueryResult", "RawSeries", "ServingData", "ServingSeries", "frame_from_answers",
    "load_snapshot_series", "load_snapshot_window", "make_client", "parse_answer",
    "parse_matrix", "quantiles_from_buckets", "query", "query_range", "save_answers",
    "serving_metrics", "serving_window", "snapshot_prometheus", "to_seconds", "to_unix",
]
