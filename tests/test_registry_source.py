"""The registry as a Source: ``evalkit pull --registry`` → snapshot → ``evalkit.load`` gives the
same RegistryResult as a live read; the bundled demo snapshot carries the two demo models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import evalkit as ek
from evalkit.cli import main
from evalkit.collect import pull
from evalkit.core.errors import ConfigError, InputError
from evalkit.core.http import RetryPolicy
from evalkit.core.snapshot import SnapshotWriter, open_snapshot
from evalkit.registry import RegistryResult, RegistrySource, map_models, read_versions
from tests.servers import KubeAPIServer, make_lmevaljob
from tests.servers.model_registry import ModelRegistryServer

NS = "private-ai-demo"
TOKEN = "mr-source-test-token"  # marker, not a real token


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    for var in ("EVALKIT_CA_BUNDLE", "EVALKIT_REGISTRY_URL", "EVALKIT_REGISTRY_TOKEN",
                "EVALKIT_REGISTRY_TOKEN_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("evalkit.core.auth.SERVICE_ACCOUNT_DIR", tmp_path / "no-sa")


@pytest.fixture()
def kube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    jobs = [make_lmevaljob("eval-w4a16", namespace=NS, model="granite-w4a16",
                           tasks=["arc_easy"])]
    with KubeAPIServer({NS: jobs}) as server:
        monkeypatch.setenv("KUBECONFIG", str(server.write_kubeconfig(tmp_path / "kc")))
        yield server


def seed(mr: ModelRegistryServer) -> None:
    mr.add_model("granite-w4a16", versions={
        "1.0": {"quantization": "w4a16", "gpu_requirement": 1, "card": {"a": [1, 2]},
                "validated": True, "eval_arc_easy_acc,none": 0.71},
        "2.0": {"quantization": "w4a16", "gpu_requirement": 2}})
    mr.add_model("granite-fp16", versions={"1.0": {"quantization": "fp16",
                                                   "gpu_requirement": 4}})


def cli(*args: str) -> int:
    """``evalkit ARGS`` in this process; argparse's usage errors exit 2 by SystemExit."""
    try:
        return main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)


def same(a: RegistryResult, b: RegistryResult) -> None:
    for name in ("properties", "versions", "artifacts", "models", "issues"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert (a.url, a.api, a.base_path) == (b.url, b.api, b.base_path)


@pytest.mark.parametrize("api", [("v1", "v1alpha3"), ("v1alpha3",)])
def test_pull_then_load_equals_a_live_read(api, kube, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("evalkit.registry.client.PAGE_SIZE", 1)  # several pages of each list
    with ModelRegistryServer(api=api, token=TOKEN) as mr:
        seed(mr)
        live = read_versions(mr.url, token=TOKEN)
        snap = pull(tmp_path / "snap", namespace=NS, registry=mr.url, registry_token=TOKEN)
    bundle = ek.load(snap)
    assert isinstance(bundle.registry, RegistryResult)
    same(bundle.registry, live)
    entry = open_snapshot(snap).manifest["sources"]["registry"]
    assert entry["api"] == api[0] and entry["mapping"] == {}
    assert len(entry["answers"]) == len(list((snap / "registry").rglob("*.json")))
    assert TOKEN not in json.dumps(entry)
    # the raw bodies, untouched: what the server answered for the first version page
    first = next(e for e in entry["answers"] if e["kind"] == "versions")
    assert json.loads((snap / first["path"]).read_text())["items"][0]["name"] == "1.0"
    assert map_models(["granite-w4a16"], bundle.registry).target("granite-w4a16") == (
        "granite-w4a16", "2.0")


def test_cli_pull_with_a_mapping_and_a_deprecated_api(kube, tmp_path: Path, capsys) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    with ModelRegistryServer(token=TOKEN) as mr:
        seed(mr)
        code = cli("pull", "--namespace", NS, "--out", str(tmp_path / "snap"),
                   "--registry", f"{mr.url}/api/model_registry/v1alpha3",
                   "--registry-token-file", str(token_file),
                   "--registry-model", "granite-w4a16=granite-w4a16:1.0")
        err = capsys.readouterr().err
        assert code == 0, err
        assert "warning:" in err and "Sunset: Fri, 31 Dec 2027" in err and TOKEN not in err
        # only the mapped registered model was read
        assert {r.query.get("name") for r in mr.requests_matching("GET", "/registered_model")
                if r.path.endswith("/registered_model")} == {"granite-w4a16"}
        with pytest.warns(Warning, match="Sunset"):
            live = read_versions(f"{mr.url}/api/model_registry/v1alpha3",
                                 models=["granite-w4a16"], token=TOKEN)
    reg = ek.load(tmp_path / "snap").registry
    live.mapping = {"granite-w4a16": ("granite-w4a16", "1.0")}
    same(reg, live)
    assert reg.mapping == live.mapping
    assert "Sunset" in reg.issues["message"].iloc[0]  # the deprecation survives the snapshot
    assert map_models(["granite-w4a16"], reg).target("granite-w4a16") == ("granite-w4a16",
                                                                         "1.0")


def test_flags_are_checked_before_any_call(kube, tmp_path: Path, capsys) -> None:
    with ModelRegistryServer() as mr:
        assert cli("pull", "--namespace", NS, "--out", str(tmp_path / "s"),
                   "--registry-model", "x") == 2  # argparse: NAME=REGISTERED expected
        assert "NAME=REGISTERED" in capsys.readouterr().err
        assert cli("pull", "--namespace", NS, "--out", str(tmp_path / "s"),
                   "--registry-model", "x=y") == 2
        assert "needs --registry" in capsys.readouterr().err
        assert cli("pull", "--namespace", NS, "--out", str(tmp_path / "s"), "--registry",
                   "ftp://x") == 2
        assert mr.requests == [] and kube.requests_seen == []
    with pytest.raises(ConfigError):
        RegistrySource(None)
    with pytest.raises(InputError, match="INSIDE"):
        RegistrySource("http://x", filter_query="`a`.int_value = 1")


def test_demo_snapshot_holds_both_models_and_a_changed_file_is_flagged(tmp_path: Path) -> None:
    reg = ek.load().registry
    w = ek.registry.wide(reg).set_index("registered_model")
    assert w.loc["mistral-24b", "gpu_requirement"] == 4
    assert w.loc["mistral-24b-quantized", "quantization"] == "w4a16"
    build = ["base_model", "quantization", "gpu_requirement", "accelerator", "runtime_image",
             "format", "deployment_type", "model_size_gb", "max_model_len",
             "tensor_parallel_size", "validated", "build_info", "source_uri"]
    per = reg.properties[reg.properties["property"].isin(build)]
    assert per.groupby("version_id").size().tolist() == [13, 13]
    assert set(per["type"]) == {"string", "int", "double", "bool", "struct"}
    assert reg.n_issues == 0 and reg.artifacts["uri"].str.len().gt(0).all()
    copy = tmp_path / "demo"
    shutil.copytree(ek.demo_path(), copy)
    page = copy / "registry" / "registered_models" / "3" / "versions" / "page-0001.json"
    page.write_text(page.read_text().replace("w4a16", "w8a8"))
    bundle = ek.load(copy)
    assert "MODIFIED" in " ".join(bundle.issues["message"])
    assert bundle.registry.versions["version"].tolist() == ["1.0", "1.0"]


def test_check_and_describe(tmp_path: Path) -> None:
    with ModelRegistryServer(api=("v1alpha3",)) as mr:
        (ok,) = RegistrySource(mr.url).check()
        assert ok.ok and "v1alpha3 answered" in ok.message
    (bad,) = RegistrySource(mr.url, retry=RetryPolicy(attempts=1)).check()  # server gone
    assert not bad.ok and "Nothing was written" in bad.message
    with SnapshotWriter(tmp_path / "s") as w:
        w.write_json("lmevaljobs.json", {"items": []})
    assert RegistrySource.load(open_snapshot(tmp_path / "s")) is None
