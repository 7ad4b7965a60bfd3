"""Every source at once: a snapshot made by `evalkit pull` from the loopback test servers (the
Kubernetes API with the demo's LMEvalJobs, a real Prometheus, the Model Registry) and GuideLLM
report files rebuilds offline (`evalkit analyze --source`) into the same summary as the live
run — and no token reaches the snapshot, the output or the terminal."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import evalkit as ek
from evalkit.bundle import Bundle
from evalkit.core import frames
from evalkit.core.timeutil import iso_ms, to_ms
from evalkit.guidellm import load_guidellm
from evalkit.present.summary_json import to_summary
from evalkit.prometheus import ServingData
from evalkit.registry import read_versions
from tests.servers import KubeAPIServer
from tests.servers.model_registry import ModelRegistryServer

pytestmark = pytest.mark.slow
NS = "private-ai-demo"
MARKER = "evalkit-marker-token-3b8e51f4c6"
BASELINE, CANDIDATE = "mistral-24b", "mistral-24b-quantized"
GUIDELLM_DATA = Path(__file__).parent / "data" / "guidellm"
#: registry facts per served model: the accelerator names are aliases of DEFAULT_PRICES keys
REGISTERED = {
    BASELINE: {"quantization": "fp16", "gpu_requirement": 4,
               "accelerator": "NVIDIA-A100-SXM4-80GB", "base_model": "mistralai/Mistral-Small-24B"},
    CANDIDATE: {"quantization": "w4a16", "gpu_requirement": 1, "accelerator": "A100-80GB",
                "base_model": "mistralai/Mistral-Small-24B"},
}


def _cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evalkit.cli", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=240)


def _rename(doc: Any, old: str, new: str) -> Any:
    """``doc`` with every string equal to ``old`` replaced by ``new`` (the backend model name
    GuideLLM writes in each benchmark's config, and in the report's args)."""
    if isinstance(doc, dict):
        return {k: _rename(v, old, new) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_rename(v, old, new) for v in doc]
    return new if doc == old else doc


def _set_api_key(doc: Any, key: str) -> int:
    """Put ``key`` in every backend's ``api_key`` (GuideLLM ≤0.7 wrote it unmasked); count."""
    n = 0
    if isinstance(doc, dict):
        if "api_key" in doc and isinstance(doc.get("model"), str):
            doc["api_key"] = key
            n += 1
        n += sum(_set_api_key(v, key) for v in doc.values())
    elif isinstance(doc, list):
        n += sum(_set_api_key(v, key) for v in doc)
    return n


@pytest.fixture()
def guidellm_reports(tmp_path: Path) -> Path:
    """A folder of two GuideLLM reports, one per served model: report-v0.3.json names
    ``mistral-24b`` already; report-v0.8.json names ``granite-3.1-8b-w4a16``, so its copy is
    renamed to the candidate — and carries the token as an unmasked backend ``api_key``, which
    the pull must redact."""
    folder = tmp_path / "guidellm"
    (folder / "fp16").mkdir(parents=True)
    (folder / "w4a16").mkdir()
    shutil.copyfile(GUIDELLM_DATA / "report-v0.3.json", folder / "fp16" / "benchmarks.json")
    doc = json.loads((GUIDELLM_DATA / "report-v0.8.json").read_text())
    assert load_guidellm(doc).models == ["granite-3.1-8b-w4a16"]
    doc = _rename(doc, "granite-3.1-8b-w4a16", CANDIDATE)
    assert _set_api_key(doc, MARKER) > 0
    (folder / "w4a16" / "benchmarks.json").write_text(json.dumps(doc, indent=1))
    assert sorted(load_guidellm(folder).models) == [BASELINE, CANDIDATE]
    return folder


@pytest.fixture()
def servers(tmp_path: Path):
    """The demo's LMEvalJobs (two per page) and a Model Registry, both behind the token."""
    demo = Path(ek.demo_path())
    items = json.loads((demo / "lmevaljobs.json").read_text())["items"]
    with KubeAPIServer({NS: items}, token=MARKER, max_page_size=2) as api, \
            ModelRegistryServer(token=MARKER) as mr:
        for name, props in REGISTERED.items():
            # an older version too: map_models must pick the newest LIVE one
            mr.add_model(name, versions={"0.9": {**props, "gpu_requirement": 8},
                                         "1.0": props})
        mr.add_model("granite-3.1-8b", versions={"1.0": {"quantization": "bf16",
                                                         "gpu_requirement": 2}})
        kc = api.write_kubeconfig(tmp_path / "kubeconfig", token=MARKER)
        yield api, mr, kc, demo / "samples"


def test_pull_of_every_source_rebuilds_the_live_summary(servers, prom, guidellm_reports,
                                                        tmp_path, monkeypatch):
    from tests.promserver import MODELS, T0, selector

    api, mr, kubeconfig, samples = servers
    assert {m.name for m in MODELS} == {BASELINE, CANDIDATE}  # the served names line up
    home = tmp_path / "home"
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    for var in ("EVALKIT_PROMETHEUS_URL", "EVALKIT_PROMETHEUS_TOKEN",
                "EVALKIT_PROMETHEUS_TOKEN_FILE", "EVALKIT_REGISTRY_URL",
                "EVALKIT_REGISTRY_TOKEN", "EVALKIT_REGISTRY_TOKEN_FILE", "EVALKIT_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("evalkit.core.auth.SERVICE_ACCOUNT_DIR", tmp_path / "no-sa")
    start, end, step = T0 + 600, T0 + 3 * 3600, "60s"
    selectors = {m.name: selector(m) for m in MODELS}

    # LIVE, built the way each Source.load builds its part of a snapshot bundle
    lmeval = ek.load_lmeval(namespace=NS, samples=samples)
    assert len(lmeval.jobs) == 4
    series = ek.serving_metrics(prom.url, selectors, start, end, step,
                                progress=False)  # window "5m", as pull
    window = ek.serving_window(prom.url, selectors, start, end)
    info = {"url": prom.url, "start": iso_ms(to_ms(start)), "end": iso_ms(to_ms(end)),
            "step_s": 60.0, "window": "5m", "models": selectors}
    serving = ServingData(series=series, window=window, info=info,
                          issues=frames.issues_frame(series.issues, window.issues))
    registry = read_versions(mr.url, token=MARKER)
    guidellm = load_guidellm(guidellm_reports)
    live = Bundle(lmeval=lmeval, serving=serving, registry=registry, guidellm=guidellm,
                  source="live")
    expected = json.loads(json.dumps(to_summary(ek.analyze(live, BASELINE, CANDIDATE))))

    # SNAPSHOT: `evalkit pull` of every source in a subprocess, then the offline analysis
    token_file = tmp_path / "registry-token"
    token_file.write_text(MARKER + "\n")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("EVALKIT_") and k != "KUBERNETES_SERVICE_HOST"}
    env.update({"KUBECONFIG": str(kubeconfig), "HOME": str(home)})
    work = tmp_path / "work"
    work.mkdir()
    models = [a for name, sel in selectors.items() for a in ("--model", f"{name}={sel}")]
    mr.clear_requests()
    pulled = _cli("pull", "--namespace", NS, "--out", "snap", "--samples", str(samples),
                  "--prometheus", prom.url, *models, "--start", str(start), "--end", str(end),
                  "--step", step, "--registry", mr.url, "--registry-token-file", str(token_file),
                  "--guidellm", str(guidellm_reports), env=env, cwd=work)
    assert pulled.returncode == 0, pulled.stderr
    assert len([r for r in api.requests_seen if "lmevaljobs" in r.path]) >= 4  # paged, twice
    assert mr.requests and {r.headers.get("Authorization") for r in mr.requests} == {
        f"Bearer {MARKER}"}
    manifest = json.loads((work / "snap" / "manifest.json").read_text())
    assert set(manifest["sources"]) >= {"lmevaljobs", "prometheus", "registry", "guidellm"}
    assert manifest["sources"]["guidellm"]["redacted"]  # the api_key was taken out
    analyzed = _cli("analyze", "--source", "snap", "--baseline", BASELINE, "--candidate",
                    CANDIDATE, "--output", "out", env=env, cwd=work)
    assert analyzed.returncode == 0, analyzed.stderr
    got = json.loads((work / "out" / "summary.json").read_text())

    # what the summary must hold: registry facts, capacity, a capacity cost from its inputs
    facts = {r["model"]: r for r in got["facts"]}
    assert set(facts) == {BASELINE, CANDIDATE}
    for name, props in REGISTERED.items():
        assert facts[name]["gpus"] == props["gpu_requirement"]
        assert "registry" in facts[name]["gpus_source"]
        assert facts[name]["quantization"] == props["quantization"]
    assert {r["model"] for r in got["capacity"]["rows"]} == {BASELINE, CANDIDATE}
    cap = [r for r in got["cost"] if r["basis"] == "capacity"]
    assert {r["model"] for r in cap} == {BASELINE, CANDIDATE}
    for r in cap:
        assert r["usd_per_gpu_hour"] == pytest.approx(1.79)  # A100-80GB, by alias
        assert r["gpus"] == REGISTERED[r["model"]]["gpu_requirement"]
        by_hand = r["gpus"] * r["usd_per_gpu_hour"] / (r["output_tokens_per_second"] * 3600) * 1e6
        assert r["usd_per_1m_output_tokens"] == pytest.approx(by_hand, rel=1e-9)

    assert {r["model"] for r in got["serving"]} == {BASELINE, CANDIDATE}
    assert {i["source"] for i in got["data_issues"]} >= {"lmeval", "guidellm", "registry"}

    # the same summary. Only two fields may differ, and neither is a number computed from the
    # data: `source` is the bundle's label ("live" here, the snapshot folder `snap` offline)
    # and `generated_at` is the clock at writing. Everything else — every data issue with its
    # source and object (GuideLLM objects are report paths relative to the folder in both) —
    # must be equal.
    assert (expected["source"], got["source"]) == ("live", "snap")
    for doc in (got, expected):
        doc.pop("source")
        doc.pop("generated_at")
    assert got == expected

    for proc in (pulled, analyzed):
        assert MARKER not in proc.stdout + proc.stderr
    for path in work.rglob("*"):
        if path.is_file():
            assert MARKER.encode() not in path.read_bytes(), path
