"""GuideLLM load-test reports for the demo snapshot (GENERATED DEMO DATA): one GuideLLM 0.8
``benchmarks.json`` (``metadata.version: 2``) per demo model, written as ``evalkit pull
--guidellm`` would copy them (``guidellm/<model>/benchmarks.json``).

Nothing here is measured; the shapes are real. Each report is a sweep against the model's
vLLM endpoint (``/v1/chat/completions``, streaming) with GuideLLM's synthetic text data
(prompts ≈128 tokens, outputs ≈96 tokens, at most 136): a ``synchronous`` benchmark, ``poisson``
benchmarks at :data:`RATES` (0.25 and 0.5 requests/s, then the three rates whose results the
demo pipeline stored in the Model Registry as ``benchmark_rate_*`` properties, see
``scripts/demo_registry.py``) and a ``throughput`` (saturation) benchmark, 120 s each.

How the numbers are made:

- **A seeded simulation of a continuously batching server** (:func:`simulate`), one engine
  step at a time: requests arrive (Poisson at the target rate — the arrival times of a
  Poisson process given its count, sorted uniforms; back to back for ``synchronous``;
  :data:`CLIENT_CONCURRENCY` in flight for ``throughput``), the client holds requests while
  :data:`CLIENT_CONCURRENCY` are in flight, the server admits waiting requests up to its
  ``max_num_seqs`` (its KV cache) and a prefill budget, and every step emits one token per
  running sequence. A step takes the decode time of the running batch
  (:meth:`Server.decode_ms`: a single sequence is fastest, the step time rises steeply while
  the batch fills, then per sequence and, near the KV-cache limit, per sequence squared) plus
  the prefill of the prompts admitted in it, times seeded log-normal jitter; the network
  round trip adds log-normal time to each request. Queueing therefore grows toward
  saturation by itself: TTFT waits for the step in flight, for other prompts and for a free
  sequence slot; inter-token latency grows with the batch; past capacity requests pile up at
  the client (late dispatch, GuideLLM's ``root_late`` warning) and are still running when
  the benchmark ends (``incomplete``). The server parameters (:data:`SERVERS`) are
  assumptions of the demo, chosen so the stored registry numbers come out of the simulation
  roughly; they are not measurements of an NVIDIA L4.
- **Per-request values** follow GuideLLM's definitions: TTFT = first token − request sent,
  inter-token latency = (last − first token) / (output tokens − 1), time per output token =
  (last token − sent) / output tokens, request latency = response end − sent (seconds).
- **Every statistic is computed from those samples** with GuideLLM 0.8.1's definitions
  (:func:`summary`, :func:`benchmark_doc`): a weighted empirical distribution whose
  percentiles are the sample where the cumulative probability first reaches the level
  (``p99`` is a value that occurred); ITL weighted by output tokens − 1 and time per output
  token by output tokens; requests/s and tokens/s as GuideLLM's time-weighted rate
  distributions of completion and token times over the 120 s window; concurrency weighted by
  time. ``mean_ci`` (t interval) and ``percentile_cis`` (order statistics from binomial ranks,
  ``null`` when the sample is too small — p99 needs 368 requests) only for once-per-request
  values, as GuideLLM reports them. The request samples are empty lists (``--sample-size
  0``), which GuideLLM allows; dispatch delays exist only for the poisson benchmarks (an
  arrival schedule); round-trip times are 0 (HTTP, not websocket).
- **The shape is GuideLLM 0.8.1's own**: every report loads with
  ``guidellm.benchmark.GenerativeBenchmarksReport`` (``tests/test_cost.py`` checks it when
  GuideLLM is installed).
- **Pinned to the registry.** At the three registry rates the report's successful
  ``time_to_first_token_ms`` p99, ``request_latency`` p99 and ``output_tokens_per_second``
  mean must equal the stored ``benchmark_rate_*`` numbers exactly (the demo pipeline copied
  them from these reports). The simulated samples are scaled to hit them before anything is
  computed: TTFT by one factor; inter-token gaps by the factor that brings the latency p99 to
  its target (so TTFT + (n − 1) × ITL stays each request's latency); the time-weighted
  throughput rates by one factor. The p99 sample (a few units in the last place), resp. the
  rate of the longest interval (the least that does it), is then moved so the written value
  is the target to the bit. The factors (``python scripts/demo_guidellm.py`` prints them) are
  within 17 % of 1 at 1 request/s and furthest from it where the stored numbers and the
  simulated queueing agree least: TTFT × 1.4 (FP16) and × 2.4 (W4A16) at 8 requests/s,
  × 0.7 and × 0.5 at 32.6.
- **Reproducible on every supported stack**: one ``numpy.random.default_rng(seed)``;
  ``exp``/``log`` from :mod:`math`, sums with :func:`math.fsum`, no numpy reduction whose last
  digit depends on the numpy version; timestamps derive from ``started`` only.

The story the numbers tell: FP16 on 4 GPUs has the larger capacity; W4A16 on 1 GPU meets the
chat SLO (TTFT p99 ≤ 200 ms, ITL p99 ≤ 50 ms) only at the lowest rates, FP16 up to 1
request/s; both meet a 3 s request latency p99 (RAG) only with a nearly idle server.

Preview (prints each benchmark's key numbers, the scale factors and the capacity)::

    python scripts/demo_guidellm.py [--seed 20261120]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import sys
from collections import deque
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))

from demo_registry import MODELS as REGISTRY  # noqa: E402

NAMESPACE = "private-ai-demo"
TOKENIZER = "mistralai/Mistral-Small-24B-Instruct-2501"
GUIDELLM_VERSION = "0.8.1"
#: the poisson rates of the sweep (requests/s); the last three are the registry's, float noise
#: included, so ``benchmark_rate_<rate!r>_*`` names them exactly
RATES: tuple[float, ...] = (0.25, 0.5, *sorted(REGISTRY["mistral-24b"]["bench"]))
DURATION_S = 120.0  # GuideLLM --max-seconds
GAP_S = 10.0  # between benchmarks (GuideLLM's cool-down and the next warm-up)
CLIENT_CONCURRENCY = 330  # GuideLLM --max-concurrency (requests in flight from the client)
WORKERS = 4
SAMPLE_SIZE = 0  # requests kept per status (--sample-size; 0: the lists are empty)
CONFIDENCE = 0.95
SLO_CONFIG = {"ttft_ms": 200.0, "tpot_ms": 50.0, "e2el_ms": None}
DATA = {"kind": "synthetic_text", "prompt_tokens": 128, "prompt_tokens_stdev": 16,
        "prompt_tokens_min": 64, "prompt_tokens_max": 192, "output_tokens": 96,
        "output_tokens_stdev": 20, "output_tokens_min": 32, "output_tokens_max": 136}
PERCENTILES = {"p001": 0.001, "p01": 0.01, "p05": 0.05, "p10": 0.1, "p25": 0.25, "p50": 0.5,
               "p75": 0.75, "p90": 0.9, "p95": 0.95, "p99": 0.99, "p999": 0.999}
STATUSES = ("successful", "errored", "incomplete", "total")


@dataclass(frozen=True)
class Server:
    """A vLLM deployment as the simulation sees it (times in ms)."""

    name: str
    quantization: str
    gpus: int
    decode_one_ms: float  # a decode step with one running sequence
    decode_fill_ms: float  # how much the step time rises while the batch fills
    decode_fill_seqs: float  # ... over about this many sequences
    decode_per_seq_ms: float  # and then per running sequence
    decode_per_seq2_ms: float  # and per sequence squared (KV-cache pressure near the limit)
    prefill_fixed_ms: float  # a step that prefills prompts pays this once
    prefill_per_token_ms: float  # and this per prompt token
    max_num_seqs: int  # vLLM --max-num-seqs (or the KV cache's limit)
    network_ms: float = 50.0  # median round trip client <-> model server (route, mesh, API)
    prefill_budget: int = 4096  # prompt tokens admitted per step (--max-num-batched-tokens)
    jitter: float = 0.06  # sigma of the log-normal step-time noise
    network_sigma: float = 0.12

    def decode_ms(self, c: int) -> float:
        if c <= 0:
            return 0.0
        fill = 1.0 - math.exp(-(c - 1) / self.decode_fill_seqs)
        return (self.decode_one_ms + self.decode_fill_ms * fill + self.decode_per_seq_ms * c
                + self.decode_per_seq2_ms * c * c)


SERVERS = {
    # FP16, tensor parallel over 4 GPUs: a KV cache with room for 300 sequences
    "mistral-24b": Server("mistral-24b", "fp16", 4, decode_one_ms=18.6, decode_fill_ms=24.0,
                          decode_fill_seqs=1.2, decode_per_seq_ms=0.165,
                          decode_per_seq2_ms=0.0, prefill_fixed_ms=20.0,
                          prefill_per_token_ms=0.05, max_num_seqs=300, network_ms=50.0),
    # W4A16 on 1 GPU: slower to fill a batch, dearer per sequence, KV cache for 267
    "mistral-24b-quantized": Server("mistral-24b-quantized", "w4a16", 1, decode_one_ms=18.6,
                                    decode_fill_ms=32.0, decode_fill_seqs=2.5,
                                    decode_per_seq_ms=0.3, decode_per_seq2_ms=0.0008,
                                    prefill_fixed_ms=15.0, prefill_per_token_ms=0.12,
                                    max_num_seqs=267, network_ms=70.0),
}


# ----------------------------------------------------------------------------- simulation

@dataclass
class Run:
    """One benchmark's requests (seconds from the benchmark start)."""

    kind: str
    rate: float | None
    scheduled: np.ndarray  # when the client meant to send each request
    sent: np.ndarray  # when it was sent (NaN: never sent, held by the client at the end)
    prompt: np.ndarray  # prompt tokens
    out: np.ndarray  # output tokens received
    first: np.ndarray  # first token received (NaN: none)
    last: np.ndarray  # last token received (NaN: none)
    end: np.ndarray  # response end, or the end of the benchmark (cancelled)
    status: np.ndarray  # "successful" / "incomplete" / "unsent"
    overhead: np.ndarray  # the client's scheduling overhead per request (s)
    factors: dict[str, float] = field(default_factory=dict)
    pinned: dict[str, np.ndarray] = field(default_factory=dict)  # exact per-request values


def _lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    z = rng.standard_normal(n)
    return np.array([median * math.exp(sigma * v) for v in z.tolist()])


def _lengths(rng: np.random.Generator, n: int, mean: float, sd: float, lo: int,
             hi: int) -> np.ndarray:
    x = np.rint(mean + sd * rng.standard_normal(n))
    return np.clip(x, lo, hi).astype(np.int64)


def simulate(server: Server, kind: str, rate: float | None, rng: np.random.Generator,
             duration: float = DURATION_S) -> Run:
    """Simulate one benchmark of ``kind`` (``synchronous``, ``poisson`` at ``rate``,
    ``throughput``) against ``server``; see the module docstring."""
    if kind == "poisson":
        # a Poisson process given its count: the arrival times are sorted uniforms
        n = n_sched = round(float(rate) * duration)
        sched = np.sort(rng.random(n)) * duration
        cap = CLIENT_CONCURRENCY
    else:
        cap = 1 if kind == "synchronous" else CLIENT_CONCURRENCY
        n = 4096 if kind == "synchronous" else 24000
        sched = np.full(n, np.nan)  # known when a slot frees
        sched[:cap] = 0.0
        n_sched = cap
    prompt = _lengths(rng, n, DATA["prompt_tokens"], DATA["prompt_tokens_stdev"],
                      DATA["prompt_tokens_min"], DATA["prompt_tokens_max"])
    target = _lengths(rng, n, DATA["output_tokens"], DATA["output_tokens_stdev"],
                      DATA["output_tokens_min"], DATA["output_tokens_max"])
    half_net = _lognormal(rng, server.network_ms / 2000.0, server.network_sigma, n)
    overhead = _lognormal(rng, 0.0012, 0.35, n)
    noise = rng.standard_normal(60000).tolist()
    sent = np.full(n, np.nan)
    first_step = np.full(n, -1, dtype=np.int64)
    last_step = np.full(n, -1, dtype=np.int64)
    done = np.zeros(n, dtype=np.int64)
    finished = np.zeros(n, dtype=bool)
    step_end: list[float] = []
    released = 0  # requests the client has released (scheduled time reached)
    held: deque[int] = deque()  # released, waiting for a free client slot
    queue: deque[int] = deque()  # sent, not yet admitted by the server
    running: list[int] = []
    inflight = 0
    t = 0.0

    def release(now: float) -> None:
        nonlocal released, inflight
        while released < n_sched and sched[released] <= now:
            i = released
            released += 1
            if not held and inflight < cap:
                sent[i] = sched[i] + overhead[i]
                queue.append(i)
                inflight += 1
            else:
                held.append(i)
        while held and inflight < cap:  # a slot freed: the client sends at once
            i = held.popleft()
            sent[i] = max(sched[i], now) + overhead[i]
            queue.append(i)
            inflight += 1

    while True:
        release(t)
        admit: list[int] = []
        budget, room = server.prefill_budget, server.max_num_seqs - len(running)
        for i in queue:  # first come (reached the server), first served
            if room <= 0 or budget <= 0:
                break
            if sent[i] + half_net[i] > t or (admit and prompt[i] > budget):
                continue
            admit.append(i)
            budget -= int(prompt[i])
            room -= 1
        if not running and not admit:  # idle until the next request reaches the server
            waits = [sent[i] + half_net[i] for i in queue]
            if released < n_sched:
                waits.append(sched[released])
            if not waits:
                break
            t = max(t, min(waits))
            if t >= duration:
                break
            continue
        for i in admit:
            queue.remove(i)
        ms = server.decode_ms(len(running))
        if admit:
            ms += server.prefill_fixed_ms + server.prefill_per_token_ms * int(prompt[admit].sum())
        ms *= math.exp(server.jitter * noise[len(step_end) % len(noise)])
        te = t + ms / 1000.0
        if te >= duration:
            break
        k = len(step_end)
        step_end.append(te)
        for i in admit:
            first_step[i] = k
        still = []
        for i in running + admit:
            done[i] += 1
            last_step[i] = k
            if done[i] >= target[i]:
                finished[i] = True
                inflight -= 1
                if kind != "poisson" and n_sched < n:  # the client sends the next one
                    sched[n_sched] = te + half_net[i]
                    n_sched += 1
            else:
                still.append(i)
        running = still
        t = te
    release(duration)  # what the client sent after the last step (nothing came back)
    steps = np.asarray(step_end + [duration])
    has_tok = first_step >= 0
    first = np.where(has_tok, steps[first_step] + half_net, np.nan)
    last = np.where(has_tok, steps[last_step] + half_net, np.nan)
    end = np.where(finished, last + 0.0004, duration)
    late = finished & (end > duration)  # the response had not fully arrived: cut off
    finished &= ~late
    end = np.where(late, duration, end)
    status = np.where(finished, "successful", np.where(np.isnan(sent), "unsent", "incomplete"))
    keep = np.arange(n) < released
    out = np.where(has_tok, done, 0)
    return Run(kind=kind, rate=rate, scheduled=sched[keep], sent=sent[keep],
               prompt=prompt[keep], out=out[keep], first=first[keep], last=last[keep],
               end=end[keep], status=status[keep], overhead=overhead[keep])


# ----------------------------------------------------------------------------- statistics

def _fsum(x: np.ndarray) -> float:
    return math.fsum(np.asarray(x, dtype=np.float64).tolist())


def _pdf(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GuideLLM's ``from_values``: sort, merge equal values, drop zero weights, normalise."""
    uniq, inverse = np.unique(values, return_inverse=True)
    comb = np.bincount(inverse.ravel(), weights=weights, minlength=len(uniq))
    nz = comb > 0
    uniq, comb = uniq[nz], comb[nz]
    return uniq, comb / _fsum(comb)


def _at(values: np.ndarray, cdf: np.ndarray, q: float) -> float:
    return float(values[min(int(np.searchsorted(cdf, q, side="left")), len(values) - 1)])


def _empty(count: int = 0) -> dict[str, Any]:
    return {"mean": 0.0, "median": 0.0, "mode": 0.0, "variance": 0.0, "std_dev": 0.0,
            "min": 0.0, "max": 0.0, "count": count, "total_sum": 0.0,
            "percentiles": dict.fromkeys(PERCENTILES, 0.0), "pdf": None, "mean_ci": None,
            "percentile_cis": None}


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 301):
        for num in (m * (b - m) * x / ((a + 2 * m - 1.0) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1.0))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _ibeta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x)
                     + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def _t_quantile(p: float, df: float) -> float:
    """Student's t quantile by bisection on its CDF (math only: the same digits on every
    numpy and scipy)."""
    def cdf(t: float) -> float:
        tail = 0.5 * _ibeta(df / 2.0, 0.5, df / (df + t * t))
        return 1.0 - tail if t > 0 else tail
    lo, hi = 0.0, 2.0
    while cdf(hi) < p:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if cdf(mid) < p else (lo, mid)
        if hi - lo < 1e-12 * max(1.0, mid):
            break
    return 0.5 * (lo + hi)


def _binom_cdf(k: int, n: int, q: float) -> float:
    if k < 0:
        return 0.0
    return 1.0 if k >= n else _ibeta(n - k, k + 1.0, 1.0 - q)


def _quantile_ci(sorted_values: list[float], q: float) -> dict[str, float] | None:
    """Distribution-free interval of the q-quantile: the order statistics whose ranks the
    binomial distribution puts around it at :data:`CONFIDENCE`; None when the sample is too
    small to have both (as GuideLLM 0.8 reports it)."""
    n = len(sorted_values)
    tail = (1.0 - CONFIDENCE) / 2.0
    if n < 2 or _binom_cdf(0, n, q) > tail or _binom_cdf(n - 1, n, q) < 1.0 - tail:
        return None
    lo, hi = 0, n - 1
    while lo < hi:  # the largest rank whose CDF is at most the lower tail
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if _binom_cdf(mid, n, q) <= tail else (lo, mid - 1)
    lower = lo
    lo, hi = 0, n - 1
    while lo < hi:  # the smallest rank whose CDF reaches the upper tail
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if _binom_cdf(mid, n, q) >= 1.0 - tail else (mid + 1, hi)
    return {"lower": sorted_values[lower], "upper": sorted_values[lo]}


def summary(values: Any, weights: Any = None, count: int | None = None, *,
            ci: bool = False) -> dict[str, Any]:
    """A GuideLLM ``DistributionSummary`` of ``values`` (optionally weighted). ``ci``: add
    0.8's ``mean_ci`` (t interval) and ``percentile_cis`` (binomial ranks), which GuideLLM
    reports only for unweighted once-per-request values."""
    v = np.asarray(values, dtype=np.float64)
    w = np.ones(len(v)) if weights is None else np.asarray(weights, dtype=np.float64)
    if len(v) == 0 or not (w > 0).any():
        return _empty(count or 0)
    if count is None:
        count = round(_fsum(w))
    vals, probs = _pdf(v, w)
    cdf = np.array(list(accumulate(probs.tolist())))
    mean = math.fsum((vals * probs).tolist())
    var = math.fsum(((vals - mean) * (vals - mean) * probs).tolist())
    pct = {k: _at(vals, cdf, q) for k, q in PERCENTILES.items()}
    mean_ci = cis = None
    if ci and len(v) >= 2 and bool((w == 1.0).all()):
        n = len(v)
        sample_sd = math.sqrt(math.fsum(((v - mean) * (v - mean)).tolist()) / (n - 1))
        half = _t_quantile((1.0 + CONFIDENCE) / 2.0, n - 1) * sample_sd / math.sqrt(n)
        mean_ci = {"lower": mean - half, "upper": mean + half}
        ordered = np.sort(v).tolist()
        cis = {k: _quantile_ci(ordered, q) for k, q in PERCENTILES.items()}
    return {"mean": mean, "median": pct["p50"], "mode": float(vals[int(np.argmax(probs))]),
            "variance": var, "std_dev": math.sqrt(var), "min": float(vals[0]),
            "max": float(vals[-1]), "count": int(count), "total_sum": mean * count,
            "percentiles": pct, "pdf": None, "mean_ci": mean_ci, "percentile_cis": cis}


def _merge(times: np.ndarray, weights: np.ndarray, threshold: float = 1e-4
           ) -> tuple[np.ndarray, np.ndarray]:
    """Events closer than ``threshold`` (0.1 ms) become one, as GuideLLM merges them (here:
    chains of close events; each keeps its first time and the sum of the weights)."""
    order = np.argsort(times, kind="stable")
    t, w = times[order], weights[order]
    if len(t) <= 1:
        return t, w
    group = np.concatenate(([0], np.cumsum(np.diff(t) > threshold)))
    starts = np.flatnonzero(np.concatenate(([True], np.diff(group) > 0)))
    return t[starts], np.bincount(group, weights=w)


def rate_samples(times: Any, weights: Any = None, start: float | None = None,
                 end: float | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """GuideLLM's rate distribution: (rates, durations, count) of events over time."""
    t = np.asarray(times, dtype=np.float64)
    w = np.ones(len(t)) if weights is None else np.asarray(weights, dtype=np.float64)
    if start is not None:
        keep = t >= start
        t, w = np.concatenate(([start], t[keep])), np.concatenate(([0.0], w[keep]))
    if end is not None:
        keep = t <= end
        t, w = np.concatenate((t[keep], [end])), np.concatenate((w[keep], [0.0]))
    t, w = _merge(t, w)
    if len(t) <= 1:
        return np.array([]), np.array([]), len(t)
    mid = (t[1:] + t[:-1]) / 2
    dur = np.empty_like(t)
    dur[0] = mid[0] - t[0]
    dur[1:-1] = mid[1:] - mid[:-1]
    dur[-1] = max(t[-1] - mid[-1], 1e-6)
    return w / dur, dur, round(_fsum(w))


def rate_summary(times: Any, weights: Any = None, start: float | None = None,
                 end: float | None = None) -> dict[str, Any]:
    rates, dur, count = rate_samples(times, weights, start, end)
    return summary(rates, dur, count) if len(rates) else _empty(count)


def concurrency_summary(starts: Any, ends: Any, weights: Any = None, start: float | None = None,
                        end: float | None = None) -> dict[str, Any]:
    """GuideLLM's concurrency distribution: the (weighted) number in flight, weighted by
    time."""
    s, e = np.asarray(starts, dtype=np.float64), np.asarray(ends, dtype=np.float64)
    w = np.ones(len(s)) if weights is None else np.asarray(weights, dtype=np.float64)
    keep = np.ones(len(s), dtype=bool)
    if start is not None:
        keep &= e >= start
    if end is not None:
        keep &= s <= end
    s, e, w = s[keep], e[keep], w[keep]
    if not len(s):
        return _empty(0)
    t, d = _merge(np.concatenate((s, e)), np.concatenate((w, -w)))
    if start is not None:
        i0 = int(np.searchsorted(t, start, side="left"))
        prior = math.fsum(d[:i0].tolist())
        t, d = np.concatenate(([start], t[i0:])), np.concatenate(([prior], d[i0:]))
    if end is not None:
        i1 = int(np.searchsorted(t, end, side="right"))
        t, d = np.concatenate((t[:i1], [end])), np.concatenate((d[:i1], [0.0]))
    conc = np.clip(np.array(list(accumulate(d.tolist()))), 0, None)
    dur = np.clip(np.diff(t), 0, None)
    return summary(conc[:-1], dur, len(s)) if (dur > 0).any() else _empty(len(s))


# ----------------------------------------------------------------------------- pinning

def _p99(x: np.ndarray) -> float:
    vals, probs = _pdf(x, np.ones(len(x)))
    return _at(vals, np.array(list(accumulate(probs.tolist()))), PERCENTILES["p99"])


def _pin_p99(x: np.ndarray, target: float) -> np.ndarray:
    """``x`` with its p99 sample set to ``target`` (it is within a few ulps of it already)."""
    x = x.copy()
    got = _p99(x)
    if got != target:
        if abs(got - target) > 1e-9 * abs(target):
            raise RuntimeError(f"p99 {got!r} is not close to {target!r}")
        x[x == got] = target
    if _p99(x) != target:
        raise RuntimeError(f"could not pin p99 to {target!r}")
    return x


def pin_latencies(run: Run, ttft_p99_ms: float, latency_p99_s: float) -> None:
    """Scale the successful requests' TTFTs and inter-token gaps so the TTFT p99 (ms) and the
    request latency p99 (s) are the targets exactly; each request's latency stays TTFT +
    its token gaps + the end of its response."""
    ok = run.status == "successful"
    sent, first, last = run.sent[ok], run.first[ok], run.last[ok]
    ttft = (first - sent) * 1000.0
    gaps = last - first  # seconds from the first to the last token
    tail = run.end[ok] - last
    f_ttft = ttft_p99_ms / _p99(ttft)
    ttft = _pin_p99(ttft * f_ttft, ttft_p99_ms)

    def latency(f: float) -> np.ndarray:
        return ttft / 1000.0 + gaps * f + tail

    lo, hi = 0.25, 4.0
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _p99(latency(mid)) < latency_p99_s else (lo, mid)
    f_itl = hi
    lat = _pin_p99(latency(f_itl), latency_p99_s)
    first = sent + ttft / 1000.0
    for name, value in (("first", first), ("last", first + gaps * f_itl), ("end", sent + lat)):
        arr = getattr(run, name).copy()
        arr[ok] = value
        setattr(run, name, arr)
    run.factors.update({"ttft": f_ttft, "itl": f_itl})
    run.pinned.update({"ttft_ms": ttft, "latency_s": lat})  # not re-derived from the times


def _mean(rates: np.ndarray, dur: np.ndarray) -> float:
    vals, probs = _pdf(rates, dur)
    return math.fsum((vals * probs).tolist())


def pin_mean(rates: np.ndarray, dur: np.ndarray, target: float) -> tuple[np.ndarray, float]:
    """Scale time-weighted ``rates`` so their mean (as :func:`summary` computes it) is
    ``target`` exactly: one factor, then the longest interval's rate is moved (bisection on
    the float) until the correctly rounded mean is the target."""
    f = target / _mean(rates, dur)
    r = rates * f
    if _mean(r, dur) == target:
        return r, f
    j = int(np.argmax(dur))
    if np.count_nonzero(r == r[j]) > 1:
        raise RuntimeError("the pinned rate is not unique")
    vals, probs = _pdf(r, dur)
    u = int(np.searchsorted(vals, r[j]))
    others = np.delete(vals * probs, u)
    hi_sum = _fsum(others)
    lo_sum = math.fsum([*others.tolist(), -hi_sum])
    p_j = float(probs[u])

    def mean_with(x: float) -> float:  # the same rounded sum, without re-sorting
        return math.fsum([hi_sum, lo_sum, x * p_j])

    lo, hi = r[j], r[j]
    step = max(abs(target - mean_with(r[j])) / p_j, abs(r[j]) * 1e-15)
    while mean_with(lo) > target:
        lo -= step
        step *= 2
    step = max(abs(target - mean_with(r[j])) / p_j, abs(r[j]) * 1e-15)
    while mean_with(hi) < target:
        hi += step
        step *= 2
    for _ in range(200):
        if mean_with(lo) == target:
            hi = lo
            break
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if mean_with(mid) < target else (lo, mid)
    r = r.copy()
    for cand in (hi, lo):
        r[j] = cand
        if _mean(r, dur) == target:
            return r, f
    raise RuntimeError(f"could not pin the mean to {target!r}")


# ----------------------------------------------------------------------------- documents

SPLIT = ("successful", "errored", "incomplete")
#: GuideLLM 0.8.1's default warning rules (``config.spec.metrics.warnings``)
WARNING_RULES = [
    {"enabled": True, "code": "generation_delay_ttft",
     "metric": {"name": "generation_delay", "statistic": "mean", "scale": 1.0},
     "relative_to": {"name": "time_to_first_token_ms.total", "statistic": "mean",
                     "scale": 0.001},
     "threshold": 0.01,
     "note": "This means that the benchmark was likely bottlenecked by the data generation.",
     "when": None},
    {"enabled": True, "code": "root_late",
     "metric": {"name": "root_dispatch_delay", "statistic": "p95", "scale": 1.0},
     "relative_to": None, "threshold": 0.2,
     "note": "This means that conversations were loaded late.", "when": None},
    {"enabled": True, "code": "dataset_incomplete",
     "metric": {"name": "dataset_incomplete", "statistic": "mean", "scale": 1.0},
     "relative_to": None, "threshold": 0.0,
     "note": "The trace dataset was not fully loaded. This could result in late arrivals of "
             "trace conversations.", "when": {"name": "strategy_type", "equals": "trace"}},
]
_MODALITIES = {"image": ("tokens", "images", "pixels", "bytes"),
               "video": ("tokens", "frames", "seconds", "bytes"),
               "audio": ("tokens", "samples", "seconds", "bytes"),
               "tool_call": ("tokens", "mixed_tokens", "count")}
_SUMMARY_KEYS = ("input", "input_per_second", "input_concurrency", "output",
                 "output_per_second", "output_concurrency", "total", "total_per_second",
                 "total_concurrency")


def _uuid(*parts: Any) -> str:
    h = hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:32]}"


@dataclass
class Requests:
    """The requests GuideLLM reports on (every request sent), with absolute times."""

    status: np.ndarray
    targeted: np.ndarray  # the arrival time the strategy meant
    start: np.ndarray  # request sent
    first: np.ndarray  # first token (NaN: none)
    last: np.ndarray  # last token (NaN: none)
    end: np.ndarray  # response end or cancel time
    prompt: np.ndarray
    out: np.ndarray
    ttft_ms: np.ndarray  # 0 without a first token
    latency_s: np.ndarray

    def mask(self, status: str) -> np.ndarray:
        return self.status == status if status != "total" else np.ones(len(self.status), bool)


def _values(r: Requests, values: np.ndarray, *, weights: np.ndarray | None = None,
            where: np.ndarray | None = None, ci: bool = False) -> dict[str, Any]:
    """A StatusDistributionSummary of per-request values (``where``: which requests count)."""
    out = {}
    for st in (*SPLIT, "total"):
        m = r.mask(st) if where is None else r.mask(st) & where
        out[st] = summary(values[m], None if weights is None else weights[m], ci=ci)
    return {k: out[k] for k in ("successful", "errored", "incomplete", "total")}


def _rates(r: Requests, times: np.ndarray, weights: np.ndarray, req: np.ndarray,
           window: tuple[float, float] | None, pinned: float | None = None
           ) -> tuple[dict[str, Any], float | None]:
    """A rate StatusDistributionSummary of events (``req``: the request of each event);
    ``pinned``: make the successful mean exactly this (returns the factor used)."""
    out, factor = {}, None
    start, end = window if window else (None, None)
    for st in (*SPLIT, "total"):
        m = r.mask(st)[req]
        if st == "successful" and pinned is not None:
            rates, dur, count = rate_samples(times[m], weights[m], start, end)
            rates, factor = pin_mean(rates, dur, pinned)
            out[st] = summary(rates, dur, count)
        else:
            out[st] = rate_summary(times[m], weights[m], start, end)
    return out, factor


def _concurrency(r: Requests, weights: np.ndarray | None,
                 window: tuple[float, float] | None) -> dict[str, Any]:
    start, end = window if window else (None, None)
    out = {}
    for st in (*SPLIT, "total"):
        m = r.mask(st)
        out[st] = concurrency_summary(r.start[m], r.end[m],
                                      None if weights is None else weights[m], start, end)
    return out


def _sent_requests(run: Run, t0: float) -> Requests:
    keep = run.status != "unsent"
    n = run.out[keep].astype(np.float64)
    first, last = run.first[keep] + t0, run.last[keep] + t0
    start, end = run.sent[keep] + t0, run.end[keep] + t0
    has_tok = ~np.isnan(first)
    ttft = np.where(has_tok, (first - start) * 1000.0, 0.0)
    latency = end - start
    if run.pinned:  # the exact pinned values, not re-derived from the absolute times
        ok = run.status[keep] == "successful"
        ttft[ok], latency[ok] = run.pinned["ttft_ms"], run.pinned["latency_s"]
    return Requests(status=run.status[keep], targeted=run.scheduled[keep] + t0, start=start,
                    first=first, last=last, end=end, prompt=run.prompt[keep].astype(np.float64),
                    out=n, ttft_ms=ttft, latency_s=latency)


def _text_tokens(r: Requests) -> dict[str, Any]:
    """``metrics.text.tokens``: prompt (input), output and both, as values, rates at the
    request end and token concurrency (GuideLLM's per-modality summary)."""
    idx = np.arange(len(r.status))
    both_idx = np.concatenate((idx, idx))
    both = Requests(**{k: np.concatenate((getattr(r, k), getattr(r, k)))
                       for k in Requests.__dataclass_fields__})
    res: dict[str, Any] = {}
    for name, vals, req, rr in (("input", r.prompt, idx, r), ("output", r.out, idx, r),
                                ("total", np.concatenate((r.prompt, r.out)), both_idx, both)):
        res[name] = _values(rr, vals)
        res[f"{name}_per_second"] = _rates(r, rr.end, vals, req, None)[0]
        res[f"{name}_concurrency"] = _concurrency(rr, vals, None)
    return {k: res[k] for k in _SUMMARY_KEYS}


def _warnings(metrics: dict[str, Any], gen_delay: dict[str, Any], n_sent: int
              ) -> list[dict[str, Any]]:
    """GuideLLM's default warning rules applied to the computed metrics."""
    out = []
    ttft_total = metrics["time_to_first_token_ms"]["total"]["mean"] * 0.001
    if ttft_total > 0 and gen_delay["mean"] / ttft_total > 0.01:
        ratio = gen_delay["mean"] / ttft_total
        out.append({"code": "generation_delay_ttft",
                    "message": f"mean generation delay was {ratio:.0%} of mean time to first "
                               f"token ms.total ({gen_delay['mean']:.3f}s / {ttft_total:.3f}s; "
                               "threshold 1%).",
                    "observed": ratio, "threshold": 0.01, "unit": "ratio",
                    "sample_count": n_sent, "note": WARNING_RULES[0]["note"]})
    root = metrics["root_dispatch_delay"]
    if root is not None and root["percentiles"]["p95"] > 0.2:
        p95 = root["percentiles"]["p95"]
        out.append({"code": "root_late",
                    "message": f"p95 root dispatch delay was {p95:.2f}s (threshold 0.2s).",
                    "observed": p95, "threshold": 0.2, "unit": "seconds",
                    "sample_count": root["count"], "note": WARNING_RULES[1]["note"]})
    return out


def _constraint_state(t_start: float, elapsed: float) -> dict[str, Any]:
    stop = t_start + DURATION_S
    progress = {"remaining_requests": None, "total_requests": None, "remaining_duration": 0.0,
                "total_duration": DURATION_S, "stop_time": stop}
    return {"max_duration": {
        "request_queuing": "stop", "request_processing": "stop_local",
        "stopping_scope": "current",
        "metadata": {"max_duration": int(DURATION_S), "elapsed_time": elapsed,
                     "duration_exceeded": True, "start_time": t_start,
                     "current_time": t_start + elapsed, "stop_time": stop},
        "progress": progress}}


def _strategy(run: Run) -> dict[str, Any]:
    if run.kind == "synchronous":
        return {"type_": "synchronous", "worker_count": 1, "max_concurrency": 1}
    if run.kind == "poisson":
        return {"type_": "poisson", "worker_count": WORKERS,
                "max_concurrency": CLIENT_CONCURRENCY, "rate": run.rate,
                "rampup_duration": 0.0}
    return {"type_": "throughput", "worker_count": WORKERS,
            "max_concurrency": CLIENT_CONCURRENCY, "rampup_duration": 0.0}


def benchmark_doc(model: str, run: Run, index: int, t0: float, run_id: str,
                  rng: np.random.Generator, target: tuple[float, float, float] | None
                  ) -> dict[str, Any]:
    """One GuideLLM 0.8.1 ``generative_benchmark`` from a simulated run (the benchmark
    starts at unix time ``t0``); ``target``: the registry's (output tokens/s, TTFT p99 ms,
    latency p99 s) to pin."""
    if target is not None:
        pin_latencies(run, target[1], target[2])
    r = _sent_requests(run, t0)
    window = (t0, t0 + DURATION_S)
    n, has_tok = r.out, ~np.isnan(r.first)
    ok = r.status == "successful"
    itl = np.where(has_tok & (n > 1), (r.last - r.first) / np.maximum(n - 1, 1) * 1000.0, 0.0)
    tpot = np.where(has_tok & (n > 0), (r.last - r.start) / np.maximum(n, 1) * 1000.0, 0.0)
    scheduled = run.kind == "poisson"  # an arrival schedule: dispatch delays are defined
    dispatch = r.start - r.targeted
    idx = np.arange(len(n))
    # every received token: request i's tokens evenly spaced from its first to its last
    counts = np.where(has_tok, n, 0).astype(np.int64)
    tok_req = np.repeat(idx, counts)
    pos = np.arange(len(tok_req)) - np.repeat(np.cumsum(counts) - counts, counts)
    span = (r.last - r.first)[tok_req]
    tok_t = r.first[tok_req] + span * pos / np.maximum(n[tok_req] - 1, 1)
    ones = np.ones(len(tok_req))
    pr_idx = np.flatnonzero(has_tok)
    otps, f_tput = _rates(r, tok_t, ones, tok_req, window,
                          pinned=target[0] if target is not None else None)
    if f_tput is not None:
        run.factors["throughput"] = f_tput
    conforming = ok & (r.ttft_ms <= SLO_CONFIG["ttft_ms"]) & (itl <= SLO_CONFIG["tpot_ms"])
    good = Requests(**{k: getattr(r, k)[conforming] for k in Requests.__dataclass_fields__})
    iterations = np.where(r.status == "successful", n + 3, np.where(has_tok, n + 1, 0))
    zeros = np.zeros(len(n))

    def per_iteration(first_excluded: bool) -> dict[str, Any]:
        res = {}
        for st in (*SPLIT, "total"):
            k = int((n[r.mask(st)] - (1 if first_excluded else 0)).clip(0).sum())
            res[st] = summary([1.0], [k], k) if k else _empty(0)
        return res

    metrics = {
        "request_totals": {"successful": int(ok.sum()), "errored": 0,
                           "incomplete": int((r.status == "incomplete").sum()),
                           "total": len(n)},
        "requests_per_second": _rates(r, r.end, np.ones(len(n)), idx, window)[0],
        "request_concurrency": _concurrency(r, None, window),
        "request_latency": _values(r, r.latency_s, ci=True),
        "request_dispatch_delay": _values(r, dispatch, ci=True) if scheduled else None,
        "request_scheduled_latency": _values(r, r.end - r.targeted, ci=True)
        if scheduled else None,
        "turn_predecessor_delay": _values(r, zeros) if scheduled else None,
        "turn_scheduling_delay": _values(r, dispatch) if scheduled else None,
        "root_dispatch_delay": summary(dispatch) if scheduled else None,
        "request_streaming_iterations_count": _values(r, iterations.astype(float), ci=True),
        "prompt_token_count": _values(r, r.prompt, ci=True),
        "output_token_count": _values(r, n, ci=True),
        "total_token_count": _values(r, r.prompt + n, ci=True),
        "time_to_first_token_ms": _values(r, r.ttft_ms, where=has_tok, ci=True),
        "time_to_first_output_token_ms": _values(r, r.ttft_ms, where=has_tok, ci=True),
        "time_per_output_token_ms": _values(r, tpot, weights=n),
        "inter_token_latency_ms": _values(r, itl, weights=np.maximum(n - 1, 0), where=has_tok),
        "time_to_last_round_trip_ms": _values(r, zeros, ci=True),  # HTTP: websocket only
        "avg_round_trip_time_ms": _values(r, zeros, ci=True),
        "prompt_tokens_per_second": _rates(r, r.first[pr_idx], r.prompt[pr_idx], pr_idx,
                                           window)[0],
        "output_tokens_per_second": otps,
        "tokens_per_second": _rates(r, np.concatenate((tok_t, r.first[pr_idx])),
                                    np.concatenate((ones, r.prompt[pr_idx])),
                                    np.concatenate((tok_req, pr_idx)), window)[0],
        "output_tokens_per_iteration": per_iteration(False),
        "iter_tokens_per_iteration": per_iteration(True),
        "text": {"tokens": _text_tokens(r), "words": None, "characters": None},
        **{mod: {part: dict.fromkeys(_SUMMARY_KEYS) for part in parts}
           for mod, parts in _MODALITIES.items()},
        "turns": None,
        "slo_attainment": float(conforming.sum() / ok.sum()) if ok.sum() else None,
        "slo_determined_requests": int(ok.sum()),
        "request_goodput": _rates(good, good.end, np.ones(int(conforming.sum())),
                                  np.arange(int(conforming.sum())), window)[0]
        if ok.sum() else None,
    }
    gen_delay_s = _lognormal(rng, 0.00035, 0.3, len(n))
    gen_delay = summary(gen_delay_s)
    warnings = _warnings(metrics, gen_delay, len(n))
    start_time = t0 - 0.021  # the scheduler starts just before the first request
    end_time = t0 + DURATION_S + 0.0184
    overhead = run.overhead[run.status != "unsent"]
    mean = lambda x: math.fsum(np.asarray(x, dtype=np.float64).tolist()) / max(len(x), 1)  # noqa: E731
    created = len(run.status)
    sched_state = {
        "node_id": 0, "num_processes": 1, "start_time": start_time, "end_time": end_time,
        "start_requests_time": t0, "end_requests_time": end_time + 0.0000013,
        "end_queuing_time": t0 + DURATION_S + 0.0152,
        "end_queuing_constraints": _constraint_state(t0, DURATION_S + 0.0152),
        "end_processing_time": t0 + DURATION_S + 0.0152014,
        "end_processing_constraints": _constraint_state(t0, DURATION_S + 0.0152),
        "scheduler_constraints": _constraint_state(t0, DURATION_S + 0.0184),
        "progress": _constraint_state(t0, 0.0)["max_duration"]["progress"],
        "created_requests": created, "queued_requests": 0, "pending_requests": 0,
        "processing_requests": 0, "processed_requests": created,
        "successful_requests": int(ok.sum()), "errored_requests": 0,
        "cancelled_requests": created - int(ok.sum())}
    sched_metrics = {
        "start_time": start_time, "request_start_time": t0, "measure_start_time": t0,
        "measure_end_time": t0 + DURATION_S, "request_end_time": t0 + DURATION_S,
        "end_time": end_time, "requests_made": dict(metrics["request_totals"]),
        "generation_delay": gen_delay,
        "queued_time_avg": mean(dispatch) + mean(overhead) * 0.4,
        "resolve_start_delay_avg": mean(overhead) * 0.08,
        "resolve_targeted_start_delay_avg": mean(dispatch) + mean(overhead) * 0.5,
        "request_start_delay_avg": mean(overhead) * 0.9,
        "request_targeted_start_delay_avg": mean(dispatch) + mean(overhead),
        "request_time_avg": mean(r.latency_s),
        "resolve_end_delay_avg": mean(overhead) * 0.1,
        "resolve_time_avg": mean(r.latency_s) + mean(overhead) * 0.2,
        "finalized_delay_avg": mean(overhead) * 0.9,
        "processed_delay_avg": mean(overhead) * 0.4,
        "dataset_incomplete": False, "strategy_type": run.kind}
    config = {
        "id_": _uuid(model, "benchmark", index), "run_id": run_id, "run_index": index,
        "strategy": _strategy(run),
        "constraints": {"max_duration": {
            "type_": "max_duration",
            "args": {"kind": "max_duration", "stopping_scope": "current",
                     "seconds": int(DURATION_S)},
            "current_index": index}},
        "sample_size": SAMPLE_SIZE, "warmup": _phase(), "cooldown": _phase(),
        "prefer_response_metrics": True, "slo": dict(SLO_CONFIG), "confidence": CONFIDENCE,
        "warnings": WARNING_RULES, "profile": _profile(),
        "requests": {"kind": "pytorch", "samples": -1, "shuffle": False, "num_workers": 1,
                     "prefetch_factor": 4096},
        "backend": _backend(model),
        "environment": {"str": "<guidellm.scheduler.environments.NonDistributedEnvironment "
                               "object>",
                        "type": "NonDistributedEnvironment",
                        "class": "NonDistributedEnvironment",
                        "module": "guidellm.scheduler.environments",
                        "attributes": {"run_errors": []}},
    }
    return {"type_": "generative_benchmark", "config": config, "scheduler_state": sched_state,
            "scheduler_metrics": sched_metrics, "metrics": metrics,
            "requests": {"successful": [], "errored": [], "incomplete": [], "total": None},
            "warnings": warnings, "start_time": t0, "end_time": t0 + DURATION_S,
            "duration": DURATION_S, "warmup_duration": 0.0, "cooldown_duration": 0.0}


def _phase() -> dict[str, Any]:
    return {"percent": None, "value": None, "mode": "prefer_duration"}


def _backend(model: str) -> dict[str, Any]:
    routes = ("/health", "/v1/models", "/v1/completions", "/v1/chat/completions",
              "/v1/embeddings", "/v1/responses", "/v1/audio/transcriptions",
              "/v1/audio/translations", "/pooling")
    return {"kind": "openai_http",
            "target": f"http://{model}-predictor.{NAMESPACE}.svc.cluster.local:8080",
            "model": model, "request_format": "/v1/chat/completions", "api_key": None,
            "api_routes": {k: k.lstrip("/") for k in routes}, "timeout": None,
            "timeout_connect": 5.0, "http2": True, "follow_redirects": True, "verify": False,
            "validate_backend": True, "stream": True, "extras": None, "max_tokens": None,
            "server_history": False, "tool_call_missing_behavior": "error_stop",
            "multiturn_reasoning": False}


def _profile() -> dict[str, Any]:
    return {"kind": "sweep", "rampup_duration": 0.0, "warmup": _phase(), "cooldown": _phase(),
            "sweep_size": len(RATES) + 2, "strategy_type": "poisson",
            "max_concurrency": CLIENT_CONCURRENCY}


def _spec(model: str) -> dict[str, Any]:
    """``config.spec``: the scenario GuideLLM ran (what ``guidellm run`` was given)."""
    data = {"kind": "synthetic_text", "load_kwargs": {}, **{k: v for k, v in DATA.items()
                                                           if k != "kind"}}
    for k in ("first_prompt_tokens", "first_prompt_tokens_stdev", "first_prompt_tokens_min",
              "first_prompt_tokens_max", "first_output_tokens", "first_output_tokens_stdev",
              "first_output_tokens_min", "first_output_tokens_max", "delay", "delay_stdev",
              "delay_min", "delay_max"):
        data[k] = None
    data.update({"turns": 1, "tool_call_turns": [], "tools": None,
                 "tool_response_tokens": None, "tool_response_tokens_stdev": None,
                 "tool_response_tokens_min": None, "tool_response_tokens_max": None,
                 "server_tool_call_turns": [], "branches": [], "prefix_buckets": None})
    return {"backend": _backend(model), "profile": _profile(),
            "constraints": [{"kind": "max_duration", "stopping_scope": "current",
                             "seconds": int(DURATION_S)}],
            "tokenizer": {"kind": "huggingface_auto", "model": TOKENIZER, "load_kwargs": {}},
            "data": [data],
            "data_column_mapper": {"kind": "generative_column_mapper", "column_mappings": None},
            "data_preprocessors": [{"kind": "encode_media", "audio_kwargs": {},
                                    "image_kwargs": {}, "video_kwargs": {}}],
            "data_finalizer": {"kind": "generative", "tool_call_mode": "client"},
            "data_loader": {"kind": "pytorch", "samples": -1, "shuffle": False,
                            "num_workers": 1, "prefetch_factor": 4096},
            "seed": {"kind": "static", "value": 42},
            "outputs": [{"kind": "json", "path": f"/results/{model}/benchmarks.json"}],
            "metrics": {"kind": "generative", "warnings": WARNING_RULES,
                        "sample_size": SAMPLE_SIZE, "prefer_response_metrics": True,
                        "confidence": CONFIDENCE, "slo": dict(SLO_CONFIG)}}


def sweep() -> list[tuple[str, float | None]]:
    """The benchmarks of one report, in the order they ran."""
    return [("synchronous", None), *[("poisson", r) for r in RATES], ("throughput", None)]


def report_doc(model: str, rng: np.random.Generator, started: dt.datetime
               ) -> tuple[dict[str, Any], list[Run]]:
    """The full ``benchmarks.json`` of one model, and the simulated runs behind it."""
    server = SERVERS[model]
    bench = REGISTRY[model]["bench"]
    t = started.timestamp()
    run_id = _uuid(model, "run", int(t))
    benchmarks, runs = [], []
    for index, (kind, rate) in enumerate(sweep()):
        run = simulate(server, kind, rate, rng)
        target = bench.get(rate) if kind == "poisson" else None
        benchmarks.append(benchmark_doc(model, run, index, t, run_id, rng, target))
        runs.append(run)
        t += DURATION_S + GAP_S
    doc = {
        "metadata": {"version": 2, "guidellm_version": GUIDELLM_VERSION,
                     "python_version": "3.12.11",
                     "platform": "Linux-5.14.0-427.50.1.el9_4.x86_64-x86_64-with-glibc2.34"},
        "config": {"metadata": {"labels": {"env": NAMESPACE, "model": model,
                                           "quantization": server.quantization}},
                   "spec": _spec(model), "benchmarks": [None]},
        "benchmarks": benchmarks,
        "conclusions": [],
    }
    return doc, runs


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reports(started: dt.datetime, seed: int) -> dict[str, tuple[dict[str, Any], list[Run]]]:
    """Per demo model: its report document and runs (models one after the other)."""
    rng = np.random.default_rng(seed)
    out = {}
    t = started
    for model in SERVERS:
        out[model] = report_doc(model, rng, t)
        t += dt.timedelta(seconds=len(sweep()) * (DURATION_S + GAP_S))
    return out


def encode(doc: dict[str, Any]) -> bytes:
    """As GuideLLM writes it: ``json.dumps`` of the report (one line)."""
    return json.dumps(doc, allow_nan=False).encode()


def write_demo_guidellm(writer: Any, *, started: dt.datetime, seed: int) -> dict[str, Any]:
    """Write ``guidellm/<model>/benchmarks.json`` for both demo models into ``writer`` (a
    :class:`~evalkit.core.snapshot.SnapshotWriter`) and its manifest entry (the fields
    :class:`evalkit.guidellm.source.GuideLLMSource` writes, plus ``demo: true``)."""
    written = []
    for model, (doc, _runs) in reports(started, seed).items():
        rel = f"{model}/benchmarks.json"
        writer.write_bytes(f"guidellm/{rel}", encode(doc))
        written.append(rel)
    finished = started + dt.timedelta(
        seconds=sum(len(sweep()) * (DURATION_S + GAP_S) for _ in SERVERS))
    entry = {"kind": "generated", "path": "scripts/demo_guidellm.py", "reports": written,
             "redacted": {}, "model": None, "started_at": _iso(started),
             "finished_at": _iso(finished), "demo": True}
    writer.add_source("guidellm", entry)
    return entry


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=20261120)
    args = ap.parse_args(argv)
    from evalkit.analysis.capacity import SLO, capacity
    from evalkit.guidellm import load_guidellm

    started = dt.datetime(2026, 11, 20, 11, 20, tzinfo=dt.UTC)
    for model, (doc, runs) in reports(started, args.seed).items():
        print(f"== {model}")
        for b, r in zip(doc["benchmarks"], runs, strict=True):
            m = b["metrics"]
            s = b["config"]["strategy"]
            print(f"  {s['type_']:>11} {s.get('rate', ''):<20} "
                  f"rps {m['requests_per_second']['successful']['mean']:7.3f} "
                  f"tok/s {m['output_tokens_per_second']['successful']['mean']:8.1f} "
                  f"ttft99 {m['time_to_first_token_ms']['successful']['percentiles']['p99']:8.1f} "
                  f"itl99 {m['inter_token_latency_ms']['successful']['percentiles']['p99']:6.1f} "
                  f"lat99 {m['request_latency']['successful']['percentiles']['p99']:6.2f} "
                  f"ok {m['request_totals']['successful']:5d} "
                  f"inc {m['request_totals']['incomplete']:4d} "
                  + (" ".join(f"{k}×{v:.3f}" for k, v in r.factors.items())))
        res = load_guidellm(json.loads(encode(doc)))
        for slo in (SLO.chat(), SLO.rag()):
            c = capacity(res.benchmarks, slo).iloc[0]
            print(f"  capacity {slo.name}: {c['benchmark']} rps={c['requests_per_second']} "
                  f"tok/s={c['output_tokens_per_second']} {c['reason'] or ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
