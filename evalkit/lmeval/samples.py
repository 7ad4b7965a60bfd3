"""lm-eval per-sample logs → rows of the ``samples`` frame.

``samples_<task>_<ts>.jsonl`` (one JSON object per line, streamed: no total size limit) and the
legacy forms holding one JSON array. Every line that cannot be used is counted and reported as
a data issue with the reason — never silently dropped.

>>> import tempfile, pathlib, json
>>> p = pathlib.Path(tempfile.mkdtemp()) / "samples_arc_easy_2025-01-01T00-00-00.jsonl"
>>> _ = p.write_text(json.dumps({"doc_id": 0, "filter": "none", "metrics": ["acc"], "acc": 1.0}))
>>> issues = []
>>> rows = read_samples_file(p, task="arc_easy", job="j", model="m", issues=issues)
>>> rows[["doc_id", "metric", "value"]].to_dict("records")
[{'doc_id': 0, 'metric': 'acc', 'value': 1.0}]
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from ..core import files, frames
from ..core.errors import SourceError
from ..core.frames import issue
from .documents import to_float

SAMPLES_RE = re.compile(r"^samples_(?P<task>.+?)_(?P<ts>\d{4}-\d{2}-\d{2}T[\d\-:.]+)\.jsonl?$")

_NOT_METRICS = {"doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter",
                "metrics", "doc_hash", "prompt_hash", "target_hash", "task_name"}
_COLUMNS = ("doc_id", "filter", "metric", "value", "doc_hash", "prompt_hash", "target",
            "response")


def iter_sample_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, object)`` streaming a JSONL file; a file whose content is one
    JSON array (legacy ``.json`` logs, lm-eval 0.4.0–0.4.2 ``.jsonl``) yields its items."""
    with path.open("rb") as fh:
        head = fh.read(64).lstrip()
    if head.startswith(b"["):
        data = json.loads(files.read_document(path))
        for i, obj in enumerate(data if isinstance(data, list) else [], 1):
            yield i, obj
        return
    with path.open("rb") as fh:
        for i, line in enumerate(fh, 1):
            if line.strip():
                yield i, json.loads(line)


def _doc_id(obj: dict[str, Any]) -> int | None:
    v = obj.get("doc_id")
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v if abs(v) < 2**63 else None
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.strip().lstrip("-").isdigit() and len(v) < 19:
        return int(v)
    return None


def _text(x: Any) -> str | None:
    if x is None or isinstance(x, str):
        return x
    return json.dumps(x, default=str)


def read_samples_file(path: Path, *, task: str, job: str, model: str,
                      issues: list[dict[str, str]], filters: list[str] | None = None,
                      known: set[str] | None = None) -> pd.DataFrame:
    """One sample log → rows with the ``samples`` columns (model/job/task first). Problems are
    appended to ``issues``; an unreadable file gives an empty frame and an error issue.

    ``filters`` (the task's filters in the order of its results) and ``known`` (its metric
    names) read logs written before lm-eval 0.4.7, which have no ``filter`` and ``metrics``
    fields: a task with two filters repeats every ``doc_id``, the first filter's block first.
    """
    kind = files.kind_of(path)
    if kind != "file":  # a FIFO would block forever, a device never ends
        issues.append(issue("lmeval", str(path), "error",
                            f"samples file skipped: not a regular file ({kind})"))
        return frames.empty("samples")
    return sample_rows(iter_sample_lines(path), where=str(path), task=task, job=job,
                       model=model, issues=issues, filters=filters, known=known)


def sample_rows(objects: Iterator[tuple[int, Any]], *, where: str, task: str, job: str,
                model: str, issues: list[dict[str, str]], filters: list[str] | None = None,
                known: set[str] | None = None) -> pd.DataFrame:
    """Sample objects (``(position, dict)`` pairs: a log's lines, or the ``samples`` lists a
    library dump carries inline) → rows; see :func:`read_samples_file`."""
    cols: dict[str, list[Any]] = {k: [] for k in _COLUMNS}
    no_id = non_numeric = 0
    non_numeric_names: set[str] = set()
    seen: dict[int, int] = {}
    lineno = 0
    try:
        for lineno, obj in objects:  # noqa: B007 - used in the error text
            if not isinstance(obj, dict):
                no_id += 1
                continue
            doc_id = _doc_id(obj)
            if doc_id is None:
                no_id += 1
                continue
            names = obj.get("metrics")
            if not isinstance(names, list):  # before lm-eval 0.4.7: the metric keys
                names = ([k for k in obj if k in known] if known else
                         [k for k, v in obj.items() if k not in _NOT_METRICS and (
                             (isinstance(v, int | float) and not isinstance(v, bool))
                             or isinstance(v, list))])
            fr = obj.get("filtered_resps")
            response = _text(fr[0] if isinstance(fr, list) and fr else fr)
            target = _text(obj.get("target"))
            if "filter" in obj or not filters:
                filt = str(obj.get("filter") or "none")
            else:  # no filter field: the k-th block of a doc_id is the k-th filter
                k = seen.get(doc_id, 0)
                seen[doc_id] = k + 1
                filt = filters[min(k, len(filters) - 1)]
            for name in names:
                if not isinstance(name, str):  # a metric name that is a list, a number...
                    continue
                raw = obj.get(name)
                v = (float(raw) if isinstance(raw, bool) else
                     to_float(raw) if not isinstance(raw, list | dict) else None)
                if v is None:
                    if raw is not None:
                        non_numeric += 1
                        non_numeric_names.add(str(name))
                    continue
                cols["doc_id"].append(doc_id)
                cols["filter"].append(filt)
                cols["metric"].append(str(name))
                cols["value"].append(v)
                cols["doc_hash"].append(obj.get("doc_hash"))
                cols["prompt_hash"].append(obj.get("prompt_hash"))
                cols["target"].append(target)
                cols["response"].append(response)
    except (ValueError, OSError, RecursionError, SourceError) as exc:
        issues.append(issue("lmeval", where, "error",
                            f"samples file unreadable at line {lineno + 1} "
                            f"({str(exc)[:160]}); this task's samples are not used"))
        return frames.empty("samples")
    if seen and filters and len(filters) > 1 and set(seen.values()) != {len(filters)}:
        issues.append(issue("lmeval", where, "error",
                            f"{task}: the log has no filter field and its doc_ids do not repeat "
                            f"once per filter ({', '.join(filters)}); the filters cannot be "
                            "told apart, so this task's samples are not used"))
        return frames.empty("samples")
    if no_id:
        issues.append(issue("lmeval", where, "warning",
                            f"{no_id} line(s) without a usable doc_id skipped"))
    if non_numeric:
        names = ", ".join(sorted(non_numeric_names))
        issues.append(issue("lmeval", where, "info",
                            f"{non_numeric} per-sample value(s) of {names} are not single "
                            "numbers (pairs or lists that lm-eval aggregates over the whole "
                            "corpus); they are not paired per document"))
    df = pd.DataFrame(cols)
    df.insert(0, "task", task)
    df.insert(0, "job", job)
    df.insert(0, "model", model)
    return df
