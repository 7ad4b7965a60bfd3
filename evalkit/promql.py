"""PromQL for vLLM and DCGM serving metrics, built, never pasted.

Every builder takes one model *selector* and returns a PromQL string. A selector is either

- a matcher string such as ``'namespace="private-ai-demo",pod=~"mistral-24b-predictor.*"'``
  (with or without braces); it is parsed and re-rendered, so a malformed or injected selector
  raises :class:`ValueError` instead of changing the query;
- a mapping ``{"namespace": "private-ai-demo", "pod": ("=~", "mistral-24b-predictor.*")}``
  whose values are escaped;
- a :class:`Selector`.

Label values are always escaped: a model name containing ``"``, ``\\`` or ``}`` stays inside
its string literal.

>>> ttft_quantile(0.99, {"model_name": 'evil"} or vector(1) #'})
'histogram_quantile(0.99, sum by (model_name, le) (rate(vllm:time_to_first_token_seconds_bucket{model_name="evil\\\\"} or vector(1) #"}[5m])))'

Both generations of vLLM metric names are handled by ``or`` with a preference for the newer
name, so a deployment that exposes both never counts twice:

>>> "inter_token_latency" in itl_quantile(0.5, 'model_name="m"')
True

Units of every serving metric are in :data:`UNITS`.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "Matcher", "Selector", "SelectorLike", "UNITS", "METRICS", "escape", "regex_quote",
    "parse_selector", "selector", "ttft_quantile", "itl_quantile", "ttft_mean",
    "generation_tokens_per_s", "prompt_tokens_per_s", "requests_per_s", "requests_running",
    "requests_waiting", "kv_cache_usage", "gpu_utilization", "gpu_memory_allocated_bytes",
    "gpus", "serving_queries", "window_queries", "duration", "QUANTILES", "metric_name",
    "RANGE_FNS",
]

#: Unit of each serving metric evalkit builds (the ``unit`` column of the series frame).
UNITS: dict[str, str] = {
    "ttft_p50": "s", "ttft_p90": "s", "ttft_p99": "s",
    "itl_p50": "s", "itl_p90": "s", "itl_p99": "s",
    "ttft_mean": "s",
    "generation_tokens_per_s": "tokens/s",
    "prompt_tokens_per_s": "tokens/s",
    "requests_per_s": "requests/s",
    "requests_running": "requests",
    "requests_waiting": "requests",
    "kv_cache_usage": "fraction (0-1)",
    "gpu_utilization": "%",
    "gpu_memory_allocated_bytes": "bytes",
    "gpus": "GPUs",
}
#: Metric names in the order :func:`serving_queries` returns them.
METRICS: tuple[str, ...] = tuple(UNITS)
#: Quantiles evalkit pulls for TTFT and inter-token latency.
QUANTILES: dict[str, float] = {"p50": 0.5, "p90": 0.9, "p99": 0.99}

TTFT = "vllm:time_to_first_token_seconds"
ITL_NEW, ITL_OLD = "vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds"
KV_NEW, KV_OLD = "vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"

_OPS = ("=~", "!~", "!=", "=")
_LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
_METRIC_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
#: Range functions the histogram and mean builders accept as ``fn``.
RANGE_FNS: tuple[str, ...] = ("rate", "increase", "irate")
_DURATION_RE = re.compile(r"(?:\d+(?:ms|[smhdwy]))+\Z")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape(value: str) -> str:
    """Escape ``value`` for a double-quoted PromQL string literal (without the quotes).

    >>> escape('a"b\\\\c}')
    'a\\\\"b\\\\\\\\c}'
    """
    return "".join(_ESCAPES.get(ch, ch) for ch in str(value))


def regex_quote(value: str) -> str:
    """Quote ``value`` so it matches literally inside an ``=~`` regex (RE2 ``QuoteMeta``).

    >>> regex_quote("mistral-24b.v1")
    'mistral\\\\-24b\\\\.v1'
    """
    return re.sub(r"([\\.+*?()|\[\]{}^$-])", r"\\\1", str(value))


@dataclass(frozen=True)
class Matcher:
    """One label matcher: ``label op "value"`` (``value`` unescaped).

    >>> str(Matcher("pod", "=~", "m-predictor.*"))
    'pod=~"m-predictor.*"'
    """

    label: str
    op: str
    value: str

    def __post_init__(self) -> None:
        if not _LABEL_RE.match(self.label):
            raise ValueError(f"invalid label name {self.label!r}")
        if self.op not in _OPS:
            raise ValueError(f"invalid matcher operator {self.op!r}; use one of {_OPS}")

    def __str__(self) -> str:
        return f'{self.label}{self.op}"{escape(self.value)}"'


@dataclass(frozen=True)
class Selector:
    """An ordered list of :class:`Matcher` s (the inside of ``{...}``).

    >>> s = Selector.of('namespace="ns", pod=~"m-predictor.*"')
    >>> str(s)
    'namespace="ns",pod=~"m-predictor.*"'
    >>> s.labels()
    ['namespace', 'pod']
    """

    matchers: tuple[Matcher, ...] = ()

    @classmethod
    def of(cls, sel: SelectorLike) -> Selector:
        """Build from a matcher string, a mapping or a Selector (see module docs)."""
        if isinstance(sel, Selector):
            return sel
        if sel is None:
            return cls()
        if isinstance(sel, str):
            return parse_selector(sel)
        if isinstance(sel, Mapping):
            out = []
            for label, v in sel.items():
                if isinstance(v, tuple):
                    op, val = v
                else:
                    op, val = "=", v
                out.append(Matcher(str(label), op, str(val)))
            return cls(tuple(out))
        raise TypeError(f"cannot build a selector from {type(sel).__name__}")

    def __str__(self) -> str:
        return ",".join(str(m) for m in self.matchers)

    def labels(self) -> list[str]:
        return [m.label for m in self.matchers]

    def with_(self, *extra: Matcher) -> Selector:
        return Selector(self.matchers + tuple(extra))

    def without(self, *labels: str) -> Selector:
        return Selector(tuple(m for m in self.matchers if m.label not in labels))

    def renamed(self, mapping: Mapping[str, str]) -> Selector:
        return Selector(tuple(Matcher(mapping.get(m.label, m.label), m.op, m.value)
                              for m in self.matchers))

    def braces(self) -> str:
        return "{" + str(self) + "}"


SelectorLike = str | Mapping[str, object] | Selector | None

_TOKEN_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*'
                       r'("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`)\s*(,|\Z)', re.S)
_UNESCAPE_RE = re.compile(r"\\(.)", re.S)
_UNESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


def _unquote(lit: str) -> str:
    body = lit[1:-1]
    if lit[0] == "`":
        return body
    return _UNESCAPE_RE.sub(lambda m: _UNESCAPES.get(m.group(1), "\\" + m.group(1)), body)


def parse_selector(text: str) -> Selector:
    """Parse a matcher list such as ``'a="x", b=~"y.*"'`` (braces optional).

    Raises :class:`ValueError` when ``text`` is anything else (so a selector cannot smuggle
    PromQL into a query).

    >>> str(parse_selector('{model_name="a\\\\"b"}'))
    'model_name="a\\\\"b"'
    >>> parse_selector('model_name="x"} or vector(1)')
    Traceback (most recent call last):
    ...
    ValueError: not a PromQL label matcher list: 'model_name="x"} or vector(1)'
    """
    s = text.strip()
    if s.startswith("{") and s.endswith("}"):
        s = s[1:-1]
    s = s.strip().rstrip(",").strip()
    matchers: list[Matcher] = []
    pos = 0
    while pos < len(s):
        m = _TOKEN_RE.match(s, pos)
        if not m or m.end() == pos:
            raise ValueError(f"not a PromQL label matcher list: {text!r}")
        matchers.append(Matcher(m.group(1), m.group(2), _unquote(m.group(3))))
        pos = m.end()
    return Selector(tuple(matchers))


def selector(sel: SelectorLike = None, **labels: object) -> Selector:
    """A :class:`Selector` from ``sel`` plus exact-match ``labels`` (values escaped).

    >>> str(selector(model_name='a"b'))
    'model_name="a\\\\"b"'
    """
    base = Selector.of(sel)
    return base.with_(*(Matcher(k, "=", str(v)) for k, v in labels.items()))


def duration(seconds: float | str) -> str:
    """A PromQL duration from seconds (``300 -> "300s"``) or a checked duration string.

    >>> duration(300), duration("5m"), duration(0.5)
    ('300s', '5m', '500ms')
    """
    if isinstance(seconds, str):
        if not _DURATION_RE.match(seconds):
            raise ValueError(f"invalid PromQL duration {seconds!r}")
        return seconds
    ms = int(round(float(seconds) * 1000))
    if ms <= 0:
        raise ValueError(f"duration must be positive, got {seconds!r}")
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def metric_name(name: str) -> str:
    """``name`` if it is a valid Prometheus metric name (``[a-zA-Z_:][a-zA-Z0-9_:]*``), else
    :class:`ValueError` (a name is pasted into PromQL, so it is checked, never trusted).

    >>> metric_name("DCGM_FI_PROF_GR_ENGINE_ACTIVE")
    'DCGM_FI_PROF_GR_ENGINE_ACTIVE'
    """
    if not isinstance(name, str) or not _METRIC_RE.match(name):
        raise ValueError(f"invalid metric name {name!r}; a metric name matches "
                         "[a-zA-Z_:][a-zA-Z0-9_:]*")
    return name


def _fn(fn: str) -> str:
    if fn not in RANGE_FNS:
        raise ValueError(f"invalid range function {fn!r}; use one of {RANGE_FNS}")
    return fn


def _quantile(q: float) -> str:
    """``q`` as a PromQL number literal: a finite real (``np.float64(0.9)`` → ``0.9``)."""
    if isinstance(q, bool) or not isinstance(q, numbers.Real):
        raise ValueError(f"quantile must be a real number, got {q!r}")
    f = float(q)
    if not math.isfinite(f):
        raise ValueError(f"quantile must be finite, got {q!r}")
    return repr(f)


def _by(by: Iterable[str]) -> str:
    labels = [b for b in by if b != "engine"]  # never split data-parallel engines
    for b in labels:
        if not _LABEL_RE.match(b):
            raise ValueError(f"invalid label name {b!r}")
    return ", ".join(labels)


def _agg(fn: str, by: Iterable[str], expr: str) -> str:
    labels = _by(by)
    return f"{fn} by ({labels}) ({expr})" if labels else f"{fn}({expr})"


def _hq(q: float, metric: str, sel: Selector, window: str, by: Iterable[str], fn: str) -> str:
    labels = _by(by)
    grp = f"{labels}, le" if labels else "le"
    return (f"histogram_quantile({_quantile(q)}, sum by ({grp}) "
            f"({_fn(fn)}({metric}_bucket{sel.braces()}[{window}])))")


def ttft_quantile(q: float, sel: SelectorLike, *, window: str = "5m",
                  by: Iterable[str] = ("model_name",), fn: str = "rate") -> str:
    """Time-to-first-token ``q``-quantile (seconds), interpolated from histogram buckets.

    ``fn="increase"`` with a window equal to the whole period gives the period's quantile.

    >>> ttft_quantile(0.9, 'model_name="m"', by=())
    'histogram_quantile(0.9, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{model_name="m"}[5m])))'
    """
    return _hq(q, TTFT, Selector.of(sel), duration(window), by, fn)


def itl_quantile(q: float, sel: SelectorLike, *, window: str = "5m",
                 by: Iterable[str] = ("model_name",), fn: str = "rate") -> str:
    """Inter-token latency ``q``-quantile (seconds): ``vllm:inter_token_latency_seconds``,
    falling back to ``vllm:time_per_output_token_seconds`` (older vLLM) — never both added.

    >>> itl_quantile(0.5, 'model_name="m"', by=()).count(" or ")
    1
    """
    s, w = Selector.of(sel), duration(window)
    return f"{_hq(q, ITL_NEW, s, w, by, fn)} or {_hq(q, ITL_OLD, s, w, by, fn)}"


def ttft_mean(sel: SelectorLike, *, window: str = "5m", by: Iterable[str] = ("model_name",),
              fn: str = "rate") -> str:
    """Mean time to first token (seconds): ``_sum`` over ``_count``.

    >>> ttft_mean('model_name="m"', by=())
    'sum(rate(vllm:time_to_first_token_seconds_sum{model_name="m"}[5m])) / sum(rate(vllm:time_to_first_token_seconds_count{model_name="m"}[5m]))'
    """
    s, w, fn = Selector.of(sel).braces(), duration(window), _fn(fn)
    return (f"{_agg('sum', by, f'{fn}({TTFT}_sum{s}[{w}])')} / "
            f"{_agg('sum', by, f'{fn}({TTFT}_count{s}[{w}])')}")


def _counter_rate(metric: str, sel: SelectorLike, window: str, by: Iterable[str]) -> str:
    return _agg("sum", by, f"rate({metric}{Selector.of(sel).braces()}[{duration(window)}])")


def generation_tokens_per_s(sel: SelectorLike, *, window: str = "5m",
                            by: Iterable[str] = ("model_name",)) -> str:
    """Generated (output) tokens per second.

    >>> generation_tokens_per_s('model_name="m"')
    'sum by (model_name) (rate(vllm:generation_tokens_total{model_name="m"}[5m]))'
    """
    return _counter_rate("vllm:generation_tokens_total", sel, window, by)


def prompt_tokens_per_s(sel: SelectorLike, *, window: str = "5m",
                        by: Iterable[str] = ("model_name",)) -> str:
    """Prompt (input) tokens per second.

    >>> "prompt_tokens_total" in prompt_tokens_per_s('model_name="m"')
    True
    """
    return _counter_rate("vllm:prompt_tokens_total", sel, window, by)


def requests_per_s(sel: SelectorLike, *, window: str = "5m",
                   by: Iterable[str] = ("model_name",)) -> str:
    """Finished requests per second; add ``"finished_reason"`` to ``by`` to split them.

    >>> requests_per_s('model_name="m"', by=("model_name", "finished_reason"))
    'sum by (model_name, finished_reason) (rate(vllm:request_success_total{model_name="m"}[5m]))'
    """
    return _counter_rate("vllm:request_success_total", sel, window, by)


def requests_running(sel: SelectorLike, *, by: Iterable[str] = ("model_name",)) -> str:
    """Requests being processed (summed over engines and replicas).

    >>> requests_running('model_name="m"', by=())
    'sum(vllm:num_requests_running{model_name="m"})'
    """
    return _agg("sum", by, f"vllm:num_requests_running{Selector.of(sel).braces()}")


def requests_waiting(sel: SelectorLike, *, by: Iterable[str] = ("model_name",)) -> str:
    """Requests queued (summed over engines and replicas).

    >>> "num_requests_waiting" in requests_waiting('model_name="m"')
    True
    """
    return _agg("sum", by, f"vllm:num_requests_waiting{Selector.of(sel).braces()}")


def kv_cache_usage(sel: SelectorLike, *, by: Iterable[str] = ("model_name",)) -> str:
    """KV-cache usage, a 0–1 fraction averaged over engines: ``vllm:kv_cache_usage_perc``,
    falling back to ``vllm:gpu_cache_usage_perc`` (vLLM < 0.9.2).

    >>> kv_cache_usage('model_name="m"', by=())
    'avg(vllm:kv_cache_usage_perc{model_name="m"}) or avg(vllm:gpu_cache_usage_perc{model_name="m"})'
    """
    s = Selector.of(sel).braces()
    return f"{_agg('avg', by, KV_NEW + s)} or {_agg('avg', by, KV_OLD + s)}"


_WORKLOAD = ("namespace", "pod")


def _dcgm(fn: str, metric: str, sel: SelectorLike) -> str:
    metric = metric_name(metric)
    s = Selector.of(sel)
    keep = s.without(*[lbl for lbl in s.labels() if lbl not in _WORKLOAD])
    if "pod" not in keep.labels():
        raise ValueError("GPU metrics need a pod matcher in the model selector "
                         "(DCGM series carry exported_pod/pod, not model_name)")
    exported = keep.renamed({"namespace": "exported_namespace", "pod": "exported_pod"})
    return f"{fn}({metric}{exported.braces()}) or {fn}({metric}{keep.braces()})"


def gpu_utilization(sel: SelectorLike, *, metric: str = "DCGM_FI_DEV_GPU_UTIL") -> str:
    """GPU utilisation averaged over the model's GPUs (DCGM). Unit: % for
    ``DCGM_FI_DEV_GPU_UTIL``, a 0–1 fraction for ``DCGM_FI_PROF_GR_ENGINE_ACTIVE``.

    Matches ``exported_pod``/``exported_namespace`` first, then ``pod``/``namespace``;
    other matchers (``model_name``) do not exist on DCGM series and are dropped.

    >>> gpu_utilization('namespace="ns",pod=~"m-predictor.*",model_name="m"')
    'avg(DCGM_FI_DEV_GPU_UTIL{exported_namespace="ns",exported_pod=~"m-predictor.*"}) or avg(DCGM_FI_DEV_GPU_UTIL{namespace="ns",pod=~"m-predictor.*"})'
    """
    return _dcgm("avg", metric, sel)


def gpu_memory_allocated_bytes(sel: SelectorLike) -> str:
    """Framebuffer in use on the model's GPUs, in bytes (DCGM ``DCGM_FI_DEV_FB_USED`` is MiB).

    vLLM preallocates most of each card (``gpu_memory_utilization``), so this is *allocated*
    memory, not need: :func:`kv_cache_usage` is the meaningful memory signal.

    >>> gpu_memory_allocated_bytes('pod=~"m-predictor.*"').endswith("* 1048576")
    True
    """
    return f"({_dcgm('sum', 'DCGM_FI_DEV_FB_USED', sel)}) * 1048576"


def gpus(sel: SelectorLike) -> str:
    """GPUs requested by the model's pods (kube-state-metrics).

    >>> gpus('namespace="ns",pod=~"m-predictor.*"')
    'sum(kube_pod_container_resource_requests{namespace="ns",pod=~"m-predictor.*",resource="nvidia_com_gpu"})'
    """
    s = Selector.of(sel)
    s = s.without(*[lbl for lbl in s.labels() if lbl not in _WORKLOAD])
    if "pod" not in s.labels():
        raise ValueError("the GPU count needs a pod matcher in the model selector")
    s = s.with_(Matcher("resource", "=", "nvidia_com_gpu"))
    return f"sum(kube_pod_container_resource_requests{s.braces()})"


def serving_queries(sel: SelectorLike, *, window: str = "5m",
                    by: Iterable[str] = ("model_name",),
                    gpu_metric: str = "DCGM_FI_DEV_GPU_UTIL") -> dict[str, str | None]:
    """Every serving metric's range query for one model: ``{metric: promql or None}``.

    ``None`` marks a metric that cannot be built for this selector (GPU metrics without a
    ``pod`` matcher); callers record it as a data issue.

    >>> list(serving_queries('namespace="ns",pod=~"m-predictor.*"'))[:3]
    ['ttft_p50', 'ttft_p90', 'ttft_p99']
    """
    metric_name(gpu_metric)  # an invalid name raises here, not later as "no pod matcher"
    s = Selector.of(sel)
    out: dict[str, str | None] = {}
    for name, q in QUANTILES.items():
        out[f"ttft_{name}"] = ttft_quantile(q, s, window=window, by=by)
    for name, q in QUANTILES.items():
        out[f"itl_{name}"] = itl_quantile(q, s, window=window, by=by)
    out["ttft_mean"] = ttft_mean(s, window=window, by=by)
    out["generation_tokens_per_s"] = generation_tokens_per_s(s, window=window, by=by)
    out["prompt_tokens_per_s"] = prompt_tokens_per_s(s, window=window, by=by)
    out["requests_per_s"] = requests_per_s(s, window=window, by=by)
    out["requests_running"] = requests_running(s, by=by)
    out["requests_waiting"] = requests_waiting(s, by=by)
    out["kv_cache_usage"] = kv_cache_usage(s, by=by)
    for name, fn in (("gpu_utilization", lambda: gpu_utilization(s, metric=gpu_metric)),
                     ("gpu_memory_allocated_bytes", lambda: gpu_memory_allocated_bytes(s)),
                     ("gpus", lambda: gpus(s))):
        try:
            out[name] = fn()
        except ValueError:
            out[name] = None
    return out


def window_queries(sel: SelectorLike, window_s: float, *,
                   by: Iterable[str] = ("model_name",)) -> dict[str, str]:
    """Instant queries for a whole period of ``window_s`` seconds ending at the query time:
    quantiles from ``histogram_quantile(q, sum by (le) (increase(..._bucket[period])))``,
    the mean TTFT from ``increase`` of ``_sum``/``_count``, and average rates.

    >>> window_queries('model_name="m"', 3600, by=())["ttft_p99"]
    'histogram_quantile(0.99, sum by (le) (increase(vllm:time_to_first_token_seconds_bucket{model_name="m"}[3600s])))'
    """
    s, w = Selector.of(sel), duration(window_s)
    out: dict[str, str] = {}
    for name, q in QUANTILES.items():
        out[f"ttft_{name}"] = ttft_quantile(q, s, window=w, by=by, fn="increase")
    for name, q in QUANTILES.items():
        out[f"itl_{name}"] = itl_quantile(q, s, window=w, by=by, fn="increase")
    out["ttft_mean"] = ttft_mean(s, window=w, by=by, fn="increase")
    out["generation_tokens_per_s"] = generation_tokens_per_s(s, window=w, by=by)
    out["prompt_tokens_per_s"] = prompt_tokens_per_s(s, window=w, by=by)
    out["requests_per_s"] = requests_per_s(s, window=w, by=by)
    return out
