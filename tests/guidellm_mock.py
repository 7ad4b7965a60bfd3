"""Real GuideLLM reports for tests: GuideLLM's own mock OpenAI server, a short sweep, offline.

>>> run = run_mock_benchmark(tmp_path)        # doctest: +SKIP
>>> run.json, run.seconds                      # doctest: +SKIP
(PosixPath('.../out/benchmarks.json'), 27.4)

What it does (nothing is downloaded; every address is 127.0.0.1):

1. builds a tiny word-level tokenizer (``tokenizers`` WordLevel over Faker's lorem words,
   saved with ``transformers.PreTrainedTokenizerFast.save_pretrained``) — GuideLLM needs a
   processor to make synthetic prompts, and no model hub is reachable;
2. starts ``guidellm mock-server --host 127.0.0.1 --port <free> --model mock-model
   --ttft-ms 20 --itl-ms 2 --output-tokens 16 --fail-after-requests 150`` (the last lets the
   sweep's highest rate end with errored requests) and waits for ``/health``;
3. runs ``guidellm run`` with a 4-benchmark sweep (synchronous, throughput, two constant
   rates) of 1 s each, synthetic 32→16-token requests, goodput objectives so 0.8's
   ``slo_attainment``/``request_goodput`` are filled, 5 sampled requests per status, and
   writes ``benchmarks.json`` and ``benchmarks.yaml``;
4. stops both process groups (its own, by id) whatever happens.

GuideLLM 0.8.1 spends most of a run starting processes: the settings below are what keeps a
sweep near 20-30 s on 2 cores — one worker process, the ``forkserver`` start method, a 0.2 s
scheduler start delay and a data-loader prefetch of 4 (the default 4096 synthesises
thousands of prompts per benchmark). Use it from a session-scoped fixture (one run per
session). Without ``guidellm`` the tests skip, and fail under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

MODEL = "mock-model"
IN_CI = os.environ.get("CI", "").lower() == "true"

#: environment for ``guidellm run`` (see the module docstring)
GUIDELLM_ENV = {
    "GUIDELLM__MAX_WORKER_PROCESSES": "1",
    "GUIDELLM__MP_CONTEXT_TYPE": "forkserver",
    "GUIDELLM__SCHEDULER_START_DELAY_NON_DISTRIBUTED": "0.2",
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}

TOKENIZER_SCRIPT = r"""
import sys
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast
try:
    from faker.providers.lorem.en_US import Provider
    words = list(Provider.word_list)
except Exception:
    words = []
words = sorted(set(words + [w.capitalize() for w in words] + list(".,;:!?'\"-()")))
vocab = {"[UNK]": 0, "[PAD]": 1, "[BOS]": 2, "[EOS]": 3}
for w in words:
    vocab.setdefault(w, len(vocab))
tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
tok.pre_tokenizer = pre_tokenizers.Whitespace()
tok.decoder = decoders.WordPiece()
PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                        bos_token="[BOS]", eos_token="[EOS]",
                        model_max_length=1_000_000).save_pretrained(sys.argv[1])
"""


@dataclass
class MockRun:
    """A finished GuideLLM run against the mock server."""

    workdir: Path
    json: Path
    yaml: Path | None
    seconds: float
    commands: dict[str, list[str]] = field(default_factory=dict)

    @property
    def reports(self) -> list[Path]:
        return [p for p in (self.json, self.yaml) if p is not None and p.exists()]


def guidellm_executable() -> str | None:
    """``guidellm`` next to this interpreter (an unactivated venv), else on ``PATH``."""
    local = Path(sys.executable).parent / "guidellm"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("guidellm")


def _python_of(exe: str) -> str:
    """The interpreter that runs the ``guidellm`` script (it has tokenizers/transformers)."""
    if Path(exe).parent == Path(sys.executable).parent:
        return sys.executable
    try:
        first = Path(exe).read_text(errors="replace").splitlines()[0]
    except (OSError, IndexError):
        return sys.executable
    if first.startswith("#!"):
        cand = first[2:].strip().split()[0]
        if Path(cand).is_file():
            return cand
    return sys.executable


def missing_reason() -> str | None:
    """Why a real GuideLLM run cannot happen here, or None."""
    exe = guidellm_executable()
    if exe is None:
        return ("guidellm is not installed (pip install guidellm 'torch==<cpu build>'; see "
                "tests/guidellm_mock.py)")
    return None


def require_or_skip() -> None:
    """Skip when guidellm is missing; fail under ``CI=true``."""
    import pytest

    reason = missing_reason()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes] | None, grace: float = 5.0) -> None:
    """Stop ``proc`` and the process group it leads (started with ``start_new_session``)."""
    if proc is None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    # workers left in the group after the leader exited
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _wait_health(url: str, proc: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"guidellm mock-server exited with {proc.returncode}:\n"
                               f"{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:  # noqa: S310 - loopback only
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"guidellm mock-server not healthy at {url} in time:\n{_tail(log)}")


def run_mock_benchmark(workdir: Path, *, sweep_size: int = 4, seconds: float = 1.0,
                       fail_after: int | None = 150, timeout: float = 120.0,
                       yaml: bool = True) -> MockRun:
    """Run a short GuideLLM sweep against its mock server; return the report paths.

    Parameters
    ----------
    workdir : an empty folder (tokenizer, logs and ``out/`` are written there).
    sweep_size : benchmarks in the sweep (synchronous, throughput, then constant rates).
    seconds : ``max_duration`` of each benchmark.
    fail_after : the mock server answers HTTP 500 after this many generation requests
        (errored requests in the last benchmarks); None for never.
    timeout : bound on the whole run in seconds (server start + benchmark).
    yaml : also write GuideLLM's YAML report.
    """
    exe = guidellm_executable()
    if exe is None:
        raise RuntimeError(missing_reason() or "guidellm missing")
    workdir = Path(workdir)
    out = workdir / "out"
    out.mkdir(parents=True, exist_ok=True)
    tok_dir = workdir / "tokenizer"
    t0 = time.monotonic()
    deadline = t0 + timeout
    port = free_port()
    server_cmd = [exe, "mock-server", "--host", "127.0.0.1", "--port", str(port),
                  "--model", MODEL, "--ttft-ms", "20", "--itl-ms", "2", "--output-tokens", "16"]
    if fail_after is not None:
        server_cmd += ["--fail-after-requests", str(fail_after)]
    tok_cmd = [_python_of(exe), "-c", TOKENIZER_SCRIPT, str(tok_dir)]
    bench_cmd = [
        exe, "run",
        "--backend", f"kind=openai_http,target=http://127.0.0.1:{port},model={MODEL}",
        "--profile", f"kind=sweep,sweep_size={sweep_size},max_concurrency=8",
        "--constraint", f"kind=max_duration,seconds={seconds:g}",
        "--data", "kind=synthetic_text,prompt_tokens=32,output_tokens=16",
        "--data-loader", "kind=pytorch,prefetch_factor=4",
        "--tokenizer", f"kind=huggingface_auto,model={tok_dir}",
        "--metrics", "kind=generative,sample_size=5,slo.ttft_ms=200,slo.tpot_ms=50",
        "--output", f"kind=json,path={out / 'benchmarks.json'}",
        "--disable-console",
    ]
    if yaml:
        bench_cmd[-1:-1] = ["--output", f"kind=yaml,path={out / 'benchmarks.yaml'}"]
    env = {**os.environ, **GUIDELLM_ENV}
    server_log = workdir / "mock-server.log"
    bench_log = workdir / "benchmark.log"
    server: subprocess.Popen[bytes] | None = None
    bench: subprocess.Popen[bytes] | None = None
    try:
        with server_log.open("wb") as slog:
            server = subprocess.Popen(server_cmd, stdout=slog, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=env, cwd=workdir,
                                      start_new_session=True)
        tok = subprocess.run(tok_cmd, capture_output=True, env=env, cwd=workdir,
                             timeout=max(5.0, deadline - time.monotonic()), check=False)
        if tok.returncode != 0:
            raise RuntimeError(f"building the test tokenizer failed:\n"
                               f"{tok.stderr.decode(errors='replace')[-2000:]}")
        _wait_health(f"http://127.0.0.1:{port}/health", server, server_log,
                     min(deadline, time.monotonic() + 60))
        with bench_log.open("wb") as blog:
            bench = subprocess.Popen(bench_cmd, stdout=blog, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=workdir,
                                     start_new_session=True)
        try:
            rc = bench.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"guidellm run did not finish within {timeout:g} s:\n"
                               f"{_tail(bench_log)}") from None
        if rc != 0 or not (out / "benchmarks.json").is_file():
            raise RuntimeError(f"guidellm run exited with {rc}:\n{_tail(bench_log)}")
    finally:
        _stop(bench)
        _stop(server)
    return MockRun(workdir=workdir, json=out / "benchmarks.json",
                   yaml=(out / "benchmarks.yaml") if yaml else None,
                   seconds=time.monotonic() - t0,
                   commands={"mock-server": server_cmd, "tokenizer": tok_cmd[:2] + ["<script>"]
                             + tok_cmd[3:], "run": bench_cmd})


if __name__ == "__main__":  # pragma: no cover - manual use: python tests/guidellm_mock.py DIR
    import tempfile

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    r = run_mock_benchmark(target)
    print(f"{r.seconds:.1f} s: {r.json}")
    for name, cmd in r.commands.items():
        print(f"{name}: {' '.join(cmd)}")
