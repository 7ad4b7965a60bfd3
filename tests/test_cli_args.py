"""Every flag of every command: a bad value is one line and exit 2 before any network call or
kernel start, and nothing is ever written to the current folder — the error log of an
unexpected failure included.

The corpus (``tests/corpus/cases/05-flags.yaml``) holds the named hostile flags; here every
option's validator is fed every hostile value, and a few bad command lines run as real
processes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evalkit.cli import COMMANDS, main, parser
from evalkit.cli import args as A

HOSTILE = ["", " ", "\n", "a\nb", "\x00", "nan", "inf", "-1", "0", "1e400", "9" * 5000,
           '{"kind": "List"}', "../../etc/passwd", "/dev/zero", "x" * 5000,
           "<script>alert(1)</script>", "$(touch pwned)", "yesterday"]


def _typed_actions():
    for name, sub in parser()._subparsers._group_actions[0].choices.items():  # noqa: SLF001
        for action in sub._actions:  # noqa: SLF001
            if action.type is not None and callable(action.type):
                yield name, action


def test_every_command_has_validated_path_and_number_flags() -> None:
    """Flags naming paths, times, durations and numbers go through a validator."""
    typed = {(c, a.dest) for c, a in _typed_actions()}
    for cmd in COMMANDS:
        sub = parser()._subparsers._group_actions[0].choices[cmd]  # noqa: SLF001
        for action in sub._actions:  # noqa: SLF001
            if action.dest in {"source", "output", "out", "samples", "token_file", "ca_bundle",
                               "notebook", "step", "start", "end", "margin", "confidence",
                               "namespace", "prometheus_token_file", "registry_token_file"}:
                assert (cmd, action.dest) in typed, f"evalkit {cmd} --{action.dest} is not checked"


@pytest.mark.parametrize("value", HOSTILE, ids=[repr(v)[:20] for v in HOSTILE])
def test_validators_answer_or_refuse_never_crash(value: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """argparse turns ValueError/TypeError/ArgumentTypeError into a usage error (exit 2);
    anything else from a validator would be a traceback."""
    monkeypatch.chdir(tmp_path)
    for _cmd, action in _typed_actions():
        if action.type is A.header:  # it registers values as secrets process-wide: see below
            continue
        try:
            action.type(value)
        except (argparse.ArgumentTypeError, ValueError, TypeError):
            pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("fn", "good", "bad"), [
    (A.margin, ["0", "0.02", "1"], ["nan", "inf", "-0.01", "x", ""]),
    (A.confidence, ["0.5", "0.95"], ["0", "1", "1.5", "nan", "-1", ""]),
    (A.duration, ["30s", "1m30s", "250ms", "15"], ["0", "-5s", "1e400", "0.0001", "5 s", "x",
                                                    "nan", ""]),
    (A.time, ["2026-01-01T00:00:00Z", "1700000000"], ["yesterday", "nan", "inf", "", "2026-13-45"]),
    (A.namespace, ["private-ai-demo", "a", "x" * 63], ["", "../x", "UPPER", "-a", "a-", "x" * 64,
                                                        "a b", "a/b"]),
    (A.model_selector, ['m=namespace="ns",pod=~"m-predictor.*"'],
     ["m", "=x", 'm=pod=~"unclosed', "m=pod"]),
    (A.header, ["X-Scope-OrgID: cli-args-test-tenant-7f1"], ["no colon", ": value", "Bad Name: x",
                                             "X: a\nb", "X: a\rb"]),
])
def test_validator_table(fn, good: list[str], bad: list[str]) -> None:
    for v in good:
        fn(v)
    for v in bad:
        with pytest.raises((argparse.ArgumentTypeError, ValueError)):
            fn(v)


def test_path_validators(tmp_path: Path) -> None:
    f = tmp_path / "file.txt"
    f.write_text("x")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "dir").mkdir()
    assert A.folder(str(tmp_path / "dir")) and A.folder(str(tmp_path / "new"))
    for bad in (str(f), str(fifo), "/dev/zero", str(f / "below")):
        with pytest.raises(argparse.ArgumentTypeError):
            A.folder(bad)
    assert A.source(str(f)) and A.source(str(tmp_path / "dir"))
    for bad in ('{"kind": "List"}', "[1]", "a\nb", str(fifo), "/dev/zero", str(tmp_path / "no")):
        with pytest.raises(argparse.ArgumentTypeError):
            A.source(bad)
    for bad in (str(fifo), "/dev/zero", str(tmp_path / "dir"), str(tmp_path / "no")):
        with pytest.raises(argparse.ArgumentTypeError):
            A.token_file(bad)


# ------------------------------------------------------------------------------ in process


@pytest.fixture()
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cwd"
    d.mkdir()
    monkeypatch.chdir(d)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    return d


def test_internal_error_log_goes_to_a_temp_file_never_the_current_folder(
        cwd: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from evalkit.core import secrets

    marker = "sha256~CLIMARK-91c3e"  # token-shaped, too short to pass for a real one
    secrets.register(marker)

    def boom(*a, **kw):
        raise RuntimeError(f"an unexpected bug holding {marker}")

    monkeypatch.setattr("evalkit.bundle.load", boom)
    code = main(["analyze", "--output", str(tmp_path / "not-yet")])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "internal error RuntimeError" in err and marker not in err
    log = Path(err.split("traceback in ")[1].split(")")[0])
    assert log.parent == tmp_path / "tmp" and log.is_file()
    assert marker not in log.read_text() and "RuntimeError" in log.read_text()
    assert list(cwd.iterdir()) == []


def test_internal_error_log_goes_to_an_existing_output_folder(
        cwd: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("evalkit.bundle.load", lambda *a, **k: 1 / 0)
    out = tmp_path / "out"
    out.mkdir()
    assert main(["analyze", "--output", str(out)]) == 1
    assert (out / "evalkit-error.log").is_file()
    assert str(out / "evalkit-error.log") in capsys.readouterr().err
    assert list(cwd.iterdir()) == []


def test_default_output_is_not_created_on_a_bad_flag(cwd: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """`report`'s default --output is ./reports: a bad flag must not create it."""
    with pytest.raises(SystemExit) as ei:
        main(["report", "--margin", "nan"])
    assert ei.value.code == 2 and list(cwd.iterdir()) == []
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


# ------------------------------------------------------------------------------ real processes


@pytest.fixture()
def kube(tmp_path: Path):
    from tests.servers import KubeAPIServer, make_lmevaljob

    with KubeAPIServer({"ns": [make_lmevaljob("j", namespace="ns")]}) as api:
        yield api, api.write_kubeconfig(tmp_path / "kc")


@pytest.mark.parametrize("argv", [
    ["pull", "-n", "ns", "--out", "snap", "--prometheus", "http://127.0.0.1:9", "--model",
     'm=pod="x"', "--start", "2026-01-02T00:00:00Z", "--end", "2026-01-01T00:00:00Z"],
    ["pull", "-n", "ns", "--out", "snap", "--token-file", "TOKEN"],
    ["pull", "-n", "ns", "--out", ".", "--overwrite"],
    ["report", "--confidence", "1.5"],
], ids=["start-after-end", "token-line-break", "overwrite-cwd", "confidence"])
def test_bad_command_lines_as_real_processes(argv: list[str], kube, tmp_path: Path) -> None:
    api, kubeconfig = kube
    work = tmp_path / "work"
    work.mkdir()
    token = tmp_path / "token"
    token.write_text("sha256~half\nother-half")
    argv = [str(token) if a == "TOKEN" else a for a in argv]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALKIT_", "KUBE"))}
    env.update({"KUBECONFIG": str(kubeconfig), "HOME": str(tmp_path / "home"),
                "TMPDIR": str(tmp_path)})
    proc = subprocess.run([sys.executable, "-m", "evalkit.cli", *argv], cwd=work, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "other-half" not in proc.stderr + proc.stdout
    assert list(work.iterdir()) == [] and api.requests_seen == []
