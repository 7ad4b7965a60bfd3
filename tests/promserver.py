"""A real Prometheus for tests: generated vLLM/DCGM-like series, backfilled with promtool.

>>> srv = PromServer.start(tmp_path)       # doctest: +SKIP
>>> srv.url                                 # doctest: +SKIP
'http://127.0.0.1:40123'
>>> srv.stop()                              # doctest: +SKIP

Data (all timestamps in SECONDS, each series ascending, file ends with ``# EOF``):

- ``T0`` = 2024-01-01T00:00:00Z; vLLM and DCGM series every ``SCRAPE`` s for ``HOURS`` hours.
- model ``mistral-24b`` (namespace ``private-ai-demo``, pod ``mistral-24b-predictor-7d9f``,
  engines "0" and "1", BOTH inter-token-latency names with identical values, new KV-cache
  name, DCGM labels ``exported_pod``, 4 GPUs); model ``mistral-24b-quantized`` (pod
  ``mistral-24b-quantized-predictor-5c6b``, engine "0", only the OLD names, DCGM labels
  ``pod``, 1 GPU); one idle GPU with ``exported_pod=""``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import requests

T0 = 1_704_067_200  # 2024-01-01T00:00:00Z
HOURS = 3
SCRAPE = 15
NAMESPACE = "private-ai-demo"
TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
                7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0]
ITL_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0,
               7.5, 10.0, 20.0, 40.0, 80.0]


@dataclass(frozen=True)
class Model:
    name: str
    pod: str
    engines: tuple[str, ...]
    new_names: bool
    old_names: bool
    dcgm_exported: bool
    gpus: int
    ttft_mu: float
    itl_mu: float
    rate: float  # requests/s per engine


MODELS = (
    Model("mistral-24b", "mistral-24b-predictor-7d9f", ("0", "1"), True, True, True, 4,
          np.log(0.18), np.log(0.028), 1.6),
    Model("mistral-24b-quantized", "mistral-24b-quantized-predictor-5c6b", ("0",), False, True,
          False, 1, np.log(0.26), np.log(0.034), 2.4),
)


def selector(model: Model) -> str:
    """The selector a user would give evalkit for ``model``."""
    prefix = model.pod.rsplit("-", 1)[0]
    return f'namespace="{NAMESPACE}",pod=~"{prefix}.*"'


def _fmt(v: float) -> str:
    if np.isposinf(v):
        return "+Inf"
    return repr(float(v))


def _labels(d: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in d.items()) + "}"


def generate_openmetrics(path: Path, seed: int = 7) -> None:
    """Write the test data set to ``path`` (OpenMetrics text)."""
    rng = np.random.default_rng(seed)
    n = HOURS * 3600 // SCRAPE + 1
    ts = T0 + np.arange(n) * SCRAPE
    lines: list[str] = []

    def series(name: str, labels: dict[str, str], values: np.ndarray) -> None:
        lab = _labels(labels)
        lines.extend(f"{name}{lab} {_fmt(v)} {t}" for t, v in zip(ts, values, strict=True))

    def hist(name: str, base: dict[str, str], bounds: list[float], obs_per_step: np.ndarray,
             mu: float, sigma: float) -> None:
        ub = np.array(bounds + [np.inf])
        cdf_edges = np.r_[0.0, ub]
        counts = np.zeros((n, ub.size))
        sums = np.zeros(n)
        for i, k in enumerate(obs_per_step):
            if k:
                x = rng.lognormal(mu, sigma, int(k))
                counts[i] = np.histogram(x, bins=cdf_edges)[0]
                sums[i] = x.sum()
        cum = np.cumsum(np.cumsum(counts, axis=1), axis=0)  # cumulative in le and time
        for j, b in enumerate(ub):
            series(f"{name}_bucket", {**base, "le": _fmt(b) if np.isfinite(b) else "+Inf"},
                   cum[:, j])
        series(f"{name}_sum", base, np.cumsum(sums))
        series(f"{name}_count", base, cum[:, -1])

    # a load pattern with an idle stretch (rates and quantiles are NaN/0 there)
    load = 1 + 0.5 * np.sin(np.linspace(0, 4 * np.pi, n))
    load[n // 3:n // 3 + 40] = 0
    for m in MODELS:
        for eng in m.engines:
            base = {"namespace": NAMESPACE, "pod": m.pod, "model_name": m.name, "engine": eng}
            reqs = rng.poisson(m.rate * SCRAPE * load)
            hist("vllm:time_to_first_token_seconds", base, TTFT_BUCKETS, reqs, m.ttft_mu, 0.6)
            toks = rng.poisson(180, n) * reqs
            names = ([] + (["vllm:inter_token_latency_seconds"] if m.new_names else [])
                     + (["vllm:time_per_output_token_seconds"] if m.old_names else []))
            state = rng.bit_generator.state
            for nm in names:  # identical values under both names (vLLM re-enabled old names)
                rng.bit_generator.state = state
                hist(nm, base, ITL_BUCKETS, np.minimum(toks, 400), m.itl_mu, 0.35)
            series("vllm:generation_tokens_total", base, np.cumsum(toks).astype(float))
            series("vllm:prompt_tokens_total", base,
                   np.cumsum(rng.poisson(900, n) * reqs).astype(float))
            stop = rng.binomial(reqs, 0.93)
            series("vllm:request_success_total", {**base, "finished_reason": "stop"},
                   np.cumsum(stop).astype(float))
            series("vllm:request_success_total", {**base, "finished_reason": "length"},
                   np.cumsum(reqs - stop).astype(float))
            series("vllm:num_requests_running", base, rng.poisson(6 * load).astype(float))
            series("vllm:num_requests_waiting", base, rng.poisson(1 * load).astype(float))
            kv = np.clip(0.35 * load + rng.normal(0, 0.03, n), 0, 1)
            series("vllm:kv_cache_usage_perc" if m.new_names else "vllm:gpu_cache_usage_perc",
                   base, kv)
        for g in range(m.gpus):
            wl = ({"exported_namespace": NAMESPACE, "exported_pod": m.pod} if m.dcgm_exported
                  else {"namespace": NAMESPACE, "pod": m.pod})
            lab = {"gpu": str(g), "UUID": f"GPU-{m.name}-{g}", "Hostname": "node-1", **wl}
            series("DCGM_FI_DEV_GPU_UTIL", lab, np.clip(70 * load + rng.normal(0, 5, n), 0, 100).round())
            series("DCGM_FI_DEV_FB_USED", lab, np.full(n, 72000.0 if m.gpus > 1 else 21000.0))
        series("kube_pod_container_resource_requests",
               {"namespace": NAMESPACE, "pod": m.pod, "container": "kserve-container",
                "resource": "nvidia_com_gpu", "unit": "integer"}, np.full(n, float(m.gpus)))
    idle = {"gpu": "7", "UUID": "GPU-idle", "Hostname": "node-1", "exported_namespace": "",
            "exported_pod": ""}
    series("DCGM_FI_DEV_GPU_UTIL", idle, np.zeros(n))
    lines.append("# EOF")
    path.write_text("\n".join(lines) + "\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binaries() -> tuple[str | None, str | None]:
    return shutil.which("prometheus"), shutil.which("promtool")


def missing_reason() -> str | None:
    prom, tool = binaries()
    if prom and tool:
        return None
    return ("prometheus/promtool not installed (apt-get install -y --no-install-recommends "
            "prometheus)")


@dataclass
class PromServer:
    url: str
    proc: subprocess.Popen
    workdir: Path

    @classmethod
    def start(cls, workdir: Path, *, openmetrics: Path | None = None) -> PromServer:
        prom, tool = binaries()
        assert prom and tool, missing_reason()
        workdir.mkdir(parents=True, exist_ok=True)
        om = openmetrics or workdir / "data.om"
        if openmetrics is None:
            generate_openmetrics(om)
        data = workdir / "tsdb"
        for f in (om,):
            subprocess.run([tool, "tsdb", "create-blocks-from", "openmetrics", "-q", str(f),
                            str(data)], check=True, capture_output=True, timeout=300)
        cfg = workdir / "prometheus.yml"
        cfg.write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
        port = free_port()
        log = open(workdir / "prometheus.log", "wb")  # noqa: SIM115 - closed in stop()
        proc = subprocess.Popen(
            [prom, f"--config.file={cfg}", f"--storage.tsdb.path={data}",
             f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=100y",
             "--web.enable-lifecycle"],
            stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
        srv = cls(f"http://127.0.0.1:{port}", proc, workdir)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("prometheus exited: " + (workdir / "prometheus.log").read_text()[-2000:])
            try:
                if requests.get(f"{srv.url}/-/ready", timeout=1).status_code == 200:
                    return srv
            except requests.RequestException:
                pass
            time.sleep(0.1)
        srv.stop()
        raise RuntimeError("prometheus did not become ready in 60 s")

    def api(self, path: str, **params: object) -> dict:
        """Call the HTTP API directly (no evalkit code), return the decoded JSON."""
        r = requests.post(f"{self.url}/api/v1/{path}", data=params, timeout=60)
        return r.json()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def require_or_skip() -> None:
    """Skip when the binaries are missing — but FAIL under CI=true."""
    import pytest

    reason = missing_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)
