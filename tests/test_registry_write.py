"""evalkit.registry.publish_scores against the loopback Model Registry: nothing lost, nothing
sent when nothing changes, nothing written after a failed read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests

import evalkit
from evalkit.core import frames
from evalkit.core.errors import AuthError, HTTPError, InputError, NotFoundError
from evalkit.core.http import RetryPolicy
from evalkit.registry import publish_scores, score_properties
from evalkit.registry import values as V
from tests.servers.model_registry import API_ROOT, ModelRegistryServer

TOKEN = "mr-write-test-token"  # marker, not a real token
FAST = {"retry": RetryPolicy(attempts=2, backoff=0.01), "sleep": lambda s: None}

#: the 13 build-time properties of the demo's registration, mixed types
BUILD = {
    "base_model": "mistralai/Mistral-Small-24B-Instruct-2501",
    "quantization": "w4a16",
    "gpu_requirement": 1,
    "accelerator": "NVIDIA L4",
    "runtime_image": "quay.io/modh/vllm@sha256:0123abcd",
    "format": "compressed-tensors",
    "deployment_type": "vLLM",
    "model_size_gb": 13.9,
    "max_model_len": 16384,
    "tensor_parallel_size": {"metadataType": "MetadataIntValue", "int_value": "2147483647"},
    "validated": True,
    "build_info": {"pipeline": "build", "quantizer": "llm-compressor 0.6.0", "group_size": 128,
                   "nested": {"a": [1, 2.5, None, "x"]}},
    "notes": "",
}


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("EVALKIT_REGISTRY_URL", "EVALKIT_REGISTRY_TOKEN", "EVALKIT_REGISTRY_TOKEN_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("evalkit.core.auth.SERVICE_ACCOUNT_DIR", tmp_path / "no-sa")


def scores(model: str = "mistral-24b-quantized", **over: Any) -> pd.DataFrame:
    rows = [{"model": model, "job": "eval-old", "task": "arc_easy", "metric": "acc_norm",
             "filter": "none", "value": 0.5, "stderr": 0.05, "n": 100, "limit": 100.0,
             # all with milliseconds: frames.conform turns mixed ISO precisions into NaT
             "completed_at": "2026-11-19T09:00:00.000Z",
             "created_at": "2026-11-19T08:00:00.000Z"},
            {"model": model, "job": "eval-w4a16", "task": "arc_easy", "metric": "acc_norm",
             "filter": "none", "value": 0.7912, "stderr": 0.0409, "n": 100, "limit": 100.0,
             "completed_at": "2026-11-20T09:53:00.250Z", "created_at": "2026-11-20T09:30:00.000Z"},
            {"model": model, "job": "eval-w4a16", "task": "gsm8k", "metric": "exact_match",
             "filter": "flexible-extract", "value": 0.86, "stderr": 0.0349, "n": 100,
             "limit": 0.1, "completed_at": "2026-11-20T09:53:00.250Z",
             "created_at": "2026-11-20T09:30:00.000Z"}]
    for r in rows:
        r.update(over)
    return frames.conform("scores", rows)


def raw_map(mr: ModelRegistryServer, vid: str) -> dict[str, Any]:
    return mr.get("model_version", vid)["customProperties"]


def patches(mr: ModelRegistryServer) -> list[Any]:
    return mr.requests_matching("PATCH")


@pytest.mark.parametrize("readback", ["base64", "json"])
def test_round_trip_keeps_every_property_and_sends_no_patch_twice(readback: str) -> None:
    with ModelRegistryServer(token=TOKEN, struct_readback=readback) as mr:
        seeded = mr.add_model("mistral-24b-quantized", versions={"1.0": BUILD})
        vid = seeded.versions["1.0"]
        before = raw_map(mr, vid)
        assert len(before) == 13
        wire_before = requests.get(f"{mr.api_url()}/model_versions/{vid}", timeout=5,
                                   headers={"Authorization": f"Bearer {TOKEN}"}).json()
        res = publish_scores(mr.url, scores(), token=TOKEN, source="snap")
        assert res.ok and res.versions["patched"].tolist() == [True]
        after = raw_map(mr, vid)
        wire_after = requests.get(f"{mr.api_url()}/model_versions/{vid}", timeout=5,
                                  headers={"Authorization": f"Bearer {TOKEN}"}).json()
        for key in BUILD:  # byte for byte, as the server answers them
            assert json.dumps(after[key], sort_keys=True) == json.dumps(before[key],
                                                                       sort_keys=True), key
            assert (json.dumps(wire_after["customProperties"][key])
                    == json.dumps(wire_before["customProperties"][key]))
        new = {k: v for k, v in after.items() if k not in BUILD}
        assert new == {
            "eval_arc_easy_acc_norm,none": {"metadataType": "MetadataDoubleValue",
                                            "double_value": 0.7912},
            "eval_arc_easy_acc_norm_stderr,none": {"metadataType": "MetadataDoubleValue",
                                                   "double_value": 0.0409},
            "eval_arc_easy_n": {"metadataType": "MetadataIntValue", "int_value": "100"},
            "eval_arc_easy_limit": {"metadataType": "MetadataDoubleValue", "double_value": 100.0},
            "eval_arc_easy_job": {"metadataType": "MetadataStringValue",
                                  "string_value": "eval-w4a16"},
            "eval_arc_easy_completed_at": {"metadataType": "MetadataStringValue",
                                           "string_value": "2026-11-20T09:53:00.250Z"},
            "eval_gsm8k_exact_match,flexible-extract": {"metadataType": "MetadataDoubleValue",
                                                        "double_value": 0.86},
            "eval_gsm8k_exact_match_stderr,flexible-extract": {
                "metadataType": "MetadataDoubleValue", "double_value": 0.0349},
            "eval_gsm8k_n": {"metadataType": "MetadataIntValue", "int_value": "100"},
            "eval_gsm8k_limit": {"metadataType": "MetadataDoubleValue", "double_value": 0.1},
            "eval_gsm8k_job": {"metadataType": "MetadataStringValue",
                               "string_value": "eval-w4a16"},
            "eval_gsm8k_completed_at": {"metadataType": "MetadataStringValue",
                                        "string_value": "2026-11-20T09:53:00.250Z"},
            "eval_provenance": {"metadataType": "MetadataStringValue", "string_value":
                                f"evalkit {evalkit.__version__}; "
                                "lm-eval results of LMEvalJob(s) eval-w4a16; source: snap"},
        }
        (patch,) = patches(mr)
        assert set(patch.body) == {"customProperties"}  # nothing but the map
        # the same scores again: the merged map equals the stored one, so NO PATCH
        mr.clear_requests()
        again = publish_scores(mr.url, scores(), token=TOKEN, source="snap")
        assert patches(mr) == [] and not again.versions["patched"].any()
        assert set(again.plan["action"]) == {"unchanged"}
        assert raw_map(mr, vid) == after


def test_dry_run_plans_and_writes_nothing() -> None:
    with ModelRegistryServer() as mr:
        seeded = mr.add_model("m", versions={"1.0": {"eval_arc_easy_acc_norm,none": 0.5,
                                                     "keep": "me"}})
        res = publish_scores(mr.url, scores("m"), dry_run=True)
        assert patches(mr) == [] and raw_map(mr, seeded.versions["1.0"])["keep"]
        actions = dict(zip(res.plan["property"], res.plan["action"], strict=True))
        assert actions["eval_arc_easy_acc_norm,none"] == "update"
        assert actions["eval_gsm8k_n"] == "add"
        text = res.table()
        assert "DRY RUN, nothing written" in text and "would PATCH" in text
        assert "eval_arc_easy_acc_norm,none" in text and "0.7912" in text


def test_named_and_latest_versions_and_unknown_targets() -> None:
    with ModelRegistryServer() as mr:
        seeded = mr.add_model("reg", versions={"1.0": {}, "2.0": {}})
        publish_scores(mr.url, scores("served"), versions={"served": "reg:1.0"})
        assert "eval_gsm8k_n" in raw_map(mr, seeded.versions["1.0"])
        assert raw_map(mr, seeded.versions["2.0"]) == {}
        publish_scores(mr.url, scores("served"), versions={"served": ("reg", None)})
        assert "eval_gsm8k_n" in raw_map(mr, seeded.versions["2.0"])  # latest
        mr.clear_requests()
        with pytest.raises(NotFoundError) as info:
            publish_scores(mr.url, scores("served"), versions={"served": "reg:9.9"})
        assert "no version '9.9'" in str(info.value) and "Nothing was written" in str(info.value)
        with pytest.raises(NotFoundError, match="no registered model 'served'"):
            publish_scores(mr.url, scores("served"))
        assert patches(mr) == []
        with pytest.raises(InputError, match="REGISTERED"):
            publish_scores(mr.url, scores("served"), versions={"served": 3})
        with pytest.raises(InputError, match="both map to"):
            publish_scores(mr.url, pd.concat([scores("a"), scores("b")]),
                           versions={"a": "reg:1.0", "b": "reg:1.0"})


def test_values_that_cannot_be_sent_are_data_issues() -> None:
    with ModelRegistryServer() as mr:
        seeded = mr.add_model("m", versions={"1.0": {}})
        s = scores("m")
        s.loc[1, "value"] = np.inf
        s.loc[2, "stderr"] = np.nan
        res = publish_scores(mr.url, s)
        got = raw_map(mr, seeded.versions["1.0"])
        assert "eval_arc_easy_acc_norm,none" not in got
        assert "eval_gsm8k_exact_match_stderr,flexible-extract" not in got
        assert got["eval_gsm8k_exact_match,flexible-extract"]["double_value"] == 0.86
        msgs = res.issues["message"].tolist()
        assert any("score inf is not finite" in m for m in msgs)
        assert any("no finite stderr" in m for m in msgs)
    assert V.encode(np.int64(5)) == {"metadataType": "MetadataIntValue", "int_value": "5"}
    assert V.encode(np.bool_(True))["bool_value"] is True
    with pytest.raises(ValueError, match="32-bit"):
        V.encode(12345678901)


def test_a_proto_value_makes_the_version_untouchable() -> None:
    proto = {"metadataType": "MetadataProtoValue", "type": "t", "proto_value": "AAE="}
    with ModelRegistryServer() as mr:
        a = mr.add_model("m", versions={"1.0": {"blob": proto}})
        mr.add_model("other", versions={"1.0": {}})
        res = publish_scores(mr.url, pd.concat([scores("m"), scores("other")]))
        assert [r.path.rsplit("/", 1)[-1] for r in patches(mr)] == [
            str(int(a.versions["1.0"]) + 2)]  # only the other model's version
        assert raw_map(mr, a.versions["1.0"]) == {"blob": proto}
        assert not res.ok and "cannot be written back" in res.issues["message"].iloc[-1]
        assert set(res.plan.loc[res.plan["served_model"] == "m", "action"]) == {"skip"}


@pytest.mark.parametrize("case", ["read-500", "read-401", "read-timeout", "find-403",
                                  "mismatch"])
def test_nothing_is_written_after_a_failed_read(case: str) -> None:
    api = ("v1alpha3",) if case == "mismatch" else ("v1", "v1alpha3")
    with ModelRegistryServer(api=api, token=TOKEN) as mr:
        mr.add_model("a", versions={"1.0": {"k": "v"}})
        mr.add_model("b", versions={"1.0": {"k": "v"}})
        kw: dict[str, Any] = {"token": TOKEN, **FAST}
        if case == "read-500":
            mr.fail_next(500, count=10, path_prefix="/model_versions/4", method="GET")
        elif case == "read-401":
            kw["token"] = "expired-token-marker"
        elif case == "read-timeout":
            mr.slow(1.0, path_prefix="/model_versions/4", method="GET")
            kw["timeout"] = (2.0, 0.2)
        elif case == "find-403":
            mr.fail_next(403, count=10, path_prefix="/registered_model", method="GET")
        else:
            kw["base_path"] = "v1"
        with pytest.raises((HTTPError, AuthError)) as info:
            publish_scores(mr.url, pd.concat([scores("a"), scores("b")]), **kw)
        mr.clear_faults()
        assert patches(mr) == []
        assert "Nothing was written" in str(info.value)
        if case == "mismatch":
            assert "base_path='v1alpha3'" in str(info.value)


def test_a_failed_patch_says_what_was_written() -> None:
    with ModelRegistryServer() as mr:
        mr.add_model("a", versions={"1.0": {}})
        mr.add_model("b", versions={"1.0": {}})
        mr.fail_next(500, path_prefix="/model_versions/4", method="PATCH")
        with pytest.raises(HTTPError) as info:
            publish_scores(mr.url, pd.concat([scores("a"), scores("b")]), **FAST)
        msg = str(info.value)
        assert "PATCHed: a:1.0" in msg and "not written: b:1.0" in msg
        assert "re-running is safe" in msg and "Nothing was written" not in msg
        # re-running repairs: a unchanged (no PATCH), b written
        mr.clear_requests()
        res = publish_scores(mr.url, pd.concat([scores("a"), scores("b")]))
        assert res.versions["patched"].tolist() == [False, True]
        assert len(patches(mr)) == 1


def test_a_concurrent_change_is_merged_not_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    from evalkit.registry import write

    with ModelRegistryServer() as mr:
        seeded = mr.add_model("m", versions={"1.0": {"a": "1"}})
        vid = seeded.versions["1.0"]
        real_plan = write._plan
        calls = []

        def plan_then_someone_writes(t: Any, doc: Any, issues: Any) -> None:
            real_plan(t, doc, issues)
            calls.append(1)
            if len(calls) == 1:  # another writer, after our read, before our PATCH
                requests.patch(f"{mr.api_url()}/model_versions/{vid}", timeout=5, json={
                    "customProperties": {"a": V.encode("1"), "theirs": V.encode(True)}})

        monkeypatch.setattr(write, "_plan", plan_then_someone_writes)
        res = publish_scores(mr.url, scores("m"))
        got = raw_map(mr, vid)
        assert got["theirs"] == {"metadataType": "MetadataBoolValue", "bool_value": True}
        assert "eval_gsm8k_n" in got and got["a"]["string_value"] == "1"
        assert res.versions["merges"].tolist() == [1] and res.ok
        assert len(patches(mr)) == 2  # theirs and ours


def test_a_model_registry_instance_publishes_like_a_url() -> None:
    from types import SimpleNamespace

    with ModelRegistryServer(api=("v1alpha3",), token=TOKEN) as mr:
        seeded = mr.add_model("m", versions={"1.0": {}})
        inst = SimpleNamespace(_api=SimpleNamespace(config=SimpleNamespace(
            host=mr.url, access_token=TOKEN + "\n", ssl_ca_cert=None, verify_ssl=True)))
        res = publish_scores(inst, scores("m"))
        assert res.api == "v1alpha3" and "eval_gsm8k_n" in raw_map(mr, seeded.versions["1.0"])
        assert {r.api for r in mr.requests} == {"v1", "v1alpha3"}  # probed v1 first
        assert patches(mr)[0].path.startswith(f"{API_ROOT}/v1alpha3/")


def test_score_properties_pick_the_latest_run_and_never_the_clock() -> None:
    props, issues = score_properties(scores("m"), prefix="acc_", source="x")["m"]
    assert props["acc_arc_easy_job"]["string_value"] == "eval-w4a16"  # not eval-old
    assert props == score_properties(scores("m"), prefix="acc_", source="x")["m"][0]
    assert issues == []
    with pytest.raises(InputError, match="prefix"):
        score_properties(scores("m"), prefix="a,b")


def test_a_failed_re_read_after_the_patch_does_not_claim_nothing_was_written(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from evalkit.registry.client import RegistryClient

    with ModelRegistryServer() as mr:
        seeded = mr.add_model("a", versions={"1.0": {}})
        real = RegistryClient.patch_version

        def patch_then_fail(self: Any, version_id: str, custom: Any) -> Any:
            out = real(self, version_id, custom)
            mr.fail_next(500, count=10, path_prefix=f"/model_versions/{version_id}")
            return out

        monkeypatch.setattr(RegistryClient, "patch_version", patch_then_fail)
        with pytest.raises(HTTPError) as info:
            publish_scores(mr.url, scores("a"), **FAST)
        mr.clear_faults()
        msg = str(info.value)
        assert "PATCHed: a:1.0" in msg and "not written: none" in msg
        assert "Nothing was written" not in msg
        assert "eval_gsm8k_n" in raw_map(mr, seeded.versions["1.0"])
