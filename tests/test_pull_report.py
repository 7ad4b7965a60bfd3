"""Live call vs `evalkit pull` + `evalkit report --source`: the same summary, and no token
anywhere in the snapshot, the report or the terminal."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import evalkit as ek
from evalkit.present.summary_json import to_summary
from tests.servers import KubeAPIServer

pytestmark = pytest.mark.slow
NS = "private-ai-demo"
MARKER = "evalkit-marker-token-7d1f0c2e9a"


def _cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evalkit.cli", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=240)


@pytest.fixture()
def cluster(tmp_path: Path):
    """The demo's four LMEvalJobs served two per page by the loopback API (token auth)."""
    demo = Path(ek.demo_path())
    items = json.loads((demo / "lmevaljobs.json").read_text())["items"]
    with KubeAPIServer({NS: items}, token=MARKER, max_page_size=2) as api:
        kc = api.write_kubeconfig(tmp_path / "kubeconfig", token=MARKER)
        yield api, kc, demo / "samples"


def test_pull_then_report_equals_the_live_summary(cluster, tmp_path, monkeypatch):
    api, kubeconfig, samples = cluster
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr("evalkit.core.auth.SERVICE_ACCOUNT_DIR", tmp_path / "no-sa")

    live = ek.load_lmeval(namespace=NS, samples=samples)
    assert len(live.jobs) == 4
    pages = [r for r in api.requests_seen if "lmevaljobs" in r.path]
    assert len(pages) >= 2  # really paged
    expected = to_summary(ek.analyze(live, "mistral-24b", "mistral-24b-quantized"))

    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(tmp_path / "home")}
    work = tmp_path / "work"
    work.mkdir()
    pulled = _cli("pull", "--namespace", NS, "--out", "snap", "--samples", str(samples),
                  env=env, cwd=work)
    assert pulled.returncode == 0, pulled.stderr
    report = _cli("report", "--source", "snap", "--baseline", "mistral-24b", "--candidate",
                  "mistral-24b-quantized", "--output", "out", env=env, cwd=work)
    assert report.returncode == 0, report.stderr
    got = json.loads((work / "out" / "summary.json").read_text())
    for doc in (got, expected):
        doc.pop("source")
        doc.pop("generated_at")
        for issue in doc["data_issues"]:  # the live call names its source differently
            issue.pop("source", None)
    assert got == json.loads(json.dumps(expected))

    for proc in (pulled, report):
        assert MARKER not in proc.stdout + proc.stderr
    for path in work.rglob("*"):
        if path.is_file():
            assert MARKER.encode() not in path.read_bytes(), path
    shutil.rmtree(work)


def test_pull_with_prometheus_then_report_shows_serving(cluster, prom, tmp_path):
    """`evalkit pull --prometheus` against a real Prometheus, then the offline report: its
    window TTFT P99 is what Prometheus itself answers to a hand-written histogram_quantile."""
    import requests

    from tests.promserver import MODELS, T0, selector

    _, kubeconfig, samples = cluster
    start, end = T0 + 600, T0 + 3 * 3600
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(tmp_path / "home"),
           "EVALKIT_PROMETHEUS_URL": prom.url}
    work = tmp_path / "work"
    work.mkdir()
    models = [a for m in MODELS for a in ("--model", f"{m.name}={selector(m)}")]
    pulled = _cli("pull", "--namespace", NS, "--out", "snap", "--samples", str(samples),
                  *models, "--start", str(start), "--end", str(end), "--step", "60s",
                  "--prometheus-header", "X-Scope-OrgID: tenant-a",
                  "--prometheus-tenant", NS, env=env, cwd=work)
    assert pulled.returncode == 0, pulled.stderr
    manifest = json.loads((work / "snap" / "manifest.json").read_text())
    prom_src = manifest["sources"]["prometheus"]
    assert prom_src["url"] == prom.url and prom_src["queries"]
    assert all(q["query"] for q in prom_src["queries"])
    assert prom_src["tenant"] == NS
    assert "tenant-a" not in (work / "snap" / "manifest.json").read_text()  # header names only
    report = _cli("report", "--source", "snap", "--output", "out", "--baseline", "mistral-24b",
                  "--candidate", "mistral-24b-quantized", env=env, cwd=work)
    assert report.returncode == 0, report.stderr
    summary = json.loads((work / "out" / "summary.json").read_text())
    rows = {(r["model"], r["metric"]): r for r in summary["serving"]}
    for m in MODELS:
        q = (f"histogram_quantile(0.99, sum by (le) (increase("
             f"vllm:time_to_first_token_seconds_bucket{{{selector(m)}}}[{end - start}s])))")
        direct = requests.post(f"{prom.url}/api/v1/query", data={"query": q, "time": end},
                               timeout=10).json()["data"]["result"]
        assert len(direct) == 1
        assert rows[(m.name, "ttft_p99")]["value"] == pytest.approx(float(direct[0]["value"][1]),
                                                                    rel=1e-12)
        assert rows[(m.name, "gpus")]["value"] == m.gpus
