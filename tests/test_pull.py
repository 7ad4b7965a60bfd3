"""evalkit.pull: a snapshot written atomically from the loopback Kubernetes API."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from evalkit.collect import pull
from evalkit.core.errors import HTTPError, InputError
from evalkit.core.snapshot import SnapshotWriter, open_snapshot
from evalkit.lmeval import job_record, match_samples, served_model
from tests.servers import FaultProxy, KubeAPIServer, make_lmevaljob

NS = "private-ai-demo"
FP16, W4 = "mistral-small-24b", "mistral-small-24b-w4a16"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("EVALKIT_CA_BUNDLE", raising=False)
    monkeypatch.setattr("evalkit.core.auth.SERVICE_ACCOUNT_DIR", tmp_path / "no-sa")


@pytest.fixture()
def api():
    jobs = [make_lmevaljob("eval-fp16", namespace=NS, model=FP16, tasks=["arc_easy", "gsm8k"]),
            make_lmevaljob("eval-w4a16", namespace=NS, model=W4, tasks=["arc_easy", "gsm8k"],
                           offset=-0.01),
            make_lmevaljob("eval-failed", namespace=NS, model=W4, reason="Failed"),
            make_lmevaljob("eval-shared-a", namespace=NS, model="org/shared"),
            make_lmevaljob("eval-shared-b", namespace=NS, model="org/shared")]
    with KubeAPIServer({NS: jobs}, max_page_size=2) as server:
        yield server


@pytest.fixture()
def kubeconfig(api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = api.write_kubeconfig(tmp_path / "kc")
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path


def _sample_line(doc_id: int, task: str = "arc_easy") -> str:
    return json.dumps({"doc_id": doc_id, "doc": {}, "target": "A", "filter": "none",
                       "metrics": ["acc"], "doc_hash": f"d{doc_id}", "prompt_hash": f"p{doc_id}",
                       "target_hash": "t", "acc": 1.0, "acc_norm": 1.0}) + "\n"


@pytest.fixture()
def samples(tmp_path: Path) -> Path:
    """A PVC-like folder: job folders, a model_name_sanitized folder, ambiguous and stray files."""
    root = tmp_path / "pvc"
    ts = "2025-01-01T00-00-00.000000"
    files = {
        f"eval-fp16/{FP16}/samples_arc_easy_{ts}.jsonl": 3,          # job folder (ancestor)
        f"eval-fp16/{FP16}/samples_gsm8k_{ts}.jsonl": 2,
        f"{W4}/samples_arc_easy_{ts}.jsonl": 3,                     # model folder, one job
        f"eval-shared-b-pvc/org__shared/samples_arc_easy_{ts}.jsonl": 1,  # managed PVC folder
        f"org__shared/samples_arc_easy_{ts}.jsonl": 1,              # two jobs serve it
        f"somebody-else/samples_arc_easy_{ts}.jsonl": 1,            # nobody
    }
    for rel, n in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("".join(_sample_line(i) for i in range(n)))
    (root / f"eval-fp16/{FP16}/results_{ts}.json").write_text("{}")  # not a samples file
    return root


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".partial-" in p.name or ".old-" in p.name)


def test_pull_writes_a_complete_snapshot(api, kubeconfig, samples, tmp_path: Path) -> None:
    out = pull(tmp_path / "snap", namespace=NS, samples=samples)
    assert out == tmp_path / "snap" and _leftovers(tmp_path) == []
    snap = open_snapshot(out)
    doc = json.loads((out / "lmevaljobs.json").read_text())
    assert doc["kind"] == "LMEvalJobList" and doc["items"] == api.jobs(NS)
    src = snap.manifest["sources"]["lmevaljobs"]
    assert src["endpoint"] == f"{api.url}/apis/trustyai.opendatahub.io/v1alpha1/namespaces/{NS}/lmevaljobs"
    assert src["namespace"] == NS and src["items"] == 5 and src["pages"] == 3
    assert src["insecure"] is False and src["tls_verify"] is True
    assert src["started_at"] <= src["finished_at"]
    assert snap.manifest["insecure"] is False
    assert snap.manifest["counts"] == {"lmevaljobs": 5, "sample_files": 4, "files": 5}
    assert snap.manifest["evalkit_version"]
    # every file is in the manifest with its hash
    listed = {f["path"] for f in snap.manifest["files"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert on_disk - {"manifest.json"} == listed


def test_samples_matching_rule(api, kubeconfig, samples, tmp_path: Path) -> None:
    out = pull(tmp_path / "snap", namespace=NS, samples=samples)
    got = sorted(p.relative_to(out / "samples").as_posix() for p in (out / "samples").rglob("*.jsonl"))
    ts = "2025-01-01T00-00-00.000000"
    assert got == [f"eval-fp16/samples_arc_easy_{ts}.jsonl", f"eval-fp16/samples_gsm8k_{ts}.jsonl",
                   f"eval-shared-b/samples_arc_easy_{ts}.jsonl",
                   f"eval-w4a16/samples_arc_easy_{ts}.jsonl"]
    src = open_snapshot(out).manifest["sources"]["samples"]
    assert src["jobs"] == {"eval-fp16": 2, "eval-shared-b": 1, "eval-w4a16": 1}
    reasons = {u["path"]: u["reason"] for u in src["unmatched"]}
    assert set(reasons) == {f"org__shared/samples_arc_easy_{ts}.jsonl",
                            f"somebody-else/samples_arc_easy_{ts}.jsonl"}
    assert "several jobs" in reasons[f"org__shared/samples_arc_easy_{ts}.jsonl"]
    # copied byte for byte
    src_file = samples / f"{W4}/samples_arc_easy_{ts}.jsonl"
    assert (out / f"samples/eval-w4a16/{src_file.name}").read_bytes() == src_file.read_bytes()


def test_match_samples_root_named_after_the_job(tmp_path: Path) -> None:
    root = tmp_path / "eval-x"
    root.mkdir()
    (root / "samples_hellaswag_2025-01-01T00-00-00.jsonl").write_text(_sample_line(0))
    matched, unmatched = match_samples(root, [job_record(make_lmevaljob("eval-x"))])
    assert list(matched) == ["eval-x"] and unmatched == []


def test_existing_folder_needs_overwrite_and_only_a_snapshot_is_replaced(
        api, kubeconfig, tmp_path: Path) -> None:
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(InputError, match="already exists"):
        pull(out, namespace=NS)
    with pytest.raises(InputError, match="not an evalkit snapshot"):
        pull(out, namespace=NS, overwrite=True)
    assert (out / "keep.txt").read_text() == "x" and sorted(out.iterdir()) == [out / "keep.txt"]
    assert api.requests_seen == []  # both failed before any request
    snap = pull(tmp_path / "snap", namespace=NS)
    (snap / "stale.txt").write_text("from before")  # (two pulls within one second may
    pull(snap, namespace=NS, overwrite=True)         # write byte-identical manifests)
    assert not (snap / "stale.txt").exists()  # an evalkit snapshot: replaced as a whole
    assert open_snapshot(snap).manifest["sources"]["lmevaljobs"]["items"] == 5
    assert _leftovers(tmp_path) == []


def test_interrupted_pull_leaves_no_folder(api, kubeconfig, samples, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real_write = SnapshotWriter.write_bytes

    def flaky_write(self, relpath, data):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("interrupted midway")
        return real_write(self, relpath, data)

    monkeypatch.setattr(SnapshotWriter, "write_bytes", flaky_write)
    with pytest.raises(KeyboardInterrupt):
        pull(tmp_path / "snap", namespace=NS, samples=samples)
    assert not (tmp_path / "snap").exists() and _leftovers(tmp_path) == []


def test_failure_mid_paging_leaves_no_folder(api, tmp_path: Path, monkeypatch) -> None:
    with FaultProxy(api.url) as proxy:
        monkeypatch.setenv("KUBECONFIG", str(api.write_kubeconfig(tmp_path / "kc",
                                                                  server=proxy.url)))
        proxy.inject("500", times=None, match="continue=")
        with pytest.raises(HTTPError, match="500"):
            pull(tmp_path / "snap", namespace=NS)
    assert not (tmp_path / "snap").exists() and _leftovers(tmp_path) == []


def test_missing_samples_folder_fails_before_any_request(api, kubeconfig, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a folder"):
        pull(tmp_path / "snap", namespace=NS, samples=tmp_path / "nope")
    assert api.requests_seen == []


def test_snapshot_reads_back_like_the_live_call(api, kubeconfig, samples, tmp_path: Path) -> None:
    import evalkit.lmeval as lmeval

    out = pull(tmp_path / "snap", namespace=NS, samples=samples)
    live = lmeval.load_lmeval(namespace=NS)
    offline = lmeval.load_lmeval(out)
    cols = ["job", "model", "task", "metric", "filter", "value"]
    a = live.scores[cols].sort_values(cols[:5]).reset_index(drop=True)
    b = offline.scores[cols].sort_values(cols[:5]).reset_index(drop=True)
    assert len(a) > 0 and a.equals(b)
    assert sorted(live.jobs["job"]) == sorted(offline.jobs["job"])
    assert set(offline.samples["job"]) == {"eval-fp16", "eval-w4a16", "eval-shared-b"}


def test_served_model_rule() -> None:
    assert served_model(make_lmevaljob("j", model="org/m")) == "org/m"
    job = make_lmevaljob("j")
    job["spec"]["modelArgs"] = [{"name": "pretrained", "value": "org/p"}]
    assert served_model(job) == "org/p"
    job["spec"]["modelArgs"] = []
    assert served_model(job) == "j"


def test_pull_cli_copies_guidellm_reports_and_they_load_back(api, kubeconfig, tmp_path: Path
                                                             ) -> None:
    """`evalkit pull --guidellm DIR`: every report generation copied, verified, and read back
    into the bundle's benchmarks frame with the same rows as reading the folder directly."""
    import evalkit as ek
    from evalkit.cli import main
    from evalkit.guidellm import load_guidellm

    reports = Path(__file__).parent / "data" / "guidellm"
    code = main(["pull", "--namespace", NS, "--out", str(tmp_path / "snap"),
                 "--guidellm", str(reports)])
    assert code == 0
    snap = open_snapshot(tmp_path / "snap")
    assert sorted(snap.manifest["sources"]["guidellm"]["reports"]) == sorted(
        p.name for p in reports.glob("*.json"))
    bundle = ek.load(tmp_path / "snap")
    direct = load_guidellm(reports)
    cols = ["model", "benchmark", "stat", "metric", "value"]
    a = bundle.guidellm.benchmarks[cols].sort_values(cols[:4]).reset_index(drop=True)
    b = direct.benchmarks[cols].sort_values(cols[:4]).reset_index(drop=True)
    assert len(a) > 0
    pd.testing.assert_frame_equal(a, b)


def test_pull_cli_refuses_a_missing_guidellm_path(tmp_path: Path, capsys) -> None:
    from evalkit.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["pull", "--namespace", NS, "--out", str(tmp_path / "snap"),
              "--guidellm", str(tmp_path / "nope")])
    assert exc.value.code == 2 and "does not exist" in capsys.readouterr().err


def test_pull_config_file_gives_defaults_and_flags_win(api, kubeconfig, tmp_path: Path,
                                                       monkeypatch) -> None:
    """`--config FILE`: every value is checked like its flag; the command line wins."""
    from evalkit.cli import main

    reports = Path(__file__).parent / "data" / "guidellm"
    seen = {}

    def fake_pull(out, **kw):
        seen.update(kw, out=out)
        return Path(out)

    monkeypatch.setattr("evalkit.collect.pull", fake_pull)
    cfg = tmp_path / "evalkit.yaml"
    cfg.write_text(f"namespace: {NS}\nguidellm: {reports}\nprometheus: http://127.0.0.1:9\n"
                   "model: {m1: 'namespace=\"a\"'}\nsince: 2h\nend: 2026-11-20T12:00:00Z\n")
    assert main(["pull", "--config", str(cfg), "--out", str(tmp_path / "s")]) == 0
    assert seen["namespace"] == NS and seen["guidellm"] == str(reports)
    assert seen["selectors"] == {"m1": 'namespace="a"'}
    assert seen["end"] - seen["start"] == 7200
    assert main(["pull", "--config", str(cfg), "--out", str(tmp_path / "s"),
                 "--namespace", "other"]) == 0
    assert seen["namespace"] == "other"


@pytest.mark.parametrize(("text", "needle"), [
    ("nmespace: x\n", "unknown key 'nmespace'"),
    ("namespace: x\nprometheus_token: abc\n", "tokens are not read from a config file"),
    ("namespace: x\nsince: soon\n", "since:"),
    ("namespace: Not_A_Namespace!\n", "namespace:"),
    ("- a\n- b\n", "expected a mapping"),
])
def test_pull_config_file_errors_name_the_key(tmp_path: Path, capsys, text, needle) -> None:
    from evalkit.cli import main

    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    assert main(["pull", "--config", str(cfg), "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert needle in err and "abc" not in err


def test_pull_since_and_start_are_exclusive(tmp_path: Path, capsys) -> None:
    from evalkit.cli import main

    assert main(["pull", "--namespace", NS, "--out", str(tmp_path / "s"), "--since", "7d",
                 "--start", "2026-11-01T00:00:00Z"]) == 2
    assert "--since or --start" in capsys.readouterr().err
