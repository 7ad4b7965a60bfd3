"""evalkit and the REAL ``model-registry`` client (0.3.14 on v1alpha3, 0.3.18 on v1) as
neighbours on the loopback registry: each reads the other's writes exactly, and a real
``ModelRegistry`` instance works wherever evalkit takes a URL.

The client runs in its own subprocess (``tests/registry_clients.py``); evalkit, installed in
the test venv, is importable there too, so the instance test runs evalkit INSIDE that
subprocess with the instance the client built, and also hands the instance's attributes back
to this process. Marked ``slow``; without a reachable package index the tests skip locally and
fail under ``CI=true`` (see ``need``).
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from evalkit.core import frames
from evalkit.registry import publish_scores, read_versions
from evalkit.registry import values as V
from tests.registry_clients import client_api, run_client
from tests.servers.model_registry import ModelRegistryServer
from tests.test_registry_clients import need

pytestmark = pytest.mark.slow

VERSIONS = ["0.3.14", "0.3.18"]
TOKEN = "mr-interop-test-token"  # marker, not a real token
#: what the client writes (plain Python values) and the typed value evalkit must read
CLIENT_WRITES = {"quantization": ("w4a16", "string"), "gpu_requirement": (2, "int"),
                 "model_size_gb": (13.9, "double"), "validated": (True, "bool"),
                 "eval_arc_easy_acc_norm,none": (0.7912, "double"), "notes": ("", "string"),
                 "max_model_len": (999_999_999, "int")}
SCORES = [{"model": "served", "job": "eval-w4a16", "task": "gsm8k", "metric": "exact_match",
           "filter": "flexible-extract", "value": 1 / 3, "stderr": 0.0349, "n": 1319,
           "limit": 0.1, "completed_at": "2026-11-20T09:53:00Z"}]


def server(version: str) -> ModelRegistryServer:
    api = client_api(version)
    return ModelRegistryServer(api=("v1alpha3",) if api == "v1alpha3" else ("v1", "v1alpha3"),
                               token=TOKEN)


def ok(step: dict[str, Any]) -> Any:
    assert step["ok"], step
    return step["value"]


@pytest.mark.parametrize("version", VERSIONS)
def test_each_reads_the_others_writes_exactly(version: str) -> None:
    need(version)
    metadata = {k: v for k, (v, _) in CLIENT_WRITES.items()}
    metadata["np_int"] = {"__numpy__": "int64", "value": 5}  # the client makes these doubles
    with server(version) as mr:
        out = run_client(version, mr.url, [
            {"op": "connect"},
            {"op": "register_model", "name": "granite", "uri": "oci://quay.example/granite:1",
             "version": "1.0", "model_format_name": "vLLM", "model_format_version": "1",
             "metadata": metadata},
            {"op": "get_model_version", "name": "granite", "version": "1.0"}], token=TOKEN)
        client_view = ok(out["steps"][2])["data"]["custom_properties"]
        # 1. what the client wrote, evalkit reads exactly (value AND type)
        res = read_versions(mr.url, token=TOKEN)
        got = {r.property: (r.value, r.type) for r in res.properties.itertuples()}
        assert got == {**CLIENT_WRITES, "np_int": (5.0, "double")}
        assert {k: v for k, (v, _) in got.items()} == client_view
        assert res.api == client_api(version)
        assert res.artifacts.loc[0, "uri"] == "oci://quay.example/granite:1"
        before = mr.get("model_version", res.versions.loc[0, "version_id"])["customProperties"]
        # 2. what evalkit writes, the client reads exactly; the client's own keys untouched
        pub = publish_scores(mr.url, frames.conform("scores", SCORES), token=TOKEN,
                             versions={"served": "granite:1.0"})
        assert pub.ok and pub.versions["patched"].tolist() == [True]
        stored = mr.get("model_version", res.versions.loc[0, "version_id"])["customProperties"]
        assert all(stored[k] == before[k] for k in before)
        out = run_client(version, mr.url, [
            {"op": "connect"},
            {"op": "get_model_version", "name": "granite", "version": "1.0"},
            {"op": "update_version", "name": "granite", "version": "1.0",
             "set": {"description": "touched by the client"}}], token=TOKEN)
        view = ok(out["steps"][1])
        ours = {k: v for k, v in stored.items() if k.startswith("eval_") and k not in before}
        assert len(ours) == 7
        for key, typed in ours.items():
            kind, value, _ = V.decode(typed)
            assert view["data"]["custom_properties"][key] == value, key
            assert type(value).__name__ == view["custom_property_types"][key], key
        assert view["data"]["custom_properties"]["eval_gsm8k_exact_match,flexible-extract"] == (
            1 / 3)
        # 3. the client's update() re-sends the whole map: evalkit's values survive it exactly
        ok(out["steps"][2])
        after = mr.get("model_version", res.versions.loc[0, "version_id"])["customProperties"]
        assert {k: after[k] for k in ours} == ours


@pytest.mark.parametrize("version", VERSIONS)
def test_a_real_model_registry_instance_works_where_a_url_does(version: str) -> None:
    need(version)
    code = f"""
from evalkit.core import frames
from evalkit.registry import publish_scores, read_versions
res = read_versions(mr)
pub = publish_scores(mr, frames.conform("scores", {SCORES!r}), versions={{"served": "granite"}})
c = mr._api.config
result = {{"api": res.api, "props": res.properties[["property", "type"]].values.tolist(),
          "patched": pub.versions["patched"].tolist(), "host": c.host,
          "token": c.access_token, "ca": c.ssl_ca_cert, "verify": c.verify_ssl}}
"""
    with server(version) as mr:
        mr.add_model("granite", versions={"1.0": {"quantization": "w4a16"}})
        out = run_client(version, mr.url, [{"op": "connect"}, {"op": "exec", "code": code}],
                         token=TOKEN)
        got = ok(out["steps"][1])
        assert got["api"] == client_api(version) and got["patched"] == [True]
        assert got["props"] == [["quantization", "string"]]
        patch = mr.requests_matching("PATCH")
        assert len(patch) == 1 and patch[0].headers["Authorization"] == f"Bearer {TOKEN}"
        # the instance's attributes, handed back: the same read from this process
        inst = SimpleNamespace(_api=SimpleNamespace(config=SimpleNamespace(
            host=got["host"], access_token=got["token"], ssl_ca_cert=got["ca"],
            verify_ssl=got["verify"])))
        res = read_versions(inst)
        assert res.properties["property"].tolist() == sorted(
            ["quantization", "eval_gsm8k_exact_match,flexible-extract",
             "eval_gsm8k_exact_match_stderr,flexible-extract", "eval_gsm8k_n",
             "eval_gsm8k_limit", "eval_gsm8k_job", "eval_gsm8k_completed_at",
             "eval_provenance"])
        assert json.loads(res.properties.set_index("property").loc["eval_gsm8k_n", "raw"]) == {
            "metadataType": "MetadataIntValue", "int_value": "1319"}
