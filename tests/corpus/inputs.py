"""Inputs of the hostile corpus: the generators a case names under ``input:``.

A case's ``input`` maps a path (relative to the case's ``in/`` folder) to one of:

- a string: the file's text (UTF-8);
- ``{json: OBJ}`` / ``{yaml: OBJ}``: OBJ written as JSON / YAML;
- ``{gen: NAME, ...}``: one of the generators below (keyword arguments from the mapping);
- ``{folder: {path: spec, ...}}``: a folder holding those entries.

Every generated LMEvalJob and lm-eval document is real-shaped (lm-eval 0.4.x results, TrustyAI
LMEvalJob CRs as ``oc get lmevaljob -o json`` prints them); hostile parts are put in with
``patch`` (dotted paths into the generated object, see :func:`patch`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

#: the default pair: a full-precision model and its quantized twin
BASELINE, CANDIDATE = "mistral-24b", "mistral-24b-w4a16"
TASKS = ("arc_easy", "gsm8k")
DELETE = "@delete"


def _sha(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


def _metrics(task: str, offset: float) -> dict[str, Any]:
    if task == "gsm8k":
        return {"alias": task, "exact_match,strict-match": round(0.45 + offset, 4),
                "exact_match_stderr,strict-match": 0.0499,
                "exact_match,flexible-extract": round(0.52 + offset, 4),
                "exact_match_stderr,flexible-extract": 0.0502}
    return {"alias": task, "acc,none": round(0.81 + offset, 4), "acc_stderr,none": 0.0394,
            "acc_norm,none": round(0.79 + offset, 4), "acc_norm_stderr,none": 0.0409}


def results_doc(model: str = BASELINE, tasks: Any = TASKS, offset: float = 0.0,
                n: int = 100) -> dict[str, Any]:
    """An lm-eval 0.4.x results document (what ``status.results`` holds as a string)."""
    tasks = list(tasks)
    return {
        "results": {t: _metrics(t, offset) for t in tasks},
        "group_subtasks": {t: [] for t in tasks},
        "configs": {t: {"task": t, "num_fewshot": 5 if t == "gsm8k" else 0} for t in tasks},
        "versions": {t: 1.0 for t in tasks},
        "n-shot": {t: 5 if t == "gsm8k" else 0 for t in tasks},
        "higher_is_better": {t: {"acc": True, "acc_norm": True, "exact_match": True}
                             for t in tasks},
        "n-samples": {t: {"original": 1319, "effective": n} for t in tasks},
        "config": {"model": "local-completions",
                   "model_args": f"model={model},base_url=http://x:8080/v1/completions,"
                                 "tokenizer=mistralai/Mistral-Small-24B-Instruct-2501",
                   "batch_size": 1, "limit": float(n), "bootstrap_iters": 100000},
        "git_hash": "abc1234", "date": 1763629240.5, "lm_eval_version": "0.4.9",
        "task_hashes": {t: _sha(t) for t in tasks}, "model_name": model,
        "model_name_sanitized": model.replace("/", "__"), "fewshot_as_multiturn": False,
        "chat_template_sha": None, "system_instruction": None,
    }


def lmevaljob(name: str, model: str, tasks: Any = TASKS, offset: float = 0.0,
              namespace: str = "private-ai-demo") -> dict[str, Any]:
    """One LMEvalJob CR (complete, succeeded, results as a JSON string)."""
    tasks = list(tasks)
    return {
        "apiVersion": "trustyai.opendatahub.io/v1alpha1", "kind": "LMEvalJob",
        "metadata": {"name": name, "namespace": namespace, "uid": _sha(name)[:8],
                     "creationTimestamp": "2026-01-20T09:00:00Z", "labels": {}},
        "spec": {"model": "local-completions",
                 "modelArgs": [{"name": "model", "value": model},
                               {"name": "base_url", "value": "http://x:8080/v1/completions"}],
                 "taskList": {"taskNames": tasks}, "limit": "100", "logSamples": True},
        "status": {"state": "Complete", "reason": "Succeeded", "message": "job completed",
                   "podName": name, "lastScheduleTime": "2026-01-20T09:00:00Z",
                   "completeTime": "2026-01-20T09:20:00Z",
                   "results": json.dumps(results_doc(model, tasks, offset), indent=2)},
    }


def pair_doc(models: Any = (BASELINE, CANDIDATE), tasks: Any = TASKS,
             jobs: Any = ("eval-fp16", "eval-w4a16"), namespace: str = "private-ai-demo",
             patch_: dict[str, Any] | None = None) -> dict[str, Any]:
    """``oc get lmevaljob -o json`` of a baseline job and a quantized job."""
    doc = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
           "items": [lmevaljob(j, m, tasks, -0.01 * i, namespace)
                     for i, (j, m) in enumerate(zip(jobs, models, strict=True))]}
    return patch(doc, patch_ or {})


def sample_line(doc_id: Any, task: str = "arc_easy", correct: float = 1.0) -> dict[str, Any]:
    doc = {"id": f"{task}-{doc_id}", "question": f"q{doc_id}"}
    return {"doc_id": doc_id, "doc": doc, "target": "0", "arguments": {},
            "resps": [["A"]], "filtered_resps": ["A"], "filter": "none",
            "metrics": ["acc", "acc_norm"], "doc_hash": _sha(json.dumps(doc)),
            "prompt_hash": _sha(f"p{doc_id}"), "target_hash": _sha("0"),
            "acc": correct, "acc_norm": correct}


def samples_text(n: int = 100, task: str = "arc_easy", seed: int = 0) -> str:
    return "".join(json.dumps(sample_line(i, task, float((i * 7 + seed) % 10 < 8))) + "\n"
                   for i in range(n))


# ------------------------------------------------------------------------------ patching


def patch(doc: Any, changes: dict[str, Any]) -> Any:
    """Apply ``{"items.0.spec.taskList": [...], "a.b": "@delete"}`` to a copy of ``doc``.
    A path segment that is a number indexes a list; ``status.results`` strings are decoded,
    patched and encoded again when the path goes inside them (``items.0.status.results.results``).
    """
    doc = copy.deepcopy(doc)
    for path, value in changes.items():
        doc = _set(doc, path.split("."), value)
    return doc


def _set(node: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        if isinstance(value, str) and value.startswith("@deep:"):  # "[[[...]]]" as text
            n = int(value[6:])
            return "[" * n + "]" * n
        return value
    if isinstance(node, str):  # a JSON string (status.results): patch inside it
        return json.dumps(_set(json.loads(node), parts, value), indent=2)
    key: Any = int(parts[0]) if isinstance(node, list) else parts[0]
    if len(parts) == 1 and value == DELETE:
        del node[key]
        return node
    if isinstance(node, dict) and key not in node:
        node[key] = {}
    if isinstance(node, list) and key == len(node):
        node.append({})
    node[key] = _set(node[key], parts[1:], value)
    return node


# ------------------------------------------------------------------------------ generators


def gen_pair(path: Path, *, format: str = "json", models: Any = (BASELINE, CANDIDATE),
             tasks: Any = TASKS, jobs: Any = ("eval-fp16", "eval-w4a16"),
             patch_: dict[str, Any] | None = None) -> None:
    """A two-job dump (``models``, ``tasks``, ``jobs``, ``patch``)."""
    doc = pair_doc(models, tasks, jobs, patch_=patch_)
    text = json.dumps(doc, indent=2) if format == "json" else yaml.safe_dump(doc)
    path.write_text(text, encoding="utf-8")


def gen_results_folder(path: Path, *, models: Any = (BASELINE, CANDIDATE), tasks: Any = TASKS,
                       patch_: dict[str, Any] | None = None, samples: bool = False,
                       sample_lines: str | None = None) -> None:
    """An lm-eval output folder per model: ``<model>/results_<ts>.json`` (+ samples)."""
    ts = "2026-01-20T09-20-00.000001"
    for i, model in enumerate(models):
        d = path / model.replace("/", "__")
        d.mkdir(parents=True, exist_ok=True)
        doc = results_doc(model, tasks, -0.01 * i)
        if i == 0 and patch_:
            doc = patch(doc, patch_)
        (d / f"results_{ts}.json").write_text(json.dumps(doc, indent=2))
        if samples or sample_lines is not None:
            for t in tasks:
                text = sample_lines if (sample_lines is not None and i == 0) else \
                    samples_text(100, t, i)
                (d / f"samples_{t}_{ts}.jsonl").write_text(text)


def gen_results(path: Path, *, model: str = BASELINE, tasks: Any = TASKS,
                patch_: dict[str, Any] | None = None, format: str = "json") -> None:
    doc = patch(results_doc(model, tasks), patch_ or {})
    path.write_text(json.dumps(doc, indent=2) if format == "json" else yaml.safe_dump(doc))


def gen_deep(path: Path, *, kind: str = "json", depth: int = 100_000) -> None:
    """Nesting ``depth`` levels deep inside an otherwise plausible document."""
    if kind == "json":
        path.write_text('{"kind": "List", "apiVersion": "v1", "items": ' + "[" * depth
                        + "]" * depth + "}")
    else:
        path.write_text("kind: List\napiVersion: v1\nitems: " + "[" * depth + "]" * depth + "\n")


def gen_bigint(path: Path, *, digits: int = 5000, kind: str = "json") -> None:
    """A metric value that is an integer of ``digits`` digits (Python refuses to convert
    more than 4,300 digits) in an lm-eval results document (JSON) or a dump (YAML)."""
    big = "9" * digits
    if kind == "json":
        doc = json.dumps(results_doc()).replace('"acc,none": 0.81', f'"acc,none": {big}')
    else:
        doc = f"apiVersion: v1\nkind: List\nitems: []\nresourceVersion: {big}\n"
    path.write_text(doc)


def gen_sparse(path: Path, *, size: int) -> None:
    """A file of ``size`` bytes that takes no disk space (a hole), starting with ``{``."""
    with path.open("wb") as fh:
        fh.write(b'{"results": {')
        fh.truncate(size)


def gen_text(path: Path, *, parts: list[Any]) -> None:
    """Text from ``parts``: strings, and ``{repeat: TEXT, n: N}`` for long runs."""
    path.write_text("".join(p if isinstance(p, str) else p["repeat"] * int(p["n"])
                            for p in parts), encoding="utf-8")


def gen_fifo(path: Path) -> None:
    os.mkfifo(path)


def gen_socket(path: Path) -> None:
    """A listening UNIX socket (bound from its folder: socket paths are short)."""
    import socket

    here = os.getcwd()
    os.chdir(path.parent)
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(path.name)
        sock.close()  # the socket file stays
    finally:
        os.chdir(here)


def gen_symlink(path: Path, *, target: str) -> None:
    """A symlink to ``target`` (``{tmp}``/``{in}`` placeholders resolved by the runner)."""
    os.symlink(target, path)


def gen_utf16(path: Path, *, bom: bool = True) -> None:
    text = json.dumps(pair_doc(), indent=2)
    path.write_bytes(text.encode("utf-16") if bom else text.encode("utf-16-le"))


def gen_bom(path: Path) -> None:
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(pair_doc(), indent=2).encode())


def gen_bytes(path: Path, *, hex: str) -> None:  # noqa: A002 - the YAML key
    path.write_bytes(bytes.fromhex(hex))


def gen_secret_file(path: Path, *, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)


def gen_snapshot(path: Path, *, models: Any = (BASELINE, CANDIDATE), tasks: Any = TASKS,
                 patch_: dict[str, Any] | None = None, samples: bool = True,
                 edit: list[dict[str, Any]] | None = None) -> None:
    """A snapshot as ``evalkit pull`` writes it (jobs + per-sample logs), then ``edit`` steps:
    ``{append: REL, text}``, ``{write: REL, text}``, ``{remove: REL}``, ``{fifo: REL}``,
    ``{symlink: REL, target}``, ``{manifest: {dotted: value}}`` (patch the manifest),
    ``{manifest_text: TEXT}``."""
    from evalkit.core.snapshot import SnapshotWriter

    doc = pair_doc(models, tasks, patch_=patch_)
    with SnapshotWriter(path, description="corpus") as w:
        w.write_json("lmevaljobs.json", doc)
        if samples:
            for i, item in enumerate(doc["items"]):
                job = item["metadata"]["name"]
                for t in tasks:
                    w.write_bytes(f"samples/{job}/samples_{t}_2026-01-20T09-20-00.000001.jsonl",
                                  samples_text(100, t, i).encode())
        w.add_source("lmevaljobs", {"kind": "kubernetes", "namespace": "private-ai-demo",
                                    "items": len(doc["items"])})
    for step in edit or []:
        _edit(path, step)


def gen_demo(path: Path, *, edit: list[dict[str, Any]] | None = None) -> None:
    """A copy of the bundled demo snapshot (LMEvalJobs, samples and Prometheus answers), then
    ``edit`` steps as for :func:`gen_snapshot`."""
    import shutil

    from evalkit._resources import resource

    shutil.copytree(resource("demo"), path)
    for step in edit or []:
        _edit(path, step)


def _edit(root: Path, step: dict[str, Any]) -> None:
    if "append" in step:
        with (root / step["append"]).open("a") as fh:
            fh.write(step.get("text", " "))
    elif "write" in step:
        p = root / step["write"]
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(step["text"])
    elif "remove" in step:
        (root / step["remove"]).unlink()
    elif "fifo" in step:
        p = root / step["fifo"]
        p.unlink(missing_ok=True)
        os.mkfifo(p)
    elif "symlink" in step:
        p = root / step["symlink"]
        p.parent.mkdir(parents=True, exist_ok=True)
        p.unlink(missing_ok=True)
        os.symlink(step["target"], p)
    elif "manifest" in step:
        m = json.loads((root / "manifest.json").read_text())
        (root / "manifest.json").write_text(json.dumps(patch(m, step["manifest"]), indent=2))
    elif "replace" in step:  # {replace: REL, old: TEXT, new: TEXT}: an edited file
        p = root / step["replace"]
        text = p.read_text()
        if step["old"] not in text:
            raise ValueError(f"{step['old']!r} not in {p}")
        p.write_text(text.replace(step["old"], step["new"], 1))
    elif "manifest_text" in step:
        (root / "manifest.json").write_text(step["manifest_text"])
    else:
        raise ValueError(f"unknown snapshot edit {step}")


GENERATORS: dict[str, Callable[..., None]] = {
    "pair": gen_pair, "results_folder": gen_results_folder, "results": gen_results,
    "deep": gen_deep, "text": gen_text, "bigint": gen_bigint, "sparse": gen_sparse,
    "fifo": gen_fifo, "socket": gen_socket,
    "symlink": gen_symlink, "utf16": gen_utf16, "bom": gen_bom, "bytes": gen_bytes,
    "secret_file": gen_secret_file, "snapshot": gen_snapshot, "demo": gen_demo,
}


def materialize(root: Path, spec: dict[str, Any], fill: Callable[[Any], Any]) -> None:
    """Create every entry of a case's ``input`` under ``root`` (``fill`` resolves the
    ``{tmp}``/``{in}``/``{marker}`` placeholders in strings)."""
    for rel, entry in spec.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if p.is_symlink() or p.is_file():
            p.unlink()  # a later entry replaces what a generator wrote (a FIFO, a link)
        entry = fill(entry)
        if isinstance(entry, str):
            p.write_text(entry, encoding="utf-8")
        elif "json" in entry:
            p.write_text(json.dumps(entry["json"], indent=2), encoding="utf-8")
        elif "yaml" in entry:
            p.write_text(yaml.safe_dump(entry["yaml"]), encoding="utf-8")
        elif "folder" in entry:
            p.mkdir(parents=True, exist_ok=True)
            materialize(p, entry["folder"], fill)
        elif "gen" in entry:
            kw = {("patch_" if k == "patch" else k): v for k, v in entry.items() if k != "gen"}
            GENERATORS[entry["gen"]](p, **kw)
        else:
            raise ValueError(f"input {rel}: unknown spec {entry!r}")
