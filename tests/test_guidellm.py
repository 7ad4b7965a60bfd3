"""GuideLLM reports → benchmarks frame, and capacity at an SLO.

(a) real reports written by GuideLLM itself against its mock server (one run per session,
    ``tests/guidellm_mock.py``; skipped without guidellm, failing under ``CI=true``);
(b) small hand-written reports of three schema generations in ``tests/data/guidellm``;
(c) capacity at an SLO against a selection written here, independently, from the raw JSON;
(d) malformed input: ``SourceError`` or data issues, never another exception.
"""

from __future__ import annotations

import copy
import json
import math
import random
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from evalkit.analysis.capacity import CAPACITY_COLUMNS, SLO, capacity
from evalkit.core.errors import InputError, SchemaError, SourceError, UnknownModelError
from evalkit.guidellm import (
    COLUMNS,
    GuideLLMResult,
    detect_generation,
    from_registry_properties,
    load_guidellm,
    parse_report,
)

DATA = Path(__file__).parent / "data" / "guidellm"
FIXTURES = {
    "report-v0.3.json": ("0.1-0.3", "mistral-24b"),
    "report-v0.5.json": ("0.5-0.6", "mistral-24b-quantized"),
    "report-v0.8.json": ("0.7-0.8", "granite-3.1-8b-w4a16"),
}
STATUSES = ("successful", "errored", "incomplete", "total")
SUMMARY = ("mean", "median", "mode", "variance", "std_dev", "min", "max", "count", "total_sum")


def raw(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


# ------------------------------------------------------------ independent readers of raw JSON

def raw_strategy(b: dict[str, Any]) -> dict[str, Any]:
    return (b.get("config") or {}).get("strategy") or (b.get("args") or {}).get("strategy")


def raw_totals(b: dict[str, Any]) -> dict[str, int]:
    if "run_stats" in b:
        return b["request_totals"]
    return b["metrics"]["request_totals"]


def raw_id(b: dict[str, Any]) -> str:
    return b["id_"] if "run_stats" in b else b["config"]["id_"]


def raw_stat(dist: dict[str, Any], stat: str) -> float:
    return dist["percentiles"][stat] if stat.startswith("p") else dist[stat]


def hand_capacity(doc: dict[str, Any], constraints: dict[str, tuple[str, float]]
                  ) -> tuple[str, float, float] | None:
    """(benchmark id, rps, output tok/s) chosen by hand: no throughput run, no errors, every
    successful percentile within its limit, highest successful mean requests/s."""
    best: tuple[str, float, float] | None = None
    for b in doc["benchmarks"]:
        if raw_strategy(b)["type_"] == "throughput" or raw_totals(b)["errored"] != 0:
            continue
        m = b["metrics"]
        ok = all(m[metric]["successful"]["count"] > 0
                 and raw_stat(m[metric]["successful"], stat) <= limit
                 for metric, (stat, limit) in constraints.items())
        if not ok or m["requests_per_second"]["successful"]["count"] == 0:
            continue
        rps = m["requests_per_second"]["successful"]["mean"]
        if best is None or rps > best[1]:
            best = (raw_id(b), rps, m["output_tokens_per_second"]["successful"]["mean"])
    return best


def index(df: pd.DataFrame) -> dict[tuple[str, str, str, str], tuple[float, float, float]]:
    return {(r.benchmark_id, r.metric, r.status, r.stat): (r.value, r.ci_lower, r.ci_upper)
            for r in df.itertuples(index=False)}


def assert_values_equal_raw(doc: dict[str, Any], df: pd.DataFrame) -> int:
    """Every number of every status distribution in ``doc`` is in ``df`` (NaN when the
    distribution is empty); returns how many were compared."""
    got = index(df)
    n = 0
    for b in doc["benchmarks"]:
        bid = raw_id(b)
        for metric, value in b["metrics"].items():
            if not isinstance(value, dict) or not set(STATUSES) <= set(value):
                continue
            for status in STATUSES:
                dist = value[status]
                if not isinstance(dist, dict):
                    continue
                empty = dist["count"] == 0
                keys = [s for s in SUMMARY if s in dist] + list(dist["percentiles"])
                for stat in keys:
                    v, lo, hi = got[(bid, metric, status, stat)]
                    expected = raw_stat(dist, stat)
                    if empty and stat != "count":
                        assert math.isnan(v), (bid, metric, status, stat)
                    else:
                        assert v == expected, (bid, metric, status, stat, v, expected)
                    cis = dist.get("percentile_cis") if stat.startswith("p") else None
                    ci = (cis or {}).get(stat) if cis else dist.get("mean_ci") if stat == "mean" \
                        else None
                    if ci:
                        assert (lo, hi) == (ci["lower"], ci["upper"])
                    else:
                        assert math.isnan(lo) and math.isnan(hi)
                    n += 1
    return n


def assert_counts_equal_totals(doc: dict[str, Any], df: pd.DataFrame) -> None:
    got = index(df)
    for b in doc["benchmarks"]:
        for status in STATUSES:
            assert got[(raw_id(b), "requests", status, "count")][0] == raw_totals(b)[status]


# ------------------------------------------------------------ (a) real reports

@pytest.fixture(scope="session")
def mock_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One real GuideLLM sweep against its mock server for the whole session."""
    from tests.guidellm_mock import require_or_skip, run_mock_benchmark

    require_or_skip()
    return run_mock_benchmark(tmp_path_factory.mktemp("guidellm-mock"))


@pytest.fixture(scope="session")
def real_doc(mock_run: Any) -> dict[str, Any]:
    return json.loads(mock_run.json.read_text())


@pytest.fixture(scope="session")
def real(mock_run: Any) -> GuideLLMResult:
    return load_guidellm(mock_run.json)


def test_real_report_shape_and_identity(real: GuideLLMResult, real_doc: dict[str, Any],
                                        mock_run: Any) -> None:
    assert list(real.benchmarks.columns) == list(COLUMNS)
    rep = real.reports.iloc[0]
    assert rep["generation"] == detect_generation(real_doc) == "0.7-0.8"
    assert rep["guidellm_version"] == real_doc["metadata"]["guidellm_version"]
    assert rep["benchmarks"] == len(real_doc["benchmarks"]) == 4
    assert real.models == ["mock-model"]
    per = real.benchmarks.drop_duplicates("benchmark_id")
    assert per["benchmark_id"].tolist() == [b["config"]["id_"] for b in real_doc["benchmarks"]]
    assert per["strategy"].tolist() == [raw_strategy(b)["type_"]
                                        for b in real_doc["benchmarks"]]
    assert per["strategy"].tolist()[:2] == ["synchronous", "throughput"]
    for (_, row), b in zip(per.iterrows(), real_doc["benchmarks"], strict=True):
        rate = raw_strategy(b).get("rate")
        if rate is None:
            assert math.isnan(row["rate"]) and row["benchmark"] == row["strategy"]
        else:
            assert row["rate"] == rate and row["benchmark"] == f"constant@{rate:.6g}"
    assert set(per["profile"]) == {"sweep"}
    assert set(per["run_id"]) == {b["config"]["run_id"] for b in real_doc["benchmarks"]}


def test_real_counts_come_from_request_totals(real: GuideLLMResult,
                                              real_doc: dict[str, Any]) -> None:
    assert_counts_equal_totals(real_doc, real.benchmarks)
    # the requests lists are samples (sample_size=5): counting them would be wrong
    sampled = [b for b in real_doc["benchmarks"]
               if len(b["requests"]["successful"]) < b["metrics"]["request_totals"]["successful"]]
    assert sampled


def test_real_values_equal_raw_json(real: GuideLLMResult, real_doc: dict[str, Any]) -> None:
    assert assert_values_equal_raw(real_doc, real.benchmarks) > 1000
    units = real.benchmarks.drop_duplicates(["metric", "stat"]).set_index(["metric", "stat"])
    assert units.loc[("request_latency", "p99"), "unit"] == "s"
    assert units.loc[("time_to_first_token_ms", "p99"), "unit"] == "ms"
    assert units.loc[("requests_per_second", "mean"), "unit"] == "requests/s"
    assert units.loc[("output_tokens_per_second", "mean"), "unit"] == "tokens/s"
    got = index(real.benchmarks)
    for b in real_doc["benchmarks"]:
        assert got[(b["config"]["id_"], "slo_attainment", "all", "value")][0] == \
            b["metrics"]["slo_attainment"]
        assert got[(b["config"]["id_"], "duration", "all", "value")][0] == b["duration"]


def test_real_warnings_and_null_cis_are_issues(real: GuideLLMResult,
                                               real_doc: dict[str, Any]) -> None:
    msgs = real.issues["message"].tolist()
    for b in real_doc["benchmarks"]:
        for w in b.get("warnings") or []:
            assert any(w["code"] in m and w["message"] in m for m in msgs)
        errored = b["metrics"]["request_totals"]["errored"]
        if errored:
            assert any(m.startswith(f"{errored} errored request(s)") for m in msgs)
    assert set(real.issues["severity"]) <= {"info", "warning"}
    assert set(real.issues["source"]) == {"guidellm"}


def test_real_yaml_and_folder_load_the_same(real: GuideLLMResult, mock_run: Any) -> None:
    cols = [c for c in COLUMNS if c != "report"]

    def rows(res: GuideLLMResult) -> pd.DataFrame:  # GuideLLM's YAML has its keys sorted
        keys = ["benchmark_id", "metric", "status", "stat"]
        return res.benchmarks[cols].sort_values(keys).reset_index(drop=True)

    pd.testing.assert_frame_equal(rows(load_guidellm(mock_run.yaml)), rows(real))
    folder = load_guidellm(mock_run.workdir)  # also holds the tokenizer's JSON files
    assert folder.reports["report"].tolist() == ["out/benchmarks.json"]
    assert any("JSON report" in m for m in folder.issues["message"])  # the YAML twin skipped
    pd.testing.assert_frame_equal(folder.benchmarks[cols], real.benchmarks[cols])


@pytest.mark.parametrize("slo_name", ["chat", "rag", "tight", "impossible"])
def test_real_capacity_equals_hand_selection(real: GuideLLMResult, real_doc: dict[str, Any],
                                             slo_name: str) -> None:
    p99s = sorted(b["metrics"]["time_to_first_token_ms"]["successful"]["percentiles"]["p99"]
                  for b in real_doc["benchmarks"]
                  if b["metrics"]["time_to_first_token_ms"]["successful"]["count"])
    slo = {"chat": SLO.chat(), "rag": SLO.rag(),
           "tight": SLO({"time_to_first_token_ms": ("p99", p99s[len(p99s) // 2])}),
           "impossible": SLO({"inter_token_latency_ms": ("p50", 1e-9)})}[slo_name]
    got = capacity(real.benchmarks, slo).iloc[0]
    expected = hand_capacity(real_doc, dict(slo.constraints))
    if expected is None:
        assert got["reason"] and math.isnan(got["requests_per_second"])
    else:
        assert got["reason"] is None
        assert (got["benchmark_id"], got["requests_per_second"],
                got["output_tokens_per_second"]) == expected
        assert got["strategy"] != "throughput"


# ------------------------------------------------------------ (b) hand-written reports

@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_reports_load_into_the_same_frame(name: str) -> None:
    generation, model = FIXTURES[name]
    doc = raw(name)
    res = load_guidellm(DATA / name)
    assert list(res.benchmarks.columns) == list(COLUMNS)
    assert res.benchmarks.dtypes.astype(str).tolist() == list(COLUMNS.values())
    assert res.reports["generation"].tolist() == [generation]
    assert res.models == [model]
    assert set(res.benchmarks["report"]) == {name}
    assert_counts_equal_totals(doc, res.benchmarks)
    assert assert_values_equal_raw(doc, res.benchmarks) > 500


def test_fixture_labels_rates_and_profiles() -> None:
    res = load_guidellm(DATA)
    per = res.benchmarks.drop_duplicates(["report", "benchmark_id"])
    got = dict(zip(per["benchmark_id"], zip(per["benchmark"], per["rate"].fillna(-1),
                                            per["profile"], strict=True), strict=True))
    assert got["0.3-bench-2"] == ("constant@2.5", 2.5, "sweep")
    assert got["0.3-bench-1"] == ("throughput", -1, "sweep")
    assert got["0.5-bench-1"] == ("concurrent@4", 4.0, "concurrent")
    assert got["0.8-bench-1"] == ("poisson@1.5", 1.5, "sweep")
    assert got["0.8-bench-0"] == ("synchronous", -1, "sweep")
    assert res.reports["report"].tolist() == sorted(FIXTURES)
    assert len(res.conclusions) == 1 and res.conclusions[0]["kind"] == "knee_detection"


def test_counts_never_from_scheduler_or_samples() -> None:
    for name in FIXTURES:
        doc = raw(name)
        res = parse_report(doc, report=name)
        got = index(res.benchmarks)
        for b in doc["benchmarks"]:
            made = (b.get("run_stats") or b.get("scheduler_metrics"))["requests_made"]
            inc = got[(raw_id(b), "requests", "incomplete", "count")][0]
            assert inc == raw_totals(b)["incomplete"] != made["incomplete"]
            assert got[(raw_id(b), "requests", "successful", "count")][0] != \
                len(b["requests"]["successful"])


def test_throughput_is_exposed_for_both_statuses() -> None:
    res = load_guidellm(DATA / "report-v0.3.json")
    s = res.benchmarks[(res.benchmarks["metric"] == "requests_per_second")
                       & (res.benchmarks["stat"] == "mean")
                       & (res.benchmarks["benchmark"] == "throughput")]
    assert dict(zip(s["status"], s["value"], strict=True))["successful"] == 6.2
    assert dict(zip(s["status"], s["value"], strict=True))["total"] == 6.9


def test_v08_extras_cis_warnings_scalars() -> None:
    doc = raw("report-v0.8.json")
    res = parse_report(doc, report="r8")
    df = res.benchmarks
    sync = df[df["benchmark_id"] == "0.8-bench-0"]
    mean = sync[(sync["metric"] == "time_to_first_token_ms") & (sync["status"] == "successful")
                & (sync["stat"] == "mean")].iloc[0]
    ci = doc["benchmarks"][0]["metrics"]["time_to_first_token_ms"]["successful"]["mean_ci"]
    assert (mean["ci_lower"], mean["ci_upper"]) == (ci["lower"], ci["upper"])
    p99 = sync[(sync["metric"] == "time_to_first_token_ms") & (sync["status"] == "successful")
               & (sync["stat"] == "p99")].iloc[0]
    assert p99["value"] == 80.0 and math.isnan(p99["ci_lower"])
    issues = res.issues
    ci = issues[issues["message"].str.contains("p99 confidence interval unavailable")]
    assert len(ci) == 1 and "in 4 of 4 benchmarks" in ci["message"].iloc[0]  # one per report
    assert issues["message"].str.contains("GuideLLM warning root_late").any()
    assert issues["message"].str.startswith("1 errored request(s) of 175").any()
    root = df[df["metric"] == "root_dispatch_delay"]
    assert set(root["status"]) == {"all"}
    assert set(root[root["stat"].isin(["mean", "p99"])]["unit"]) == {"s"}
    assert set(df[df["metric"] == "slo_attainment"]["value"]) == {1.0, 0.98, 0.9, 0.05}
    assert not {"text", "turns", "time_to_first_output_token_ms"} & set(df["metric"])
    goodput = df[(df["metric"] == "request_goodput") & (df["stat"] == "mean")
                 & (df["status"] == "successful")]
    assert goodput["unit"].tolist() == ["requests/s"] * 4


def test_empty_distributions_are_nan_not_zero() -> None:
    res = parse_report(raw("report-v0.8.json"))
    e = res.benchmarks[(res.benchmarks["benchmark_id"] == "0.8-bench-1")
                       & (res.benchmarks["status"] == "errored")
                       & (res.benchmarks["metric"] == "time_to_first_token_ms")]
    counts = e[e["stat"] == "count"]["value"].tolist()
    assert counts == [0.0]
    assert e[e["stat"] != "count"]["value"].isna().all() and len(e) > 10


def test_generation_04_without_metadata() -> None:
    doc = raw("report-v0.5.json")
    del doc["metadata"]
    assert detect_generation(doc) == "0.4"
    a = parse_report(doc, report="x").benchmarks
    b = parse_report(raw("report-v0.5.json"), report="x").benchmarks
    pd.testing.assert_frame_equal(a, b)


def test_generation_02_without_p50_uses_median() -> None:
    doc = raw("report-v0.3.json")
    for b in doc["benchmarks"]:
        for m in b["metrics"].values():
            for d in m.values():
                d["percentiles"].pop("p50")
    res = parse_report(doc)
    df = res.benchmarks
    p50 = df[df["stat"] == "p50"].set_index(["benchmark_id", "metric", "status"])["value"]
    med = df[df["stat"] == "median"].set_index(["benchmark_id", "metric", "status"])["value"]
    pd.testing.assert_series_equal(p50.sort_index(), med.sort_index(), check_names=False)
    assert res.issues["message"].str.contains("p50 rows are the median").sum() == 4


def test_model_override_and_target_fallback() -> None:
    assert parse_report(raw("report-v0.5.json"), model="mine").models == ["mine"]
    doc = raw("report-v0.3.json")
    for b in doc["benchmarks"]:
        del b["worker"]["backend_model"]
    res = parse_report(doc)
    assert res.models == ["http://mistral-24b-predictor.private-ai-demo.svc:8080/v1"]
    assert res.issues["message"].str.contains("no model name in the report").sum() == 4
    doc8 = raw("report-v0.8.json")
    for b in doc8["benchmarks"]:
        del b["config"]["backend"]
    assert parse_report(doc8).models == ["granite-3.1-8b-w4a16"]  # from config.spec.backend


def test_summary_and_repr() -> None:
    res = load_guidellm(DATA / "report-v0.5.json")
    s = res.summary()
    row = s[s["benchmark"] == "concurrent@8"].iloc[0]
    assert (row["successful"], row["errored"], row["requests_per_second"], row["ttft_p99_ms"],
            row["latency_p99_s"]) == (270, 0, 4.5, 260.0, 2.8)
    assert repr(res).startswith("<GuideLLMResult from ")
    assert "mistral-24b-quantized" in repr(res)
    html = res._repr_html_()
    assert "concurrent@8" in html and "<table" in html


def test_registry_properties_into_the_same_frame() -> None:
    props: dict[str, object] = {
        "benchmark_rate_32.599999999999994_throughput": 950.5,
        "benchmark_rate_32.599999999999994_ttft_p99": "180.0",
        "benchmark_rate_32.599999999999994_latency_p99": {"metadataType": "MetadataDoubleValue",
                                                          "double_value": 2.5},
        "benchmark_rate_1.0_ttft_mean": 50,
        "benchmark_rate_1.0_itl_p99": 12.5,
        "benchmark_rate_1.0_latency_mean": "N/A",
        "benchmark_rate_1.0_unknown_suffix": 1.0,
        "eval_arc_easy_acc_norm,none": 0.8,
        "base_model": "mistral-24b",
    }
    df = from_registry_properties(props, "mistral-24b-w4a16")
    assert list(df.columns) == list(COLUMNS)
    got = {(r.rate, r.metric, r.stat): (r.value, r.unit) for r in df.itertuples()}
    assert got == {
        (32.6, "output_tokens_per_second", "mean"): (950.5, "tokens/s"),
        (32.6, "time_to_first_token_ms", "p99"): (180.0, "ms"),
        (32.6, "request_latency", "p99"): (2.5, "s"),
        (1.0, "time_to_first_token_ms", "mean"): (50.0, "ms"),
        (1.0, "inter_token_latency_ms", "p99"): (12.5, "ms"),
    }
    assert set(df["benchmark"]) == {"constant@32.6", "constant@1"}
    assert set(df["status"]) == {"successful"}
    assert from_registry_properties({}, "m").empty


def test_snapshot_round_trip_redacts_credentials(tmp_path: Path) -> None:
    from evalkit.core.snapshot import SnapshotWriter, open_snapshot
    from evalkit.guidellm.source import GuideLLMSource

    reports = tmp_path / "reports"
    (reports / "a").mkdir(parents=True)
    doc = raw("report-v0.8.json")
    doc["benchmarks"][0]["config"]["backend"]["api_key"] = "sk-test-not-a-real-key"
    (reports / "a" / "benchmarks.json").write_text(json.dumps(doc))
    (reports / "benchmarks.json").write_text((DATA / "report-v0.3.json").read_text())
    (reports / "other.json").write_text("{}")
    with SnapshotWriter(tmp_path / "snap") as w:
        entry = GuideLLMSource(reports, model="override").pull(w)
    assert entry["reports"] == ["a/benchmarks.json", "benchmarks.json"]
    assert entry["redacted"] == {"a/benchmarks.json": ["$.benchmarks[0].config.backend.api_key"]}
    stored = (tmp_path / "snap" / "guidellm" / "a" / "benchmarks.json").read_text()
    assert "sk-test-not-a-real-key" not in stored
    assert (tmp_path / "snap" / "guidellm" / "benchmarks.json").read_text() == \
        (DATA / "report-v0.3.json").read_text()  # byte for byte when nothing to redact
    res = GuideLLMSource.load(open_snapshot(tmp_path / "snap"))
    assert res is not None and res.models == ["override"]
    assert res.reports["report"].tolist() == ["a/benchmarks.json", "benchmarks.json"]
    direct = parse_report(raw("report-v0.8.json"), report="a/benchmarks.json", model="override")
    pd.testing.assert_frame_equal(
        res.benchmarks[res.benchmarks["report"] == "a/benchmarks.json"].reset_index(drop=True),
        direct.benchmarks)
    empty = tmp_path / "empty"
    with SnapshotWriter(empty) as w:
        w.add_source("other", {})
    assert GuideLLMSource.load(open_snapshot(empty)) is None


# ------------------------------------------------------------ (c) capacity

@pytest.mark.parametrize("name", sorted(FIXTURES))
@pytest.mark.parametrize("slo", [SLO.chat(), SLO.rag(), SLO.chat(ttft_ms=150, itl_ms=40),
                                 SLO({"request_latency": ("p95", 2.0)}),
                                 SLO({"time_to_first_token_ms": ("mean", 1.0)})],
                         ids=["chat", "rag", "chat-tight", "latency-p95", "impossible"])
def test_capacity_equals_hand_selection(name: str, slo: SLO) -> None:
    doc = raw(name)
    got = capacity(load_guidellm(DATA / name).benchmarks, slo)
    assert list(got.columns)[:len(CAPACITY_COLUMNS)] == CAPACITY_COLUMNS
    assert len(got) == 1
    row = got.iloc[0]
    expected = hand_capacity(doc, dict(slo.constraints))
    if expected is None:
        assert isinstance(row["reason"], str) and row["reason"].startswith("no benchmark")
        assert math.isnan(row["requests_per_second"]) and row["n_passing"] == 0
    else:
        assert row["reason"] is None
        assert (row["benchmark_id"], row["requests_per_second"],
                row["output_tokens_per_second"]) == expected


def test_capacity_known_answers_and_constraint_columns() -> None:
    res = load_guidellm(DATA)
    chat = capacity(res.benchmarks).set_index("model")
    assert chat.loc["mistral-24b", "benchmark"] == "constant@2.5"  # constant@5 had 3 errors
    assert chat.loc["mistral-24b-quantized", "benchmark"] == "concurrent@4"  # @8: TTFT 260 ms
    assert chat.loc["granite-3.1-8b-w4a16", "benchmark"] == "poisson@1.5"
    assert chat.loc["mistral-24b", "time_to_first_token_ms_p99"] == 180.0
    assert chat.loc["mistral-24b", "n_benchmarks"] == 3  # the throughput run is never judged
    assert chat.loc["mistral-24b", "throughput"] == "successful mean"
    rag = capacity(res.benchmarks, SLO.rag(), models=["mistral-24b-quantized"])
    assert rag["benchmark"].tolist() == ["concurrent@8"]
    assert "request_latency_p99" in rag.columns
    total = capacity(res.benchmarks, models="mistral-24b", throughput_status="total")
    assert total["requests_per_second"].tolist() == [2.5]  # total mean of constant@2.5
    with pytest.raises(UnknownModelError):
        capacity(res.benchmarks, models=["nope"])


def test_capacity_never_picks_throughput_and_explains_failures() -> None:
    res = load_guidellm(DATA / "report-v0.8.json")
    loose = SLO({"time_to_first_token_ms": ("p99", 1e9)})
    row = capacity(res.benchmarks, loose).iloc[0]
    assert row["strategy"] != "throughput" and row["benchmark"] == "poisson@1.5"
    only = res.benchmarks[res.benchmarks["strategy"] == "throughput"]
    assert "throughput (saturation)" in capacity(only, loose)["reason"].iloc[0]
    reason = capacity(res.benchmarks, SLO.chat(ttft_ms=10)).iloc[0]["reason"]
    assert "poisson@3: time_to_first_token_ms p99 = 230 > 10, 1 errored request(s)" in reason


def test_capacity_error_counts_required_unless_told() -> None:
    props = {"benchmark_rate_1.0_ttft_p99": 90.0, "benchmark_rate_1.0_itl_p99": 20.0,
             "benchmark_rate_1.0_rps": 0.95, "benchmark_rate_4.0_ttft_p99": 150.0,
             "benchmark_rate_4.0_itl_p99": 30.0, "benchmark_rate_4.0_rps": 3.8,
             "benchmark_rate_4.0_throughput": 480.0}
    df = from_registry_properties(props, "m")
    strict = capacity(df).iloc[0]
    assert "error count unknown" in strict["reason"]
    lax = capacity(df, require_error_counts=False).iloc[0]
    assert (lax["benchmark"], lax["requests_per_second"], lax["output_tokens_per_second"]) == \
        ("constant@4", 3.8, 480.0)


def test_slo_presets_and_validation() -> None:
    assert dict(SLO.chat().constraints) == {"time_to_first_token_ms": ("p99", 200.0),
                                            "inter_token_latency_ms": ("p99", 50.0)}
    assert dict(SLO.rag().constraints) == {"request_latency": ("p99", 3.0)}
    assert SLO.chat() == SLO.chat() and hash(SLO.rag().name) is not None
    with pytest.raises(Exception):  # noqa: B017 - frozen dataclass
        SLO.chat().name = "x"  # type: ignore[misc]
    for bad in ({}, {"x": "p99"}, {"x": ("p99", -1)}, {"x": ("p99", float("nan"))},
                {"x": ("99", 1)}, {"x": ("p99", True)}, {1: ("p99", 1)}):
        with pytest.raises(InputError):
            SLO(bad)  # type: ignore[arg-type]


def test_capacity_input_errors() -> None:
    with pytest.raises(SchemaError):
        capacity([1, 2])  # type: ignore[arg-type]
    with pytest.raises(SchemaError):
        capacity(pd.DataFrame({"model": ["m"]}))
    df = load_guidellm(DATA / "report-v0.3.json").benchmarks
    with pytest.raises(InputError):
        capacity(df, {"time_to_first_token_ms": ("p99", 1)})  # type: ignore[arg-type]
    with pytest.raises(InputError):
        capacity(df, throughput_status="errored")
    assert capacity(df.iloc[0:0]).empty


# ------------------------------------------------------------ (d) malformed input

@pytest.mark.parametrize("doc", [None, 5, "benchmarks", [], [{"benchmarks": []}], {},
                                 {"benchmarks": "x"}, {"benchmarks": None},
                                 {"benchmarks": []},
                                 {"machine_info": {}, "benchmarks": [{"name": "t", "stats": {}}]},
                                 {"benchmarks": [1, "x", None]},
                                 {"benchmarks": [{"metrics": {}}]}])
def test_not_a_report_is_a_source_error(doc: Any) -> None:
    with pytest.raises(SourceError):
        parse_report(doc)


def test_broken_benchmarks_become_issues() -> None:
    doc = raw("report-v0.5.json")
    doc["benchmarks"].insert(1, "not a benchmark")
    doc["benchmarks"].append({"config": {"id_": "broken"}, "metrics": "nope"})
    doc["benchmarks"][0]["metrics"].pop("request_totals")
    doc["benchmarks"][0]["metrics"]["request_latency"]["successful"]["mean"] = "fast"
    doc["benchmarks"][0]["metrics"]["request_latency"]["successful"]["percentiles"]["p99"] = True
    res = parse_report(doc, report="bad")
    msgs = " | ".join(res.issues["message"])
    assert "benchmark #1 is a str" in msgs
    assert "no 'metrics' object" in msgs
    assert "no request_totals" in msgs
    assert "non-numeric value(s) left out: request_latency.successful.mean" in msgs
    df = res.benchmarks
    first = df[df["benchmark_id"] == "0.5-bench-0"]
    assert first[first["metric"] == "requests"].empty
    lat = first[(first["metric"] == "request_latency") & (first["status"] == "successful")]
    assert not {"mean", "p99"} & set(lat["stat"])
    assert df["benchmark_id"].nunique() == 3  # the broken one has no rows, only issues


def _mutate(node: Any, rng: random.Random, junk: list[Any]) -> Any:
    """A copy of ``node`` with a few random values replaced by junk."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if rng.random() < 0.04:
                out[k] = rng.choice(junk)
            elif rng.random() < 0.01:
                continue
            else:
                out[k] = _mutate(v, rng, junk)
        return out
    if isinstance(node, list):
        return [rng.choice(junk) if rng.random() < 0.04 else _mutate(v, rng, junk)
                for v in node]
    return node


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_random_corruption_never_raises_anything_else(name: str) -> None:
    base = raw(name)
    junk: list[Any] = [None, "", "x", -1, 1e308, float("nan"), True, [], {}, [1, "a"],
                       {"type_": None}, {"successful": "x"}, {"mean": "a", "percentiles": 3}]
    rng = random.Random(7)
    parsed = 0
    for _ in range(40):
        doc = _mutate(copy.deepcopy(base), rng, junk)
        try:
            res = parse_report(doc, report="fuzz")
        except SourceError:
            continue
        parsed += 1
        assert list(res.benchmarks.columns) == list(COLUMNS)
        assert set(res.issues["severity"]) <= {"info", "warning", "error"}
        capacity(res.benchmarks, require_error_counts=rng.random() < 0.5)
    assert parsed > 10


def test_files_and_folders(tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        load_guidellm(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SourceError):
        load_guidellm(bad)
    (tmp_path / "empty.json").write_text("")
    with pytest.raises(SourceError):
        load_guidellm(tmp_path / "empty.json")
    bomb = tmp_path / "benchmarks.yaml"
    bomb.write_text("a: &a [1, 2]\nb: [*a, *a]\nbenchmarks: []\n")
    with pytest.raises(SourceError, match="aliases"):
        load_guidellm(bomb)
    binary = tmp_path / "benchmarks.bin"
    binary.write_bytes(b"\x00\xff\xfe" * 100)
    with pytest.raises(SourceError):
        load_guidellm(binary)
    with pytest.raises(SourceError, match="no GuideLLM report"):
        load_guidellm(tmp_path)  # only broken files so far
    run = tmp_path / "run"
    run.mkdir()
    (run / "benchmarks.json").write_text((DATA / "report-v0.3.json").read_text())
    (run / "benchmarks-old.json").write_text("[1, 2")
    (run / "benchmarks-other.json").write_text(json.dumps({"benchmarks": [{"name": "t"}]}))
    res = load_guidellm(tmp_path)
    assert res.reports["report"].tolist() == ["run/benchmarks.json"]
    by_obj = dict(zip(res.issues["object"], res.issues["severity"], strict=True))
    assert by_obj["run/benchmarks-old.json"] == "error"
    assert by_obj["run/benchmarks-other.json"] == "info"
    assert by_obj["benchmarks.yaml"] == "error"
    assert res.models == ["mistral-24b"]
