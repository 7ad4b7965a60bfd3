"""GuideLLM reports as a :class:`~evalkit.source.Source`: copy local report files into a
snapshot, load them back.

GuideLLM has no API to query: it writes files. ``pull`` copies the reports found at a path
(a ``benchmarks.json`` or a folder of them, found as :func:`~evalkit.guidellm.load_guidellm`
finds them) into ``guidellm/<relative path>``, byte for byte — except that a report holding a
credential (a non-empty ``api_key``, ``authorization``, ``password``, ``secret`` or ``token``
value: GuideLLM writes the backend settings into the report; 0.8 masks ``api_key`` as
``**********``, older versions may not) is re-serialised
with those values replaced by ``"<redacted>"``, and the manifest entry lists the JSON paths
redacted.

Snapshot files::

    guidellm/<relative path of each report>

>>> GuideLLMSource("results").describe()
'GuideLLM reports from results'
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from ..core import files, frames
from ..core.errors import InputError, SnapshotError, SourceError
from ..core.snapshot import Snapshot, SnapshotWriter
from ..core.timeutil import utc_now
from ..source import Source
from .load import candidates, combine, parse_text
from .parse import SOURCE, is_guidellm_report, parse_report
from .result import GuideLLMResult

FOLDER = "guidellm"
_SECRET_KEY = re.compile(r"(?i)^(api_key|apikey|authorization|password|secret|token|"
                         r"access_token|bearer_token)$")


def redact(doc: Any, path: str = "$") -> tuple[Any, list[str]]:
    """``doc`` with credential values replaced, and the JSON paths replaced.

    >>> redact({"config": {"backend": {"api_key": "sk-1", "model": "m"}}})
    ({'config': {'backend': {'api_key': '<redacted>', 'model': 'm'}}}, ['$.config.backend.api_key'])
    """
    found: list[str] = []
    if isinstance(doc, dict):
        out: dict[str, Any] = {}
        for k, v in doc.items():
            p = f"{path}.{k}"
            if (isinstance(k, str) and _SECRET_KEY.match(k) and isinstance(v, str)
                    and v.strip() and v != "<redacted>" and set(v) != {"*"}):
                out[k] = "<redacted>"
                found.append(p)
            else:
                out[k], sub = redact(v, p)
                found += sub
        return out, found
    if isinstance(doc, list):
        items = []
        for i, v in enumerate(doc):
            item, sub = redact(v, f"{path}[{i}]")
            items.append(item)
            found += sub
        return items, found
    return doc, found


class GuideLLMSource(Source):
    """GuideLLM report files at ``path`` (a file or a folder).

    ``model`` overrides the model name of every report when it is loaded back (kept in the
    manifest entry).
    """

    key = "guidellm"

    def __init__(self, path: str | os.PathLike[str], *, model: str | None = None) -> None:
        if not path:
            raise InputError("GuideLLMSource needs a report file or folder")
        self.path = Path(path)
        self.model = model

    def describe(self) -> str:
        return f"GuideLLM reports from {os.fspath(self.path)}"

    def _reports(self) -> list[tuple[str, bytes, Any]]:
        kind = files.kind_of(self.path)
        if kind == "file":
            data = files.read_document(self.path)
            return [(self.path.name, data, parse_text(data, str(self.path)))]
        if kind != "dir":
            raise SourceError(f"{self.path}: {kind}; pass a GuideLLM benchmarks.json or a "
                              "folder of them")
        out = []
        for f in candidates(self.path, []):
            rel = f.relative_to(self.path).as_posix()
            try:
                data = files.read_document(f)
                doc = parse_text(data, rel, yaml_ok=f.suffix.lower() != ".json")
            except SourceError:
                continue
            if is_guidellm_report(doc):
                out.append((rel, data, doc))
        return out

    def pull(self, writer: SnapshotWriter) -> dict[str, Any]:
        started = utc_now()
        reports = self._reports()
        if not reports:
            raise SourceError(f"{self.path}: no GuideLLM report found")
        written, redacted = [], {}
        for rel, data, doc in reports:
            if not is_guidellm_report(doc):
                raise SourceError(f"{rel}: not a GuideLLM report")
            clean, paths = redact(doc)
            if paths:
                data = (json.dumps(clean) + "\n").encode()
                rel = rel if rel.lower().endswith(".json") else f"{rel}.json"
                redacted[rel] = paths
            writer.write_bytes(f"{FOLDER}/{rel}", data)
            written.append(rel)
        entry = {"kind": "files", "path": os.fspath(self.path), "reports": written,
                 "redacted": redacted, "model": self.model, "started_at": started,
                 "finished_at": utc_now()}
        writer.add_source(self.key, entry)
        return entry

    @classmethod
    def load(cls, snapshot: Snapshot) -> GuideLLMResult | None:
        info = snapshot.sources.get(cls.key)
        listed = snapshot.listed(f"{FOLDER}/")
        if not isinstance(info, dict) and not listed:
            return None
        model = info.get("model") if isinstance(info, dict) else None
        issues: list[dict[str, str]] = []
        parts: list[GuideLLMResult] = []
        for rel in [*listed, *snapshot.unlisted(FOLDER)]:
            name = rel[len(FOLDER) + 1:]
            try:
                doc = parse_text(snapshot.read_bytes(rel), rel)
                parts.append(parse_report(doc, report=name, model=model))
            except (SourceError, SnapshotError) as exc:
                issues.append(frames.issue(SOURCE, name, "error", f"skipped: {exc}"))
        return combine(parts, str(snapshot.path), issues)
