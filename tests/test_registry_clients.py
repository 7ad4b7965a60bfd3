"""The REAL ``model-registry`` PyPI client (0.3.14 calls v1alpha3, 0.3.18 calls v1) against the
loopback Model Registry server: what each release sends and what it makes of the answers.

Each release is pip-installed once into ``.cache/registry-clients/<version>`` and driven in a
subprocess (``tests/registry_clients.py``). Marked ``slow``. Without a reachable package index
the tests skip locally and fail under ``CI=true``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.conftest import IN_CI
from tests.registry_clients import (
    ClientInstallError,
    InstalledClient,
    check_dependencies,
    client_api,
    ensure_client,
    import_seconds,
    run_client,
)
from tests.servers.model_registry import API_ROOT, ModelRegistryServer, RegistryRequest

pytestmark = pytest.mark.slow

VERSIONS = ["0.3.14", "0.3.18"]
TOKEN = "mr-client-test-token"  # marker, not a real token
AUTHOR = "evalkit-test"


def need(version: str) -> InstalledClient:
    """The installed release; skip (locally, index unreachable) or fail (CI, any error)."""
    try:
        return ensure_client(version)
    except ClientInstallError as exc:
        if IN_CI or not exc.network:
            pytest.fail(f"cannot install model-registry=={version}: {exc}")
        pytest.skip(f"model-registry=={version} not installable here (package index "
                    f"unreachable): {str(exc)[:300]}")


def typed(kind: str, value: Any) -> dict[str, Any]:
    """A typed value as the client writes it (value key first, as pydantic dumps it)."""
    key = {"String": "string_value", "Double": "double_value", "Int": "int_value",
           "Bool": "bool_value"}[kind]
    return {key: value, "metadataType": f"Metadata{kind}Value"}


def bodies(server: ModelRegistryServer, method: str, path_end: str) -> list[Any]:
    """Bodies of the logged requests with that method whose path ends with ``path_end``."""
    return [r.body for r in server.requests_matching(method) if r.path.endswith(path_end)]


def ok(step: dict[str, Any]) -> Any:
    assert step["ok"], step
    return step["value"]


def failed(step: dict[str, Any], error: str) -> str:
    assert not step["ok"] and step["error"] == error, step
    return step["message"]


@pytest.fixture(scope="module")
def openapi() -> Any:
    try:
        from openapi_core import OpenAPI
    except ImportError:
        if IN_CI:
            pytest.fail("openapi-core is not installed: pip install -e '.[test]'")
        pytest.skip("openapi-core is not installed (pip install -e '.[test]')")
    from tests.test_registry_server import SPEC_PATH

    return OpenAPI.from_file_path(str(SPEC_PATH))


def validate_request(openapi: Any, req: RegistryRequest) -> None:
    """What the client sent, validated against the spec (v1 mapped onto v1alpha3)."""
    from openapi_core.testing import MockRequest

    path = req.path.replace(f"{API_ROOT}/v1/", f"{API_ROOT}/v1alpha3/", 1)
    data = None if req.body is None else json.dumps(req.body).encode()
    openapi.validate_request(MockRequest("http://localhost:8080", req.method.lower(), path,
                                         args=req.query, headers=req.headers, data=data))


# ------------------------------------------------------------------------------ constructor


def test_0_3_18_constructor_needs_v1(tmp_path: Any) -> None:
    need("0.3.18")
    with ModelRegistryServer() as both, ModelRegistryServer(api=("v1alpha3",)) as legacy, \
            ModelRegistryServer() as failing:
        failing.fail_next(500, count=5)
        out = run_client("0.3.18", both.url, [{"op": "connect"},
                                              {"op": "connect", "url": legacy.url},
                                              {"op": "connect", "url": failing.url}])
        assert ok(out["steps"][0])["host"] == both.url
        # the constructor probes GET /v1/registered_models?pageSize=1&sortOrder=ASC
        assert [(r.method, r.path, r.query) for r in both.requests] == [
            ("GET", f"{API_ROOT}/v1/registered_models", {"pageSize": "1", "sortOrder": "ASC"})]
        # ...and raises the generated client's NotFoundException on a v1alpha3-only server
        msg = failed(out["steps"][1], "NotFoundException")
        assert out["steps"][1]["module"] == "mr_openapi.exceptions"
        assert msg.startswith("(404)\nReason: Not Found") and "404 page not found" in msg
        assert [r.path for r in legacy.requests] == [f"{API_ROOT}/v1/registered_models"]
        # no retry, no fallback: one 500 is one ServiceException
        failed(out["steps"][2], "ServiceException")
        assert len(failing.requests) == 1
        # the constructor's own warnings when given http:// and no token
        assert "User access token is missing" in out["stderr"]
        assert "port is not 80" in out["stderr"]


def test_0_3_14_constructor_needs_v1alpha3() -> None:
    need("0.3.14")
    with ModelRegistryServer() as both, ModelRegistryServer(api=("v1alpha3",)) as legacy, \
            ModelRegistryServer(api=("v1",)) as newest:
        out = run_client("0.3.14", both.url, [{"op": "connect"},
                                              {"op": "get_registered_models"},
                                              {"op": "connect", "url": legacy.url},
                                              {"op": "connect", "url": newest.url}])
        ok(out["steps"][0])
        ok(out["steps"][1])
        assert {r.path.split("/")[3] for r in both.requests} == {"v1alpha3"}
        # Deprecation/Sunset/Link headers are ignored without a word
        assert all("Deprecation" not in r.headers for r in both.requests)
        assert "sunset" not in out["stderr"].lower() and "deprecat" not in out["stderr"].lower()
        ok(out["steps"][2])
        msg = failed(out["steps"][3], "NotFoundException")
        assert "404 page not found" in msg
        assert [r.path for r in newest.requests] == [f"{API_ROOT}/v1alpha3/registered_models"]


# ------------------------------------------------------------------------------ register, update


@pytest.mark.parametrize("version", VERSIONS)
def test_register_read_and_update(version: str, openapi: Any) -> None:
    need(version)
    api = client_api(version)
    metadata = {"quantization": "w4a16", "eval_gsm8k": 0.71, "gpu_requirement": 2,
                "validated": True}
    with ModelRegistryServer(token=TOKEN) as mr:
        mr.add_model("other-1")
        mr.add_model("other-2")
        out = run_client(version, mr.url, [
            {"op": "connect"},
            {"op": "register_model", "name": "granite", "uri": "oci://quay.example/granite:1",
             "version": "1.0", "model_format_name": "vLLM", "model_format_version": "1",
             "version_description": "w4a16 build", "metadata": metadata},
            {"op": "get_model_version", "name": "granite", "version": "1.0"},
            {"op": "get_model_artifact", "name": "granite", "version": "1.0"},
            {"op": "update_version", "name": "granite", "version": "1.0",
             "set": {"custom_properties": {**metadata, "eval_gsm8k": 0.73, "eval_arc": 0.8}}},
            {"op": "get_registered_models"},
            {"op": "exec", "code": "result = [m.name for m in "
                                   "mr.get_registered_models().page_size(2)]"},
        ], token=TOKEN)
        steps = out["steps"]
        assert out["version"] == version
        rm = ok(steps[1])["data"]
        assert (rm["name"], rm["owner"], rm["description"]) == ("granite", AUTHOR, None)
        mv = ok(steps[2])
        assert mv["data"]["custom_properties"] == metadata
        assert mv["custom_property_types"] == {"quantization": "str", "eval_gsm8k": "float",
                                               "gpu_requirement": "int", "validated": "bool"}
        assert ok(steps[3])["data"]["uri"] == "oci://quay.example/granite:1"
        updated = ok(steps[4])["data"]
        assert updated["custom_properties"]["eval_gsm8k"] == 0.73
        assert int(updated["last_update_time_since_epoch"]) > int(
            mv["data"]["last_update_time_since_epoch"])
        assert [m["data"]["name"] for m in ok(steps[5])] == ["other-1", "other-2", "granite"]
        assert ok(steps[6]) == ["other-1", "other-2", "granite"]

        reqs = mr.requests
        assert {r.api for r in reqs} == {api}
        assert {r.headers.get("Authorization") for r in reqs} == {f"Bearer {TOKEN}"}
        rm_id, mv_id = rm["id"], mv["data"]["id"]
        # register_model: find, create model (its description is not sent), find, create
        # version, upsert artifact
        assert [(r.method, r.path.split(f"/{api}/")[1], r.status) for r in reqs[1:6]] == [
            ("GET", "registered_model", 404), ("POST", "registered_models", 201),
            ("GET", "model_version", 404), ("POST", "model_versions", 201),
            ("POST", f"model_versions/{mv_id}/artifacts", 201)]
        assert reqs[2].body == {"name": "granite", "owner": AUTHOR, "state": "LIVE"}
        assert reqs[3].query == {"name": "1.0", "parentResourceId": rm_id}
        typed_metadata = {"quantization": typed("String", "w4a16"),
                          "eval_gsm8k": typed("Double", 0.71),
                          "gpu_requirement": typed("Int", "2"),
                          "validated": typed("Bool", True)}
        assert reqs[4].body == {"customProperties": typed_metadata, "description": "w4a16 build",
                                "name": "1.0", "state": "LIVE", "author": AUTHOR,
                                "registeredModelId": rm_id}
        assert reqs[5].body == {"name": "granite", "artifactType": "model-artifact",
                                "modelFormatName": "vLLM", "modelFormatVersion": "1",
                                "uri": "oci://quay.example/granite:1", "state": "UNKNOWN"}
        # update(): the WHOLE typed map plus the fields it read back (a lost-update window)
        (patch,) = mr.requests_matching("PATCH")
        assert patch.path == f"{API_ROOT}/{api}/model_versions/{mv_id}"
        assert patch.body == {
            "customProperties": {**typed_metadata, "eval_gsm8k": typed("Double", 0.73),
                                 "eval_arc": typed("Double", 0.8)},
            "description": "w4a16 build", "state": "LIVE", "author": AUTHOR}
        # the pager always asks once more with nextPageToken="" and so re-reads page 1
        lists = [r.query for r in mr.requests_matching("GET", "/registered_models")][1:]
        assert lists[:2] == [{"sortOrder": "ASC"}, {"sortOrder": "ASC", "nextPageToken": ""}]
        paged = lists[2:]
        assert [q.get("nextPageToken") for q in paged] == [None, paged[1]["nextPageToken"], ""]
        assert paged[1]["nextPageToken"] and paged[0]["pageSize"] == "2"
        for req in reqs:  # what the client sends is valid per the spec, except that...
            if req.query.get("nextPageToken") == "":  # ...an empty query value is not (3.0)
                with pytest.raises(Exception, match="nextPageToken"):
                    validate_request(openapi, req)
            else:
                validate_request(openapi, req)


# ------------------------------------------------------------------------------ value types


@pytest.mark.parametrize("version", VERSIONS)
def test_custom_property_types_and_limits(version: str) -> None:
    need(version)
    card = {"languages": ["en", "es"]}
    with ModelRegistryServer() as mr, ModelRegistryServer(struct_readback="json") as newer:
        seeded = mr.add_model("seeded", versions={
            "1.0": {"card": card, "gpus": 2,
                    "proto": {"metadataType": "MetadataProtoValue", "type": "t",
                              "proto_value": "AAE="}},
            "big": {"big": {"metadataType": "MetadataIntValue", "int_value": "1234567890"}},
            "plain": {"a": 1, "b": "x"}})
        newer.add_model("seeded", versions={"1.0": {"card": card}})
        np_meta = {"f32": {"__numpy__": "float32", "value": 0.5},
                   "i64": {"__numpy__": "int64", "value": 5},
                   "flag": {"__numpy__": "bool_", "value": True}}
        reg = {"uri": "s3://b/new", "model_format_name": "vLLM", "model_format_version": "1"}
        out = run_client(version, mr.url, [
            {"op": "connect"},
            {"op": "get_model_version", "name": "seeded", "version": "1.0"},
            {"op": "update_version", "name": "seeded", "version": "1.0",
             "set": {"description": "touched"}},
            {"op": "get_model_version", "name": "seeded", "version": "big"},
            {"op": "get_model_versions", "name": "seeded"},
            {"op": "register_model", "name": "new", "version": "1",
             "metadata": {"big": 12345678901}, **reg},
            {"op": "register_model", "name": "new", "version": "2", "metadata": np_meta, **reg},
            {"op": "register_model", "name": "new", "version": "3",
             "metadata": {"bad": float("nan")}, **reg},
            {"op": "register_model", "name": "new", "version": "4",
             "metadata": {"nested": {"x": 1}}, **reg},
            {"op": "update_version", "name": "seeded", "version": "plain",
             "set": {"custom_properties": {}}},
            {"op": "update_version", "name": "seeded", "version": "plain",
             "set": {"custom_properties": {"a": None, "b": "y"}}},
            {"op": "connect", "url": newer.url},
            {"op": "get_model_version", "name": "seeded", "version": "1.0"},
        ])
        steps = out["steps"]
        got = ok(steps[1])
        # struct and proto values come back as their base64 text, typed as str
        b64_card = base64.b64encode(json.dumps(card, separators=(",", ":")).encode()).decode()
        assert got["data"]["custom_properties"] == {"card": b64_card, "gpus": 2,
                                                    "proto": "AAE="}
        assert got["custom_property_types"] == {"card": "str", "gpus": "int", "proto": "str"}
        # ...and an unrelated update writes them back as strings (struct/proto type lost)
        touched = bodies(mr, "PATCH", f"/model_versions/{seeded.versions['1.0']}")[0]
        assert touched["customProperties"] == {"card": typed("String", b64_card),
                                               "gpus": typed("Int", "2"),
                                               "proto": typed("String", "AAE=")}
        stored = mr.get("model_version", seeded.versions["1.0"])["customProperties"]
        assert stored["card"]["metadataType"] == "MetadataStringValue"

        # a 10-digit int the server accepts (int32) cannot be read back: the generated model
        # enforces the spec's 9-digit pattern, and one such value breaks the whole listing
        assert "must validate the regular expression" in failed(steps[3], "ValidationError")
        failed(steps[4], "ValidationError")
        # nor written: refused client-side AFTER the registered model was created
        assert "12345678901" in failed(steps[5], "ValidationError")
        posted = bodies(mr, "POST", "/model_versions")
        assert len(posted) == 2  # versions "2" and "3": none for "1", "4" fails locally
        assert [b["name"] for b in bodies(mr, "POST", "/registered_models")] == ["new"]
        # numpy scalars do not fail: pydantic coerces them, int64 and bool_ into DOUBLES
        ok(steps[6])
        assert posted[0]["customProperties"] == {"f32": typed("Double", 0.5),
                                                 "i64": typed("Double", 5.0),
                                                 "flag": typed("Double", 1.0)}
        # NaN is sent as a bare NaN token (invalid JSON): the server answers 400
        nan = failed(steps[7], "BadRequestException")
        assert "invalid character 'N'" in nan
        assert isinstance(posted[1], str) and '"double_value": NaN' in posted[1]
        assert [r.status for r in mr.requests_matching("POST")
                if r.path.endswith("/model_versions")] == [201, 400]
        # nested dicts are not a supported type
        assert "custom_properties.nested" in failed(steps[8], "ValidationError")

        # custom_properties = {} sends no map (keeps everything); a None value deletes the key
        plain = bodies(mr, "PATCH", f"/model_versions/{seeded.versions['plain']}")
        assert plain[0] == {"state": "LIVE", "author": AUTHOR}
        assert plain[1] == {"customProperties": {"b": typed("String", "y")},
                            "state": "LIVE", "author": AUTHOR}
        assert ok(steps[10])["data"]["custom_properties"] == {"b": "y"}

        # servers on the embedded DB answer the struct's raw JSON: still a str to the client
        assert ok(steps[12])["data"]["custom_properties"] == {"card": '{"languages":["en","es"]}'}


# ------------------------------------------------------------------------------ costs


@pytest.mark.parametrize("version", VERSIONS)
def test_install_import_and_dependency_costs(version: str,
                                             record_property: Any) -> None:
    installed = need(version)
    assert (installed.path / "model_registry").is_dir()
    assert installed.size_bytes < 150 * 2**20, installed.size_bytes
    times = import_seconds(version, runs=2)
    record_property("install_seconds", round(installed.install_seconds, 2))
    record_property("size_mib", round(installed.size_bytes / 2**20, 1))
    record_property("import_seconds", [round(t, 2) for t in times])
    assert min(times) < 15
    # the client pins python-dateutil<3 while kubernetes wants >=3 (and other packages of the
    # test venv pin their own): it runs from its own directory, never inside evalkit's
    # environment. The conflicts are recorded, not asserted: they depend on the venv.
    record_property("dependency_conflicts", check_dependencies(version))
    with ModelRegistryServer() as mr:
        out = run_client(version, mr.url, [{"op": "connect"}])
        ok(out["steps"][0])
        assert out["root_handlers_added"] == 1  # logging.basicConfig at import time


def test_unreachable_index_is_told_apart(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the skip-or-fail decision of :func:`need` rests on."""
    for var in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing listens there
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    with pytest.raises(ClientInstallError) as info:
        ensure_client("0.3.18", cache_root=tmp_path)
    assert info.value.network, info.value.output
    assert not (tmp_path / "0.3.18").exists()  # nothing half-installed left behind
    with pytest.raises(ValueError, match="unknown client release"):
        ensure_client("0.0.1", cache_root=tmp_path)
