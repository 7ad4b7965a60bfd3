"""The Model Registry as a :class:`~evalkit.source.Source`: pull its raw answers into a
snapshot, load them back through the parser a live read uses.

Snapshot files (the raw JSON bodies, byte for byte, laid out like the REST paths)::

    registry/registered_models/page-0001.json                     list of registered models
    registry/registered_model/0001.json                           a find by name (name in the manifest)
    registry/registered_models/<id>/versions/page-0001.json       versions of one model
    registry/model_versions/<id>/artifacts/page-0001.json         artifacts of one version

The manifest entry ``sources.registry`` lists every answer (path, kind, parent id, page, name)
in the order read, with the URL, the API generation that answered, the discovery probes,
deprecation headers, names not found, the filter and the served-model mapping.

>>> RegistrySource("http://127.0.0.1:8080", mapping={"m": "m-registered:1.0"}).describe()
'Model Registry at http://127.0.0.1:8080, models: m-registered'
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..core import frames
from ..core.errors import EvalkitError, SnapshotError
from ..core.http import safe_url
from ..core.settings import check_url
from ..core.snapshot import Snapshot, SnapshotWriter
from ..core.timeutil import utc_now
from ..source import Check, Source
from .client import RegistryClient, check_filter, instance_settings
from .mapping import check_mapping
from .parse import SOURCE, Answer, Fetched, RegistryResult, parse_fetched
from .read import fetch

FOLDER = "registry"
_SAFE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def answer_path(answer: Answer, index: int) -> str:
    """Where one raw answer goes in the snapshot.

    >>> answer_path(Answer("versions", b"{}", parent="7", page=2), 0)
    'registry/registered_models/7/versions/page-0002.json'
    """
    parent = answer.parent if answer.parent and _SAFE.fullmatch(answer.parent) else "x"
    page = f"page-{answer.page:04d}.json"
    if answer.kind == "models":
        return f"{FOLDER}/registered_models/{page}"
    if answer.kind == "model":
        return f"{FOLDER}/registered_model/{index:04d}.json"
    if answer.kind == "versions":
        return f"{FOLDER}/registered_models/{parent}/versions/{page}"
    if answer.kind == "artifacts":
        return f"{FOLDER}/model_versions/{parent}/artifacts/{page}"
    raise ValueError(f"unknown answer kind {answer.kind!r}")


def save_answers(writer: SnapshotWriter, fetched: Fetched, *,
                 mapping: Mapping[str, Any] | None = None, extra: Mapping[str, Any] | None = None
                 ) -> dict[str, Any]:
    """Write ``fetched``'s raw answers and the manifest entry; used by :meth:`RegistrySource.pull`
    and by the demo generator, so both produce what :meth:`RegistrySource.load` reads."""
    listed = []
    finds = 0
    for answer in fetched.answers:
        finds += answer.kind == "model"
        rel = answer_path(answer, finds)
        if any(e["path"] == rel for e in listed):  # unsafe parent ids that collapsed
            rel = rel.replace(".json", f"-{len(listed):05d}.json")
        writer.write_bytes(rel, answer.body)
        listed.append({"path": rel, "kind": answer.kind, "parent": answer.parent,
                       "page": answer.page, "name": answer.name})
    entry = {"kind": "rest", "url": safe_url(fetched.url), "api": fetched.api,
             "base_path": fetched.base_path, "discovery": fetched.discovery,
             "deprecation": fetched.deprecation, "missing": fetched.missing,
             "filter_query": fetched.filter_query,
             "mapping": {k: list(v) for k, v in (mapping or {}).items()},
             "answers": listed, **dict(extra or {})}
    writer.add_source(SOURCE, entry)
    return entry


class RegistrySource(Source):
    """Model versions of the registry at ``url`` (a URL or a ``ModelRegistry`` instance).

    ``models``: registered model names to read (default: the registered models named in
    ``mapping``, else every registered model). ``mapping``: served model name →
    ``"REGISTERED[:VERSION]"`` or ``(registered, version)``, recorded in the manifest and used
    by :func:`~evalkit.registry.map_models` on the loaded result. ``http_kw`` go to
    :class:`evalkit.core.http.Client` (``timeout``, ``retry``...). Every argument is checked
    here, before any network call.
    """

    key = SOURCE

    def __init__(self, url: Any = None, *, models: Iterable[str] | None = None,
                 mapping: Mapping[str, Any] | None = None, filter_query: str | None = None,
                 token: Any = None, token_file: str | os.PathLike[str] | None = None,
                 ca_bundle: str | os.PathLike[str] | None = None, insecure: bool = False,
                 base_path: str | None = None, service_account: bool = False,
                 **http_kw: Any) -> None:
        self.target = url
        if url is None or isinstance(url, str):
            url = url or os.environ.get("EVALKIT_REGISTRY_URL") or None
            self.url = check_url(url, "model registry") if url else None
        else:
            found = instance_settings(url)
            self.url = found["url"] if found else None
        if self.url is None:
            from ..core.errors import ConfigError

            raise ConfigError("no model registry URL: pass --registry URL (or a ModelRegistry "
                              "instance), or set EVALKIT_REGISTRY_URL")
        self.mapping = dict(check_mapping(mapping) or {})  # type: ignore[arg-type]
        self.filter_query = check_filter(filter_query)
        named = [m for m, _ in self.mapping.values()]
        self.models = list(models) if models is not None else (
            list(dict.fromkeys(named)) or None)
        self.kw = {"token": token, "token_file": token_file, "ca_bundle": ca_bundle,
                   "insecure": insecure, "base_path": base_path,
                   "service_account": service_account, **http_kw}

    def describe(self) -> str:
        which = ", ".join(self.models) if self.models else "every model"
        return f"Model Registry at {safe_url(self.url or '')}, models: {which}"

    def client(self) -> RegistryClient:
        return RegistryClient(self.target if self.target is not None else self.url, **self.kw)

    def pull(self, writer: SnapshotWriter) -> dict[str, Any]:
        started = utc_now()
        with self.client() as client:
            fetched = fetch(client, models=self.models, filter_query=self.filter_query)
            desc = client.describe()
            n = client.requests
        return save_answers(writer, fetched, mapping=self.mapping, extra={
            "models": self.models, "client": desc, "insecure": desc.get("insecure", False),
            "requests": n, "started_at": started, "finished_at": utc_now()})

    @classmethod
    def load(cls, snapshot: Snapshot) -> RegistryResult | None:
        info = snapshot.sources.get(SOURCE)
        if not isinstance(info, dict):
            return None
        issues = []
        answers = []
        for entry in info.get("answers") or []:
            try:
                body = snapshot.read_bytes(str(entry["path"]))
            except (SnapshotError, KeyError, TypeError) as exc:
                issues.append(frames.issue(SOURCE, str(entry), "error", f"skipped: {exc}"))
                continue
            answers.append(Answer(str(entry.get("kind")), body, parent=entry.get("parent"),
                                  page=int(entry.get("page") or 1), name=entry.get("name")))
        listed = {str(e.get("path")) for e in info.get("answers") or [] if isinstance(e, dict)}
        for rel in snapshot.unlisted(FOLDER):
            if rel not in listed:
                issues.append(frames.issue(SOURCE, rel, "warning",
                                           "a registry file the manifest does not name; ignored"))
        fetched = Fetched(url=str(info.get("url", "")), api=str(info.get("api", "")),
                          answers=answers, base_path=str(info.get("base_path", "")),
                          discovery=list(info.get("discovery") or []),
                          deprecation=dict(info.get("deprecation") or {}),
                          missing=list(info.get("missing") or []),
                          filter_query=info.get("filter_query"))
        res = parse_fetched(fetched, mapping=info.get("mapping") or {})
        if issues:
            res.issues = frames.issues_frame(res.issues, issues)
        return res

    def check(self) -> list[Check]:
        what = f"reach {safe_url(self.url or '')}"
        try:
            with self.client() as client:
                api = client.discover()
        except EvalkitError as exc:
            return [Check(self.key, what, False, str(exc))]
        return [Check(self.key, what, True, f"{api} answered at {client.base_path}")]
