"""Which sample logs belong to which job: one rule for ``load_lmeval(samples=...)`` and
``evalkit pull --samples``.

>>> sorted(sanitized_names("org/model:v1"))
['org__model:v1', 'org__model__v1']
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..core import files
from ..core.errors import InputError
from .documents import mapping, model_args
from .samples import SAMPLES_RE

_UNSAFE = re.compile(r"[\"<>:/|\\?*\[\]]+")


def served_model(job: dict[str, Any]) -> str:
    """The served model name of an LMEvalJob CR (the rule in the module docstring).

    >>> served_model({"metadata": {"name": "j"}, "spec": {"modelArgs": [
    ...     {"name": "model", "value": "mistralai/Mistral-Small-24B"}]}})
    'mistralai/Mistral-Small-24B'
    """
    meta = mapping(job.get("metadata"))
    args = model_args(mapping(job.get("spec")).get("modelArgs"))
    labels = mapping(meta.get("labels"))
    return str(args.get("model") or args.get("pretrained") or labels.get("model")
               or meta.get("name") or "")


def job_record(job: dict[str, Any]) -> dict[str, Any]:
    """The fields :func:`match_samples` needs, from an LMEvalJob CR."""
    meta = mapping(job.get("metadata"))
    return {"job": str(meta.get("name") or ""), "model": served_model(job),
            "tasks": spec_tasks(mapping(job.get("spec"))),
            "has_results": bool(mapping(job.get("status")).get("results"))}


def sanitized_names(model: str) -> set[str]:
    """Folder names lm-eval may have used for ``model`` (``model_name_sanitized``).

    >>> sorted(sanitized_names("org/model:v1"))
    ['org__model:v1', 'org__model__v1']
    """
    return {model.replace("/", "__"), _UNSAFE.sub("__", model)}


def spec_tasks(spec: dict[str, Any]) -> list[str]:
    """Task names an LMEvalJob spec requests (Unitxt recipes appear as ``tr_0``, ``tr_1``...)."""
    tl = mapping(spec.get("taskList"))
    names = tl.get("taskNames")
    names = list(names) if isinstance(names, list) else []
    recipes = tl.get("taskRecipes")
    names += [f"tr_{i}" for i in range(len(recipes) if isinstance(recipes, list) else 0)]
    return [str(n) for n in names]


def match_samples(root: str | os.PathLike[str], jobs: Iterable[dict[str, Any]],
                  issues: list[dict[str, str]] | None = None,
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
        raise InputError(f"samples={base}: not a folder; pass an lm-eval output folder or a "
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
    found = [p for p in files.walk(base, issues=issues if issues is not None else [],
                                   source="lmeval", pattern="samples_*")
             if p.suffix in (".jsonl", ".json")]
    for f in found:
        rel = f.relative_to(base)
        folders = [base.name, *rel.parts[:-1]]
        job = next((by_folder[d] for d in reversed(folders) if d in by_folder), None)
        if job is None:
            owners = sorted(set(by_model.get(f.parent.name, [])))
            m = SAMPLES_RE.match(f.name)
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
