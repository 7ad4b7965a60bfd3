#!/usr/bin/env python3
"""Generate evalkit's bundled demo snapshot (``data/fixtures/demo/``): GENERATED DEMO DATA.

Deterministic for a given ``--seed``: running it twice writes byte-identical files. It models
the Red Hat "private AI" demo: Mistral Small 24B served in FP16 on 4 GPUs (``mistral-24b``) and
its W4A16 quantization on 1 GPU (``mistral-24b-quantized``), each evaluated by a TrustyAI
LMEvalJob on arc_easy, hellaswag, gsm8k and truthfulqa_mc2 with ``limit: "100"`` and
``logSamples: true``. A third job failed and a fourth is still running, so the report's data
issues section always has something to show.

How the numbers are made (nothing is measured; the shapes are real):

- per task, the FP16 model answers each of the first 100 documents correctly with probability
  ``p_fp16``; the W4A16 model keeps each FP16 outcome except for seeded flips (correct→wrong
  with ``p_loss``, wrong→correct with ``p_gain``), which is how quantization errors look
  per item: mostly the same answers, a few flipped;
- truthfulqa_mc2 is a continuous probability mass per document (Beta-distributed), and the
  quantized value is the FP16 value plus a small seeded perturbation;
- gsm8k has both filters; strict-match misses some answers flexible-extract finds
  (``[invalid]``);
- every ``status.results`` is a complete lm-eval 0.4.9 results JSON whose scores and stderrs
  are computed from those per-sample outcomes exactly as lm-eval does
  (mean, ``sample_stddev / sqrt(n)``), so the paired and unpaired paths agree with the files;
- Prometheus answers for both models come from ``scripts/demo_prometheus.py``;
- Model Registry answers (13 build-time properties per version, two stored ``eval_*`` results,
  ``benchmark_rate_*`` properties) come from ``scripts/demo_registry.py``;
- GuideLLM 0.8 load-test reports for both models (a sweep: synchronous, poisson at 0.25, 0.5
  and the registry's three rates, throughput) come from ``scripts/demo_guidellm.py``: a seeded
  simulation of a batching server whose statistics are computed from the simulated requests,
  pinned to the registry's ``benchmark_rate_*`` numbers at those rates;
- the manifest's ``prices`` states the $/GPU-hour of the registry's accelerator (NVIDIA L4),
  marked ``DEMO ASSUMPTION`` with its source and date: cost per token needs a price.

Usage::

    python scripts/make_demo_snapshot.py            # writes data/fixtures/demo
    python scripts/make_demo_snapshot.py --out /tmp/demo --seed 7
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from evalkit.core.snapshot import SnapshotWriter  # noqa: E402

NAMESPACE = "private-ai-demo"
TOKENIZER = "mistralai/Mistral-Small-24B-Instruct-2501"
N_DOCS = 100
# task -> (documents in the split, n-shot, FP16 accuracy, P(correct->wrong), P(wrong->correct))
TASKS = {
    "arc_easy": (2376, 0, 0.86, 0.05, 0.10),
    "hellaswag": (10042, 0, 0.83, 0.06, 0.12),
    "gsm8k": (1319, 5, 0.89, 0.05, 0.15),
    "truthfulqa_mc2": (817, 0, None, None, None),
}
MODELS = {
    "mistral-24b": {"job": "eval-mistral-24b-fp16", "quantization": "fp16", "gpus": 4},
    "mistral-24b-quantized": {"job": "eval-mistral-24b-w4a16", "quantization": "w4a16", "gpus": 1},
}
T0 = dt.datetime(2026, 11, 20, 9, 0, 0, tzinfo=dt.UTC)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def stamp(t: dt.datetime) -> str:
    """lm-eval's file timestamp: ISO with ':' replaced by '-'."""
    return t.strftime("%Y-%m-%dT%H-%M-%S.%f")


def mean_stderr(values: np.ndarray) -> float:
    """lm-eval's ``mean_stderr``: sample_stddev (ddof=1) / sqrt(n)."""
    return float(np.std(values, ddof=1) / math.sqrt(len(values)))


def outcomes(rng: np.random.Generator) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """Per model, task and metric key ('acc,none', ...): 100 per-document outcomes."""
    out: dict[str, dict[str, dict[str, np.ndarray]]] = {m: {} for m in MODELS}
    fp, q = "mistral-24b", "mistral-24b-quantized"
    for task, (_, _, p, p_loss, p_gain) in TASKS.items():
        if task == "truthfulqa_mc2":
            base = rng.beta(3.2, 1.7, N_DOCS)
            cand = np.clip(base + rng.normal(-0.012, 0.045, N_DOCS), 0.0, 1.0)
            out[fp][task] = {"acc,none": base}
            out[q][task] = {"acc,none": cand}
            continue

        def flip(x: np.ndarray, p_loss: float = p_loss, p_gain: float = p_gain) -> np.ndarray:
            u = rng.random(N_DOCS)
            return np.where(x == 1, (u >= p_loss).astype(float), (u < p_gain).astype(float))

        if task == "gsm8k":
            flex = (rng.random(N_DOCS) < p).astype(float)
            strict_miss = rng.random(N_DOCS) < 0.04
            qflex = flip(flex)
            qmiss = strict_miss | (rng.random(N_DOCS) < 0.03)
            out[fp][task] = {"exact_match,flexible-extract": flex,
                             "exact_match,strict-match": flex * ~strict_miss}
            out[q][task] = {"exact_match,flexible-extract": qflex,
                            "exact_match,strict-match": qflex * ~qmiss}
        else:
            acc_norm = (rng.random(N_DOCS) < p).astype(float)
            acc = np.where(rng.random(N_DOCS) < 0.9, acc_norm, 1 - acc_norm)
            out[fp][task] = {"acc_norm,none": acc_norm, "acc,none": acc}
            out[q][task] = {"acc_norm,none": flip(acc_norm), "acc,none": flip(acc)}
    return out


def doc_for(task: str, i: int) -> tuple[dict, str, str]:
    """A small stand-in document, its prompt and target (shapes of the real datasets)."""
    if task == "gsm8k":
        doc = {"question": f"[demo] word problem #{i}", "answer": f"... #### {17 + i}"}
        return doc, f"Question: {doc['question']}\nAnswer:", str(17 + i)
    if task == "truthfulqa_mc2":
        doc = {"question": f"[demo] question #{i}",
               "mc2_targets": {"choices": ["a", "b", "c", "d"], "labels": [1, 1, 0, 0]}}
        return doc, f"Q: {doc['question']}\nA:", "0"
    doc = {"id": f"demo-{task}-{i}", "query": f"[demo] {task} item #{i}",
           "choices": ["A", "B", "C", "D"], "gold": i % 4}
    return doc, doc["query"], str(i % 4)


def sample_lines(task: str, values: dict[str, np.ndarray], rng: np.random.Generator) -> list[str]:
    lines = []
    for i in range(N_DOCS):
        doc, prompt, target = doc_for(task, i)
        common = {"doc_id": i, "doc": doc, "target": target,
                  "doc_hash": sha(json.dumps(doc, sort_keys=True)), "prompt_hash": sha(prompt),
                  "target_hash": sha(target)}
        if task == "gsm8k":
            for key in ("exact_match,strict-match", "exact_match,flexible-extract"):
                ok = values[key][i] == 1.0
                filt = key.split(",")[1]
                if ok:
                    resp = target
                elif filt == "strict-match" and values["exact_match,flexible-extract"][i] == 1.0:
                    resp = "[invalid]"
                else:
                    resp = str(int(target) + 1 + i % 3) if rng.random() < 0.8 else "[invalid]"
                line = {**common, "arguments": {"gen_args_0": {"arg_0": prompt, "arg_1": {
                    "until": ["Question:", "</s>", "<|im_end|>"], "do_sample": False,
                    "temperature": 0.0}}}, "resps": [[f"... The answer is {resp}."]],
                    "filtered_resps": [resp], "filter": filt, "metrics": ["exact_match"],
                    "exact_match": float(ok)}
                lines.append(json.dumps(line))
            continue
        metrics = [k.split(",")[0] for k in values]
        line = {**common, "arguments": {"gen_args_0": {"arg_0": prompt, "arg_1": " A"}},
                "resps": [[["-1.25", "False"]]], "filtered_resps": [["-1.25", "False"]],
                "filter": "none", "metrics": metrics}
        for key, arr in values.items():
            line[key.split(",")[0]] = float(arr[i])
        lines.append(json.dumps(line))
    order = rng.permutation(len(lines))  # real files are not sorted by doc_id
    return [lines[j] for j in order]


def results_doc(model: str, values: dict[str, dict[str, np.ndarray]], start: dt.datetime,
                end: dt.datetime) -> dict:
    results, n_samples, n_shot, configs, versions, hib, hashes = {}, {}, {}, {}, {}, {}, {}
    for task, (docs, shots, *_rest) in TASKS.items():
        entry: dict = {"alias": task}
        for key, arr in values[task].items():
            metric, filt = key.split(",")
            entry[key] = float(np.mean(arr))
            entry[f"{metric}_stderr,{filt}"] = mean_stderr(arr)
        results[task] = entry
        n_samples[task] = {"original": docs, "effective": N_DOCS}
        n_shot[task] = shots
        versions[task] = 3.0 if task == "gsm8k" else (2.0 if task == "truthfulqa_mc2" else 1.0)
        metric_names = sorted({k.split(",")[0] for k in values[task]})
        hib[task] = {m: True for m in metric_names}
        hashes[task] = sha(f"demo-task-{task}-v{versions[task]}")
        configs[task] = {"task": task, "dataset_path": f"demo/{task}", "num_fewshot": shots,
                         "output_type": "generate_until" if task == "gsm8k" else "multiple_choice",
                         "metric_list": [{"metric": m, "aggregation": "mean",
                                          "higher_is_better": True} for m in metric_names],
                         "repeats": 1, "metadata": {"version": versions[task]}}
    base_url = f"http://{model}-predictor.{NAMESPACE}.svc.cluster.local:8080/v1/completions"
    return {
        "results": results, "group_subtasks": {t: [] for t in TASKS}, "configs": configs,
        "versions": versions, "n-shot": n_shot, "higher_is_better": hib, "n-samples": n_samples,
        "config": {"model": "local-completions",
                   "model_args": f"model={model},base_url={base_url},num_concurrent=1,"
                                 f"max_retries=3,tokenized_requests=False,tokenizer={TOKENIZER}",
                   "batch_size": 1, "batch_sizes": [], "device": None, "use_cache": None,
                   "limit": float(N_DOCS), "bootstrap_iters": 100000, "gen_kwargs": None,
                   "random_seed": 0, "numpy_seed": 1234, "torch_seed": 1234, "fewshot_seed": 1234},
        "git_hash": None, "date": start.timestamp(), "transformers_version": "4.51.3",
        "lm_eval_version": "0.4.9", "upper_git_hash": None, "task_hashes": hashes,
        "model_source": "local-completions", "model_name": model,
        "model_name_sanitized": model.replace("/", "__"), "system_instruction": None,
        "system_instruction_sha": None, "fewshot_as_multiturn": False, "chat_template": None,
        "chat_template_sha": None, "start_time": 1000.0, "end_time": 1000.0 + (end - start).seconds,
        "total_evaluation_time_seconds": str(float((end - start).seconds)),
    }


def job_cr(name: str, model: str, tasks: list[str], created: dt.datetime, status: dict,
           uid: int) -> dict:
    return {
        "apiVersion": "trustyai.opendatahub.io/v1alpha1", "kind": "LMEvalJob",
        "metadata": {"name": name, "namespace": NAMESPACE, "uid": f"00000000-0000-4000-8000-{uid:012d}",
                     "creationTimestamp": iso(created), "generation": 1,
                     "resourceVersion": str(480000 + uid),
                     "labels": {"app.kubernetes.io/part-of": "private-ai-demo", "model": model}},
        "spec": {"model": "local-completions",
                 "modelArgs": [
                     {"name": "model", "value": model},
                     {"name": "base_url", "value": f"http://{model}-predictor.{NAMESPACE}.svc."
                                                   "cluster.local:8080/v1/completions"},
                     {"name": "num_concurrent", "value": "1"},
                     {"name": "max_retries", "value": "3"},
                     {"name": "tokenized_requests", "value": "False"},
                     {"name": "tokenizer", "value": TOKENIZER}],
                 "taskList": {"taskNames": tasks}, "limit": str(N_DOCS), "logSamples": True,
                 "batchSize": "1", "allowOnline": True, "allowCodeExecution": False,
                 "outputs": {"pvcManaged": {"size": "5Gi"}}},
        "status": status,
    }


def build(out: Path, seed: int, *, with_prometheus: bool = True) -> None:
    rng = np.random.default_rng(seed)
    values = outcomes(rng)
    items, samples = [], {}
    for k, (model, info) in enumerate(MODELS.items()):
        created = T0 + dt.timedelta(minutes=30 * k)
        start = created + dt.timedelta(seconds=40)
        end = start + dt.timedelta(minutes=22, seconds=13 + 7 * k)
        doc = results_doc(model, values[model], start, end)
        status = {"state": "Complete", "reason": "Succeeded",
                  "message": "job completed", "podName": info["job"],
                  "lastScheduleTime": iso(start), "completeTime": iso(end),
                  "progressBars": [{"message": "Requesting API", "percent": "100%",
                                    "count": "400/400", "elapsedTime": "21:58",
                                    "remainingTimeEstimate": "00:00"}],
                  "results": json.dumps(doc, indent=2, ensure_ascii=False)}
        items.append(job_cr(info["job"], model, list(TASKS), created, status, k + 1))
        ts = stamp(start)
        samples[info["job"]] = {f"samples_{task}_{ts}.jsonl": sample_lines(task, values[model][task], rng)
                                for task in TASKS}
    failed_at = T0 + dt.timedelta(hours=2)
    items.append(job_cr("eval-mistral-24b-w4a16-mmlu", "mistral-24b-quantized", ["mmlu"],
                        failed_at, {
                            "state": "Complete", "reason": "Failed",
                            "message": "lm-eval exited with status 1: OOMKilled (container "
                                       "memory limit 8Gi reached while loading mmlu)",
                            "podName": "eval-mistral-24b-w4a16-mmlu",
                            "lastScheduleTime": iso(failed_at + dt.timedelta(seconds=30)),
                            "completeTime": iso(failed_at + dt.timedelta(minutes=3)),
                            "results": ""}, 3))
    running_at = T0 + dt.timedelta(hours=3)
    items.append(job_cr("eval-mistral-24b-w4a16-winogrande", "mistral-24b-quantized",
                        ["winogrande"], running_at, {
                            "state": "Running", "reason": "NoReason",
                            "message": "job is running",
                            "podName": "eval-mistral-24b-w4a16-winogrande",
                            "lastScheduleTime": iso(running_at + dt.timedelta(seconds=25)),
                            "progressBars": [{"message": "Requesting API", "percent": "41%",
                                              "count": "41/100", "elapsedTime": "02:11",
                                              "remainingTimeEstimate": "03:09"}]}, 4))
    listing = {"apiVersion": "v1", "items": items, "kind": "List",
               "metadata": {"resourceVersion": ""}}
    with SnapshotWriter(out, description=(
            "GENERATED DEMO DATA (scripts/make_demo_snapshot.py, seed "
            f"{seed}): Mistral Small 24B FP16 on 4 GPUs vs W4A16 on 1 GPU; not measured"),
            demo=True, overwrite=True, created_at=iso(T0 + dt.timedelta(hours=4)),
            extra={"generator": {"script": "scripts/make_demo_snapshot.py", "seed": seed},
                   "models": {m: {"quantization": i["quantization"], "gpus": i["gpus"]}
                              for m, i in MODELS.items()}}) as w:
        w.write_json("lmevaljobs.json", listing, indent=4)
        w.add_source("lmevaljobs", {"kind": "generated", "namespace": NAMESPACE,
                                    "count": len(items)})
        for job, files in samples.items():
            for name, lines in files.items():
                w.write_bytes(f"samples/{job}/{name}", ("\n".join(lines) + "\n").encode())
        if with_prometheus:
            from demo_prometheus import write_demo_prometheus

            write_demo_prometheus(w, start=T0 + dt.timedelta(hours=4, minutes=30),
                                  end=T0 + dt.timedelta(hours=6, minutes=30), step=30, seed=seed)
        from demo_registry import write_demo_registry

        stored = ("arc_easy", "acc_norm,none"), ("gsm8k", "exact_match,flexible-extract")
        write_demo_registry(w, registered=T0 - dt.timedelta(days=1),
                            evaluated=T0 + dt.timedelta(hours=3), evals={
                                m: {f"{t}_{k}": float(np.mean(values[m][t][k])) for t, k in stored}
                                for m in MODELS})
        from demo_guidellm import write_demo_guidellm

        write_demo_guidellm(w, started=T0 + dt.timedelta(hours=2, minutes=20), seed=seed)
        # the accelerator the registry names has no default price: state one (cost needs it)
        w.manifest["prices"] = {"NVIDIA L4": {
            "usd_per_gpu_hour": 0.8048,
            "source": "DEMO ASSUMPTION: AWS EC2 g6.xlarge (1x NVIDIA L4, 4 vCPU, 16 GiB) "
                      "on-demand Linux list price, us-east-1, taken as one L4 GPU-hour; not a "
                      "quote (pass your own with --prices)",
            "date": "2024-04"}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "fixtures" / "demo",
                    help="snapshot folder to (re)write (default: data/fixtures/demo)")
    ap.add_argument("--seed", type=int, default=20261120, help="random seed (default: 20261120)")
    ap.add_argument("--no-prometheus", action="store_true",
                    help="leave out the generated Prometheus answers")
    args = ap.parse_args(argv)
    build(args.out, args.seed, with_prometheus=not args.no_prometheus)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
