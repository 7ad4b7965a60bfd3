"""Rows from LMEvalJob CRs and lm-eval results documents; frames once at the end.

:class:`Builder` is the engine behind :func:`evalkit.lmeval.load_lmeval`: it accepts documents
(an ``oc get lmevaljob`` list, one job, a bare results file), folders and snapshots, and turns
every problem into an ``issues`` row. One malformed job never sinks the others: it becomes an
error issue naming it.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from ..core import frames
from ..core.errors import SourceError
from ..core.frames import issue
from .discover import Run, SampleLog, scan, siblings
from .documents import (
    MISSING,
    file_timestamp,
    gen_kwargs,
    kind,
    mapping,
    model_args,
    parse_metrics,
    read_file,
    redact_args,
    to_float,
    unix_time,
)
from .match import match_samples, served_model, spec_tasks
from .metrics import BOUNDED_METRICS, LMEVAL_WRONG
from .samples import SAMPLES_RE, read_samples_file, sample_rows

RUNNING_STATES = {"New", "Scheduled", "Running"}
#: where lm-eval (>= 0.4.3) takes ``model_name`` from, first found wins; files without a
#: ``model_name`` (0.3, 0.4.0-0.4.2, library dumps) are named the same way
MODEL_ARG_KEYS = ("peft", "delta", "pretrained", "model", "path", "engine")
#: sample logs larger than this in total get a tqdm progress bar (a full hellaswag log is ~43 MB)
PROGRESS_BYTES = 50_000_000
SAMPLES_DIR = "samples"
LMEVALJOBS = "lmevaljobs.json"


class Builder:
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
        #: sample logs to read: (log, job, model); job None = the log's folder name
        self.sample_files: list[tuple[SampleLog, str | None, str | None]] = []
        #: per task of a job: (filters in results order, metric names) for legacy logs
        self.task_keys: dict[tuple[str, str], tuple[list[str], set[str]]] = {}
        #: samples a library dump carried inline: (job, model, task, objects, where)
        self.inline: list[tuple[str, str, str, list[Any], str]] = []
        self._seen_jobs: dict[str, str] = {}  # job key -> source label

    # -- documents -------------------------------------------------------------------------
    def add_document(self, doc: Any, where: str, path: Path | None = None) -> None:
        """Add an LMEvalJob list, one LMEvalJob or an lm-eval results document."""
        k = kind(doc)
        if k == "list":
            for i, item in enumerate(doc["items"]):
                self._guarded(self.add_job, item, f"{where}#items[{i}]")
        elif k == "job":
            self._guarded(self.add_job, doc, where)
        elif k == "results":
            self._guarded(self.add_results_file, doc, where, path)
        else:
            keys = sorted(map(str, doc))[:8] if isinstance(doc, dict) else type(doc).__name__
            raise SourceError(
                f"{where}: not an LMEvalJob, LMEvalJob list or lm-eval results document "
                f"(top-level keys: {keys}); expected `oc get lmevaljob -o json|yaml` output or "
                "an lm-eval results_*.json")

    def _guarded(self, fn: Any, doc: Any, where: str, *args: Any) -> None:
        """Run one object's reader; a shape it cannot read becomes an error issue naming the
        object instead of sinking every other job (rows it added before failing are undone)."""
        marks = (len(self.jobs), len(self.scores), len(self.runs), len(self.sample_files))
        try:
            fn(doc, where, *args)
        except (TypeError, ValueError, AttributeError, KeyError, OverflowError) as exc:
            del self.jobs[marks[0]:], self.scores[marks[1]:], self.runs[marks[2]:]
            del self.sample_files[marks[3]:]
            name = mapping(mapping(doc).get("metadata")).get("name") or where
            self.issues.append(issue("lmeval", str(name), "error",
                                     f"malformed object, skipped ({type(exc).__name__}: "
                                     f"{str(exc)[:160]}); check its spec/status fields"))

    def add_folder(self, root: Path) -> None:
        """Every LMEvalJob dump at the top of ``root`` and every lm-eval run below it, with
        the sample logs that belong to each run (see :mod:`evalkit.lmeval.discover`)."""
        runs, dumps, _ = scan(root, self.issues)
        for p in dumps:
            try:
                self.add_document(read_file(p), str(p), path=p)
            except SourceError as exc:
                self.issues.append(issue("lmeval", str(p), "warning", f"skipped: {exc}"))
        for run in runs:
            self._guarded(self.add_results_file, run.doc, str(run.path), run.path, root, run)

    def add_snapshot(self, snap: Any) -> None:
        """The LMEvalJob list and sample logs of an evalkit snapshot, read through its
        verified reader (a modified file becomes an error issue)."""
        self.demo = snap.demo
        self.manifest = snap.manifest
        self.snapshot = str(snap.path)
        if snap.has(LMEVALJOBS):
            data = snap.read_bytes(LMEVALJOBS)
            from .documents import parse_text

            self.add_document(parse_text(data, f"{snap.path}/{LMEVALJOBS}"),
                              f"{snap.path}/{LMEVALJOBS}")
        listed = [p for p in snap.listed(f"{SAMPLES_DIR}/") if p.count("/") == 2]
        for rel in sorted(set(listed) | set(snap.unlisted(SAMPLES_DIR))):
            path = snap.path / rel
            if SAMPLES_RE.match(path.name):
                try:
                    verified = snap.verify(rel)
                except SourceError as exc:  # replaced by a FIFO, a link out, ...: skip it
                    self.issues.append(issue("snapshot", rel, "error", f"skipped: {exc}"))
                    continue
                m = SAMPLES_RE.match(path.name)
                self.sample_files.append((SampleLog(verified, m.group("task") if m else ""),
                                          path.parent.name, None))

    # -- LMEvalJob CRs ---------------------------------------------------------------------
    def add_job(self, item: Any, where: str) -> None:
        if not isinstance(item, dict) or item.get("kind", "LMEvalJob") != "LMEvalJob":
            kind = item.get("kind") if isinstance(item, dict) else type(item).__name__
            self.issues.append(issue("lmeval", where, "error",
                                     f"list item is not an LMEvalJob (kind={kind!r}); skipped"))
            return
        meta, spec, status = (mapping(item.get(k)) for k in ("metadata", "spec", "status"))
        for part in ("metadata", "spec", "status"):
            if item.get(part) is not None and not isinstance(item.get(part), dict):
                self.issues.append(issue("lmeval", str(meta.get("name") or where), "error",
                                         f"{part} is a {type(item.get(part)).__name__}, not a "
                                         "mapping; read as empty"))
        name = str(meta.get("name") or where)
        ns = meta.get("namespace")
        key = f"{ns}/{name}"
        if key in self._seen_jobs:
            self.issues.append(issue("lmeval", name, "warning",
                                     f"job {key} appears twice in the source; the first is used"))
            return
        self._seen_jobs[key] = where
        args = model_args(spec.get("modelArgs"))
        model = served_model(item) or name
        state = str(status.get("state") or "New")
        reason = str(status.get("reason") or "NoReason")
        message = str(status.get("message") or "")
        tasks = spec_tasks(spec)
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
            except (ValueError, RecursionError) as exc:
                self.issues.append(issue("lmeval", name, "error",
                                         f"status.results is not valid JSON ({str(exc)[:160]}); "
                                         "no scores read"))
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
                         root: Path | None = None, run: Run | None = None) -> None:
        """One lm-eval results document (any version) with its sample logs: those ``run``
        found in a folder, else the ones beside ``path``, plus any ``samples`` inline."""
        cfg = mapping(doc.get("config"))
        cargs = model_args(cfg.get("model_args"))
        folder = path.parent.name if path is not None else ""
        model = doc.get("model_name") or next(
            (cargs[k] for k in MODEL_ARG_KEYS if cargs.get(k)), None) or folder or "unknown-model"
        model = str(model)
        if path is not None:
            rel = path.relative_to(root) if root is not None else Path(path.name)
            job = rel.with_suffix("").as_posix()
        else:
            job = f"results-{len(self.jobs) + 1}"
        ts = file_timestamp(path.name) if path is not None else None
        completed = ts or unix_time(doc.get("date"))
        fewshot = cfg.get("num_fewshot")  # lm-eval 0.3 records it only here
        self.jobs.append({
            "job": job, "namespace": None, "model": model, "state": "Complete",
            "reason": "Succeeded", "message": "", "tasks": ",".join(map(str, doc.get("results", {}))),
            "limit": None if cfg.get("limit") is None else str(cfg.get("limit")),
            "num_fewshot": fewshot if isinstance(fewshot, int) and not isinstance(fewshot, bool)
            else None,
            "created_at": completed, "scheduled_at": None,
            "completed_at": completed, "has_results": True, "source": where,
        })
        self._add_results(doc, job=job, model=model, object_name=where, completed_at=completed,
                          created_at=completed, spec_limit=cfg.get("limit"), spec_fewshot=fewshot,
                          requested=[], tokenizer=cargs.get("tokenizer"), usable=True,
                          check_model=False)
        logs = run.samples if run is not None else (
            siblings(path, doc, self.issues) if path is not None else [])
        self.sample_files.extend((log, job, model) for log in logs)
        inline = doc.get("samples")
        if isinstance(inline, dict):  # simple_evaluate()'s dict dumped by a library
            for task, objs in inline.items():
                if isinstance(objs, list):
                    self.inline.append((job, model, str(task), objs, f"{where}#samples/{task}"))

    # -- shared: one lm-eval results document ----------------------------------------------
    def _add_results(self, doc: dict[str, Any], *, job: str, model: str, object_name: str,
                     completed_at: Any, created_at: Any, spec_limit: Any, spec_fewshot: Any,
                     requested: list[str], tokenizer: str | None, usable: bool,
                     check_model: bool = True) -> None:
        cfg = mapping(doc.get("config"))
        cargs = model_args(cfg.get("model_args"))
        named = cargs.get("model") or cargs.get("pretrained")
        if check_model and named and named != model:
            self.issues.append(issue(
                "lmeval", job, "warning",
                f"results were produced for model {named!r} but the job serves {model!r}: the "
                "output volume was probably reused by another run; scores are kept under "
                f"{model!r} — verify before trusting them"))
        for part in ("groups", "group_subtasks", "n-samples", "n-shot", "versions", "configs",
                     "task_hashes", "higher_is_better"):
            if doc.get(part) is not None and not isinstance(doc.get(part), dict):
                self.issues.append(issue("lmeval", job, "warning",
                                         f"`{part}` is a {type(doc.get(part)).__name__}, not a "
                                         "mapping; ignored"))
        results = {str(k): v for k, v in mapping(doc.get("results")).items()}
        groups = {str(k): v for k, v in mapping(doc.get("groups")).items()}
        group_subtasks = mapping(doc.get("group_subtasks"))
        group_names = set(groups) | {str(g) for g, subs in group_subtasks.items() if subs}
        parent_of = {str(t): str(g) for g, subs in group_subtasks.items()
                     if isinstance(subs, list) for t in subs}
        n_samples = mapping(doc.get("n-samples"))
        hib_map = mapping(doc.get("higher_is_better"))
        n_shot = mapping(doc.get("n-shot"))
        versions = mapping(doc.get("versions"))
        hashes = mapping(doc.get("task_hashes"))
        limit = to_float(cfg.get("limit"))
        if limit is None:
            limit = to_float(spec_limit)
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
            eff = mapping(n_samples.get(task)).get("effective")
            if eff is None and isinstance(metrics, dict) and type(metrics.get("sample_len")) is int:
                eff = metrics["sample_len"]  # lm-eval 0.4.12 rows
            original = mapping(n_samples.get(task)).get("original")
            aggregations = _aggregations(mapping(mapping(doc.get("configs")).get(task)))
            fewshot = n_shot.get(task, spec_fewshot)
            parsed = parse_metrics(metrics)
            self.task_keys[(job, task)] = (list(dict.fromkeys(f for _, f in parsed)),
                                           {m for m, _ in parsed})
            if not parsed and not is_group:
                self.issues.append(issue("lmeval", job, "error",
                                         f"{task}: no metric values in the results"))
                continue
            for (metric, filt), (value, stderr) in parsed.items():
                ok = usable
                fval = to_float(value)
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
                fse = to_float(stderr)
                if stderr is MISSING:
                    fse = None
                elif fse is None or not math.isfinite(fse):
                    if stderr != "N/A":
                        self.issues.append(issue("lmeval", job, "warning",
                                                 f"{task} {metric},{filt}: stderr is {stderr!r}; "
                                                 "treated as unknown"))
                    fse = None
                hib = mapping(hib_map.get(task)).get(metric)
                if isinstance(hib, bool) and LMEVAL_WRONG.get(metric, hib) != hib:
                    self.issues.append(issue(
                        "lmeval", job, "info",
                        f"{task} {metric},{filt}: the file says higher_is_better={hib}, which "
                        f"lm-eval gets wrong for {metric}; compared as "
                        f"{'higher' if LMEVAL_WRONG[metric] else 'lower'} is better"))
                self.scores.append({
                    "model": model, "job": job, "task": task, "metric": metric, "filter": filt,
                    "value": fval, "stderr": fse, "n": eff, "limit": limit,
                    "num_fewshot": fewshot, "completed_at": completed_at,
                    "created_at": created_at, "is_group": is_group, "usable": ok,
                    "group": parent_of.get(task),
                    "higher_is_better": hib if isinstance(hib, bool) else None,
                    "aggregation": aggregations.get(metric), "n_docs": original,
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
                    "gen_kwargs": gen_kwargs(cfg, doc, task),
                    "tokenizer": tokenizer or cargs.get("tokenizer"),
                    "model_args": redact_args(cfg.get("model_args")),
                    "completed_at": completed_at,
                })
        for t in requested:
            if t not in tasks_with_scores and not any(s.startswith(t) for s in tasks_with_scores):
                self.issues.append(issue("lmeval", job, "error",
                                         f"task {t} was requested but has no scores in the results"))

    # -- samples ---------------------------------------------------------------------------
    def add_sample_folder(self, folder: Path) -> None:
        matched, unmatched = match_samples(folder, self.jobs, self.issues)
        models = {j["job"]: j["model"] for j in self.jobs}
        for job, found in matched.items():
            for f in found:
                m = SAMPLES_RE.match(f.name)
                self.sample_files.append((SampleLog(f, m.group("task") if m else ""), job,
                                          models[job]))
        for u in unmatched:
            self.issues.append(issue("lmeval", u["path"], "warning",
                                     f"samples file not matched to a job: {u['reason']}"))

    def read_samples(self, progress: bool | None = None) -> pd.DataFrame:
        models = {j["job"]: j["model"] for j in self.jobs}
        parts: list[pd.DataFrame] = []
        todo: Any = self.sample_files
        total = sum(log.path.stat().st_size for log, _, _ in todo if log.path.is_file())
        if progress or (progress is None and total > PROGRESS_BYTES):
            from tqdm.auto import tqdm

            todo = tqdm(todo, desc="samples", unit="file", leave=False)
        for log, job, model in todo:
            job = job or log.path.parent.name
            if job not in models:
                self.issues.append(issue("lmeval", str(log.path), "warning",
                                         f"samples for unknown job {job!r}; ignored"))
                continue
            if not log.task:
                continue
            filters, known = self.task_keys.get((job, log.task), (None, None))
            frame = read_samples_file(log.path, task=log.task, job=job,
                                      model=model or models[job], issues=self.issues,
                                      filters=filters, known=known)
            if not frame.empty:
                parts.append(frame)
        for job, model, task, objs, where in self.inline:
            filters, known = self.task_keys.get((job, task), (None, None))
            frame = sample_rows(enumerate(objs, 1), where=where, task=task, job=job, model=model,
                                issues=self.issues, filters=filters, known=known)
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
        expected = {(s["job"], s["task"]): s["n"] for s in self.scores
                    if isinstance(s["n"], int) and not isinstance(s["n"], bool)}
        for (job, task), count in n_docs.items():
            n = expected.get((job, task))
            if n is not None and int(n) != int(count):
                self.issues.append(issue("lmeval", job, "warning",
                                         f"{task}: {count} documents in the samples but the results "
                                         f"report n={n}; paired statistics use the samples"))

    # -- finish ----------------------------------------------------------------------------
    def finish(self, progress: bool | None = None) -> dict[str, pd.DataFrame]:
        """The frames: ``jobs``, ``scores``, ``runs``, ``samples``, ``issues``."""
        sample_frame = self.read_samples(progress)
        scores = frames.conform("scores", self.scores)
        self._duplicate_runs(scores)
        return {"jobs": frames.conform("jobs", self.jobs), "scores": scores,
                "runs": frames.conform("runs", self.runs), "samples": sample_frame,
                "issues": frames.issues_frame(self.issues)}

    def _duplicate_runs(self, scores: pd.DataFrame) -> None:
        """One notice per model that ran some task more than once, naming the tasks and runs
        (which run is compared is :func:`evalkit.analysis.base.latest_jobs`' rule)."""
        if scores.empty:
            return
        usable = scores[scores["usable"] & ~scores["is_group"]]
        per = usable.drop_duplicates(["model", "task", "job"])
        for model, grp in per.groupby("model"):
            runs = grp.groupby("task")["job"].nunique()
            tasks = sorted(runs[runs > 1].index.astype(str))
            if not tasks:
                continue
            jobs = sorted(grp[grp["task"].isin(tasks)]["job"].astype(str).unique())
            shown = ", ".join(tasks[:6]) + (f" and {len(tasks) - 6} more" if len(tasks) > 6 else "")
            self.issues.append(issue(
                "lmeval", str(model), "info",
                f"{len(tasks)} task(s) run more than once by {model} ({shown}; runs "
                f"{', '.join(jobs[:6])}{' ...' if len(jobs) > 6 else ''}); each comparison uses "
                "one run per task: a full run before a --limit run, the baseline's few-shot and "
                "limit settings when they exist, then the latest"))


def _progress(status: dict[str, Any]) -> str | None:
    bars = status.get("progressBars")
    if isinstance(bars, list) and bars and isinstance(bars[-1], dict):
        b = bars[-1]
        return " ".join(str(b[k]) for k in ("message", "percent", "count") if b.get(k))
    return None


def _aggregations(task_config: dict[str, Any]) -> dict[str, str]:
    """``{metric: aggregation}`` from a task config's ``metric_list`` (aggregation may be a
    name such as "mean", "perplexity", "bleu", or a function lm-eval printed as text)."""
    out: dict[str, str] = {}
    items = task_config.get("metric_list")
    for m in items if isinstance(items, list) else []:
        if isinstance(m, dict) and isinstance(m.get("metric"), str):
            agg = m.get("aggregation")
            if isinstance(agg, str):
                out[m["metric"]] = "mean" if "mean" in agg else agg
    return out
