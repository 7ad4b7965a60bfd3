"""What the registry says each model version is: :func:`model_facts`.

Build-time facts (the demo's registration writes them on every ModelVersion): ``quantization``,
``gpus`` (an explicit ``gpus`` / ``gpu_count`` / ``num_gpus`` property, else
``gpu_requirement``), ``accelerator``, ``base_model``, ``runtime_image``, ``format``,
``deployment_type``. Evaluation results already stored (``eval_<task>_<metric>,<filter>``
doubles, their ``_stderr`` twins and the ``eval_<task>_n|limit|job|completed_at`` properties
:func:`~evalkit.registry.publish_scores` writes) and GuideLLM results
(``benchmark_rate_<rate>_<suffix>``, read by :func:`evalkit.guidellm.from_registry_properties`
into the GuideLLM benchmarks frame).

A missing or unparsable fact is a data issue and an empty cell — never a guess (a GPU count of
``"1x L4"`` is not read as 1; a quantization is never inferred from a model name).

>>> import evalkit as ek
>>> f = model_facts(ek.load().registry)
>>> f.facts[["registered_model", "quantization", "gpus"]].values.tolist()
[['mistral-24b', 'fp16', 4], ['mistral-24b-quantized', 'w4a16', 1]]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..core import frames
from ..core.errors import SchemaError
from ..core.result import Result
from ..guidellm import from_registry_properties
from ..guidellm.parse import benchmark_frame
from ..lmeval.metrics import BOUNDED_METRICS
from .parse import SOURCE, RegistryResult

#: properties giving the GPU count, the first present wins
GPU_KEYS = ("gpus", "gpu_count", "num_gpus", "gpu_requirement")
#: text facts copied as stored
TEXT_FACTS = ("accelerator", "base_model", "runtime_image", "format", "deployment_type")
#: quantization schemes evalkit recognises (others are kept, with an info issue)
KNOWN_QUANTIZATIONS = frozenset({
    "fp32", "fp16", "bf16", "fp8", "fp8-dynamic", "w8a8", "w8a16", "w4a16", "w4a8", "w4a4",
    "int8", "int4", "nvfp4", "mxfp4", "awq", "gptq", "none"})
#: metric names used to split ``<task>_<metric>`` when the task is not known otherwise
KNOWN_METRICS = frozenset(BOUNDED_METRICS | {
    "bleu", "rouge1", "rouge2", "rougeL", "ter", "chrf", "word_perplexity", "byte_perplexity",
    "bits_per_byte", "perplexity", "likelihood", "brier_score", "mcc", "prompt_level_strict_acc",
    "inst_level_strict_acc", "prompt_level_loose_acc", "inst_level_loose_acc"})
#: suffixes of the per-task properties publish_scores writes besides the scores
META_SUFFIXES = ("n", "limit", "job", "completed_at")
FACT_COLUMNS = ["registered_model", "version", "version_id", "quantization", "gpus",
                "gpus_from", *TEXT_FACTS]
EVAL_COLUMNS = ["registered_model", "version", "version_id", "property", "task", "metric",
                "filter", "value", "stderr", "n", "job", "completed_at"]


@dataclass(repr=False)
class ModelFacts(Result):
    """:func:`model_facts`'s answer: ``facts`` (one row per version, :data:`FACT_COLUMNS`),
    ``evals`` (stored eval results, :data:`EVAL_COLUMNS`), ``benchmarks`` (the GuideLLM
    benchmarks frame, with ``version``/``version_id`` columns), ``issues``."""

    facts: pd.DataFrame
    evals: pd.DataFrame
    benchmarks: pd.DataFrame
    _frames = ("facts", "evals", "benchmarks")


def parse_gpus(value: Any) -> int | None:
    """A GPU count from an int, an integral double or a digit string; else ``None``.

    >>> parse_gpus(4), parse_gpus(1.0), parse_gpus(" 2 "), parse_gpus("1x L4"), parse_gpus(True)
    (4, 1, 2, None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value >= 0 and value.is_integer() else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def split_eval_key(rest: str, tasks: set[str]) -> tuple[str | None, str | None, str | None]:
    """``"<task>_<metric>,<filter>"`` → ``(task, metric, filter)``: by a known task name
    first (longest), else by a known metric name; ``(None, None, filter)`` when neither fits.

    >>> split_eval_key("arc_easy_acc_norm,none", set())
    ('arc_easy', 'acc_norm', 'none')
    >>> split_eval_key("my_task_score,none", {"my_task"})
    ('my_task', 'score', 'none')
    """
    left, _, filt = rest.rpartition(",")
    for task in sorted(tasks, key=len, reverse=True):
        if left.startswith(task + "_") and len(left) > len(task) + 1:
            return task, left[len(task) + 1:], filt
    base = left[: -len("_stderr")] if left.endswith("_stderr") else left
    tail = left[len(base):]
    for metric in sorted(KNOWN_METRICS, key=len, reverse=True):
        if base.endswith("_" + metric) and len(base) > len(metric) + 1:
            return base[: -len(metric) - 1], metric + tail, filt
    return None, None, filt


def _long(data: RegistryResult | pd.DataFrame) -> pd.DataFrame:
    long = data.properties if isinstance(data, RegistryResult) else data
    need = ["registered_model", "version", "version_id", "property", "value"]
    missing = [c for c in need if c not in getattr(long, "columns", [])]
    if missing:
        raise SchemaError(f"model_facts needs the registry's long frame (read_versions(...) or "
                          f"its .properties); missing column(s) {missing}")
    return long


def model_facts(data: RegistryResult | pd.DataFrame, *, prefix: str = "eval_") -> ModelFacts:
    """Per model version: build-time facts, stored eval results and benchmark results (see
    the module docstring). ``data`` is a :class:`RegistryResult` or its long frame."""
    long = _long(data)
    issues: list[dict[str, str]] = []
    fact_rows, eval_rows, bench = [], [], []
    keys = ["registered_model", "version", "version_id"]
    versions = (data.versions[keys] if isinstance(data, RegistryResult)
                else long[keys].drop_duplicates("version_id"))
    by_version: dict[str, dict[str, Any]] = {}
    for vid, key, value in zip(long["version_id"], long["property"], long["value"], strict=True):
        by_version.setdefault(str(vid), {})[str(key)] = value
    for ident in versions.to_dict("records"):
        props = by_version.get(str(ident["version_id"]), {})
        label = f"{ident['registered_model']}:{ident['version']}"
        fact_rows.append(_facts(ident, props, label, issues))
        eval_rows += _evals(ident, props, prefix, label, issues)
        bench.append(_benchmarks(ident, props, label, issues))
    found = [b for b in bench if len(b)]
    benchmarks = pd.concat(found, ignore_index=True) if found else benchmark_frame()
    for col in ("version", "version_id"):
        if col not in benchmarks.columns:
            benchmarks[col] = pd.Series(dtype="object")
    facts = pd.DataFrame(fact_rows, columns=FACT_COLUMNS)
    facts["gpus"] = facts["gpus"].astype("Int64")
    evals = pd.DataFrame(eval_rows, columns=EVAL_COLUMNS)
    evals["n"] = pd.Series([parse_gpus(n) for n in evals["n"]], dtype="Int64")  # whole counts
    for col in ("value", "stderr"):
        evals[col] = evals[col].astype("float64")
    return ModelFacts(facts=facts, evals=evals,
                      benchmarks=benchmarks, issues=frames.issues_frame(issues))


def _facts(ident: Mapping[str, Any], props: Mapping[str, Any], label: str,
           issues: list[dict[str, str]]) -> dict[str, Any]:
    row: dict[str, Any] = {**ident, "quantization": None, "gpus": None, "gpus_from": None}
    quant = props.get("quantization")
    if quant is None:
        issues.append(frames.issue(SOURCE, label, "warning", "no quantization property"))
    elif not isinstance(quant, str) or not quant.strip():
        issues.append(frames.issue(SOURCE, label, "warning",
                                   f"quantization {quant!r} is not a text value; left empty"))
    else:
        row["quantization"] = quant.strip()
        if quant.strip().lower() not in KNOWN_QUANTIZATIONS:
            issues.append(frames.issue(SOURCE, label, "info",
                                       f"quantization {quant!r} is not a scheme evalkit knows; "
                                       "kept as written"))
    found = [(k, props[k]) for k in GPU_KEYS if k in props]
    if not found:
        issues.append(frames.issue(SOURCE, label, "warning",
                                   f"no GPU count (none of {', '.join(GPU_KEYS)})"))
    else:
        key, raw = found[0]
        gpus = parse_gpus(raw)
        if gpus is None:
            issues.append(frames.issue(SOURCE, label, "warning",
                                       f"{key} = {raw!r} is not a whole GPU count; left empty"))
        else:
            row["gpus"], row["gpus_from"] = gpus, key
        others = {k: parse_gpus(v) for k, v in found[1:]}
        clash = {k: v for k, v in others.items() if v != gpus}
        if gpus is not None and clash:
            issues.append(frames.issue(SOURCE, label, "warning",
                                       f"{key} = {gpus} disagrees with "
                                       f"{', '.join(f'{k} = {props[k]!r}' for k in clash)}; "
                                       f"using {key}"))
    for key in TEXT_FACTS:
        value = props.get(key)
        row[key] = value if isinstance(value, str) and value.strip() else None
        if value is not None and row[key] is None:
            issues.append(frames.issue(SOURCE, label, "warning",
                                       f"{key} {value!r} is not a text value; left empty"))
    for key in ("accelerator", "base_model"):
        if key not in props:
            issues.append(frames.issue(SOURCE, label, "info", f"no {key} property"))
    return row


def _evals(ident: Mapping[str, Any], props: Mapping[str, Any], prefix: str, label: str,
           issues: list[dict[str, str]]) -> list[dict[str, Any]]:
    mine = {k[len(prefix):]: v for k, v in props.items() if k.startswith(prefix)}
    meta: dict[str, dict[str, Any]] = {}
    for rest, value in mine.items():
        if "," in rest:
            continue
        for suffix in META_SUFFIXES:
            if rest.endswith("_" + suffix) and len(rest) > len(suffix) + 1:
                meta.setdefault(rest[: -len(suffix) - 1], {})[suffix] = value
                break
    tasks = set(meta)
    rows = []
    for rest, value in sorted(mine.items()):
        if "," not in rest:
            known = any(rest.endswith("_" + s) for s in META_SUFFIXES) or rest == "provenance"
            if not known:
                issues.append(frames.issue(SOURCE, f"{label} {prefix}{rest}", "info",
                                           f"not of the form {prefix}<task>_<metric>,<filter>; "
                                           "not read as a score"))
            continue
        task, metric, filt = split_eval_key(rest, tasks)
        if metric is not None and metric.endswith("_stderr"):
            continue
        if task is None:
            issues.append(frames.issue(SOURCE, f"{label} {prefix}{rest}", "info",
                                       "cannot tell the task from the metric in this name; "
                                       "kept with task and metric empty"))
        if isinstance(value, bool) or not isinstance(value, int | float):
            issues.append(frames.issue(SOURCE, f"{label} {prefix}{rest}", "warning",
                                       f"eval value {value!r} is not a number; skipped"))
            continue
        left, _, _ = rest.rpartition(",")
        stderr = props.get(f"{prefix}{left}_stderr,{filt}")
        info = meta.get(task or "", {})
        rows.append({**ident, "property": f"{prefix}{rest}", "task": task, "metric": metric,
                     "filter": filt, "value": float(value),
                     "stderr": float(stderr) if isinstance(stderr, int | float)
                     and not isinstance(stderr, bool) else math.nan,
                     "n": info.get("n"), "job": info.get("job"),
                     "completed_at": info.get("completed_at")})
    return rows


def _benchmarks(ident: Mapping[str, Any], props: Mapping[str, Any], label: str,
                issues: list[dict[str, str]]) -> pd.DataFrame:
    wanted = [k for k in props if k.startswith("benchmark_rate_")]
    if not wanted:
        return benchmark_frame()
    df = from_registry_properties(props, str(ident["registered_model"]))
    df["version"] = ident["version"]
    df["version_id"] = ident["version_id"]
    understood = len(df)
    if understood < len(wanted):
        issues.append(frames.issue(SOURCE, label, "info",
                                   f"{len(wanted) - understood} of {len(wanted)} "
                                   "benchmark_rate_* properties not understood (unknown suffix "
                                   "or a value that is not a number)"))
    return df
