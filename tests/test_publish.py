"""evalkit.publish: the lm_eval_* exposition, a push through a REAL Pushgateway scraped by a
REAL Prometheus (honor_labels), and the ``evalkit publish`` command."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

import evalkit as ek
from evalkit.cli import main
from evalkit.core import frames
from evalkit.core.errors import InputError
from evalkit.core.http import RetryPolicy
from evalkit.publish import escape_label, exposition, grouping_path, push
from tests.conftest import IN_CI
from tests.promserver import free_port
from tests.servers.model_registry import ModelRegistryServer

WEIRD = 'org/mistral "24b" \\ w4a16\nline two'


def scores(model: str = WEIRD) -> pd.DataFrame:
    rows = []
    for job, done, bump in (("eval-old", "2026-11-19T09:00:00Z", -0.2),
                            ("eval-new", "2026-11-20T09:53:00Z", 0.0)):
        rows += [{"model": model, "job": job, "task": "arc_easy", "metric": "acc_norm",
                  "filter": "none", "value": 0.7912 + bump, "stderr": 0.0409, "n": 100,
                  "completed_at": done},
                 {"model": model, "job": job, "task": "gsm8k", "metric": "exact_match",
                  "filter": "flexible-extract", "value": 1 / 3 + bump, "stderr": 0.0349,
                  "n": 1319, "completed_at": done}]
    return frames.conform("scores", rows)


def samples(text: str) -> dict[str, str]:
    return dict(line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))


def test_exposition_escapes_and_keeps_one_sample_per_label_set() -> None:
    text = exposition(scores())
    label = escape_label(WEIRD)
    assert label == 'org/mistral \\"24b\\" \\\\ w4a16\\nline two'
    got = samples(text)
    assert got[f'lm_eval_accuracy{{model="{label}",task="arc_easy",metric="acc_norm",'
               'filter="none"}'] == "0.7912"  # the latest run, not eval-old
    assert got[f'lm_eval_accuracy{{model="{label}",task="gsm8k",metric="exact_match",'
               'filter="flexible-extract"}'] == repr(1 / 3)
    assert got[f'lm_eval_samples_evaluated{{model="{label}",task="gsm8k"}}'] == "1319"
    assert got[f'lm_eval_completion_time{{model="{label}",task="gsm8k"}}'] == "1795168380.0"
    assert len(got) == 8 and "\n\n" not in text and text.endswith("\n")
    for name in ("lm_eval_accuracy", "lm_eval_accuracy_stderr", "lm_eval_samples_evaluated",
                 "lm_eval_completion_time"):
        assert f"# TYPE {name} gauge\n" in text and f"# HELP {name} " in text
    assert exposition(frames.empty("scores")) == ""


def test_exposition_of_a_comparison_passes_promtool() -> None:
    s = ek.load().lmeval.scores
    from evalkit.analysis.compare import compare
    from evalkit.analysis.recovery import recovery

    c = compare(s, "mistral-24b", "mistral-24b-quantized", all_metrics=True)
    r = recovery(s, "mistral-24b", "mistral-24b-quantized")
    text = exposition(s, comparison=c, recovery=r)
    got = samples(text)
    deltas = [k for k in got if k.startswith("lm_eval_accuracy_delta")]
    assert len(deltas) == len(c.frame) == len(set(deltas))  # metric/filter keep them apart
    key = ('lm_eval_recovery_percent{baseline="mistral-24b",candidate="mistral-24b-quantized"}')
    assert float(got[key]) == pytest.approx(r.recovery)
    with pytest.raises(InputError):
        exposition(s, comparison=pd.DataFrame({"x": [1]}))
    promtool = shutil.which("promtool")
    if promtool is None:
        if IN_CI:
            pytest.fail("CI=true and promtool is not installed")
        pytest.skip("promtool not installed")
    lint = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_grouping_paths() -> None:
    assert grouping_path("lmeval") == "metrics/job/lmeval"
    assert grouping_path("a/b", {"stage": "", "ns": "x y"}) == (
        "metrics/job@base64/YS9i/stage@base64/=/ns/x%20y")
    with pytest.raises(InputError):
        grouping_path("lmeval", {"bad-label": "x"})
    with pytest.raises(InputError, match="clashes"):
        grouping_path("lmeval", {"model": "x"})
    with pytest.raises(InputError):
        grouping_path("")


# ------------------------------------------------------------------------------ real servers


def _wait(url: str, proc: subprocess.Popen, log: Path, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited: {log.read_text()[-2000:]}")
        try:
            if requests.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready within {seconds} s")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A real Pushgateway and a real Prometheus scraping it every second with honor_labels."""
    pg_bin, prom_bin = shutil.which("prometheus-pushgateway"), shutil.which("prometheus")
    if not (pg_bin and prom_bin):
        reason = "prometheus / prometheus-pushgateway not installed (scripts/ensure_servers.sh)"
        if IN_CI:
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("pushgateway")
    procs: list[subprocess.Popen] = []
    try:
        pg_port, prom_port = free_port(), free_port()
        pg_log = work / "pushgateway.log"
        procs.append(subprocess.Popen(
            [pg_bin, f"--web.listen-address=127.0.0.1:{pg_port}",
             f"--persistence.file={work / 'pg.data'}"],
            stdout=pg_log.open("wb"), stderr=subprocess.STDOUT))
        pg = f"http://127.0.0.1:{pg_port}"
        _wait(pg, procs[0], pg_log)
        cfg = work / "prometheus.yml"
        cfg.write_text("global:\n  scrape_interval: 200ms\n  scrape_timeout: 200ms\n"
                       "scrape_configs:\n  - job_name: pushgateway\n    honor_labels: true\n"
                       f"    static_configs:\n      - targets: ['127.0.0.1:{pg_port}']\n")
        prom_log = work / "prometheus.log"
        procs.append(subprocess.Popen(
            [prom_bin, f"--config.file={cfg}", f"--storage.tsdb.path={work / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{prom_port}"],
            stdout=prom_log.open("wb"), stderr=subprocess.STDOUT, cwd=work))
        prom = f"http://127.0.0.1:{prom_port}"
        _wait(prom, procs[1], prom_log)
        yield {"pushgateway": pg, "prometheus": prom}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _query(prom: str, expr: str, want: int, seconds: float = 30.0) -> list[dict[str, Any]]:
    """Poll an instant query until it returns ``want`` series (bounded)."""
    deadline = time.monotonic() + seconds
    result: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        doc = requests.get(f"{prom}/api/v1/query", params={"query": expr}, timeout=5).json()
        result = doc["data"]["result"]
        if len(result) >= want:
            return result
        time.sleep(0.25)
    raise AssertionError(f"{expr}: {len(result)} series after {seconds} s, wanted {want}")


def test_a_strange_model_name_survives_pushgateway_and_prometheus(gateway) -> None:
    s = scores()
    text = push(s, gateway["pushgateway"], job="lmeval", grouping={"namespace": "ns/a"})
    assert "lm_eval_accuracy{" in text
    got = _query(gateway["prometheus"], 'lm_eval_accuracy{job="lmeval"}', 2)
    latest = s[s["job"] == "eval-new"]
    want = {(r.task, r.metric, r["filter"]): r.value for _, r in latest.iterrows()}
    assert len(got) == 2
    for series in got:
        m = series["metric"]
        assert m["model"] == WEIRD  # the same label value, byte for byte
        assert m["namespace"] == "ns/a" and m["job"] == "lmeval"
        # honor_labels: the pushed job wins, no exported_job, the gateway's address is not
        # the instance (the pushed empty instance label is dropped)
        assert "exported_job" not in m and "instance" not in m
        assert float(series["value"][1]) == want[(m["task"], m["metric"], m["filter"])]
    n = _query(gateway["prometheus"], 'lm_eval_samples_evaluated{job="lmeval"}', 2)
    assert sorted(float(x["value"][1]) for x in n) == [100.0, 1319.0]
    t = _query(gateway["prometheus"], 'lm_eval_completion_time{job="lmeval"}', 2)
    assert {float(x["value"][1]) for x in t} == {
        pd.Timestamp("2026-11-20T09:53:00Z").timestamp()}
    # a re-push (PUT) replaces the group: a model no longer in the scores disappears
    push(scores("other"), gateway["pushgateway"], job="lmeval", grouping={"namespace": "ns/a"})
    groups = requests.get(f"{gateway['pushgateway']}/api/v1/metrics", timeout=5).json()["data"]
    names = {s["metrics"][0]["labels"].get("model") for g in groups
             for k, s in g.items() if k == "lm_eval_accuracy"}
    assert names == {"other"}


def test_cli_publish_dry_run_then_real(gateway, tmp_path: Path, capsys) -> None:
    demo = str(ek.demo_path())
    with ModelRegistryServer() as mr:
        for name in ("mistral-24b", "mistral-24b-quantized"):
            mr.add_model(name, versions={"1.0": {"quantization": "x", "card": {"k": 1}}})
        argv = ["publish", "--source", demo, "--registry", mr.url,
                "--pushgateway", gateway["pushgateway"], "--push-job", "evalkit-cli",
                "--baseline", "mistral-24b", "--candidate", "mistral-24b-quantized"]
        assert main([*argv, "--dry-run"]) == 0
        out = capsys.readouterr().out
        assert "DRY RUN, nothing written" in out and "would PUT" in out
        assert "lm_eval_recovery_percent{" in out
        assert mr.requests_matching("PATCH") == []
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert "PATCHed" in out and "sample(s) pushed under job 'evalkit-cli'" in out
        assert len(mr.requests_matching("PATCH")) == 2
        assert main(argv) == 0  # again: nothing changed, nothing sent to the registry
        assert len(mr.requests_matching("PATCH")) == 2
        assert "unchanged: no PATCH" in capsys.readouterr().out
    got = _query(gateway["prometheus"], 'lm_eval_accuracy_delta{job="evalkit-cli"}', 4)
    assert {x["metric"]["candidate"] for x in got} == {"mistral-24b-quantized"}


def test_cli_publish_checks_every_flag_before_any_call(tmp_path: Path, capsys,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    demo = str(ek.demo_path())
    monkeypatch.setattr(RetryPolicy, "delay", lambda self, attempt, retry_after: 0.0)

    def run(*args: str) -> int:
        try:
            return main(["publish", *args])
        except SystemExit as exc:
            return int(exc.code or 0)

    with ModelRegistryServer() as mr:
        assert run("--source", demo) == 2
        assert "nothing to publish to" in capsys.readouterr().err
        assert run("--source", demo, "--registry", mr.url, "--registry-model", "nope=x:1") == 2
        assert "'nope' is not in" in capsys.readouterr().err
        assert run("--source", demo, "--registry", mr.url, "--registry-model", "bad") == 2
        assert run("--source", demo, "--registry", mr.url, "--prefix", "a,b") == 2
        assert run("--source", demo, "--pushgateway", "http://127.0.0.1:9",
                   "--grouping", "job=x") == 2
        assert run("--source", demo, "--registry", mr.url, "--baseline", "mistral-24b") == 2
        assert run("--source", str(tmp_path / "missing"), "--registry", mr.url) == 2
        assert mr.requests == []
        # a registry that is not there: exit 1, one line, no traceback
        assert run("--source", demo, "--registry", "http://127.0.0.1:9") == 1
        err = capsys.readouterr().err
        assert err.startswith("evalkit publish: ") and "Traceback" not in err


PG_TOKEN = "pg-env-token-marker-7c21"  # marker, not a real token


def test_pushgateway_token_from_the_environment(gateway, tmp_path: Path, capsys,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A gateway behind an OAuth proxy: the token comes from $EVALKIT_PUSHGATEWAY_TOKEN (or the
    file $EVALKIT_PUSHGATEWAY_TOKEN_FILE names, re-read on every push), reaches the gateway as
    a bearer token, and is printed nowhere."""
    from tests.servers.fault_proxy import FaultProxy

    demo = str(ek.demo_path())
    with FaultProxy(gateway["pushgateway"]) as proxy:
        monkeypatch.setenv("EVALKIT_PUSHGATEWAY_TOKEN", PG_TOKEN)
        assert main(["publish", "--source", demo, "--pushgateway", proxy.url,
                     "--push-job", "env-token"]) == 0
        token_file = tmp_path / "pg-token"
        token_file.write_text(PG_TOKEN + "-file-1\n")
        monkeypatch.delenv("EVALKIT_PUSHGATEWAY_TOKEN")
        monkeypatch.setenv("EVALKIT_PUSHGATEWAY_TOKEN_FILE", str(token_file))
        push(scores(), proxy.url, job="env-token-file")
        token_file.write_text(PG_TOKEN + "-file-2\n")  # rotated: the next push reads it again
        push(scores(), proxy.url, job="env-token-file")
        seen = [r.headers.get("Authorization") for r in proxy.requests_seen if r.method == "PUT"]
    assert seen == [f"Bearer {PG_TOKEN}", f"Bearer {PG_TOKEN}-file-1",
                    f"Bearer {PG_TOKEN}-file-2"]
    out = capsys.readouterr()
    assert PG_TOKEN not in out.out + out.err
    assert "sample(s) pushed under job 'env-token'" in out.out


def test_a_bad_pushgateway_token_stops_publish_before_the_registry_is_written(
        tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both endpoints' credentials are checked before the first call: a line break in
    $EVALKIT_PUSHGATEWAY_TOKEN is exit 2, one line naming the variable (not the value), and
    the registry given beside it receives nothing."""
    demo = str(ek.demo_path())
    monkeypatch.setenv("EVALKIT_PUSHGATEWAY_TOKEN", PG_TOKEN + "\nx")
    with ModelRegistryServer() as mr:
        for name in ("mistral-24b", "mistral-24b-quantized"):
            mr.add_model(name, versions={"1.0": {"quantization": "x"}})
        code = main(["publish", "--source", demo, "--registry", mr.url,
                     "--pushgateway", "http://127.0.0.1:9"])
        assert mr.requests == []
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "$EVALKIT_PUSHGATEWAY_TOKEN" in err and PG_TOKEN not in err
