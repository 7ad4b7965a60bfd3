"""evalkit.registry reading the loopback Model Registry: both API generations, paging,
filters, typed values, facts, the served-model mapping, and errors that say what to do."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from evalkit.core.errors import AuthError, ConfigError, HTTPError, InputError, NotFoundError
from evalkit.core.http import RetryPolicy
from evalkit.registry import (
    RegistryDeprecationWarning,
    map_models,
    model_facts,
    read_versions,
    wide,
)
from tests.servers.model_registry import API_ROOT, ModelRegistryServer

TOKEN = "mr-read-test-token"  # marker, not a real token
FAST = {"retry": RetryPolicy(attempts=2, backoff=0.01), "sleep": lambda s: None}


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("EVALKIT_REGISTRY_URL", "EVALKIT_REGISTRY_TOKEN", "EVALKIT_REGISTRY_TOKEN_FILE",
                "EVALKIT_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("evalkit.core.auth.SERVICE_ACCOUNT_DIR", tmp_path / "no-sa")


def test_reads_typed_values_exactly_and_pivots() -> None:
    card = {"languages": ["en", "fr"], "n": 2}
    props = {"quantization": "w4a16", "gpu_requirement": 1, "size_gb": 13.9, "validated": True,
             "card": card, "big": {"metadataType": "MetadataIntValue", "int_value": "2147483647"},
             "blob": {"metadataType": "MetadataProtoValue", "type": "t", "proto_value": "AAE="}}
    for readback in ("base64", "json"):
        with ModelRegistryServer(struct_readback=readback) as mr:
            seeded = mr.add_model("granite", versions={"1.0": props, "2.0": None})
            res = read_versions(mr.url)
            got = {r.property: (r.type, r.value) for r in res.properties.itertuples()}
            assert got == {"quantization": ("string", "w4a16"), "gpu_requirement": ("int", 1),
                           "size_gb": ("double", 13.9), "validated": ("bool", True),
                           "card": ("struct", card), "big": ("int", 2147483647),
                           "blob": ("proto", "AAE=")}
            raw = mr.get("model_version", seeded.versions["1.0"])["customProperties"]
            assert {r.property: json.loads(r.raw) for r in res.properties.itertuples()} == raw
            assert res.api == "v1" and res.n_issues == 0
            w = wide(res)  # the version without properties stays
            assert w["version"].tolist() == ["1.0", "2.0"]
            assert w.loc[0, "card"] == card and w.loc[1, "card"] is None
            art = res.artifacts.iloc[0]
            assert (art.uri, art.model_format_name, art.artifact_type) == (
                "oci://registry.example/granite:1.0", "vLLM", "model-artifact")
            assert str(res.versions["created_at"].dtype) == "datetime64[ns, UTC]"


def test_paging_follows_next_page_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("evalkit.registry.client.PAGE_SIZE", 2)
    with ModelRegistryServer() as mr:
        for i in range(5):
            mr.add_model(f"m{i}", versions={f"v{j}": {"j": j} for j in range(3)})
        res = read_versions(mr.url)
        assert len(res.versions) == 15 and len(res.models) == 5
        lists = mr.requests_matching("GET", "/registered_models")
        model_pages = [r for r in lists if r.path.endswith("/registered_models")
                       and r.query.get("pageSize") == "2"]
        assert [bool(r.query.get("nextPageToken")) for r in model_pages] == [False, True, True]
        assert all(r.query.get("nextPageToken") != "" for r in mr.requests)  # never re-reads
        assert res.properties.groupby("registered_model").size().tolist() == [3] * 5


def test_models_and_filter_narrow_the_read() -> None:
    with ModelRegistryServer() as mr:
        mr.add_model("a", versions={"1": {"eval_x,none": 0.6}, "2": {"eval_x,none": 0.8}})
        mr.add_model("b", versions={"1": {"eval_x,none": 0.9}})
        res = read_versions(mr.url, models=["a", "missing"],
                            filter_query="`eval_x,none.double_value` > 0.7")
        assert res.versions["version"].tolist() == ["2"]
        assert res.issues["message"].tolist() == [f"no registered model named 'missing' in "
                                                  f"{mr.url}"]
        mr.clear_requests()
        with pytest.raises(InputError, match="INSIDE the backticks"):
            read_versions(mr.url, filter_query="`eval_x,none`.double_value > 0.7")
        assert mr.requests == []  # refused before any call


def test_discovery_v1alpha3_fallback_and_deprecation() -> None:
    with ModelRegistryServer(api=("v1alpha3",)) as old:
        old.add_model("m", versions={"1": {"k": "v"}})
        res = read_versions(old.url)
        assert res.api == "v1alpha3" and res.base_path == f"{API_ROOT}/v1alpha3"
        assert [(r.path, r.status) for r in old.requests[:2]] == [
            (f"{API_ROOT}/v1/registered_models", 404),
            (f"{API_ROOT}/v1alpha3/registered_models", 200)]
        assert res.n_issues == 0
    with ModelRegistryServer() as both:
        both.add_model("m", versions={"1": {"k": "v"}})
        with pytest.warns(RegistryDeprecationWarning, match="Sunset"):
            res = read_versions(both.url, base_path="v1alpha3")
        (row,) = res.issues.itertuples()
        assert row.severity == "warning" and "Sunset: Fri, 31 Dec 2027" in row.message
        assert "leave base_path unset" in row.message
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert read_versions(both.url).api == "v1"  # discovery picks v1: no warning
        # a URL that already names the generation fixes it
        with pytest.warns(RegistryDeprecationWarning):
            assert read_versions(f"{both.url}{API_ROOT}/v1alpha3").api == "v1alpha3"


def test_no_registry_api_names_the_urls_tried() -> None:
    with ModelRegistryServer() as mr:
        with pytest.raises(NotFoundError) as info:
            read_versions(f"{mr.url}/dashboard")
    msg = str(info.value)
    assert f"{mr.url}/dashboard{API_ROOT}/v1/registered_models" in msg
    assert f"{mr.url}/dashboard{API_ROOT}/v1alpha3/registered_models" in msg
    assert "-rest." in msg and "Nothing was written" in msg


@pytest.mark.parametrize("case", ["401", "403", "mismatch", "500", "timeout", "html"])
def test_errors_say_what_to_do(case: str) -> None:
    api = ("v1alpha3",) if case == "mismatch" else ("v1", "v1alpha3")
    with ModelRegistryServer(api=api, token=TOKEN) as mr:
        mr.add_model("m", versions={"1": {"k": "v"}})
        kw: dict = {"token": TOKEN, **FAST}
        if case == "401":
            kw["token"] = "wrong-token-marker"
        elif case == "403":
            mr.fail_next(403, count=10, path_prefix="/registered_models")
        elif case == "mismatch":
            kw["base_path"] = "v1"
        elif case == "500":
            mr.fail_next(500, count=10, path_prefix="/registered_models/")
        elif case == "timeout":
            mr.slow(1.0, path_prefix="/model_versions/")
            kw["timeout"] = (2.0, 0.2)
        elif case == "html":
            mr.fail_next(200, count=10, path_prefix="/registered_models/",
                         body="<html><title>Log in</title></html>")
        with pytest.raises(HTTPError) as info:
            read_versions(mr.url, **kw)
        mr.clear_faults()
    msg = str(info.value)
    assert "Nothing was written" in msg and "wrong-token-marker" not in msg
    expected = {"401": ("EVALKIT_REGISTRY_TOKEN", "oc whoami -t"),
                "403": ("Manage permissions",),
                "mismatch": ("does not serve /api/model_registry/v1", "base_path='v1alpha3'"),
                "500": ("pod logs",),
                "timeout": ("timed out",),
                "html": ("HTML page", "Log in")}[case]
    for text in expected:
        assert text in msg, msg
    if case in ("401", "403"):
        assert isinstance(info.value, AuthError)


def test_token_channels_and_service_account_opt_in(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("sa-token-marker-1")
    monkeypatch.setattr("evalkit.core.auth.SERVICE_ACCOUNT_DIR", sa)
    with ModelRegistryServer(token=TOKEN) as mr:
        with pytest.raises(AuthError):  # the pod's token is never sent unasked
            read_versions(mr.url, **FAST)
        assert all("Authorization" not in r.headers for r in mr.requests)
        with pytest.raises(ConfigError, match="plain http"):
            read_versions(mr.url, service_account=True)
        monkeypatch.setenv("EVALKIT_REGISTRY_TOKEN", TOKEN)
        assert read_versions(mr.url).api == "v1"
        monkeypatch.delenv("EVALKIT_REGISTRY_TOKEN")
        (tmp_path / "tok").write_text(TOKEN + "\n")
        monkeypatch.setenv("EVALKIT_REGISTRY_TOKEN_FILE", str(tmp_path / "tok"))
        monkeypatch.setenv("EVALKIT_REGISTRY_URL", mr.url)
        assert read_versions().api == "v1"


def test_a_model_registry_instance_works_like_a_url() -> None:
    """Any object with the client's ``_api.config`` attributes (the real instance is used in
    tests/test_registry_interop.py)."""
    with ModelRegistryServer(token=TOKEN) as mr:
        mr.add_model("m", versions={"1": {"k": "v"}})
        inst = SimpleNamespace(_api=SimpleNamespace(config=SimpleNamespace(
            host=mr.url, access_token=TOKEN, ssl_ca_cert=None, verify_ssl=False)))
        assert read_versions(inst).properties["value"].tolist() == ["v"]
        assert {r.headers["Authorization"] for r in mr.requests} == {f"Bearer {TOKEN}"}
    with pytest.raises(InputError, match="ModelRegistry"):
        read_versions(object())


def test_model_facts_never_guess() -> None:
    with ModelRegistryServer() as mr:
        mr.add_model("fp16", versions={"1": {
            "quantization": "fp16", "gpu_requirement": 4, "accelerator": "NVIDIA L4",
            "base_model": "mistralai/Mistral-Small-24B",
            "eval_arc_easy_acc_norm,none": 0.83, "eval_arc_easy_acc_norm_stderr,none": 0.04,
            "eval_arc_easy_n": 100, "eval_arc_easy_job": "eval-1",
            "eval_my_task_score,none": 0.5, "eval_my_task_job": "eval-1",
            "eval_odd,none": 0.1, "benchmark_rate_32.599999999999994_throughput": 950.5,
            "benchmark_rate_1.0_mystery": 1.0}})
        mr.add_model("w4a16", versions={"1": {"quantization": "w4a16", "gpus": 2,
                                              "gpu_requirement": "1x L4"}})
        mr.add_model("bare", versions={"1": {"quantization": "int3-magic",
                                             "gpu_requirement": "1x L4"}})
        facts = model_facts(read_versions(mr.url))
    f = facts.facts.set_index("registered_model")
    assert (f.loc["fp16", "gpus"], f.loc["fp16", "gpus_from"]) == (4, "gpu_requirement")
    assert (f.loc["w4a16", "gpus"], f.loc["w4a16", "gpus_from"]) == (2, "gpus")
    assert pd.isna(f.loc["bare", "gpus"]) and f.loc["bare", "quantization"] == "int3-magic"
    assert str(facts.facts["gpus"].dtype) == "Int64"
    msgs = " | ".join(f"{r.object}: {r.message}" for r in facts.issues.itertuples())
    assert "bare:1: gpu_requirement = '1x L4' is not a whole GPU count" in msgs
    assert "w4a16:1: gpus = 2 disagrees with gpu_requirement = '1x L4'" in msgs
    assert "not a scheme evalkit knows" in msgs
    assert "eval_odd,none: cannot tell the task" in msgs
    assert "1 of 2 benchmark_rate_* properties not understood" in msgs
    ev = facts.evals.set_index("property")
    row = ev.loc["eval_arc_easy_acc_norm,none"]
    assert (row.task, row.metric, row["filter"], row.value, row.stderr, row.n, row.job) == (
        "arc_easy", "acc_norm", "none", 0.83, 0.04, 100, "eval-1")
    assert ev.loc["eval_my_task_score,none", "task"] == "my_task"  # known from eval_my_task_job
    b = facts.benchmarks
    assert b[["model", "rate", "metric", "value"]].values.tolist() == [
        ["fp16", 32.6, "output_tokens_per_second", 950.5]]


def test_map_models_rule_and_overrides() -> None:
    with ModelRegistryServer() as mr:
        seeded = mr.add_model("granite", versions={"1.0": {}, "2.0": {}, "3.0": {}})
        mr.add_version(seeded.id, "4.0", state="ARCHIVED")
        res = read_versions(mr.url)
    m = map_models(["granite", "served-as-other", "nope"], res,
                   mapping={"served-as-other": "granite:1.0", "nope": "nothing"})
    t = m.table.set_index("served_model")
    assert t.loc["granite", "version"] == "3.0"  # newest LIVE; the archived 4.0 is never picked
    assert m.target("served-as-other") == ("granite", "1.0")
    assert m.target("nope") is None
    assert "no registered model 'nothing'" in m.issues["message"].iloc[0]
    assert "registered: granite" in m.issues["message"].iloc[0]


def test_parsing_is_pure_and_tolerant() -> None:
    from evalkit.registry.parse import Answer, Fetched, parse_fetched

    bad = json.dumps({"items": [{"id": "2", "name": "1", "registeredModelId": "1",
                                 "createTimeSinceEpoch": "x", "customProperties": {
                                     "s": {"metadataType": "MetadataStructValue",
                                           "struct_value": "not json"},
                                     "i": {"metadataType": "MetadataIntValue",
                                           "int_value": "1.5"}}}]}).encode()
    res = parse_fetched(Fetched("http://x", "v1", [Answer("versions", bad, parent="1"),
                                                   Answer("versions", b"<html>", parent="1")]))
    assert res.properties["type"].tolist() == [None, None]
    assert res.properties["raw"].map(json.loads).map(lambda d: d["metadataType"]).tolist() == [
        "MetadataIntValue", "MetadataStructValue"]
    assert pd.isna(res.versions.loc[0, "created_at"])
    # 2 values, no registered model read, 2 unusable times, a page that is not JSON
    assert len(res.issues) == 6
