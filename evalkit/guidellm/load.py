""":func:`load_guidellm`: GuideLLM reports from a file, a folder or a ``dict``.

- a file: ``benchmarks.json`` (or GuideLLM's YAML output, ``*.yaml``/``*.yml``), any name;
- a folder: every ``*.json`` under it (recursive) that has the shape of a GuideLLM report,
  plus ``benchmarks*.yaml``/``*.yml``; other JSON files (pytest-benchmark's
  ``benchmarks.json``, manifests, ...) are skipped, silently unless named ``benchmarks*``.
  A YAML report next to a JSON report of the same name is the same run and is skipped;
- a ``dict``: one parsed report.

Files are read through :mod:`evalkit.core.files` (regular files only, bounded by
``$EVALKIT_MAX_FILE_MB``, no symlinks out of the folder); YAML is safe-loaded without
aliases.

>>> import json, tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> doc = {"args": {"model": "m"}, "benchmarks": [{"config": {"id_": "b1",
...        "strategy": {"type_": "synchronous"}}, "scheduler_metrics": {},
...        "metrics": {"request_totals": {"successful": 2, "errored": 0, "incomplete": 0,
...                                       "total": 2}}}]}
>>> _ = (root / "run1").mkdir(), (root / "run1" / "benchmarks.json").write_text(json.dumps(doc))
>>> _ = (root / "notes.json").write_text("{}")
>>> res = load_guidellm(root)
>>> res.reports[["report", "generation"]].values.tolist(), res.models
([['run1/benchmarks.json', '0.4']], ['m'])
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..core import files, frames
from ..core.errors import SourceError
from .parse import SOURCE, benchmark_frame, is_guidellm_report, parse_report
from .result import GuideLLMResult, empty_reports

_JSON = {".json"}
_YAML = {".yaml", ".yml"}


def parse_text(data: bytes | str, where: str, *, yaml_ok: bool = True) -> Any:
    """JSON first, then (when ``yaml_ok``) safe YAML without aliases; anything unreadable is
    a :class:`~evalkit.core.errors.SourceError` naming ``where``.

    >>> parse_text(b'{"benchmarks": []}', "x")
    {'benchmarks': []}
    >>> parse_text("benchmarks: []", "x.yaml")
    {'benchmarks': []}
    """
    try:
        return json.loads(data)
    except RecursionError:
        raise SourceError(f"{where}: nested too deeply to be a GuideLLM report") from None
    except ValueError as exc:
        if not yaml_ok:
            raise SourceError(f"{where}: not valid JSON ({str(exc)[:120]})") from None
        json_msg = str(exc)[:120]
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        for event in yaml.parse(data, Loader=loader):
            if isinstance(event, yaml.AliasEvent):
                raise SourceError(f"{where}: YAML aliases are not accepted (GuideLLM writes "
                                  "none); is this a GuideLLM report?")
        return yaml.load(data, Loader=loader)  # noqa: S506 - a safe loader
    except RecursionError:
        raise SourceError(f"{where}: nested too deeply to be a GuideLLM report") from None
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        raise SourceError(f"{where}: neither JSON ({json_msg}) nor YAML "
                          f"({str(exc).splitlines()[0][:120] if str(exc) else exc!r})") from None


def _read(path: Path, where: str) -> Any:
    data = files.read_document(path)
    return parse_text(data, where, yaml_ok=path.suffix.lower() in _YAML or
                      path.suffix.lower() not in _JSON)


def candidates(root: Path, issues: list[dict[str, str]]) -> list[Path]:
    found = [p for p in files.walk(root, issues=issues, source=SOURCE)
             if p.suffix.lower() in _JSON
             or (p.suffix.lower() in _YAML and p.name.lower().startswith("benchmarks"))]
    json_stems = {(p.parent, p.stem) for p in found if p.suffix.lower() in _JSON}
    out = []
    for p in found:
        if p.suffix.lower() in _YAML and (p.parent, p.stem) in json_stems:
            issues.append(frames.issue(SOURCE, p.relative_to(root).as_posix(), "info",
                                       "skipped: the same run's JSON report is read instead"))
            continue
        out.append(p)
    return out


def combine(parts: list[GuideLLMResult], source: str,
             issues: list[dict[str, str]]) -> GuideLLMResult:
    benches = [p.benchmarks for p in parts if len(p.benchmarks)]
    reports = [p.reports for p in parts if len(p.reports)]
    return GuideLLMResult(
        benchmarks=benchmark_frame(pd.concat(benches, ignore_index=True)) if benches
        else benchmark_frame(),
        reports=pd.concat(reports, ignore_index=True) if reports else empty_reports(),
        source=source,
        conclusions=[c for p in parts for c in p.conclusions],
        issues=frames.issues_frame(issues, *[p.issues for p in parts]),
    )


def load_guidellm(path: str | os.PathLike[str] | Mapping[str, Any], *,
                  model: str | None = None) -> GuideLLMResult:
    """Load GuideLLM reports (every schema generation) into one :class:`GuideLLMResult`.

    Parameters
    ----------
    path : a report file (JSON or GuideLLM's YAML), a folder searched recursively, or a
        parsed report ``dict``.
    model : overrides the model name of every report read (else the backend ``model`` each
        report names).

    Raises :class:`~evalkit.core.errors.SourceError` when nothing usable is found: a
    missing path, a file that is not a GuideLLM report, a folder without one. In a folder,
    unreadable ``benchmarks*`` files become ``error`` issues instead.

    >>> load_guidellm({"machine_info": {}, "benchmarks": [{"name": "test_x", "stats": {}}]})
    Traceback (most recent call last):
    ...
    evalkit.core.errors.SourceError: not a GuideLLM report: its 'benchmarks' entries have no 'metrics' with 'args'/'run_stats' (GuideLLM ≤0.3) or 'config'/'scheduler_metrics' (≥0.4)
    """
    if isinstance(path, Mapping):
        return parse_report(path, report="<dict>", model=model)
    p = Path(path)
    kind = files.kind_of(p)
    if kind == "file":
        doc = _read(p, str(p))
        res = parse_report(doc, report=p.name, model=model)
        res.source = str(p)
        return res
    if kind != "dir":
        raise SourceError(f"{p}: {kind}; pass a GuideLLM benchmarks.json, a folder of them "
                          "or a parsed report dict")
    issues: list[dict[str, str]] = []
    parts: list[GuideLLMResult] = []
    for f in candidates(p, issues):
        rel = f.relative_to(p).as_posix()
        named = f.name.lower().startswith("benchmarks")
        try:
            doc = _read(f, rel)
        except SourceError as exc:
            if named:
                issues.append(frames.issue(SOURCE, rel, "error", f"skipped: {exc}"))
            continue
        if not is_guidellm_report(doc):
            if named:
                issues.append(frames.issue(SOURCE, rel, "info",
                                           "skipped: not a GuideLLM report"))
            continue
        parts.append(parse_report(doc, report=rel, model=model))
    if not parts:
        raise SourceError(f"{p}: no GuideLLM report found (looked for *.json and "
                          "benchmarks*.yaml with a 'benchmarks' list of GuideLLM benchmarks)")
    return combine(parts, str(p), issues)
