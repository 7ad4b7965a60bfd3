"""evalkit.prometheus without a server: parser, chunking, local quantiles, snapshots, summary."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalkit import prometheus as P
from evalkit import promql
from evalkit.analysis.serving import serving_summary
from evalkit.core.errors import BadResponseBody, PrometheusError
from evalkit.core.snapshot import SnapshotWriter, open_snapshot
from evalkit.core.timeutil import step_to_ms
from evalkit.prometheus.client import chunks
from evalkit.prometheus.frame import query_result
from evalkit.prometheus.scan import Batcher
from evalkit.prometheus.serving import series_result

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from demo_prometheus import write_demo_prometheus  # noqa: E402


def answer(result: list, *, rt: str = "matrix", **top: object) -> bytes:
    doc = {"status": "success", "data": {"resultType": rt, "result": result}, **top}
    return json.dumps(doc, separators=(",", ":")).encode()


def reference_frame(body: bytes) -> list[tuple[dict, int, float]]:
    """The plain-json reading of a matrix answer: (labels, ms, value) per sample."""
    out = []
    for s in json.loads(body)["data"]["result"]:
        for t, v in s["values"]:
            out.append((s["metric"], round(float(t) * 1000), float(v)))
    return out


def rows(frame: pd.DataFrame) -> list[tuple[dict, int, float]]:
    labels = [c for c in frame.columns if c not in ("timestamp", "value")]
    ms = (frame["timestamp"].astype("int64") // 1_000_000).tolist()
    out = []
    for i, (t, v) in enumerate(zip(ms, frame["value"].tolist(), strict=True)):
        lab = {("__name__" if c == "metric_name" else c): frame[c].iloc[i] for c in labels
               if not (isinstance(frame[c].iloc[i], float) and math.isnan(frame[c].iloc[i]))}
        out.append((lab, t, v))
    return out


def same(a: list, b: list) -> bool:
    if len(a) != len(b):
        return False
    for (la, ta, va), (lb, tb, vb) in zip(a, b, strict=True):
        if la != lb or ta != tb:
            return False
        if not (va == vb or (math.isnan(va) and math.isnan(vb))):
            return False
        if va == 0 and math.copysign(1, va) != math.copysign(1, vb):
            return False
    return True


# ----------------------------------------------------------------------------- parse_matrix


def test_parse_matrix_types_specials_and_labels() -> None:
    body = answer([
        {"metric": {"__name__": "x", "pod": "a"},
         "values": [[1700000000, "1.5"], [1700000000.123, "NaN"], [1700000015, "+Inf"],
                    [1700000030, "-Inf"], [1700000045, "-0"]]},
        {"metric": {"pod": "b", "le": "0.5"}, "values": [[1700000000, "2"]]},
    ])
    f = P.parse_matrix(body)
    assert list(f.columns) == ["timestamp", "value", "metric_name", "le", "pod"]
    assert str(f["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert f["value"].dtype == np.float64
    assert isinstance(f["pod"].dtype, pd.CategoricalDtype)
    v = f["value"].to_numpy()
    assert v[0] == 1.5 and math.isnan(v[1]) and v[2] == math.inf and v[3] == -math.inf
    assert v[4] == 0 and math.copysign(1, v[4]) == -1
    assert f["timestamp"].iloc[1] == pd.Timestamp("2023-11-14T22:13:20.123Z")
    assert f["metric_name"].isna().tolist() == [False] * 5 + [True]
    assert P.parse_answer(body).warnings == []


def test_bytes_str_and_dict_give_the_same_frame() -> None:
    body = answer([{"metric": {"a": "1"}, "values": [[1, "0.1"], [2, "0.2"]]}])
    a, b, c = (P.parse_matrix(body), P.parse_matrix(body.decode()),
               P.parse_matrix(json.loads(body)))
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)


@pytest.mark.parametrize("label", [
    '"values":[[1,"2"]]', "]]", '"values":[', '{"metric":{}}', "\\", '\\"]]\\"', "ünï 🙂",
    '"value":[1,"2"]', "[[1700000000,\"9\"]]",
])
def test_label_content_cannot_fool_the_parser(label: str) -> None:
    body = answer([
        {"metric": {"evil": label, label[:20] or "x": "v"}, "values": [[1, "3"], [2, "4"]]},
        {"metric": {"evil": "plain"}, "values": [[1, "5"]]},
    ])
    f = P.parse_matrix(body)
    assert same(rows(f), reference_frame(body))
    assert f["evil"].tolist() == [label, label, "plain"]


def test_pretty_printed_and_irregular_values_take_the_exact_path() -> None:
    doc = {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"a": "b"}, "values": [[1, "1e-320"], [2.5, "17"]]}]}}
    pretty = json.dumps(doc, indent=2).encode()
    numeric = pretty.replace(b'"17"', b"17")  # a number instead of a string: still readable
    for body in (pretty, numeric):
        f = P.parse_matrix(body)
        assert f["value"].tolist() == [1e-320, 17.0]
        assert (f["timestamp"].astype("int64") // 1_000_000).tolist() == [1000, 2500]


@pytest.mark.parametrize("values", ['[[1,"abc"]]', '[[1,"2",3]]', '[[1]]', '[["x","1"]]', '[1,2]'])
def test_malformed_values_raise_a_typed_error(values: str) -> None:
    body = ('{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},'
            f'"values":{values}}}]}}}}')
    with pytest.raises(PrometheusError) as exc:
        P.parse_matrix(body)
    assert exc.value.error_type == "bad_payload"


def test_status_error_carries_error_type_and_error() -> None:
    body = b'{"status":"error","errorType":"bad_data","error":"1:5: parse error"}'
    with pytest.raises(PrometheusError) as exc:
        P.parse_matrix(body)
    assert exc.value.error_type == "bad_data"
    assert exc.value.error == "1:5: parse error"


@pytest.mark.parametrize("body", [b"<html><title>Application is not available</title></html>",
                                  b'{"status":"success","data":{"resultType":"matrix","result":[{"',
                                  b"", b'{"status":"success"}', b'[1,2]', b'{"a":1} trailing'])
def test_bodies_that_are_not_answers_raise_bad_payload(body: bytes) -> None:
    with pytest.raises(PrometheusError) as exc:
        P.parse_matrix(body)
    assert exc.value.error_type == "bad_payload"


def test_warnings_and_infos_mark_the_frame_partial() -> None:
    body = answer([{"metric": {}, "values": [[1, "1"]]}], warnings=["store a unavailable"],
                  infos=["PromQL info: metric might not be a counter"])
    r = query_result([P.parse_answer(body)])
    assert r.partial is True and len(r.frame) == len(P.parse_matrix(body))
    assert r.warnings == ["store a unavailable"]
    assert r.infos == ["PromQL info: metric might not be a counter"]


def test_vector_scalar_and_empty_answers() -> None:
    vec = answer([{"metric": {"job": "a"}, "value": [1700000000.5, "3"]}], rt="vector")
    f = P.parse_matrix(vec)
    assert f["value"].tolist() == [3.0] and P.parse_answer(vec).result_type == "vector"
    sca = b'{"status":"success","data":{"resultType":"scalar","result":[1700000000,"7"]}}'
    assert P.parse_matrix(sca)["value"].tolist() == [7.0]
    empty = P.parse_matrix(answer([]))
    assert len(empty) == 0 and list(empty.columns) == ["timestamp", "value"]


def test_many_series_span_several_parse_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    series = [{"metric": {"i": str(i)}, "values": [[t, str(i * 1000 + t)] for t in range(50)]}
              for i in range(40)]
    body = answer(series)
    monkeypatch.setattr(Batcher.__init__, "__defaults__", (500,))
    f = P.parse_matrix(body)
    assert same(rows(f), reference_frame(body))


@pytest.mark.parametrize("values", [
    '[[1,""2],[3,""4]]', '[[1"",2],[3,"4"]]', '[[1,"2"3],[3,"4"]]', '[[1,2""],[3,"4"]]',
    '[[1,"2""],[3,"4"]]', '[["1,"2"],[3,"4"]]', '[[1,"2"],[3,"4",]]', '[[1,"2"],[3"4"]]',
])
def test_invalid_json_in_a_values_array_is_bad_payload(values: str) -> None:
    body = ('{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},'
            f'"values":{values}}}]}}}}')
    with pytest.raises(ValueError):
        json.loads(body)  # the premise: these are not JSON
    with pytest.raises(PrometheusError) as exc:
        P.parse_matrix(body)
    assert exc.value.error_type == "bad_payload"


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from('1",[]'), min_size=1, max_size=24))
def test_values_arrays_from_structural_bytes_parse_only_when_json_does(inner: str) -> None:
    """Any arrangement of digits, quotes, commas and brackets: the fast path never accepts
    what json.loads rejects, and agrees with it on what both accept."""
    body = ('{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},'
            f'"values":[[{inner}]]}}]}}}}')
    try:
        doc = json.loads(body)
        want = reference_frame(body.encode())
    except (ValueError, TypeError, KeyError, IndexError):
        doc = want = None
    try:
        got = rows(P.parse_matrix(body))
    except PrometheusError as exc:
        assert exc.error_type == "bad_payload"
        return
    assert doc is not None, f"accepted invalid JSON: {body}"
    assert same(got, want)


def test_labels_value_and_label_value_both_survive() -> None:
    body = answer([{"metric": {"__name__": "x", "value": "a", "label_value": "b", "timestamp": "t",
                               "metric_name": "m", "label_metric_name": "n"},
                    "values": [[1, "1"]]}])
    f = P.parse_matrix(body)
    assert f.loc[0, "label_value"] == "b"          # the real label_value label keeps its name
    assert f.loc[0, "label_label_value"] == "a"    # the label named value moves aside
    assert f.loc[0, "label_timestamp"] == "t" and f.loc[0, "metric_name"] == "x"
    assert f.loc[0, "label_metric_name"] == "n" and f.loc[0, "label_label_metric_name"] == "m"
    assert query_result([P.parse_answer(body)]).label_columns == {
        "__name__": "metric_name", "value": "label_label_value", "timestamp": "label_timestamp",
        "metric_name": "label_label_metric_name"}
    assert len(f.columns) == 2 + 6


@pytest.mark.parametrize("as_dict", [False, True])
def test_a_string_answer_is_a_clear_error_not_bad_payload(as_dict: bool) -> None:
    body = b'{"status":"success","data":{"resultType":"string","result":[1700000000,"hello"]}}'
    with pytest.raises(PrometheusError) as exc:
        P.parse_matrix(json.loads(body) if as_dict else body)
    assert exc.value.error_type == "unsupported_result_type"
    assert not isinstance(exc.value, BadResponseBody)  # so the HTTP layer does not retry it
    assert "hello" in str(exc.value) and "numeric" in str(exc.value)


NATIVE = {"metric": {"__name__": "vllm:time_to_first_token_seconds", "model_name": "m"},
          "histograms": [[1700000000, {"count": "10", "sum": "3.2", "buckets": [
              [0, "0.25", "0.5", "4"], [0, "0.5", "1", "6"]]}]]}


@pytest.mark.parametrize("as_dict", [False, True])
def test_native_histogram_series_become_a_data_issue(as_dict: bool) -> None:
    body = answer([NATIVE, {"metric": {"model_name": "m"}, "values": [[1700000000, "1"]]}])
    ans = P.parse_answer(json.loads(body) if as_dict else body)
    assert ans.skipped_histograms == 1 and len(ans.series) == 1
    rec = P.QueryRecord("m", "ttft_p50", "s", "q", "range", 0, 0, 60_000, [body], [ans])
    issues = series_result([rec]).issues
    assert len(issues) == 1 and issues["severity"].iloc[0] == "warning"
    assert "native-histogram" in issues["message"].iloc[0]
    only = P.parse_answer(answer([NATIVE]))
    f2 = series_result([P.QueryRecord("m", "ttft_p50", "s", "q", "range", answers=[only])])
    msgs = f2.issues["message"].tolist()
    assert any("native-histogram" in m for m in msgs) and any("no data" in m for m in msgs)


finite = st.floats(allow_nan=False, allow_infinity=False)
label_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,5}", fullmatch=True),
                                          label_text, max_size=3),
                          st.lists(st.one_of(finite, st.sampled_from([math.nan, math.inf, -math.inf])),
                                   min_size=1, max_size=20)),
                min_size=0, max_size=5))
def test_parser_equals_plain_json_for_any_labels_and_values(spec: list) -> None:
    result = []
    for labels, vals in spec:
        fmt = ["NaN" if math.isnan(v) else ("+Inf" if v == math.inf else ("-Inf" if v == -math.inf
               else repr(v))) for v in vals]
        result.append({"metric": labels, "values": [[1_700_000_000 + i * 0.125, s]
                                                    for i, s in enumerate(fmt)]})
    body = answer(result)
    assert same(rows(P.parse_matrix(body)), reference_frame(body))


# ----------------------------------------------------------------------------- time and chunks


def test_times_and_steps() -> None:
    assert P.to_unix("2024-01-01T00:00:00Z") == 1704067200.0
    assert P.to_unix("2024-01-01T01:00:00+01:00") == 1704067200.0
    assert P.to_unix(pd.Timestamp("2024-01-01")) == 1704067200.0
    assert P.to_unix(1704067200.5) == 1704067200.5
    assert P.to_seconds("1m") == 60 and P.to_seconds("1h30m") == 5400 and P.to_seconds(15) == 15
    with pytest.raises(ValueError):
        P.to_seconds("15 s")
    with pytest.raises(ValueError):
        P.to_seconds(0)


@pytest.mark.parametrize("step", ["0.0004", 0.0004, "0.4ms", 0, -1, "0s"])
def test_a_step_below_one_millisecond_is_refused_up_front(step: object) -> None:
    with pytest.raises(ValueError, match="step|duration"):
        P.query_range("http://127.0.0.1:9", "up", 0, 60, step)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        P.serving_metrics("http://127.0.0.1:9", ["m"], 0, 60, step)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 1 ms"):
        chunks(0, 60_000, 0, P.MAX_POINTS)


def test_an_invalid_gpu_metric_is_refused_before_any_request() -> None:
    with pytest.raises(ValueError, match="metric name"):
        P.serving_metrics("http://127.0.0.1:9", {"m": 'pod=~"m.*"'}, 0, 60, 60,
                          gpu_metric="DCGM_FI_DEV_GPU_UTIL) or vector(1")


def test_a_one_millisecond_step_is_accepted() -> None:
    assert step_to_ms("1ms") == 1 and step_to_ms("0.001") == 1


@pytest.mark.parametrize(("span_s", "step_s"), [(30 * 86400, 15), (11000 * 15, 15),
                                                (10999 * 15, 15), (60, 15), (0, 15), (100, 7.5)])
def test_chunks_cover_the_grid_exactly_once(span_s: int, step_s: float) -> None:
    s_ms, step_ms = 1_704_067_200_000, int(step_s * 1000)
    e_ms = s_ms + span_s * 1000
    spans = chunks(s_ms, e_ms, step_ms, P.MAX_POINTS)
    grid = []
    for a, b in spans:
        pts = list(range(a, b + 1, step_ms))
        assert len(pts) <= P.MAX_POINTS
        assert (b - a) % step_ms == 0
        grid += pts
    assert grid == list(range(s_ms, e_ms + 1, step_ms))


def test_merging_chunks_keeps_each_timestamp_once() -> None:
    a = P.parse_answer(answer([{"metric": {"x": "1"}, "values": [[1, "1"], [2, "2"]]}]))
    b = P.parse_answer(answer([{"metric": {"x": "1"}, "values": [[2, "2"], [3, "3"]]},
                               {"metric": {"x": "2"}, "values": [[3, "9"]]}], warnings=["w"]))
    r = query_result([a, b])
    f = r.frame
    assert f[f["x"] == "1"]["value"].tolist() == [1.0, 2.0, 3.0]
    assert f[f["x"] == "2"]["value"].tolist() == [9.0]
    assert r.partial is True


# ----------------------------------------------------------------------------- quantiles


def go_bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """A line-by-line port of bucketQuantile in Prometheus v2.42 promql/quantile.go (the
    version the server tests run): coalesce, ensureMonotonic (no precision step in v2.42),
    sort.Search."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    b = sorted(buckets, key=lambda x: x[0])
    if not math.isinf(b[-1][0]) or b[-1][0] < 0:
        return math.nan
    co: list[list[float]] = []
    for ub, c in b:
        if co and co[-1][0] == ub:
            co[-1][1] += c
        else:
            co.append([ub, c])
    mx = co[0][1]
    for i in range(1, len(co)):
        if co[i][1] > mx:
            mx = co[i][1]
        elif co[i][1] < mx:
            co[i][1] = mx
    if len(co) < 2:
        return math.nan
    obs = co[-1][1]
    if obs == 0:
        return math.nan
    rank = q * obs
    n = len(co) - 1
    lo, hi = 0, n  # sort.Search
    while lo < hi:
        h = (lo + hi) // 2
        if not co[h][1] >= rank:
            lo = h + 1
        else:
            hi = h
    idx = lo
    if idx == len(co) - 1:
        return co[-2][0]
    if idx == 0 and co[0][0] <= 0:
        return co[0][0]
    start, end, count = 0.0, co[idx][0], co[idx][1]
    if idx > 0:
        start = co[idx - 1][0]
        count -= co[idx - 1][1]
        rank -= co[idx - 1][1]
    return start + (end - start) * go_div(rank, count)


def go_div(a: float, b: float) -> float:
    """IEEE division as Go does it (x/0 → ±Inf or NaN instead of an exception)."""
    if b != 0 or math.isnan(a) or math.isnan(b):
        return a / b if b != 0 else math.nan
    if a == 0:
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def bucket_frame(groups: list[list[tuple[float, float]]]) -> pd.DataFrame:
    """One group (timestamp) per bucket list, le as Prometheus writes it."""
    recs = []
    for g, buckets in enumerate(groups):
        for ub, c in buckets:
            recs.append({"timestamp": pd.Timestamp(1_700_000_000 + g, unit="s", tz="UTC"),
                         "le": "+Inf" if ub == math.inf else repr(ub), "value": c,
                         "job": "j"})
    return pd.DataFrame(recs)


def close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b or abs(a - b) <= 1e-9 * max(1, abs(b))


CASES = {
    "plain": [(0.1, 5), (1, 10), (math.inf, 10)],
    "in +Inf bucket": [(0.1, 1), (1, 2), (math.inf, 10)],
    "zero observations": [(0.1, 0), (1, 0), (math.inf, 0)],
    "no +Inf": [(0.1, 1), (1, 2)],
    "only +Inf": [(math.inf, 4)],
    "non-monotonic": [(0.1, 5), (0.5, 3), (1, 8), (math.inf, 7)],
    "duplicate bounds": [(0.1, 2), (0.1, 3), (1, 9), (math.inf, 10)],
    "negative lowest": [(-1, 4), (0, 6), (1, 9), (math.inf, 10)],
    "precision noise": [(0.1, 100.0), (0.2, 100.0 + 1e-11), (0.3, 200.0), (math.inf, 200.0)],
    "nan count": [(0.1, math.nan), (1, 5), (math.inf, 6)],
    # found on a live Prometheus 2.42: a NaN count must steer the binary search as in Go
    "nan mid, q=1 case": [(0.1, 10), (1, math.nan), (math.inf, 10)],
    "nan mid, negative lowest": [(-1, 10), (0, math.nan), (math.inf, 0)],
    "nan mid, q=0 case": [(-1, 10), (1, math.nan), (math.inf, 5)],
    "nan first": [(0.1, math.nan), (0.5, 5), (1, 3), (math.inf, 6)],
}


@pytest.mark.parametrize(("q", "buckets", "server"), [
    (1.0, [(0.1, 10), (1, math.nan), (math.inf, 10)], 1.0),
    (0.5, [(-1, 10), (0, math.nan), (math.inf, 0)], 0.0),
    (0.0, [(-1, 10), (1, math.nan), (math.inf, 5)], 1.0),
    # 2.42 has no small-delta precision step: 100+1e-11 stays its own bucket
    ((100 + 5e-12) / 200, [(0.1, 100.0), (0.2, 100.0 + 1e-11), (math.inf, 200.0)],
     0.15000000000000002),
])
def test_quantiles_pick_the_bucket_by_binary_search_as_prometheus_2_42(q, buckets, server) -> None:
    """Answers a live Prometheus 2.42 gave for these buckets (see the server test too)."""
    got = P.quantiles_from_buckets(bucket_frame([buckets]), q)["value"].iloc[0]
    assert close(got, server) and close(go_bucket_quantile(q, buckets), server)


@pytest.mark.parametrize("q", [0.0, 0.25, 0.5, 0.9, 0.99, 1.0, -0.1, 1.1, math.nan])
def test_quantiles_follow_prometheus_rules(q: float) -> None:
    groups = list(CASES.values())
    got = P.quantiles_from_buckets(bucket_frame(groups), q)["value"].tolist()
    want = [go_bucket_quantile(q, g) for g in groups]
    assert all(close(a, b) for a, b in zip(got, want, strict=True)), (got, want)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.tuples(st.sampled_from([-1.0, 0.0, 0.05, 0.1, 0.5, 1.0, 2.5, math.inf]),
                                   st.one_of(st.floats(0, 1000), st.just(math.nan),
                                             st.sampled_from([0.0, 5.0, 10.0]))),
                         min_size=1, max_size=8),
                min_size=1, max_size=6),
       st.one_of(st.floats(0, 1), st.sampled_from([0.0, 0.5, 1.0])))
def test_quantiles_equal_the_reference_port(groups: list, q: float) -> None:
    got = P.quantiles_from_buckets(bucket_frame(groups), q)["value"].tolist()
    want = [go_bucket_quantile(q, g) for g in groups]
    assert all(close(a, b) for a, b in zip(got, want, strict=True)), (got, want)


def test_quantiles_group_by_labels_but_not_le_or_name() -> None:
    f = pd.DataFrame({
        "timestamp": pd.to_datetime([0] * 6, unit="s", utc=True),
        "metric_name": ["x_bucket"] * 6,
        "engine": ["0", "0", "0", "1", "1", "1"],
        "le": ["1", "2", "+Inf"] * 2,
        "value": [1.0, 2.0, 2.0, 0.0, 4.0, 4.0],
    })
    out = P.quantiles_from_buckets(f, 0.5)
    assert list(out.columns) == ["engine", "timestamp", "value"]
    assert out["value"].tolist() == [1.0, 1.5]


# ----------------------------------------------------------------------------- snapshots, summary


def demo_snapshot(tmp_path: Path, name: str = "snap", seed: int = 0) -> Path:
    out = tmp_path / name
    with SnapshotWriter(out, description="test", demo=True, created_at="2025-01-01T00:00:00Z") as w:
        write_demo_prometheus(w, start="2025-06-02T00:00:00Z", end="2025-06-02T06:00:00Z",
                              step="60s", seed=seed)
    return out


def test_demo_answers_are_deterministic_and_load_through_the_parser(tmp_path: Path) -> None:
    a, b = demo_snapshot(tmp_path, "a"), demo_snapshot(tmp_path, "b")
    files_a = sorted(p.relative_to(a) for p in a.rglob("*.json"))
    assert files_a == sorted(p.relative_to(b) for p in b.rglob("*.json"))
    assert all((a / p).read_bytes() == (b / p).read_bytes() for p in files_a)
    snap = open_snapshot(a)
    src = snap.manifest["sources"]["prometheus"]
    assert src["demo"] is True and src["queries"]
    assert all(f.startswith("prometheus/") for q in src["queries"] for f in q["files"])
    res = P.load_snapshot_series(a)
    s = res.series
    assert set(s["model"]) == {"mistral-24b", "mistral-24b-quantized"}
    assert set(s["metric"]) == set(promql.METRICS)
    assert len(res.issues) == 0 and res.partial is False
    n = 6 * 60 + 1
    assert (s.groupby(["model", "metric"]).size() == n).all()
    gpus = s[s["metric"] == "gpus"].groupby("model")["value"].max().to_dict()
    assert gpus == {"mistral-24b": 4.0, "mistral-24b-quantized": 1.0}
    w = P.load_snapshot_window(a)
    assert len(w.series) == 2 * 10 and w.window["seconds"] == 6 * 3600


def test_summary_takes_quantiles_from_the_window_never_from_the_series(tmp_path: Path) -> None:
    snap = demo_snapshot(tmp_path)
    s, w = P.load_snapshot_series(snap).series, P.load_snapshot_window(snap).series
    summ = serving_summary(s, w)
    assert len(summ) == 2 * len(promql.METRICS)
    row = summ[(summ["model"] == "mistral-24b-quantized") & (summ["metric"] == "ttft_p99")].iloc[0]
    wv = w[(w["model"] == "mistral-24b-quantized") & (w["metric"] == "ttft_p99")]["value"].iloc[0]
    assert row["value"] == wv and "histogram_quantile" in row["statistic"]
    series_p99 = s[(s["model"] == "mistral-24b-quantized") & (s["metric"] == "ttft_p99")]["value"]
    assert row["value"] not in (series_p99.mean(), series_p99.max())
    no_window = serving_summary(s)
    q = no_window[no_window["metric"] == "ttft_p99"]
    assert q["value"].isna().all() and (q["statistic"] == "needs a window answer").all()
    kv = no_window[(no_window["metric"] == "kv_cache_usage")
                   & (no_window["model"] == "mistral-24b")].iloc[0]
    assert kv["statistic"] == "time mean"
    assert kv["value"] == pytest.approx(
        s[(s["metric"] == "kv_cache_usage") & (s["model"] == "mistral-24b")]["value"].mean())


def test_snapshot_without_prometheus_gives_an_empty_frame_with_an_issue(tmp_path: Path) -> None:
    out = tmp_path / "bare"
    with SnapshotWriter(out) as w:
        w.write_json("lmevaljobs.json", {"items": []})
    res = P.load_snapshot_series(out)
    s = res.series
    assert len(s) == 0 and list(s.columns) == ["timestamp", "model", "metric", "value", "unit"]
    assert res.issues["severity"].tolist() == ["info"]


def test_no_plotting_library_is_imported_by_the_modules() -> None:
    code = ("import sys, evalkit.prometheus, evalkit.promql, evalkit.analysis.serving, "
            "evalkit.present.plots.serving; print(sorted(m for m in ('matplotlib', 'seaborn') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
