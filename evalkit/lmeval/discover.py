"""Finding lm-eval runs and their sample logs in a folder, whatever lm-eval version wrote it.

What each generation writes (``tests/data/lmeval/CATALOGUE.md`` has a real-shaped folder of each):

============================  ===============================================================
lm-eval                       results / samples
============================  ===============================================================
0.3                           any ``*.json`` with ``results`` + ``config`` (free names such as
                              ``llama-7B_mmlu_5-shot.json``); ``--write_out`` adds
                              ``<task>_write_out_info.json`` (a JSON array)
0.4.0 – 0.4.2                 ``results.json``; ``<model_args with / and = → __>_<task>.jsonl``
                              holding one JSON array, no ``filter`` field
0.4.3 – 0.4.8                 ``<model>/results_<ts>.json`` + ``samples_<task>_<ts>.jsonl``;
                              ``--output_path X.json`` makes a *folder* named ``X.json``
≥ 0.4.9                       the same, and ``--output_path X.json`` writes ``X_<ts>.json`` with
                              the samples beside it (only ``<ts>`` links them)
library dumps                 ``simple_evaluate()``'s dict under any name, ``samples`` inline
============================  ===============================================================

The rule: every ``*.json`` under the folder (recursively) holding a ``results`` mapping is a
run; a sample log belongs to the run in the **same folder** with the **same timestamp**
(``samples_<task>_<ts>``), or — 0.4.0–0.4.2 — whose ``model_args`` gives the file's prefix, or —
0.3 — whose results name the ``write_out`` task. A log is never given to two runs; a log that
fits no run (or several) is reported as a data issue and not used.

>>> import tempfile, pathlib, json
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = (root / "lm_eval_2025-07-14T09-12-50.8.json").write_text(json.dumps({"results": {"t": {}}}))
>>> _ = (root / "samples_t_2025-07-14T09-12-50.8.jsonl").write_text("")
>>> runs, dumps, issues = scan(root)
>>> [(r.path.name, [s.path.name for s in r.samples]) for r in runs]
[('lm_eval_2025-07-14T09-12-50.8.json', ['samples_t_2025-07-14T09-12-50.8.jsonl'])]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import files
from ..core.errors import SourceError
from ..core.frames import issue
from .documents import kind, mapping, read_file
from .samples import SAMPLES_RE

_TS_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}[-:]\d{2}[-:]\d{2}(?:\.\d+)?")
WRITE_OUT = "_write_out_info.json"
DUMP_SUFFIXES = (".json", ".yaml", ".yml")


@dataclass
class SampleLog:
    """One per-sample file of a run: its task and its generation (``"jsonl"`` for
    ``samples_<task>_<ts>``, ``"array"`` for 0.4.0–0.4.2, ``"write_out"`` for 0.3)."""

    path: Path
    task: str
    form: str = "jsonl"


@dataclass
class Run:
    """A results document found in a folder, with the sample logs that belong to it."""

    path: Path
    doc: dict[str, Any]
    samples: list[SampleLog] = field(default_factory=list)

    @property
    def tasks(self) -> set[str]:
        return {str(t) for t in mapping(self.doc.get("results"))}


def stamp(name: str) -> str | None:
    """The timestamp text in an lm-eval file name (``None`` without one).

    >>> stamp("results_2025-01-25T04-48-43.622918.json"), stamp("results.json")
    ('2025-01-25T04-48-43.622918', None)
    """
    m = _TS_RE.search(name)
    return m.group(0) if m else None


def legacy_prefix(doc: dict[str, Any]) -> str | None:
    """lm-eval 0.4.0–0.4.2's sample file prefix: ``model_args`` with ``/`` and ``=`` → ``__``.

    >>> legacy_prefix({"config": {"model_args": "pretrained=org/m,dtype=auto"}})
    'pretrained__org__m,dtype__auto'
    """
    args = mapping(doc.get("config")).get("model_args")
    return re.sub("/|=", "__", args) if isinstance(args, str) and args else None


def scan(root: Path, issues: list[dict[str, str]] | None = None,
         ) -> tuple[list[Run], list[Path], list[dict[str, str]]]:
    """Every run under ``root`` with its sample logs, the LMEvalJob dumps at its top level,
    and the data issues met (unreadable documents, sample logs that fit no run).

    Raises :class:`SourceError` when the folder holds neither results nor dumps.
    """
    issues = [] if issues is None else issues
    found = list(files.walk(root, issues=issues, source="lmeval"))
    runs: list[Run] = []
    dumps: list[Path] = []
    logs = [p for p in found if SAMPLES_RE.match(p.name)]
    write_outs = [p for p in found if p.name.endswith(WRITE_OUT)]
    arrays = [p for p in found if p.suffix == ".jsonl" and not SAMPLES_RE.match(p.name)]
    docs = [p for p in found if p.suffix in DUMP_SUFFIXES and p not in logs
            and p not in write_outs and (p.suffix == ".json" or p.parent == root)]
    for p in docs:
        try:
            doc = read_file(p)
        except SourceError as exc:
            sev = "error" if p.name.startswith("results") else "warning"
            issues.append(issue("lmeval", str(p), sev, f"skipped: {exc}"))
            continue
        k = kind(doc)
        if k == "results":
            runs.append(Run(p, doc))
        elif k in ("list", "job") and p.parent == root:
            dumps.append(p)
        elif p.name.startswith("results") or k in ("list", "job"):
            where = "below the top level" if k in ("list", "job") else "no `results` mapping"
            issues.append(issue("lmeval", str(p), "error" if k == "unknown" else "warning",
                                f"skipped: not an lm-eval results document ({where})"))
        else:
            keys = sorted(map(str, doc))[:6] if isinstance(doc, dict) else []
            issues.append(issue("lmeval", str(p), "info",
                                f"skipped: not an lm-eval results or LMEvalJob document "
                                f"(top-level keys {keys})"))
    if not runs and not dumps:
        raise SourceError(f"{root}: no lm-eval results (any *.json with a `results` mapping, "
                          "searched recursively) and no LMEvalJob dump in this folder; expected "
                          "an lm-eval output folder, an evalkit snapshot, or a file")
    attach(runs, logs, arrays, write_outs, issues)
    return runs, dumps, issues


def attach(runs: list[Run], logs: list[Path], arrays: list[Path], write_outs: list[Path],
           issues: list[dict[str, str]]) -> None:
    """Give each sample log to the one run it belongs to (see the module rule)."""
    by_dir: dict[Path, list[Run]] = {}
    for r in runs:
        by_dir.setdefault(r.path.parent, []).append(r)
    for p in logs:
        m = SAMPLES_RE.match(p.name)
        assert m is not None
        owners = [r for r in by_dir.get(p.parent, []) if stamp(r.path.name) == m.group("ts")]
        _give(p, m.group("task"), "jsonl", owners, issues,
              "no results file with the same timestamp in its folder")
    for p in arrays:
        owners, task = [], ""
        for r in by_dir.get(p.parent, []):
            prefix = legacy_prefix(r.doc)
            if prefix and p.name.startswith(prefix + "_") and p.stem[len(prefix) + 1:] in r.tasks:
                owners.append(r)
                task = p.stem[len(prefix) + 1:]
        _give(p, task, "array", owners, issues,
              "no results.json in its folder whose model_args give its name (lm-eval 0.4.0-0.4.2)")
    for p in write_outs:
        task = p.name[: -len(WRITE_OUT)]
        owners = [r for r in by_dir.get(p.parent, []) if task in r.tasks]
        _give(p, task, "write_out", owners, issues,
              f"no results file in its folder reports task {task!r} (lm-eval 0.3 --write_out)")


def _give(p: Path, task: str, form: str, owners: list[Run], issues: list[dict[str, str]],
          why_none: str) -> None:
    if len(owners) == 1:
        owners[0].samples.append(SampleLog(p, task, form))
        return
    reason = why_none if not owners else (
        "several results files could own it (" + ", ".join(o.path.name for o in owners) + ")")
    issues.append(issue("lmeval", str(p), "warning", f"samples file not used: {reason}"))


def siblings(path: Path, doc: dict[str, Any], issues: list[dict[str, str]]) -> list[SampleLog]:
    """The sample logs beside one results file given on its own (its folder, not below)."""
    listing = [p for p in files.walk(path.parent, issues=issues, source="lmeval")
               if p.parent == path.parent]
    run = Run(path, doc)
    others = [p for p in listing if p != path]
    logs = [p for p in others if SAMPLES_RE.match(p.name)]
    # a log whose timestamp names another results file in the folder is that file's, silently
    mine = [p for p in logs if SAMPLES_RE.match(p.name).group("ts") == stamp(path.name)]  # type: ignore[union-attr]
    attach([run], mine, [p for p in others if p.suffix == ".jsonl" and p not in logs],
           [p for p in others if p.name.endswith(WRITE_OUT)], [])
    return run.samples
