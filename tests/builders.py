"""Shared test builders: real-shaped LMEvalJob and lm-eval payloads (written by hand, modelled
on lm-eval 0.4.x `results_*.json` / `samples_*.jsonl` and the TrustyAI LMEvalJob CR), and the
score/sample frames and paired outcomes the analysis tests build on."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.core import frames


def sha(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


def results_doc(model: str = "mistral-24b", *, tasks: dict[str, dict[str, Any]] | None = None,
                limit: float | None = 100.0, n: int = 100, version: str = "0.4.9",
                model_args: str | None = None) -> dict[str, Any]:
    """An lm-eval 0.4.x results document (the JSON inside status.results)."""
    tasks = tasks or {
        "arc_easy": {"alias": "arc_easy", "acc,none": 0.81, "acc_stderr,none": 0.0394277,
                     "acc_norm,none": 0.79, "acc_norm_stderr,none": 0.0409360},
        "gsm8k": {"alias": "gsm8k", "exact_match,strict-match": 0.45,
                  "exact_match_stderr,strict-match": 0.04999999999999999,
                  "exact_match,flexible-extract": 0.52,
                  "exact_match_stderr,flexible-extract": 0.0502117},
    }
    return {
        "results": tasks,
        "group_subtasks": {t: [] for t in tasks},
        "configs": {t: {"task": t, "num_fewshot": 5 if t == "gsm8k" else 0} for t in tasks},
        "versions": {t: 3.0 if t == "gsm8k" else 1.0 for t in tasks},
        "n-shot": {t: 5 if t == "gsm8k" else 0 for t in tasks},
        "higher_is_better": {t: {} for t in tasks},
        "n-samples": {t: {"original": 1319, "effective": n} for t in tasks},
        "config": {"model": "local-completions",
                   "model_args": model_args or f"model={model},base_url=http://x:8080/v1/completions,"
                                               "tokenizer=mistralai/Mistral-Small-24B-Instruct-2501",
                   "batch_size": 1, "limit": limit, "bootstrap_iters": 100000, "gen_kwargs": None},
        "git_hash": "abc1234", "date": 1763629240.5, "lm_eval_version": version,
        "task_hashes": {t: sha(t) for t in tasks}, "model_source": "local-completions",
        "model_name": model, "model_name_sanitized": model.replace("/", "__"),
        "system_instruction": None, "system_instruction_sha": None,
        "fewshot_as_multiturn": False, "chat_template": None, "chat_template_sha": None,
        "start_time": 1234.5, "end_time": 2234.5, "total_evaluation_time_seconds": "1000.0",
    }


def job(name: str, model: str = "mistral-24b", *, state: str = "Complete",
        reason: str = "Succeeded", message: str = "job completed", results: Any = "default",
        tasks: list[str] | None = None, created: str = "2026-11-20T09:00:00Z",
        completed: str | None = "2026-11-20T09:20:00Z", model_args: list | None = None,
        labels: dict | None = None) -> dict[str, Any]:
    """One LMEvalJob CR as `oc get lmevaljob NAME -o json` prints it."""
    if results == "default":
        results = json.dumps(results_doc(model), indent=2)
    status: dict[str, Any] = {"state": state, "reason": reason, "message": message,
                              "podName": name, "lastScheduleTime": created}
    if completed and state == "Complete":
        status["completeTime"] = completed
    if results is not None:
        status["results"] = results
    return {
        "apiVersion": "trustyai.opendatahub.io/v1alpha1", "kind": "LMEvalJob",
        "metadata": {"name": name, "namespace": "private-ai-demo", "uid": sha(name)[:8],
                     "creationTimestamp": created, "labels": labels or {}},
        "spec": {"model": "local-completions",
                 "modelArgs": model_args if model_args is not None else [
                     {"name": "model", "value": model},
                     {"name": "base_url", "value": "http://x:8080/v1/completions"}],
                 "taskList": {"taskNames": tasks or ["arc_easy", "gsm8k"]},
                 "limit": "100", "logSamples": True},
        "status": status,
    }


def job_list(*items: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
            "items": [copy.deepcopy(i) for i in items]}


def sample_line(doc_id: int, *, task: str = "arc_easy", filt: str = "none",
                values: dict[str, float] | None = None, resp: str = "A") -> dict[str, Any]:
    values = values or {"acc": 1.0, "acc_norm": 1.0}
    doc = {"id": f"{task}-{doc_id}", "question": f"q{doc_id}"}
    return {"doc_id": doc_id, "doc": doc, "target": "0", "arguments": {},
            "resps": [[resp]], "filtered_resps": [resp], "filter": filt,
            "metrics": list(values), "doc_hash": sha(json.dumps(doc)),
            "prompt_hash": sha(f"prompt {doc_id}"), "target_hash": sha("0"), **values}


# ------------------------------------------------------------------------------ frames


def score_row(model: str, job: str, task: str, metric: str, value: float, *,
              filter: str = "none", stderr: float = float("nan"), n: int = 100,
              completed_at: str | None = "2025-03-01T12:00:00Z", created_at: str | None = None,
              limit: float | None = None, num_fewshot: int | None = None,
              is_group: bool = False, usable: bool = True) -> dict:
    return {"model": model, "job": job, "task": task, "metric": metric, "filter": filter,
            "value": value, "stderr": stderr, "n": n, "limit": limit,
            "num_fewshot": num_fewshot, "completed_at": completed_at,
            "created_at": created_at, "is_group": is_group, "usable": usable}


def sample_rows(model: str, job: str, task: str, metric: str, values: Iterable[float], *,
                filter: str = "none", doc_ids: Iterable[int] | None = None,
                doc_hash: Iterable[str] | None = None, prompt_hash: Iterable[str] | None = None,
                responses: Iterable[str] | None = None) -> list[dict]:
    values = list(values)
    ids = list(doc_ids) if doc_ids is not None else list(range(len(values)))
    dh = list(doc_hash) if doc_hash is not None else [f"d{i}" for i in ids]
    ph = list(prompt_hash) if prompt_hash is not None else [f"p{i}" for i in ids]
    rs = list(responses) if responses is not None else [str(v) for v in values]
    return [{"model": model, "job": job, "task": task, "doc_id": int(i), "filter": filter,
             "metric": metric, "value": float(v), "doc_hash": h, "prompt_hash": p,
             "target": f"t{i}", "response": r}
            for i, v, h, p, r in zip(ids, values, dh, ph, rs, strict=True)]


def se_of(x: np.ndarray) -> float:
    return float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")


def paired_frames(xb, xc, *, task: str = "arc_easy", metric: str = "acc_norm",
                  filter: str = "none", base: str = "fp16",
                  cand: str = "w4a16") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores (mean, lm-eval-style stderr) and samples of two paired runs of one task."""
    xb, xc = np.asarray(xb, float), np.asarray(xc, float)
    scores = frames.conform("scores", [
        score_row(base, "job-b", task, metric, float(xb.mean()), filter=filter, stderr=se_of(xb),
                  n=xb.size),
        score_row(cand, "job-c", task, metric, float(xc.mean()), filter=filter, stderr=se_of(xc),
                  n=xc.size),
    ])
    samples = frames.conform("samples",
                             sample_rows(base, "job-b", task, metric, xb, filter=filter)
                             + sample_rows(cand, "job-c", task, metric, xc, filter=filter))
    return scores, samples


def binary_pairs(n11: int, n10: int, n01: int, n00: int, seed: int = 0):
    """0/1 outcomes with the given cell counts (baseline, candidate), shuffled."""
    xb = np.array([1] * n11 + [1] * n10 + [0] * n01 + [0] * n00, float)
    xc = np.array([1] * n11 + [0] * n10 + [1] * n01 + [0] * n00, float)
    perm = np.random.default_rng(seed).permutation(xb.size)
    return xb[perm], xc[perm]


Z = stats.norm.ppf(0.975)
ZZ = Z + stats.norm.ppf(0.80)


def agresti_min(b: int, c: int, n: int, z: float = Z) -> tuple[float, float, float]:
    ns = n + 2
    centre = (c - b) / ns
    se = np.sqrt(((b + c + 1) - (c - b) ** 2 / ns) / ns**2)
    return centre, centre - z * se, centre + z * se


def rendered_text(markdown: str) -> str:
    """What a reader sees of ``markdown``: rendered to HTML as the report does, tags removed,
    entities decoded."""
    import html
    import re

    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return html.unescape(re.sub(r"<[^>]+>", "", markdown2html_mistune(markdown)))
