"""TrustyAI LMEvalJob custom resources and lm-evaluation-harness output → tidy frames.

:func:`load_lmeval` accepts every form these results take in practice and returns an
:class:`LMEvalResult` whose ``jobs``, ``scores``, ``runs``, ``samples`` and ``issues``
attributes are DataFrames (schemas in :mod:`evalkit.frames`):

- what ``oc get lmevaljob -n NS -o json|yaml`` prints (a ``List`` or one ``LMEvalJob``),
  as a file, a string or a ``dict``;
- an lm-eval ``results_<ts>.json`` file;
- an lm-eval output folder (results plus ``samples_<task>_<ts>.jsonl``, found recursively,
  including ``<model_name_sanitized>/`` sub-folders);
- an evalkit snapshot folder (``manifest.json``, ``lmevaljobs.json``, ``samples/<job>/``);
- ``namespace="NS"``: the live cluster (see :mod:`evalkit.kube`).

lm-eval's ``"metric,filter"`` keys and stringly-typed values are normalised here, once:
``metric`` and ``filter`` are separate columns, ``value``/``stderr`` are floats (``"N/A"`` →
NaN), and every problem becomes a row of ``issues`` instead of an exception. Only an unusable
source raises :class:`~evalkit.errors.SourceError`.

**Model name rule.** For an LMEvalJob: the ``model`` entry of ``spec.modelArgs``, else its
``pretrained`` entry, else the ``model`` label of the job, else the job name. For a bare
lm-eval file: ``model_name``, else the ``model=`` / ``pretrained=`` entry of
``config.model_args``, else the file's folder name.

>>> import evalkit as ek
>>> res = ek.load_lmeval(ek.demo_path())
>>> sorted(res.scores["model"].unique())
['mistral-24b', 'mistral-24b-quantized']
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from . import frames
from .errors import SourceError
from .frames import issue

#: The headline metric per task: (metric, filter). Override per call with ``headline=``.
HEADLINE_METRICS: dict[str, tuple[str, str]] = {
    "arc_easy": ("acc_norm", "none"),
    "arc_challenge": ("acc_norm", "none"),
    "hellaswag": ("acc_norm", "none"),
    "gsm8k": ("exact_match", "flexible-extract"),
    "truthfulqa_mc2": ("acc", "none"),
}
_FALLBACK_ORDER = ("acc_norm", "acc", "exact_match")

#: Metrics whose values must lie in [0, 1]; others (perplexity, bleu, ...) are not range-checked.
BOUNDED_METRICS = frozenset({
    "acc", "acc_norm", "exact_match", "acc_mutual_info", "mc1", "mc2", "em", "f1",
    "contains", "pass@1", "pass_at_1",
})

RUNNING_STATES = {"New", "Scheduled", "Running"}
#: sample logs larger than this in total get a tqdm progress bar (a full hellaswag log is ~43 MB)
PROGRESS_BYTES = 50_000_000
_TS_RE = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}[-:]\d{2}[-:]\d{2}(?:\.\d+)?)")
_SAMPLES_RE = re.compile(r"^samples_(?P<task>.+?)_(?P<ts>\d{4}-\d{2}-\d{2}T[\d\-:.]+)\.jsonl?$")
_SECRET_ARG_RE = re.compile(r"(?i)((?:api_key|token|password|secret)[^=,]*=)[^,]*")
_MISSING = object()


def headline_metric(task: str, available: Iterable[tuple[str, str]],
                    overrides: dict[str, tuple[str, str]] | None = None) -> tuple[str, str, str]:
    """The headline ``(metric, filter, note)`` for ``task`` among the ``available`` pairs.

    ``note`` is ``""`` when the table (or ``overrides``) named the metric, else a sentence
    saying which fallback was used. Raises ``KeyError`` when nothing fits.

    >>> headline_metric("gsm8k", [("exact_match", "strict-match"), ("exact_match", "flexible-extract")])
    ('exact_match', 'flexible-extract', '')
    >>> headline_metric("piqa", [("acc", "none"), ("acc_norm", "none")])[2]
    'piqa has no headline metric in the table; using acc_norm,none (first of acc_norm/acc/exact_match)'
    """
    avail = list(dict.fromkeys(available))
    table = {**HEADLINE_METRICS, **(overrides or {})}
    if task in table:
        m, f = table[task]
        if (m, f) in avail:
            return m, f, ""
    for name in _FALLBACK_ORDER:
        for m, f in avail:
            if m == name:
                why = "no headline metric in the table" if task not in table else \
                    f"its table entry {table[task][0]},{table[task][1]} is missing"
                return m, f, (f"{task} has {why}; using {m},{f} "
                              "(first of acc_norm/acc/exact_match)")
    raise KeyError(f"{task}: no headline metric among {avail}")


@dataclass
class LMEvalResult:
    """What :func:`load_lmeval` returns: tidy frames plus where they came from.

    Attributes
    ----------
    jobs : one row per LMEvalJob (or results file): state, reason, message, tasks, limit,
        timestamps and whether results were present.
    scores : one row per (job, task, metric, filter), every metric lm-eval reported.
    runs : one row per (job, task) with lm-eval metadata that decides comparability.
    samples : per-sample outcomes; empty when no sample logs were found.
    issues : one row per data problem (source, object, severity, message).
    source : a description of the source; ``demo`` is True for generated demo data.
    snapshot : the snapshot folder when the source was one (other sources in it, such as
        Prometheus answers, are read from there).
    """

    jobs: pd.DataFrame
    scores: pd.DataFrame
    runs: pd.DataFrame
    samples: pd.DataFrame
    issues: pd.DataFrame
    source: str = ""
    demo: bool = False
    manifest: dict[str, Any] = field(default_factory=dict)
    snapshot: str | None = None  # the snapshot folder, when the source was one

    @property
    def models(self) -> list[str]:
        """Models with at least one score."""
        return sorted(self.scores["model"].dropna().unique().tolist())

    def __repr__(self) -> str:
        demo = ", DEMO DATA" if self.demo else ""
        return (f"<LMEvalResult from {self.source!r}{demo}: {len(self.jobs)} job(s), "
                f"{len(self.models)} model(s) {self.models}, {len(self.scores)} score row(s), "
                f"{len(self.samples)} sample row(s), {len(self.issues)} data issue(s)>")

    def _repr_html_(self) -> str:  # pragma: no cover - Jupyter display
        return f"<pre>{self!r}</pre>" + self.jobs.to_html(max_rows=20)


# --------------------------------------------------------------------------- reading files


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors/aliases (``oc`` never writes them; they enable bombs)."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        if self.check_event(yaml.events.AliasEvent):
            event = self.peek_event()
            raise yaml.YAMLError(f"YAML aliases are not accepted (alias *{event.anchor} at "
                                 f"line {event.start_mark.line + 1})")
        return super().compose_node(parent, index)


def _parse_text(text: str | bytes, where: str) -> Any:
    """JSON first (Python's json accepts NaN/Infinity like lm-eval writes), then safe YAML."""
    try:
        return json.loads(text)
    except ValueError as json_exc:
        try:
            doc = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - safe loader subclass
        except yaml.YAMLError as exc:
            raise SourceError(f"{where}: neither JSON ({json_exc}) nor YAML "
                              f"({str(exc).splitlines()[0]}); expected the output of "
                              "`oc get lmevaljob -o json|yaml` or an lm-eval results_*.json") from None
        if not isinstance(doc, dict):
            raise SourceError(f"{where}: not a JSON/YAML document (got {type(doc).__name__}); "
                              "expected an LMEvalJob list or an lm-eval results file") from None
        return doc


def _read_file(path: Path) -> Any:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return _parse_text(data, str(path))


def _kind(doc: Any) -> str:
    if not isinstance(doc, dict):
        return "unknown"
    kind = doc.get("kind")
    if kind == "LMEvalJob":
        return "job"
    if isinstance(doc.get("items"), list) and (kind in ("List", "LMEvalJobList") or
                                               "apiVersion" in doc):
        return "list"
    if isinstance(doc.get("results"), dict):
        return "results"
    return "unknown"


# --------------------------------------------------------------------------- the loader


def load_lmeval(source: Any = None, *, namespace: str | None = None,
                label_selector: str | None = None, context: str | None = None,
                kubeconfig: str | None = None, samples: str | os.PathLike[str] | None = None,
                token: Any = None, ca_bundle: str | None = None,
                insecure: bool = False, progress: bool | None = None) -> LMEvalResult:
    """Load LMEvalJob / lm-eval results from a file, folder, dict, snapshot or the cluster.

    Parameters
    ----------
    source : path (file or folder), ``dict``, or JSON/YAML text. ``None`` with ``namespace``
        reads the live cluster.
    namespace, label_selector, context, kubeconfig, token, ca_bundle, insecure :
        live cluster access (see :func:`evalkit.kube.list_lmevaljobs`).
    samples : an extra folder of per-sample files (an lm-eval output folder or a mounted PVC)
        matched to jobs by a ``<job>/`` or ``<model_name_sanitized>/`` sub-folder
        (:func:`match_samples`).
    progress : a tqdm.auto bar while reading sample logs; ``None`` shows it when they exceed
        50 MB in total.

    Examples
    --------
    >>> res = load_lmeval({"apiVersion": "v1", "kind": "List", "items": []})
    >>> res.scores.empty
    True
    """
    b = _Builder()
    if source is None and namespace is None:
        raise SourceError("load_lmeval needs a source (file, folder, dict or snapshot) or "
                          "namespace='NS' for the live cluster")
    if source is None:
        from .kube import list_lmevaljobs

        doc = list_lmevaljobs(namespace, label_selector=label_selector, context=context,
                              kubeconfig=kubeconfig, token=token, ca_bundle=ca_bundle,
                              insecure=insecure)
        b.source = f"cluster namespace {namespace}"
        b.add_document(doc, f"namespace/{namespace}")
    elif isinstance(source, dict):
        b.source = "dict"
        b.add_document(source, "dict")
    else:
        if isinstance(source, bytes | str) and not isinstance(source, os.PathLike):
            text = source if isinstance(source, str) else source.decode("utf-8", "replace")
            if "\n" in text or text.lstrip().startswith("{"):
                b.source = "text"
                b.add_document(_parse_text(text, "text source"), "text")
                return b.finish(samples, progress)
        path = Path(os.fspath(source)).expanduser()
        b.source = str(path)
        if not path.exists():
            raise SourceError(f"{path}: no such file or folder; pass an `oc get lmevaljob -o json` "
                              "dump, an lm-eval results_*.json or output folder, or a snapshot")
        if path.is_dir():
            b.add_folder(path)
        else:
            b.add_document(_read_file(path), str(path), path=path)
    return b.finish(samples, progress)


class _Builder:
    """Accumulates rows from documents; turns them into frames once at the end."""

    def __init__(self) -> None:
        self.source = ""
        self.demo = False
        self.manifest: dict[str, Any] = {}
        self.snapshot: str | None = None
        self.jobs: list[dict[str, Any]] = []
        self.scores: list[dict[str, Any]] = []
        self.runs: list[dict[str, Any]] = []
        self.issues: list[dict[str, str]] = []
        self.sample_files: list[tuple[Path, str | None, str | None]] = []  # (file, job, model)
        self._seen_jobs: dict[str, str] = {}  # job key -> source label

    # -- documents -------------------------------------------------------------------------
    def add_document(self, doc: Any, where: str, path: Path | None = None) -> None:
        kind = _kind(doc)
        if kind == "list":
            for i, item in enumerate(doc["items"]):
                self.add_job(item, f"{where}#items[{i}]")
        elif kind == "job":
            self.add_job(doc, where)
        elif kind == "results":
            self.add_results_file(doc, where, path)
        else:
            keys = sorted(doc)[:8] if isinstance(doc, dict) else type(doc).__name__
            raise SourceError(
                f"{where}: not an LMEvalJob, LMEvalJob list or lm-eval results document "
                f"(top-level keys: {keys}); expected `oc get lmevaljob -o json|yaml` output or "
                "an lm-eval results_*.json")

    def add_folder(self, root: Path) -> None:
        from .snapshot import is_snapshot, open_snapshot

        if is_snapshot(root):
            snap = open_snapshot(root)
            self.demo = snap.demo
            self.manifest = snap.manifest
            self.snapshot = str(snap.path)
            if snap.lmevaljobs_path is not None:
                self.add_document(_read_file(snap.lmevaljobs_path), str(snap.lmevaljobs_path))
            for f in snap.sample_files():
                self.sample_files.append((f, f.parent.name, None))
            return
        results = sorted(p for p in root.rglob("*.json") if p.name.startswith("results"))
        dumps = [p for p in sorted(root.glob("*.json")) + sorted(root.glob("*.y*ml"))
                 if not p.name.startswith(("results", "samples_"))]
        if not results and not dumps:
            raise SourceError(f"{root}: no lm-eval results_*.json (searched recursively) and no "
                              "LMEvalJob dump in this folder; expected an lm-eval output folder, "
                              "an evalkit snapshot, or a file")
        for p in dumps:
            try:
                self.add_document(_read_file(p), str(p), path=p)
            except SourceError as exc:
                self.issues.append(issue("lmeval", str(p), "warning", f"skipped: {exc}"))
        for p in results:
            try:
                doc = _read_file(p)
            except SourceError as exc:
                self.issues.append(issue("lmeval", str(p), "error", str(exc)))
                continue
            if _kind(doc) != "results":
                self.issues.append(issue("lmeval", str(p), "error",
                                         "not an lm-eval results document (no `results` mapping)"))
                continue
            self.add_results_file(doc, str(p), p, root=root)

    # -- LMEvalJob CRs ---------------------------------------------------------------------
    def add_job(self, item: Any, where: str) -> None:
        if not isinstance(item, dict) or item.get("kind", "LMEvalJob") != "LMEvalJob":
            kind = item.get("kind") if isinstance(item, dict) else type(item).__name__
            self.issues.append(issue("lmeval", where, "error",
                                     f"list item is not an LMEvalJob (kind={kind!r}); skipped"))
            return
        meta = item.get("metadata") or {}
        spec = item.get("spec") or {}
        status = item.get("status") or {}
        name = str(meta.get("name") or where)
        ns = meta.get("namespace")
        key = f"{ns}/{name}"
        if key in self._seen_jobs:
            self.issues.append(issue("lmeval", name, "warning",
                                     f"job {key} appears twice in the source; the first is used"))
            return
        self._seen_jobs[key] = where
        args = _model_args(spec.get("modelArgs"))
        model = served_model(item) or name
        state = status.get("state") or "New"
        reason = status.get("reason") or "NoReason"
        message = status.get("message") or ""
        tasks = _spec_tasks(spec)
        limit = spec.get("limit")
        raw = status.get("results")
        row = {
            "job": name, "namespace": ns, "model": model, "state": state, "reason": reason,
            "message": message, "tasks": ",".join(tasks), "limit": None if limit is None else str(limit),
            "num_fewshot": spec.get("numFewShot"), "created_at": meta.get("creationTimestamp"),
            "scheduled_at": status.get("lastScheduleTime"), "completed_at": status.get("completeTime"),
            "has_results": bool(raw), "source": where,
            "uid": meta.get("uid"), "log_samples": spec.get("logSamples"),
            "tokenizer": args.get("tokenizer"), "progress": _progress(status),
        }
        self.jobs.append(row)
        self._job_state_issues(row)
        if not raw:
            if state == "Complete" and reason == "Succeeded":
                self.issues.append(issue("lmeval", name, "error",
                                         "job succeeded but status.results is empty; the results "
                                         "may have been reset by a spec edit — re-run or read the "
                                         "output volume"))
            return
        if isinstance(raw, str):
            try:
                doc = json.loads(raw)
            except ValueError as exc:
                self.issues.append(issue("lmeval", name, "error",
                                         f"status.results is not valid JSON ({exc}); no scores read"))
                return
        else:
            doc = raw
        if not isinstance(doc, dict) or not isinstance(doc.get("results"), dict):
            self.issues.append(issue("lmeval", name, "error",
                                     "status.results is JSON but not the lm-eval shape (no "
                                     "`results` mapping); no scores read"))
            return
        if state == "Complete" and reason == "Failed":
            self.issues.append(issue("lmeval", name, "warning",
                                     "failed job carries results; they are kept out of comparisons"))
        self._add_results(doc, job=name, model=model, object_name=name,
                          completed_at=status.get("completeTime"),
                          created_at=meta.get("creationTimestamp"), spec_limit=limit,
                          spec_fewshot=spec.get("numFewShot"), requested=tasks,
                          tokenizer=args.get("tokenizer"),
                          usable=not (state == "Complete" and reason == "Failed"))

    def _job_state_issues(self, row: dict[str, Any]) -> None:
        state, reason, name, msg = row["state"], row["reason"], row["job"], row["message"]
        tail = f": {msg}" if msg else ""
        if state == "Complete" and reason == "Failed":
            self.issues.append(issue("lmeval", name, "error", f"job failed{tail}"))
        elif state == "Complete" and reason == "Cancelled" or state == "Cancelled":
            self.issues.append(issue("lmeval", name, "warning", f"job was cancelled{tail}"))
        elif state == "Suspended":
            self.issues.append(issue("lmeval", name, "warning", f"job is suspended{tail}"))
        elif state in RUNNING_STATES:
            prog = f" ({row['progress']})" if row.get("progress") else ""
            self.issues.append(issue("lmeval", name, "info",
                                     f"job is not finished (state {state}){prog}; no results yet"))
        elif state != "Complete":
            self.issues.append(issue("lmeval", name, "warning", f"unknown job state {state!r}{tail}"))

    # -- bare lm-eval results files ----------------------------------------------------------
    def add_results_file(self, doc: dict[str, Any], where: str, path: Path | None,
                         root: Path | None = None) -> None:
        cfg = doc.get("config") or {}
        cargs = _model_args(cfg.get("model_args"))
        folder = path.parent.name if path is not None else ""
        model = doc.get("model_name") or cargs.get("model") or cargs.get("pretrained") or folder \
            or "unknown-model"
        if path is not None:
            rel = path.relative_to(root) if root is not None else Path(path.name)
            job = rel.with_suffix("").as_posix()
        else:
            job = f"results-{len(self.jobs) + 1}"
        ts = _file_timestamp(path.name) if path is not None else None
        completed = ts or _unix(doc.get("date"))
        self.jobs.append({
            "job": job, "namespace": None, "model": model, "state": "Complete",
            "reason": "Succeeded", "message": "", "tasks": ",".join(doc.get("results", {})),
            "limit": None if cfg.get("limit") is None else str(cfg.get("limit")),
            "num_fewshot": None, "created_at": completed, "scheduled_at": None,
            "completed_at": completed, "has_results": True, "source": where,
        })
        self._add_results(doc, job=job, model=model, object_name=where, completed_at=completed,
                          created_at=completed, spec_limit=cfg.get("limit"), spec_fewshot=None,
                          requested=[], tokenizer=cargs.get("tokenizer"), usable=True,
                          check_model=False)
        if path is not None and ts is not None:
            stamp = path.stem[len("results_"):] if path.stem.startswith("results_") else None
            for f in sorted(path.parent.glob("samples_*")):
                m = _SAMPLES_RE.match(f.name)
                if m and (stamp is None or m.group("ts") == stamp):
                    self.sample_files.append((f, job, model))

    # -- shared: one lm-eval results document ----------------------------------------------
    def _add_results(self, doc: dict[str, Any], *, job: str, model: str, object_name: str,
                     completed_at: Any, created_at: Any, spec_limit: Any, spec_fewshot: Any,
                     requested: list[str], tokenizer: str | None, usable: bool,
                     check_model: bool = True) -> None:
        cfg = doc.get("config") or {}
        cargs = _model_args(cfg.get("model_args"))
        named = cargs.get("model") or cargs.get("pretrained")
        if check_model and named and named != model:
            self.issues.append(issue(
                "lmeval", job, "warning",
                f"results were produced for model {named!r} but the job serves {model!r}: the "
                "output volume was probably reused by another run; scores are kept under "
                f"{model!r} — verify before trusting them"))
        results = doc.get("results") or {}
        groups = doc.get("groups") or {}
        group_subtasks = doc.get("group_subtasks") or {}
        group_names = set(groups) | {g for g, subs in group_subtasks.items() if subs}
        parent_of = {t: g for g, subs in group_subtasks.items() if isinstance(subs, list)
                     for t in subs}
        n_samples = doc.get("n-samples") or {}
        n_shot = doc.get("n-shot") or {}
        versions = doc.get("versions") or {}
        hashes = doc.get("task_hashes") or {}
        limit = _float(cfg.get("limit"))
        if limit is None:
            limit = _float(spec_limit)
        sys_instr = doc.get("system_instruction")
        lm_version = doc.get("lm_eval_version") or (
            f"git:{doc['git_hash']}" if doc.get("git_hash") else None)
        sections = [(t, m) for t, m in results.items()] + \
            [(t, m) for t, m in groups.items() if t not in results]
        tasks_with_scores: set[str] = set()
        for task, metrics in sections:
            if not isinstance(metrics, dict):
                self.issues.append(issue("lmeval", job, "error",
                                         f"{task}: results entry is not a mapping; skipped"))
                continue
            is_group = task in group_names
            eff = (n_samples.get(task) or {}).get("effective") if isinstance(n_samples.get(task), dict) else None
            fewshot = n_shot.get(task, spec_fewshot)
            parsed = _parse_metrics(metrics)
            if not parsed and not is_group:
                self.issues.append(issue("lmeval", job, "error",
                                         f"{task}: no metric values in the results"))
                continue
            for (metric, filt), (value, stderr) in parsed.items():
                ok = usable
                fval = _float(value)
                if fval is None:
                    self.issues.append(issue("lmeval", job, "error",
                                             f"{task} {metric},{filt}: value {value!r} is not a number"))
                    ok = False
                elif not math.isfinite(fval):
                    self.issues.append(issue("lmeval", job, "error",
                                             f"{task} {metric},{filt}: value is {value!r}; kept out "
                                             "of comparisons"))
                    ok = False
                elif metric in BOUNDED_METRICS and not 0.0 <= fval <= 1.0:
                    self.issues.append(issue("lmeval", job, "error",
                                             f"{task} {metric},{filt}: score {fval!r} is outside "
                                             "[0, 1]; kept out of comparisons"))
                    ok = False
                fse = _float(stderr)
                if stderr is _MISSING:
                    fse = None
                elif fse is None or not math.isfinite(fse):
                    if stderr != "N/A":
                        self.issues.append(issue("lmeval", job, "warning",
                                                 f"{task} {metric},{filt}: stderr is {stderr!r}; "
                                                 "treated as unknown"))
                    fse = None
                self.scores.append({
                    "model": model, "job": job, "task": task, "metric": metric, "filter": filt,
                    "value": fval, "stderr": fse, "n": eff, "limit": limit,
                    "num_fewshot": fewshot, "completed_at": completed_at,
                    "created_at": created_at, "is_group": is_group, "usable": ok,
                    "group": parent_of.get(task),
                })
                tasks_with_scores.add(task)
            if task in results and not is_group:
                self.runs.append({
                    "model": model, "job": job, "task": task,
                    "lm_eval_version": lm_version,
                    "task_version": None if versions.get(task) is None else str(versions.get(task)),
                    "task_hash": hashes.get(task), "num_fewshot": fewshot, "limit": limit,
                    "chat_template_sha": doc.get("chat_template_sha"),
                    "fewshot_as_multiturn": doc.get("fewshot_as_multiturn"),
                    "system_instruction_sha": hashlib.sha256(sys_instr.encode()).hexdigest()
                    if isinstance(sys_instr, str) and sys_instr else None,
                    "gen_kwargs": _gen_kwargs(cfg, doc, task),
                    "tokenizer": tokenizer or cargs.get("tokenizer"),
                    "model_args": _redact_args(cfg.get("model_args")),
                    "completed_at": completed_at,
                })
        for t in requested:
            if t not in tasks_with_scores and not any(s.startswith(t) for s in tasks_with_scores):
                self.issues.append(issue("lmeval", job, "error",
                                         f"task {t} was requested but has no scores in the results"))

    # -- samples ---------------------------------------------------------------------------
    def add_sample_folder(self, folder: Path) -> None:
        matched, unmatched = match_samples(folder, self.jobs)
        models = {j["job"]: j["model"] for j in self.jobs}
        for job, files in matched.items():
            self.sample_files.extend((f, job, models[job]) for f in files)
        for u in unmatched:
            self.issues.append(issue("lmeval", u["path"], "warning",
                                     f"samples file not matched to a job: {u['reason']}"))

    def read_samples(self, progress: bool | None = None) -> pd.DataFrame:
        models = {j["job"]: j["model"] for j in self.jobs}
        parts: list[pd.DataFrame] = []
        files = self.sample_files
        total = sum(p.stat().st_size for p, _, _ in files)
        if progress or (progress is None and total > PROGRESS_BYTES):
            from tqdm.auto import tqdm

            files = tqdm(files, desc="samples", unit="file", leave=False)
        for path, job, model in files:
            job = job or path.parent.name
            if job not in models:
                self.issues.append(issue("lmeval", str(path), "warning",
                                         f"samples for unknown job {job!r}; ignored"))
                continue
            m = _SAMPLES_RE.match(path.name)
            if not m:
                continue
            frame = _read_samples_file(path, task=m.group("task"), job=job,
                                       model=model or models[job], issues=self.issues)
            if not frame.empty:
                parts.append(frame)
        if not parts:
            return frames.empty("samples")
        df = pd.concat(parts, ignore_index=True)
        key = ["job", "task", "filter", "metric", "doc_id"]
        dup = df.duplicated(key, keep="first")
        if dup.any():
            for (job, task), cnt in df[dup].groupby(["job", "task"]).size().items():
                self.issues.append(issue("lmeval", job, "warning",
                                         f"{task}: {cnt} duplicate sample row(s) (same doc_id, "
                                         "filter and metric); the first is kept"))
            df = df[~dup]
        df = df.sort_values(key, kind="stable")
        self._check_sample_counts(df)
        return frames.conform("samples", df)

    def _check_sample_counts(self, samples: pd.DataFrame) -> None:
        if samples.empty or not self.scores:
            return
        n_docs = samples.groupby(["job", "task"])["doc_id"].nunique()
        expected = {(s["job"], s["task"]): s["n"] for s in self.scores if s["n"] is not None}
        for (job, task), count in n_docs.items():
            n = expected.get((job, task))
            if n is not None and int(n) != int(count):
                self.issues.append(issue("lmeval", job, "warning",
                                         f"{task}: {count} documents in the samples but the results "
                                         f"report n={n}; paired statistics use the samples"))

    # -- finish ----------------------------------------------------------------------------
    def finish(self, samples: str | os.PathLike[str] | None,
               progress: bool | None = None) -> LMEvalResult:
        if samples is not None:
            sp = Path(samples)
            if not sp.is_dir():
                raise SourceError(f"samples={sp}: not a folder of samples_*.jsonl files")
            self.add_sample_folder(sp)
        sample_frame = self.read_samples(progress)
        jobs = frames.conform("jobs", self.jobs)
        scores = frames.conform("scores", self.scores)
        self._duplicate_runs(scores)
        issues_df = frames.conform("issues", self.issues) if self.issues else frames.empty("issues")
        return LMEvalResult(
            jobs=jobs, scores=scores, runs=frames.conform("runs", self.runs),
            samples=sample_frame, issues=issues_df, source=self.source, demo=self.demo,
            manifest=self.manifest, snapshot=self.snapshot)

    def _duplicate_runs(self, scores: pd.DataFrame) -> None:
        if scores.empty:
            return
        usable = scores[scores["usable"] & ~scores["is_group"]]
        per = usable.drop_duplicates(["model", "task", "job"])
        for (model, task), grp in per.groupby(["model", "task"]):
            if len(grp) > 1:
                grp = grp.sort_values(["completed_at", "created_at", "job"], na_position="first")
                jobs = ", ".join(grp["job"].astype(str))
                self.issues.append(issue(
                    "lmeval", str(model), "info",
                    f"{task}: {len(grp)} runs of model {model} ({jobs}); comparisons use the "
                    f"latest completed run, {grp['job'].iloc[-1]}"))


# --------------------------------------------------------------------------- helpers


def _parse_metrics(metrics: dict[str, Any]) -> dict[tuple[str, str], tuple[Any, Any]]:
    """``{"acc,none": .8, "acc_stderr,none": .04, "alias": ...}`` →
    ``{("acc", "none"): (.8, .04)}``. Legacy keys without a filter get ``"none"``."""
    values: dict[tuple[str, str], Any] = {}
    errs: dict[tuple[str, str], Any] = {}
    for key, val in metrics.items():
        if key in ("alias", " ", "name", "sample_len", "samples"):
            continue
        name, _, filt = key.partition(",")
        filt = filt or "none"
        if name.endswith("_stderr"):
            errs[(name[: -len("_stderr")], filt)] = val
        elif isinstance(val, int | float | str) or val is None:
            if isinstance(val, bool):
                continue
            values[(name, filt)] = val
    return {k: (v, errs.get(k, _MISSING)) for k, v in values.items()}


def _float(x: Any) -> float | None:
    if x is None or x is _MISSING or isinstance(x, bool):
        return None
    if isinstance(x, int | float):
        return float(x)
    if isinstance(x, str):
        s = x.strip()
        if s.upper() in ("N/A", "NA", ""):
            return None
        try:
            return float(s)  # accepts "NaN", "inf", "Infinity"
        except ValueError:
            return None
    return None


def _model_args(args: Any) -> dict[str, str]:
    """``[{name, value}]`` (CR), ``"k=v,k=v"`` (lm-eval) or a dict → dict."""
    if isinstance(args, list):
        return {str(a.get("name")): str(a.get("value")) for a in args
                if isinstance(a, dict) and a.get("name")}
    if isinstance(args, dict):
        return {str(k): str(v) for k, v in args.items()}
    if isinstance(args, str):
        out: dict[str, str] = {}
        for part in args.split(","):
            k, sep, v = part.partition("=")
            if sep:
                out[k.strip()] = v.strip()
        return out
    return {}


def _redact_args(args: Any) -> str | None:
    if args is None:
        return None
    text = args if isinstance(args, str) else json.dumps(args, sort_keys=True)
    return _SECRET_ARG_RE.sub(r"\1<redacted>", text)


def _gen_kwargs(cfg: dict[str, Any], doc: dict[str, Any], task: str) -> str | None:
    parts = {}
    if cfg.get("gen_kwargs"):
        parts["cli"] = cfg["gen_kwargs"]
    tcfg = (doc.get("configs") or {}).get(task) or {}
    if isinstance(tcfg, dict) and tcfg.get("generation_kwargs"):
        parts["task"] = tcfg["generation_kwargs"]
    return json.dumps(parts, sort_keys=True, default=str) if parts else None


def _spec_tasks(spec: dict[str, Any]) -> list[str]:
    tl = spec.get("taskList") or {}
    names = list(tl.get("taskNames") or [])
    recipes = tl.get("taskRecipes") or []
    names += [f"tr_{i}" for i in range(len(recipes))]
    return [str(n) for n in names]


def _progress(status: dict[str, Any]) -> str | None:
    bars = status.get("progressBars") or []
    if bars and isinstance(bars[-1], dict):
        b = bars[-1]
        return " ".join(str(b[k]) for k in ("message", "percent", "count") if b.get(k))
    return None


def _file_timestamp(name: str) -> pd.Timestamp | None:
    m = _TS_RE.search(name)
    if not m:
        return None
    date, _, clock = m.group(1).partition("T")
    clock = clock.replace("-", ":", 2)
    try:
        return pd.Timestamp(f"{date}T{clock}", tz="UTC")
    except ValueError:
        return None


def _unix(x: Any) -> pd.Timestamp | None:
    f = _float(x)
    if f is None or not math.isfinite(f):
        return None
    return pd.Timestamp(dt.datetime.fromtimestamp(f, dt.UTC))


def _iter_sample_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, object)`` streaming a JSONL file (or a legacy JSON array)."""
    if path.suffix == ".json":
        data = json.loads(path.read_bytes())
        for i, obj in enumerate(data if isinstance(data, list) else [], 1):
            yield i, obj
        return
    with path.open("rb") as fh:
        for i, line in enumerate(fh, 1):
            if line.strip():
                yield i, json.loads(line)


_NOT_METRICS = {"doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter",
                "metrics", "doc_hash", "prompt_hash", "target_hash"}


def _read_samples_file(path: Path, *, task: str, job: str, model: str,
                       issues: list[dict[str, str]]) -> pd.DataFrame:
    cols: dict[str, list[Any]] = {k: [] for k in (
        "doc_id", "filter", "metric", "value", "doc_hash", "prompt_hash", "target", "response")}
    bad = 0
    lineno = 0
    try:
        for lineno, obj in _iter_sample_lines(path):  # noqa: B007 - used in the error text
            if not isinstance(obj, dict) or "doc_id" not in obj:
                bad += 1
                continue
            names = obj.get("metrics")
            if not isinstance(names, list):
                names = [k for k, v in obj.items() if k not in _NOT_METRICS
                         and isinstance(v, int | float) and not isinstance(v, bool)]
            fr = obj.get("filtered_resps")
            response = fr[0] if isinstance(fr, list) and fr else fr
            if response is not None and not isinstance(response, str):
                response = json.dumps(response)
            target = obj.get("target")
            if target is not None and not isinstance(target, str):
                target = json.dumps(target)
            for name in names:
                v = _float(obj.get(name))
                if v is None:
                    continue
                cols["doc_id"].append(int(obj["doc_id"]))
                cols["filter"].append(str(obj.get("filter") or "none"))
                cols["metric"].append(name)
                cols["value"].append(v)
                cols["doc_hash"].append(obj.get("doc_hash"))
                cols["prompt_hash"].append(obj.get("prompt_hash"))
                cols["target"].append(target)
                cols["response"].append(response)
    except (ValueError, OSError) as exc:
        issues.append(issue("lmeval", str(path), "error",
                            f"samples file unreadable at line {lineno + 1} ({exc}); "
                            "this task's samples are not used"))
        return frames.empty("samples")
    if bad:
        issues.append(issue("lmeval", str(path), "warning",
                            f"{bad} line(s) without doc_id skipped"))
    df = pd.DataFrame(cols)
    df.insert(0, "task", task)
    df.insert(0, "job", job)
    df.insert(0, "model", model)
    return df


# --------------------------------------------------------------------------- matching sample files

_UNSAFE = re.compile(r"[\"<>:/|\\?*\[\]]+")


def served_model(job: dict[str, Any]) -> str:
    """The served model name of an LMEvalJob CR (the rule in the module docstring).

    >>> served_model({"metadata": {"name": "j"}, "spec": {"modelArgs": [
    ...     {"name": "model", "value": "mistralai/Mistral-Small-24B"}]}})
    'mistralai/Mistral-Small-24B'
    """
    meta = job.get("metadata") or {}
    args = _model_args((job.get("spec") or {}).get("modelArgs"))
    labels = meta.get("labels") or {}
    return str(args.get("model") or args.get("pretrained") or labels.get("model")
               or meta.get("name") or "")


def job_record(job: dict[str, Any]) -> dict[str, Any]:
    """The fields :func:`match_samples` needs, from an LMEvalJob CR."""
    meta = job.get("metadata") or {}
    return {"job": str(meta.get("name") or ""), "model": served_model(job),
            "tasks": _spec_tasks(job.get("spec") or {}),
            "has_results": bool((job.get("status") or {}).get("results"))}


def sanitized_names(model: str) -> set[str]:
    """Folder names lm-eval may have used for ``model`` (``model_name_sanitized``).

    >>> sorted(sanitized_names("org/model:v1"))
    ['org__model:v1', 'org__model__v1']
    """
    return {model.replace("/", "__"), _UNSAFE.sub("__", model)}


def match_samples(root: str | os.PathLike[str], jobs: Iterable[dict[str, Any]]
                  ) -> tuple[dict[str, list[Path]], list[dict[str, str]]]:
    """Match the ``samples_*.jsonl`` files under ``root`` to jobs.

    ``jobs`` are records with ``job``, ``model``, ``tasks`` (list or comma-separated) and
    ``has_results`` (see :func:`job_record`). The rule, used by ``load_lmeval(samples=...)``
    and ``evalkit pull --samples``:

    1. a file belongs to job ``J`` when a folder on its path below ``root`` — or ``root``
       itself — is named ``J`` or ``J-pvc`` (the operator's managed PVC);
    2. otherwise, when its own folder is the job's ``model_name_sanitized`` (the served model
       name with ``/`` and lm-eval's other unsafe characters replaced by ``__``) and exactly one
       job serves that model; several candidates are narrowed to jobs whose task list names
       the file's task, then to jobs with results;
    3. anything else is returned in ``unmatched`` with the reason.

    Returns ``({job: [files]}, [{"path", "reason"}, ...])``.
    """
    base = Path(root)
    if not base.is_dir():
        raise SourceError(f"samples={base}: not a folder; pass an lm-eval output folder or a "
                          "mounted PVC path holding samples_*.jsonl files")
    recs = [r for r in jobs if r.get("job")]
    by_folder: dict[str, str] = {}
    for r in recs:
        by_folder[r["job"]] = r["job"]
    for r in recs:
        by_folder.setdefault(f"{r['job']}-pvc", r["job"])
    by_model: dict[str, list[str]] = {}
    tasks_of: dict[str, set[str]] = {}
    with_results = {r["job"] for r in recs if r.get("has_results")}
    for r in recs:
        tasks = r.get("tasks") or []
        tasks_of[r["job"]] = set(tasks.split(",") if isinstance(tasks, str) else tasks)
        for name in sanitized_names(str(r.get("model") or "")):
            by_model.setdefault(name, []).append(r["job"])
    matched: dict[str, list[Path]] = {}
    unmatched: list[dict[str, str]] = []
    files = sorted(p for p in base.rglob("samples_*")
                   if p.is_file() and p.suffix in (".jsonl", ".json"))
    for f in files:
        rel = f.relative_to(base)
        folders = [base.name, *rel.parts[:-1]]
        job = next((by_folder[d] for d in reversed(folders) if d in by_folder), None)
        if job is None:
            owners = sorted(set(by_model.get(f.parent.name, [])))
            m = _SAMPLES_RE.match(f.name)
            task = m.group("task") if m else None
            if len(owners) > 1:
                owners = [o for o in owners if task in tasks_of.get(o, ())] or owners
            if len(owners) > 1:
                owners = [o for o in owners if o in with_results] or owners
            if len(owners) != 1:
                reason = (f"several jobs serve model folder {f.parent.name!r}: {', '.join(owners)}"
                          if owners else "no job or served model of that folder name")
                unmatched.append({"path": rel.as_posix(),
                                  "reason": reason + "; put it under <job>/ to use it"})
                continue
            job = owners[0]
        matched.setdefault(job, []).append(f)
    return matched, unmatched
