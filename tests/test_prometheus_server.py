"""evalkit.prometheus against a real Prometheus (backfilled with promtool) and the fault proxy.

The server starts once per session (``prom`` fixture). Without the binaries these tests skip,
except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit import prometheus as P
from evalkit import promql
from evalkit.core.errors import HTTPError, PrometheusError
from evalkit.core.snapshot import SnapshotWriter
from evalkit.prometheus.client import fetch
from tests.promserver import MODELS, NAMESPACE, T0, PromServer, selector
from tests.servers import FaultProxy
from tests.test_prometheus import bucket_frame, close, go_bucket_quantile

pytestmark = pytest.mark.slow

START, END = T0 + 600, T0 + 3 * 3600
FP16, W4 = MODELS


def fast_client(url: str, **kw: object):
    return P.make_client(url, sleep=lambda s: None, **kw)  # type: ignore[arg-type]


def direct_range(prom: PromServer, q: str, start: float = START, end: float = END,
                 step: float = 60) -> dict[tuple, list[tuple[int, float]]]:
    """Run PromQL through the HTTP API with plain requests+json (no evalkit code)."""
    doc = prom.api("query_range", query=q, start=start, end=end, step=step)
    assert doc["status"] == "success", doc
    return {tuple(sorted(s["metric"].items())): [(round(float(t) * 1000), float(v))
                                                 for t, v in s["values"]]
            for s in doc["data"]["result"]}


def frame_points(f: pd.DataFrame) -> list[tuple[int, float]]:
    ms = (f["timestamp"].astype("int64") // 1_000_000).tolist()
    return list(zip(ms, f["value"].tolist(), strict=True))


def equal_points(a: list[tuple[int, float]], b: list[tuple[int, float]], tol: float = 0.0) -> bool:
    if [t for t, _ in a] != [t for t, _ in b]:
        return False
    for (_, x), (_, y) in zip(a, b, strict=True):
        if math.isnan(x) and math.isnan(y):
            continue
        if not (x == y or abs(x - y) <= tol * max(1.0, abs(y))):
            return False
    return True


# hand-written PromQL (independent of evalkit.promql) for the checks below
def _expected(model, metric: str) -> str:
    sel = f'namespace="{NAMESPACE}",pod=~"{model.pod.rsplit("-", 1)[0]}.*"'
    itl = ("vllm:inter_token_latency_seconds" if model.new_names
           else "vllm:time_per_output_token_seconds")
    kv = "vllm:kv_cache_usage_perc" if model.new_names else "vllm:gpu_cache_usage_perc"
    dcgm = (f'exported_namespace="{NAMESPACE}",exported_pod=~"{model.pod.rsplit("-", 1)[0]}.*"'
            if model.dcgm_exported else sel)
    return {
        "ttft_p50": f"histogram_quantile(0.5, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{{{sel}}}[5m])))",
        "ttft_p99": f"histogram_quantile(0.99, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{{{sel}}}[5m])))",
        "itl_p90": f"histogram_quantile(0.9, sum by (le) (rate({itl}_bucket{{{sel}}}[5m])))",
        "ttft_mean": (f"sum(rate(vllm:time_to_first_token_seconds_sum{{{sel}}}[5m])) / "
                      f"sum(rate(vllm:time_to_first_token_seconds_count{{{sel}}}[5m]))"),
        "generation_tokens_per_s": f"sum(rate(vllm:generation_tokens_total{{{sel}}}[5m]))",
        "requests_per_s": f"sum(rate(vllm:request_success_total{{{sel}}}[5m]))",
        "requests_running": f"sum(vllm:num_requests_running{{{sel}}})",
        "kv_cache_usage": f"avg({kv}{{{sel}}})",
        "gpu_utilization": f"avg(DCGM_FI_DEV_GPU_UTIL{{{dcgm}}})",
        "gpu_memory_allocated_bytes": f"sum(DCGM_FI_DEV_FB_USED{{{dcgm}}}) * 1048576",
        "gpus": f'sum(kube_pod_container_resource_requests{{{sel},resource="nvidia_com_gpu"}})',
    }[metric]


@pytest.fixture(scope="module")
def serving(prom: PromServer) -> pd.DataFrame:
    models = {m.name: selector(m) for m in MODELS}
    return P.serving_metrics(prom.url, models, START, END, "60s", progress=False).series


@pytest.mark.parametrize("metric", ["ttft_p50", "ttft_p99", "itl_p90", "ttft_mean",
                                    "generation_tokens_per_s", "requests_per_s",
                                    "requests_running", "kv_cache_usage", "gpu_utilization",
                                    "gpu_memory_allocated_bytes", "gpus"])
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_serving_metrics_equal_the_same_promql_sent_directly(prom, serving, model, metric) -> None:
    got = serving[(serving["model"] == model.name) & (serving["metric"] == metric)]
    want = direct_range(prom, _expected(model, metric))
    assert len(want) == 1
    assert len(got) > 100
    assert equal_points(frame_points(got), next(iter(want.values())), tol=1e-12)
    assert got["unit"].nunique() == 1


def test_serving_metrics_are_complete_for_both_models(prom, serving) -> None:
    res = P.serving_metrics(prom.url, {m.name: selector(m) for m in MODELS}, START, END, "60s",
                            metrics=["requests_running"], progress=False)
    assert len(res.issues) == 0 and res.partial is False
    counts = serving.groupby(["model", "metric"]).size()
    assert len(counts) == 2 * len(promql.METRICS)
    assert (counts == (END - START) // 60 + 1).all()
    gpus = serving[serving["metric"] == "gpus"].groupby("model")["value"].max().to_dict()
    assert gpus == {FP16.name: 4.0, W4.name: 1.0}  # the idle GPU (exported_pod="") is not counted


def test_two_itl_generations_are_not_added(prom) -> None:
    sel = selector(FP16)  # this model exposes BOTH names with identical values
    new = direct_range(prom, f"sum(rate(vllm:inter_token_latency_seconds_count{{{sel}}}[5m]))")
    f = P.query_range(prom.url, promql.itl_quantile(0.5, sel, by=()), START, END, 60).frame
    only_new = direct_range(prom, "histogram_quantile(0.5, sum by (le) (rate("
                                  f"vllm:inter_token_latency_seconds_bucket{{{sel}}}[5m])))")
    assert equal_points(frame_points(f), next(iter(only_new.values())))
    assert next(iter(new.values()))[10][1] > 0


@pytest.mark.parametrize("q", [0.0, 0.5, 0.9, 0.99, 1.0])
def test_local_quantiles_match_histogram_quantile(prom, q: float) -> None:
    sel = selector(W4)
    buckets = f"sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{{{sel}}}[5m]))"
    raw = P.query_range(prom.url, buckets, START, END, 60).frame
    local = P.quantiles_from_buckets(raw, q)
    want = next(iter(direct_range(prom, f"histogram_quantile({q}, {buckets})").values()))
    assert equal_points(frame_points(local), want, tol=1e-9)
    assert local["value"].isna().any()  # the idle stretch: no observations -> NaN on both sides


def _promql_number(x: float) -> str:
    return "NaN" if math.isnan(x) else ("+Inf" if x == math.inf else repr(float(x)))


def server_bucket_quantile(prom: PromServer, q: float, buckets: list[tuple[float, float]]) -> float:
    """``histogram_quantile`` of the live server over literal bucket samples."""
    vec = " or ".join(
        f'label_replace(vector({_promql_number(c)}), "le", "{_promql_number(ub)}", "", "")'
        for ub, c in buckets)
    doc = prom.api("query", time=T0, query=f"histogram_quantile({_promql_number(q)}, {vec})")
    assert doc["status"] == "success", doc
    return float(doc["data"]["result"][0]["value"][1])


def test_local_quantiles_equal_the_server_with_nan_counts(prom) -> None:
    """The reviewer's cases (a NaN count steers Go's sort.Search) plus random bucket sets with
    NaN, zero and equal counts, each computed by the live Prometheus 2.42."""
    rng = np.random.default_rng(11)
    cases: list[tuple[float, list[tuple[float, float]]]] = [
        (1.0, [(0.1, 10), (1, math.nan), (math.inf, 10)]),
        (0.5, [(-1, 10), (0, math.nan), (math.inf, 0)]),
        (0.0, [(-1, 10), (1, math.nan), (math.inf, 5)]),
        ((100 + 5e-12) / 200, [(0.1, 100.0), (0.2, 100.0 + 1e-11), (math.inf, 200.0)]),
    ]
    bounds = [-1.0, 0.0, 0.05, 0.1, 0.5, 1.0, 2.5]
    for _ in range(60):
        k = int(rng.integers(1, 6))
        ubs = sorted(rng.choice(bounds, k, replace=False).tolist())[: k - 1] + [math.inf]
        counts = [float(rng.choice([math.nan, 0.0, 5.0, 10.0, float(rng.uniform(0, 10))]))
                  for _ in ubs]
        cases.append((float(rng.choice([0.0, 0.5, 0.9, 1.0, float(rng.uniform())])),
                      list(zip(ubs, counts, strict=True))))
    for q, buckets in cases:
        want = server_bucket_quantile(prom, q, buckets)
        got = P.quantiles_from_buckets(bucket_frame([buckets]), q)["value"].iloc[0]
        assert close(got, want), (q, buckets, got, want)
        assert close(go_bucket_quantile(q, buckets), want), (q, buckets)


def test_local_quantiles_per_engine_match(prom) -> None:
    sel = selector(FP16)
    buckets = f"rate(vllm:inter_token_latency_seconds_bucket{{{sel}}}[5m])"
    raw = P.query_range(prom.url, buckets, START, END, 120).frame
    local = P.quantiles_from_buckets(raw, 0.9)
    want = direct_range(prom, f"histogram_quantile(0.9, {buckets})", step=120)
    assert len(want) == 2  # engines "0" and "1"
    for key, pts in want.items():
        eng = dict(key)["engine"]
        assert equal_points(frame_points(local[local["engine"] == eng]), pts, tol=1e-9)


def test_window_quantiles_use_increase_over_the_window(prom) -> None:
    res = P.serving_window(prom.url, {m.name: selector(m) for m in MODELS}, START, END)
    assert res.window["seconds"] == END - START
    w = res.series
    sel = selector(W4)
    doc = prom.api("query", time=END, query=(
        "histogram_quantile(0.99, sum by (le) (increase("
        f"vllm:time_to_first_token_seconds_bucket{{{sel}}}[{END - START}s])))"))
    want = float(doc["data"]["result"][0]["value"][1])
    got = w[(w["model"] == W4.name) & (w["metric"] == "ttft_p99")]["value"].iloc[0]
    assert got == want


def test_thirty_days_at_15s_come_back_exactly_once(prom) -> None:
    start, end = T0, T0 + 30 * 86400
    f = P.query_range(prom.url, "vector(time())", start, end, "15s", max_workers=4, progress=False).frame
    expected = np.arange(start, end + 1, 15, dtype=np.int64) * 1000
    got = (f["timestamp"].astype("int64") // 1_000_000).to_numpy()
    assert got.size == expected.size == 172_801
    assert np.array_equal(got, expected)
    assert np.array_equal(f["value"].to_numpy(), expected / 1000)  # each point is its own time


def test_invalid_query_surfaces_error_type_and_error(prom) -> None:
    with pytest.raises(PrometheusError) as exc:
        P.query_range(prom.url, "sum(rate(x[5m]", START, END, 60)
    assert exc.value.error_type == "bad_data"
    assert "parse error" in exc.value.error


def test_a_label_value_with_quotes_cannot_change_the_query(prom) -> None:
    evil = 'x"} or vector(1) or up{a="'
    q = promql.requests_running({"model_name": evil}, by=())
    f = P.query(prom.url, q, END).frame
    assert len(f) == 0  # matched nothing (no injected vector(1))


def test_snapshot_round_trip_gives_the_same_frame(prom, serving, tmp_path: Path) -> None:
    out = tmp_path / "snap"
    models = {m.name: selector(m) for m in MODELS}
    with SnapshotWriter(out) as w:
        info = P.snapshot_prometheus(w, url=prom.url, selectors=models, start=START, end=END,
                                     step="60s")
    assert info["url"] == prom.url and len(info["queries"]) == 2 * (16 + 10)
    loaded = P.load_snapshot_series(out).series
    pd.testing.assert_frame_equal(loaded, serving)
    window = P.load_snapshot_window(out).series
    assert len(window) == 2 * 10


class _WarnHandler(BaseHTTPRequestHandler):
    body = json.dumps({"status": "success", "warnings": ["store 10.0.0.7:10901 unavailable"],
                       "data": {"resultType": "matrix", "result": [
                           {"metric": {"model_name": "m"}, "values": [[T0, "1"], [T0 + 60, "2"]]}]}}
                      ).encode()

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *a: object) -> None:
        pass


def test_a_warnings_answer_is_flagged_partial() -> None:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _WarnHandler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    url = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        r = P.query_range(url, "up", T0, T0 + 60, 60)
        assert r.partial is True and "unavailable" in r.warnings[0]
        s = P.serving_metrics(url, {"m": 'model_name="m"'}, T0, T0 + 60, 60,
                              metrics=["requests_running"])
        assert s.partial is True
        issues = s.issues
        assert (issues["severity"] == "warning").all()
        assert issues["message"].str.contains("partial answer").all()
    finally:
        srv.shutdown()
        srv.server_close()


class _Canned(BaseHTTPRequestHandler):
    """Answers every POST with one fixed (status, content type, body); counts requests."""

    status, ctype, body = 200, "application/json", b""
    seen: list[str] = []

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).seen.append(self.path)
        self.send_response(self.status)
        self.send_header("Content-Type", self.ctype)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *a: object) -> None:
        pass


@contextlib.contextmanager
def canned(status: int, body: bytes, ctype: str = "application/json"):
    """A loopback server that answers every request with ``status``/``body``; yields
    ``(handler, url)`` (``handler.seen`` lists the requests) and stops afterwards."""
    handler = type("H", (_Canned,), {"status": status, "body": body, "ctype": ctype, "seen": []})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield handler, f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_real_503_timeout_is_retried_then_raised_with_its_error_type(prom) -> None:
    """Prometheus 2.42 answers a query over its `timeout` with 503 {"errorType":"timeout"}."""
    form = {"query": "count_over_time(vector(time())[1d:1s])", "start": "0", "end": "86400",
            "step": "60", "timeout": "1ms"}
    with FaultProxy(prom.url) as proxy:
        client = fast_client(proxy.url)
        with pytest.raises(PrometheusError) as exc:
            fetch(client, "api/v1/query_range", form, None)
        tries = len(proxy.requests_seen)
    assert exc.value.error_type == "timeout" and exc.value.status == 503
    assert "timed out" in exc.value.error and "failed after 4 attempt(s)" in str(exc.value)
    assert tries == client.retry.attempts == 4


def test_a_503_unavailable_body_is_retried_and_recovers_or_keeps_its_type(prom) -> None:
    body = json.dumps({"status": "error", "errorType": "unavailable",
                       "error": "too many concurrent queries"})
    with FaultProxy(prom.url) as proxy:
        proxy.inject("503", times=2, body=body)
        f = P.query(proxy.url, "vector(1)", T0, client=fast_client(proxy.url)).frame
        assert f["value"].tolist() == [1.0]
        proxy.clear()
        proxy.inject("503", times=None, body=body)
        with pytest.raises(PrometheusError) as exc:
            P.query(proxy.url, "vector(1)", T0, client=fast_client(proxy.url))
    assert (exc.value.error_type, exc.value.status) == ("unavailable", 503)
    assert exc.value.error == "too many concurrent queries"


def test_a_499_canceled_answer_keeps_its_error_type_and_is_not_retried() -> None:
    with canned(499, b'{"status":"error","errorType":"canceled","error":"context canceled"}'
                ) as (h, url), pytest.raises(PrometheusError) as exc:
        P.query(url, "up", T0, client=fast_client(url))
    assert (exc.value.error_type, exc.value.error, exc.value.status) == (
        "canceled", "context canceled", 499)
    assert len(h.seen) == 1


def test_a_400_that_is_not_a_prometheus_answer_is_an_http_error_not_retried() -> None:
    """kube-rbac-proxy on the Thanos tenancy port answers a missing ?namespace= like this."""
    with canned(400, b"Bad Request\n", "text/plain; charset=utf-8") as (h, url), \
            pytest.raises(HTTPError) as exc:
        P.query_range(url, "up", T0, T0 + 60, 60, client=fast_client(url))
    assert exc.value.status == 400 and "Bad Request" in str(exc.value)
    assert getattr(exc.value, "error_type", None) != "bad_payload"
    assert len(h.seen) == 1


def test_a_string_answer_is_not_retried() -> None:
    answer = b'{"status":"success","data":{"resultType":"string","result":[1700000000,"hello"]}}'
    with canned(200, answer) as (h, url), pytest.raises(PrometheusError) as exc:
        P.query(url, '"hello"', T0, client=fast_client(url))
    assert exc.value.error_type == "unsupported_result_type" and len(h.seen) == 1


def test_a_real_string_answer_is_a_clear_error(prom) -> None:
    with pytest.raises(PrometheusError) as exc:
        P.query(prom.url, '"hello"', T0)
    assert exc.value.error_type == "unsupported_result_type"


# ----------------------------------------------------------------------------- faults (last)

@pytest.mark.parametrize(("kind", "kw"), [("503", {}), ("502", {}), ("429", {"retry_after": 0}),
                                          ("drop", {}), ("truncate", {}), ("invalid_json", {}),
                                          ("html", {}), ("slow", {"delay": 1.5})])
def test_transient_faults_end_retried_and_complete(prom, kind: str, kw: dict) -> None:
    q = "vector(time())"
    want = P.query_range(prom.url, q, T0, T0 + 40 * 86400, "15s", progress=False).frame
    with FaultProxy(prom.url) as proxy:
        proxy.inject(kind, times=2, match="query_range", **kw)
        client = fast_client(proxy.url, timeout=(2.0, 1.0))
        got = P.query_range(proxy.url, q, T0, T0 + 40 * 86400, "15s", client=client,
                            max_workers=4, progress=False).frame
        faults = [r.fault for r in proxy.requests_seen if r.fault]
    assert faults == [kind, kind]
    pd.testing.assert_frame_equal(got, want)


def test_persistent_faults_end_as_clear_errors(prom) -> None:
    with FaultProxy(prom.url) as proxy:
        proxy.inject("500", times=None)
        with pytest.raises(HTTPError) as exc:
            P.query_range(proxy.url, "up", START, END, 60, client=fast_client(proxy.url))
        assert exc.value.status == 500
        proxy.clear()
        proxy.inject("html", times=None)
        with pytest.raises(PrometheusError) as exc2:
            P.query_range(proxy.url, "up", START, END, 60, client=fast_client(proxy.url))
        assert exc2.value.error_type == "bad_payload"
        assert "failed after" in str(exc2.value) and "Prometheus answer" in str(exc2.value)
