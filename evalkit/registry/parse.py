"""Raw Model Registry answers → :class:`RegistryResult` (pure: no network, no files).

A read is a :class:`Fetched`: the raw JSON bodies of the calls made (registered-model lists or
finds, version lists, artifact lists), each with what it answered for, plus what the transport
learnt (which API generation answered, deprecation headers, names that were not found).
:func:`parse_fetched` turns it into frames; a live read and a snapshot feed it the same bytes.

>>> import json
>>> body = json.dumps({"items": [{"id": "2", "name": "1.0", "registeredModelId": "1",
...     "state": "LIVE", "createTimeSinceEpoch": "1700000000000",
...     "lastUpdateTimeSinceEpoch": "1700000000000", "customProperties": {
...     "gpu_requirement": {"metadataType": "MetadataIntValue", "int_value": "4"}}}],
...     "nextPageToken": "", "pageSize": 100, "size": 1}).encode()
>>> rm = json.dumps({"id": "1", "name": "granite", "state": "LIVE"}).encode()
>>> res = parse_fetched(Fetched(url="http://mr:8080", api="v1", answers=[
...     Answer("model", rm, name="granite"), Answer("versions", body, parent="1")]))
>>> res.properties[["registered_model", "version", "property", "value", "type"]].values.tolist()
[['granite', '1.0', 'gpu_requirement', 4, 'int']]
>>> wide(res).loc[0, "gpu_requirement"]
4
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..core import frames
from ..core.result import Result
from . import values

SOURCE = "registry"
API_ROOT = "/api/model_registry"
#: the kinds of raw answer a read stores (and the snapshot folders they go to)
KINDS = ("models", "model", "versions", "artifacts")

MODEL_COLUMNS = ["registered_model_id", "registered_model", "state", "owner", "description",
                 "created_at", "updated_at"]
VERSION_COLUMNS = ["registered_model", "registered_model_id", "version", "version_id", "state",
                   "author", "description", "created_at", "updated_at", "last_update_ms"]
#: the long frame: one row per version and property
PROPERTY_COLUMNS = ["registered_model", "registered_model_id", "version", "version_id", "state",
                    "property", "value", "type", "created_at", "updated_at", "raw"]
ARTIFACT_COLUMNS = ["registered_model", "version", "version_id", "artifact_id", "artifact",
                    "artifact_type", "uri", "model_format_name", "model_format_version", "state",
                    "created_at", "updated_at"]
_TIMES = ("created_at", "updated_at")


@dataclass(frozen=True)
class Answer:
    """One raw answer: ``kind`` (``models`` list page, ``model`` find, ``versions`` list page
    of registered model ``parent``, ``artifacts`` list page of version ``parent``), the body
    bytes as received, and for a find the ``name`` asked for."""

    kind: str
    body: bytes
    parent: str | None = None
    page: int = 1
    name: str | None = None


@dataclass
class Fetched:
    """Everything a read brought back, raw (see the module docstring)."""

    url: str
    api: str
    answers: list[Answer] = field(default_factory=list)
    base_path: str = ""
    discovery: list[dict[str, Any]] = field(default_factory=list)
    deprecation: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    filter_query: str | None = None


@dataclass(repr=False)
class RegistryResult(Result):
    """What a Model Registry read holds.

    Attributes
    ----------
    properties : the long frame, one row per model version and custom property: columns
        :data:`PROPERTY_COLUMNS` (``value`` decoded — ints from their string form, structs from
        base64 or raw JSON —, ``type`` one of ``double|int|string|bool|struct|proto``, ``raw``
        the typed JSON value as received, compact and key-sorted).
    versions : one row per model version (:data:`VERSION_COLUMNS`), those without properties
        included.
    artifacts : the versions' artifacts (:data:`ARTIFACT_COLUMNS`): URI and format.
    models : the registered models read (:data:`MODEL_COLUMNS`).
    url, api, base_path : the registry and the API generation that answered.
    mapping : served model name → ``(registered model, version or None)`` recorded by a pull
        (see :func:`evalkit.registry.map_models`).
    """

    properties: pd.DataFrame
    versions: pd.DataFrame
    artifacts: pd.DataFrame
    models: pd.DataFrame
    url: str = ""
    api: str = ""
    base_path: str = ""
    mapping: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    _frames = ("properties", "versions", "artifacts")

    def describe(self) -> str:
        return f"{self.url} ({self.api or '?'})"

    @property
    def frame(self) -> pd.DataFrame:
        """The long ``properties`` frame."""
        return self.properties


def _ms_time(raw: Any) -> pd.Timestamp:
    try:
        return pd.Timestamp(int(str(raw)), unit="ms", tz="UTC")
    except (TypeError, ValueError, OverflowError):
        return pd.NaT


def _doc(answer: Answer, issues: list[dict[str, str]]) -> Any:
    try:
        return json.loads(answer.body)
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        issues.append(frames.issue(SOURCE, f"{answer.kind}:{answer.parent or answer.name or ''}",
                                   "error", f"answer is not JSON ({str(exc)[:120]}); skipped"))
        return None


def _items(answer: Answer, issues: list[dict[str, str]]) -> list[dict[str, Any]]:
    doc = _doc(answer, issues)
    if doc is None:
        return []
    if answer.kind == "model":
        return [doc] if isinstance(doc, dict) else []
    items = doc.get("items") if isinstance(doc, dict) else None
    if items is None:
        return []
    if not isinstance(items, list):
        issues.append(frames.issue(SOURCE, f"{answer.kind}:{answer.parent}", "error",
                                   "`items` is not a list; page skipped"))
        return []
    return [i for i in items if isinstance(i, dict)]


def _sort_id(value: Any) -> tuple[int, str]:
    text = str(value)
    return (int(text), "") if text.isdigit() else (2**63, text)


def parse_fetched(fetched: Fetched, *, mapping: Mapping[str, Any] | None = None
                  ) -> RegistryResult:
    """Frames from raw answers (see the module docstring); deterministic row order (registered
    model id, version id, property name)."""
    issues: list[dict[str, str]] = []
    models: dict[str, dict[str, Any]] = {}
    versions: dict[str, dict[str, Any]] = {}
    artifacts: dict[str, list[dict[str, Any]]] = {}
    for answer in fetched.answers:
        for item in _items(answer, issues):
            if answer.kind in ("models", "model"):
                models[str(item.get("id"))] = item
            elif answer.kind == "versions":
                vid = str(item.get("id"))
                if answer.parent is not None and str(item.get("registeredModelId",
                                                              answer.parent)) != answer.parent:
                    issues.append(frames.issue(SOURCE, f"version {vid}", "warning",
                                               f"listed under registered model {answer.parent} "
                                               f"but names {item.get('registeredModelId')}"))
                versions[vid] = item
            elif answer.kind == "artifacts":
                artifacts.setdefault(str(answer.parent), []).append(item)
    for name in fetched.missing:
        issues.append(frames.issue(SOURCE, name, "error",
                                   f"no registered model named {name!r} in {fetched.url}"))
    if fetched.deprecation:
        issues.append(deprecation_issue(fetched.base_path, fetched.deprecation))
    model_rows = [_model_row(m) for _, m in sorted(models.items(), key=lambda kv: _sort_id(kv[0]))]
    names = {str(m.get("id")): str(m.get("name")) for m in models.values()}
    version_rows, prop_rows, art_rows = [], [], []
    for vid, v in sorted(versions.items(), key=lambda kv: _sort_id(kv[0])):
        rm_id = str(v.get("registeredModelId", ""))
        row = _version_row(v, names.get(rm_id), issues)
        version_rows.append(row)
        custom = v.get("customProperties") or {}
        if not isinstance(custom, dict):
            issues.append(frames.issue(SOURCE, _label(row), "error",
                                       "customProperties is not an object; ignored"))
            custom = {}
        for key in sorted(custom):
            prop_rows.append(_property_row(row, key, custom[key], issues))
        for art in sorted(artifacts.get(vid, []), key=lambda a: _sort_id(a.get("id"))):
            art_rows.append(_artifact_row(row, art))
    return RegistryResult(
        properties=_frame(prop_rows, PROPERTY_COLUMNS),
        versions=_frame(version_rows, VERSION_COLUMNS),
        artifacts=_frame(art_rows, ARTIFACT_COLUMNS),
        models=_frame(model_rows, MODEL_COLUMNS),
        url=fetched.url, api=fetched.api, base_path=fetched.base_path,
        mapping={str(k): _pair(v) for k, v in (mapping or {}).items()},
        issues=frames.issues_frame(issues))


def _pair(value: Any) -> tuple[str, str | None]:
    if isinstance(value, list | tuple) and len(value) == 2:
        return str(value[0]), None if value[1] is None else str(value[1])
    return str(value), None


def deprecation_issue(base_path: str, headers: Mapping[str, str]) -> dict[str, str]:
    """The data issue for a ``Deprecation``/``Sunset`` answer header."""
    parts = [f"{k}: {v}" for k, v in sorted(headers.items())]
    return frames.issue(SOURCE, base_path or "api", "warning",
                        f"the registry deprecates {base_path or 'this API'} ({'; '.join(parts)});"
                        " leave base_path unset so evalkit uses the newest API the server "
                        "serves, and plan the upgrade of clients pinned to it")


def _label(row: Mapping[str, Any]) -> str:
    return f"{row.get('registered_model')}:{row.get('version')}"


def _model_row(m: Mapping[str, Any]) -> dict[str, Any]:
    return {"registered_model_id": str(m.get("id")), "registered_model": m.get("name"),
            "state": m.get("state"), "owner": m.get("owner"),
            "description": m.get("description"),
            "created_at": _ms_time(m.get("createTimeSinceEpoch")),
            "updated_at": _ms_time(m.get("lastUpdateTimeSinceEpoch"))}


def _version_row(v: Mapping[str, Any], model: str | None,
                 issues: list[dict[str, str]]) -> dict[str, Any]:
    row = {"registered_model": model, "registered_model_id": str(v.get("registeredModelId", "")),
           "version": v.get("name"), "version_id": str(v.get("id")), "state": v.get("state"),
           "author": v.get("author"), "description": v.get("description"),
           "created_at": _ms_time(v.get("createTimeSinceEpoch")),
           "updated_at": _ms_time(v.get("lastUpdateTimeSinceEpoch")),
           "last_update_ms": v.get("lastUpdateTimeSinceEpoch")}
    if model is None:
        issues.append(frames.issue(SOURCE, f"version {row['version_id']}", "warning",
                                   f"its registered model {row['registered_model_id']} was not "
                                   "read; registered_model is empty"))
    for col in _TIMES:
        if pd.isna(row[col]):
            issues.append(frames.issue(SOURCE, _label(row), "warning",
                                       f"unusable {col} timestamp"))
    return row


def _property_row(version: Mapping[str, Any], key: str, typed: Any,
                  issues: list[dict[str, str]]) -> dict[str, Any]:
    row = {c: version[c] for c in ("registered_model", "registered_model_id", "version",
                                   "version_id", "state", "created_at", "updated_at")}
    row["property"] = key
    row["raw"] = values.canonical(typed)
    try:
        row["type"], row["value"], _ = values.decode(typed)
    except ValueError as exc:
        row["type"], row["value"] = None, None
        issues.append(frames.issue(SOURCE, f"{_label(version)} {key}", "warning",
                                   f"property value not decoded: {exc}; kept raw"))
    return row


def _artifact_row(version: Mapping[str, Any], a: Mapping[str, Any]) -> dict[str, Any]:
    return {"registered_model": version["registered_model"], "version": version["version"],
            "version_id": version["version_id"], "artifact_id": str(a.get("id")),
            "artifact": a.get("name"), "artifact_type": a.get("artifactType"),
            "uri": a.get("uri"), "model_format_name": a.get("modelFormatName"),
            "model_format_version": a.get("modelFormatVersion"), "state": a.get("state"),
            "created_at": _ms_time(a.get("createTimeSinceEpoch")),
            "updated_at": _ms_time(a.get("lastUpdateTimeSinceEpoch"))}


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    data: dict[str, pd.Series] = {}
    for col in columns:
        vals = [r.get(col) for r in rows]
        if col in _TIMES:
            data[col] = pd.Series(pd.to_datetime(vals, utc=True), dtype=frames.UTC_TS)
        else:
            data[col] = pd.Series(vals, dtype="object")
    return pd.DataFrame(data, columns=columns)


#: the per-version columns :func:`wide` keeps in front of the property columns
WIDE_INDEX = ["registered_model", "registered_model_id", "version", "version_id", "state",
              "created_at", "updated_at"]


def wide(data: RegistryResult | pd.DataFrame) -> pd.DataFrame:
    """One row per model version, one column per property (decoded values; a version without
    properties is kept when given the :class:`RegistryResult`). A property named like one of
    the version columns (:data:`WIDE_INDEX`, e.g. ``state``) becomes ``custom:<name>``.

    >>> wide(pd.DataFrame(columns=PROPERTY_COLUMNS)).columns.tolist()[:3]
    ['registered_model', 'registered_model_id', 'version']
    """
    long = data.properties if isinstance(data, RegistryResult) else data
    missing = [c for c in (*WIDE_INDEX, "property", "value") if c not in long.columns]
    if missing:
        from ..core.errors import SchemaError

        raise SchemaError(f"registry frame lacks column(s) {missing}; pass read_versions(...)"
                          " or its .properties frame")
    base = (data.versions[WIDE_INDEX] if isinstance(data, RegistryResult)
            else long[WIDE_INDEX].drop_duplicates("version_id"))
    base = base.reset_index(drop=True)
    props = sorted(str(p) for p in long["property"].dropna().unique())
    cells: dict[str, dict[str, Any]] = {}
    for vid, key, value in zip(long["version_id"], long["property"], long["value"],
                               strict=True):
        cells.setdefault(str(key), {})[str(vid)] = value
    out = base.copy()
    for key in props:
        col = cells.get(key, {})
        name = f"custom:{key}" if key in WIDE_INDEX else key  # never hide a version field
        out[name] = pd.Series([col.get(str(v)) for v in base["version_id"]], dtype="object",
                             index=base.index)
    return out
