"""A loopback Kubeflow Model Registry REST test server (RegisteredModels, ModelVersions and
their artifacts), answering in the shapes of ``tests/data/model-registry-openapi.yaml``.

Semantics follow the real Go server (kubeflow/model-registry, now kubeflow/hub:
``internal/server/openapi``, ``internal/core``, ``internal/platform/db``), not only the spec:

- Both API generations: ``/api/model_registry/v1alpha3/...`` and ``/api/model_registry/v1/...``
  (same endpoints and bodies). ``api=("v1alpha3",)`` serves v1alpha3 only (v1 paths answer the
  router's plain-text ``404 page not found``, as older servers do). When both are served and
  ``deprecate_v1alpha3`` is true, v1alpha3 answers carry ``Deprecation: true``,
  ``Sunset: <HTTP date>`` and ``Link: </api/model_registry/v1/>; rel="successor-version"``.
- IDs are digit strings; RegisteredModels and ModelVersions share one id sequence (both are MLMD
  "contexts"), artifacts have their own. Timestamps are epoch-millisecond strings; this server
  keeps them strictly increasing (the real one may tie within a millisecond).
- Lists answer ``{items, nextPageToken, pageSize, size}``. ``pageSize`` is a digit string (absent
  or ``0``: every item, as the real server does; see ``default_page_size``); ``orderBy``
  ``ID|CREATE_TIME|LAST_UPDATE_TIME`` (anything else silently orders by ID), ``sortOrder``
  ``ASC|DESC`` (anything else is ASC). ``nextPageToken`` is the real keyset cursor,
  ``base64("<id>:<sort value>")``; the last page has ``nextPageToken: ""`` (no empty trailing page).
  Version/artifact lists of an unknown parent answer an empty list, not 404 (real behaviour).
- ``filterQuery`` uses the real grammar (participle, ``internal/platform/db/filter/parser.go``):
  ``=, !=, <>, <, <=, >, >=, LIKE, ILIKE, IN``, ``AND``/``OR``, parentheses, ``'...'``/``"..."``
  strings, ints, floats, ``true``/``false``; properties ``name``, ``prop.double_value``,
  ``` `escaped,name` ```. An integer literal on an untyped custom property matches int_value OR
  double_value. NB: ``` `prop`.double_value ``` is a syntax error on the real server (the type
  suffix must go inside the backticks: ``` `prop.double_value` ```); this server answers the same
  400. Unparsable filters answer 400 ``{"code": "Bad Request", "message": "invalid filter query
  syntax: ..."}``.
- ``customProperties`` values are typed (``MetadataIntValue`` with ``int_value`` as a string,
  ``MetadataDoubleValue``, ``MetadataStringValue``, ``MetadataBoolValue``,
  ``MetadataStructValue`` with base64 JSON). An ``int_value`` must fit int32 (the column is
  32-bit): 10-digit values up to 2147483647 are ACCEPTED and echoed although the spec's pattern
  allows 9 digits; larger ones answer 400. ``MetadataProtoValue`` answers 400 ("metadataType not
  found"), as both real storage backends do. Struct values are answered base64-encoded (spec and
  MLMD-backed servers) unless ``struct_readback="json"``: servers on the embedded DB (2025-08 on)
  answer the raw JSON text, which violates the spec's ``format: byte``.
- PATCH merges the fields it sends; ``customProperties`` in a PATCH REPLACES the whole map (``{}``
  wipes it, ``null`` or leaving it out keeps it). No ETag/locking. Unknown fields answer 400
  (``json: unknown field "x"``: the Go decoder disallows unknown fields); a missing required field
  on create answers 422 whose body says ``"Bad Request"`` (real quirk).
- Errors are ``{"code": <HTTP status text>, "message": ...}`` (spec ``Error``); 404 for unknown
  ids and finds that match nothing, 400 for bad input (non-numeric id, bad ``pageSize`` or
  token, find without ``parentResourceId``...), 409 on duplicate names, 401 when ``token`` is set
  and the bearer token is missing or wrong (JSON body, or ``unauthorized_body="text"`` for the
  ``Unauthorized`` text that kube-rbac-proxy answers).

API
---
``ModelRegistryServer(*, api=("v1", "v1alpha3"), deprecate_v1alpha3=True, sunset=DEFAULT_SUNSET,
token=None, unauthorized_body="json", struct_readback="base64", default_page_size=0)``
    context manager; ``.url``; ``.api_url(version=None)`` (the newest served prefix by default).
``.add_model(name, versions=None, *, owner=None, description=None, state="LIVE",
custom_properties=None, artifact_uri=None)`` -> :class:`SeededModel`
    store a RegisteredModel and its versions (``{"1.0": {prop: value}}``; plain Python values are
    typed by :func:`to_metadata_value`, typed dicts are stored as they are, so a test can seed what
    the REST API would refuse, e.g. a proto value). Each version gets a model artifact named after
    the model (as ``ModelRegistry.register_model`` does) with ``artifact_uri``, default
    ``oci://registry.example/<model>:<version>``.
``.add_version(model_id, name, custom_properties=None, **fields)`` / ``.add_artifact(version_id,
name, uri, *, artifact_type="model-artifact", custom_properties=None, **fields)`` -> id
``.get(kind, id)``
    what ``GET`` would answer (``kind``: ``registered_model``, ``model_version``, ``artifact``).
``.fail_next(status=500, count=1, *, path_prefix=None, method=None, body=None, headers=None)``
    the next ``count`` matching requests answer ``status`` (default body: an ``Error``).
``.slow(delay, *, count=None, path_prefix=None, method=None)`` / ``.clear_faults()``
    delay matching answers (``count=None``: until cleared).
``.requests`` / ``.requests_matching(method=None, path_contains=None)`` / ``.clear_requests()``
    the :class:`RegistryRequest` log (``method``, ``path``, ``query``, ``body`` parsed, ``headers``,
    ``status``, ``api``, ``fault``), e.g. to assert that no PATCH was sent.

Example::

    with ModelRegistryServer(token="t") as mr:
        seeded = mr.add_model("granite", versions={"1.0": {"quantization": "w4a16",
                                                           "eval_gsm8k": 0.71}})
        requests.get(f"{mr.api_url()}/model_versions/{seeded.versions['1.0']}",
                     headers={"Authorization": "Bearer t"}).json()["customProperties"]
"""

from __future__ import annotations

import base64
import binascii
import copy
import email.utils
import json
import math
import re
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._base import LoopbackServer, QuietHandler

API_ROOT = "/api/model_registry"
API_VERSIONS = ("v1", "v1alpha3")
DEFAULT_SUNSET = email.utils.format_datetime(datetime(2027, 12, 31, 23, 59, 59, tzinfo=UTC),
                                             usegmt=True)
SUCCESSOR_LINK = f'<{API_ROOT}/v1/>; rel="successor-version"'
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

REGISTERED_MODEL = "registered_model"
MODEL_VERSION = "model_version"
ARTIFACT = "artifact"
ARTIFACT_TYPES = ("model-artifact", "doc-artifact", "dataset-artifact", "metric", "parameter")
SUPPORTED_ARTIFACT_TYPES = ("model-artifact", "doc-artifact")
METADATA_TYPES = ("MetadataIntValue", "MetadataDoubleValue", "MetadataStringValue",
                  "MetadataBoolValue", "MetadataStructValue", "MetadataProtoValue")
_VALUE_KEY = {"MetadataIntValue": "int_value", "MetadataDoubleValue": "double_value",
              "MetadataStringValue": "string_value", "MetadataBoolValue": "bool_value",
              "MetadataStructValue": "struct_value", "MetadataProtoValue": "proto_value"}
_STATUS_TEXT = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                405: "Method Not Allowed", 409: "Conflict", 422: "Unprocessable Entity",
                429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
                503: "Service Unavailable", 504: "Gateway Timeout"}


def status_text(status: int) -> str:
    """Go's ``http.StatusText`` for the codes this server uses."""
    return _STATUS_TEXT.get(status, "Unknown")


def error_doc(status: int, message: str) -> dict[str, str]:
    """The real error body: ``{"code": <status text>, "message": ...}`` (spec ``Error``)."""
    return {"code": status_text(status), "message": message}


class ApiError(Exception):
    """An error answer: ``status`` and the ``Error`` body built from ``message``."""

    def __init__(self, status: int, message: str, *, code_status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code_status = code_status or status  # 422 answers carry "Bad Request" (real quirk)

    def doc(self) -> dict[str, str]:
        return error_doc(self.code_status, self.message)


def _bad(message: str) -> ApiError:
    return ApiError(400, f"{message}: bad request")


def _not_found(message: str) -> ApiError:
    return ApiError(404, f"{message}: not found")


# ---------------------------------------------------------------------------- typed values


def to_metadata_value(value: Any) -> dict[str, Any]:
    """Type a plain Python value the way the REST API stores it.

    ``bool`` -> MetadataBoolValue, ``int`` -> MetadataIntValue (a string, int32 range),
    ``float`` -> MetadataDoubleValue (finite), ``str`` -> MetadataStringValue, ``dict`` ->
    MetadataStructValue (base64 JSON). A dict that already has a ``metadataType`` is returned
    as it is (typed seeding).

    >>> to_metadata_value(14042)
    {'metadataType': 'MetadataIntValue', 'int_value': '14042'}
    >>> to_metadata_value({"a": 1})["struct_value"]
    'eyJhIjogMX0='
    """
    if isinstance(value, Mapping) and "metadataType" in value:
        return dict(value)
    if isinstance(value, bool):
        return {"metadataType": "MetadataBoolValue", "bool_value": value}
    if isinstance(value, int):
        if not INT32_MIN <= value <= INT32_MAX:
            raise ValueError(f"int {value} does not fit the registry's int32 column")
        return {"metadataType": "MetadataIntValue", "int_value": str(value)}
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} cannot be sent as JSON")
        return {"metadataType": "MetadataDoubleValue", "double_value": value}
    if isinstance(value, str):
        return {"metadataType": "MetadataStringValue", "string_value": value}
    if isinstance(value, Mapping):
        raw = json.dumps(dict(value)).encode()
        return {"metadataType": "MetadataStructValue",
                "struct_value": base64.b64encode(raw).decode()}
    raise TypeError(f"no MetadataValue type for {type(value).__name__}")


def from_metadata_value(value: Mapping[str, Any]) -> Any:
    """The plain Python value of a typed value (struct: the decoded JSON object when the
    value is base64 JSON, else the raw text; proto: the base64 text).

    >>> from_metadata_value({"metadataType": "MetadataIntValue", "int_value": "7"})
    7
    """
    kind = value.get("metadataType")
    if kind == "MetadataIntValue":
        return int(value["int_value"])
    if kind == "MetadataStructValue":
        text = value["struct_value"]
        try:
            return json.loads(base64.b64decode(text, validate=True))
        except (ValueError, binascii.Error):
            return json.loads(text)
    if kind in _VALUE_KEY:
        return value[_VALUE_KEY[kind]]
    raise ValueError(f"unknown metadataType {kind!r}")


def _store_value(key: str, value: Any) -> dict[str, Any]:
    """Validate one request value and return it in storage form (struct: ``json`` = object)."""
    if not isinstance(value, dict):
        raise _bad("failed to unmarshal JSON into map for the discriminator lookup")
    kind = value.get("metadataType")
    if kind not in METADATA_TYPES:
        raise _bad(f"metadataType not found for {key}: {json.dumps(value)}")
    vkey = _VALUE_KEY[kind]
    allowed = {"metadataType", vkey} | ({"type"} if kind == "MetadataProtoValue" else set())
    for extra in sorted(set(value) - allowed):
        raise _bad(f"failed to unmarshal MetadataValue as {kind}: json: unknown field \"{extra}\"")
    if vkey not in value:
        raise _bad(f"failed to unmarshal MetadataValue as {kind}: no value given for required "
                   f"property {vkey}")
    raw = value[vkey]
    if kind == "MetadataDoubleValue":
        type_ok, gotype = isinstance(raw, int | float) and not isinstance(raw, bool), "float64"
    elif kind == "MetadataBoolValue":
        type_ok, gotype = isinstance(raw, bool), "bool"
    else:
        type_ok, gotype = isinstance(raw, str), "string"
    if not type_ok:
        raise _bad(f"failed to unmarshal MetadataValue as {kind}: json: cannot unmarshal "
                   f"{_json_type(raw)} into Go struct field {kind}.{vkey} of type {gotype}")
    if kind == "MetadataProtoValue":  # neither the MLMD nor the embedded-DB backend stores these
        raise _bad(f"bad request: metadataType not found for {key}: {json.dumps(value)}")
    if kind == "MetadataIntValue":
        if not re.fullmatch(r"[-+]?\d+", raw) or not INT32_MIN <= int(raw) <= INT32_MAX:
            reason = "value out of range" if re.fullmatch(r"[-+]?\d+", raw) else "invalid syntax"
            raise _bad(f"bad request: unable to decode as int64 invalid numeric string: "
                       f"strconv.ParseInt: parsing \"{raw}\": {reason} for key {key}")
        return {"metadataType": kind, vkey: str(int(raw))}
    if kind == "MetadataDoubleValue":
        return {"metadataType": kind, vkey: float(raw)}
    if kind == "MetadataStructValue":
        try:
            obj = json.loads(base64.b64decode(raw, validate=True))
        except (ValueError, binascii.Error) as exc:
            raise _bad(f"bad request: unable to decode {exc} for key {key}") from None
        if not isinstance(obj, dict):
            raise _bad(f"bad request: unable to decode json: cannot unmarshal {_json_type(obj)} "
                       f"into Go value of type map[string]interface {{}} for key {key}")
        return {"metadataType": kind, "json": obj}
    return {"metadataType": kind, vkey: raw}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    return "object"


# ---------------------------------------------------------------------------- filterQuery

_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>--[^\r\n]*)
  | (?P<ident>[a-zA-Z_][a-zA-Z0-9_]*)
  | (?P<float>[-+]?\d*\.\d+(?:[eE][-+]?\d+)?|[-+]?\d+[eE][-+]?\d+)
  | (?P<int>[-+]?\d+)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<escaped>`(?:[^`\\]|\\.)*`)
  | (?P<op>>=|<=|!=|<>|=|>|<)
  | (?P<punct>[().,])
""", re.VERBOSE)
_OPERATORS = ("=", "!=", "<>", ">=", "<=", ">", "<", "LIKE", "ILIKE", "IN")
_OPERATORS_EXPECTED = " | ".join(f'"{o}"' for o in _OPERATORS)
TYPE_SUFFIXES = ("string_value", "double_value", "int_value", "bool_value")


class FilterSyntaxError(ValueError):
    """An unparsable ``filterQuery``; ``str()`` is the real server's message."""


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    col: int


@dataclass(frozen=True)
class Comparison:
    """A leaf of a parsed filter: ``prop op value`` (``prop`` may end in a type suffix)."""

    prop: str
    op: str
    value: Any


@dataclass(frozen=True)
class BoolOp:
    """``left AND right`` / ``left OR right``."""

    op: str
    left: Comparison | BoolOp
    right: Comparison | BoolOp


def _lex(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise FilterSyntaxError(f"1:{pos + 1}: invalid input text {text[pos:pos + 10]!r}")
        kind = m.lastgroup or ""
        if kind not in ("ws", "comment"):
            toks.append(_Tok(kind, m.group(), pos + 1))
        pos = m.end()
    toks.append(_Tok("eof", "<EOF>", len(text) + 1))
    return toks


def _unquote(text: str) -> str:
    out = text.strip("\"'")
    return out.replace('\\"', '"').replace("\\'", "'").replace("\\\\", "\\")


class _Parser:
    """Recursive descent over the real grammar (``WhereClause := OrExpr``...)."""

    def __init__(self, text: str) -> None:
        self.toks = _lex(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def keyword(self, *words: str) -> bool:
        tok = self.peek()
        return tok.kind == "ident" and tok.text.upper() in words

    def fail(self, expected: str | None = None) -> FilterSyntaxError:
        tok = self.peek()
        msg = f'1:{tok.col}: unexpected token "{tok.text}"'
        return FilterSyntaxError(msg + (f" (expected {expected})" if expected else ""))

    def parse(self) -> Comparison | BoolOp:
        expr = self.or_expr()
        if self.peek().kind != "eof":
            raise self.fail()
        return expr

    def or_expr(self) -> Comparison | BoolOp:
        left = self.and_expr()
        while self.keyword("OR"):
            self.i += 1
            if self.peek().kind == "eof":
                raise self.fail("AndExpression")
            left = BoolOp("OR", left, self.and_expr())
        return left

    def and_expr(self) -> Comparison | BoolOp:
        left = self.term()
        while self.keyword("AND"):
            self.i += 1
            if self.peek().kind == "eof":
                raise self.fail("Term")
            left = BoolOp("AND", left, self.term())
        return left

    def term(self) -> Comparison | BoolOp:
        tok = self.peek()
        if tok.kind == "punct" and tok.text == "(":
            self.i += 1
            inner = self.or_expr()
            if not (self.peek().kind == "punct" and self.peek().text == ")"):
                raise self.fail('")"')
            self.i += 1
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        tok = self.peek()
        if tok.kind == "escaped":
            self.i += 1
            name = tok.text[1:-1].replace("\\.", ".").replace("\\\\", "\\")
        elif tok.kind == "ident":
            self.i += 1
            name = tok.text
            while self.peek().kind == "punct" and self.peek().text == ".":
                self.i += 1
                if self.peek().kind != "ident":
                    raise self.fail("<ident>")
                name += "." + self.peek().text
                self.i += 1
        else:
            raise self.fail("Term")
        op_tok = self.peek()
        if op_tok.kind == "op":
            op = op_tok.text
        elif op_tok.kind == "ident" and op_tok.text.upper() in ("LIKE", "ILIKE", "IN"):
            op = op_tok.text.upper()
        else:
            raise self.fail(f"({_OPERATORS_EXPECTED}) Value")
        self.i += 1
        return Comparison(name, op, self.value())

    def single(self) -> Any:
        tok = self.peek()
        if tok.kind == "string":
            value: Any = _unquote(tok.text)
        elif tok.kind == "int":
            value = int(tok.text)
        elif tok.kind == "float":
            value = float(tok.text)
        elif tok.kind == "ident" and tok.text.lower() in ("true", "false"):
            value = tok.text.lower() == "true"
        else:
            raise self.fail("Value")
        self.i += 1
        return value

    def value(self) -> Any:
        tok = self.peek()
        if tok.kind == "punct" and tok.text == "(":
            self.i += 1
            values: list[Any] = []
            if not (self.peek().kind == "punct" and self.peek().text == ")"):
                values.append(self.single())
                while self.peek().kind == "punct" and self.peek().text == ",":
                    self.i += 1
                    values.append(self.single())
            if not (self.peek().kind == "punct" and self.peek().text == ")"):
                raise self.fail('")"')
            self.i += 1
            return values
        return self.single()


def parse_filter(text: str) -> Comparison | BoolOp | None:
    """Parse a ``filterQuery`` (``None`` for a blank one); :class:`FilterSyntaxError` when the
    real server would answer 400.

    >>> expr = parse_filter("name = 'x' AND `eval_arc,none` > 0.7")
    >>> expr.op, expr.right
    ('AND', Comparison(prop='eval_arc,none', op='>', value=0.7))
    """
    if not text.strip():
        return None
    try:
        return _Parser(text).parse()
    except FilterSyntaxError as exc:
        msg = str(exc)
        if "expected Value" in msg:
            raise FilterSyntaxError(
                f"invalid filter query syntax: error parsing filter query: {msg}. Hint: String "
                "values must be quoted (e.g., name=\"value\"). Numbers and booleans don't need "
                "quotes (e.g., id>5, active=true)") from None
        if "unexpected token" in msg:
            raise FilterSyntaxError(
                f"invalid filter query syntax: error parsing filter query: {msg}. Check that "
                "operators and values are correctly formatted") from None
        raise FilterSyntaxError(f"invalid filter query syntax: error parsing filter query: {msg}"
                                ) from None


def _like(pattern: str, text: str, *, ignore_case: bool) -> bool:
    rx = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, text, re.DOTALL | (re.IGNORECASE if ignore_case else 0)) is not None


def _compare(left: Any, op: str, right: Any) -> bool:
    """SQL-ish comparison; a type mismatch (or a missing value) never matches."""
    if left is None:
        return False
    if op == "IN":
        values = right if isinstance(right, list) else [right]
        return any(_compare(left, "=", v) for v in values)
    if isinstance(right, list):
        return False
    numeric = (int, float)
    if isinstance(left, bool) or isinstance(right, bool):
        if not (isinstance(left, bool) and isinstance(right, bool)):
            return False
    elif isinstance(left, numeric) != isinstance(right, numeric):
        return False
    if op in ("LIKE", "ILIKE"):
        return (isinstance(left, str) and isinstance(right, str)
                and _like(right, left, ignore_case=op == "ILIKE"))
    try:
        return {"=": left == right, "!=": left != right, "<>": left != right,
                "<": left < right, "<=": left <= right, ">": left > right,
                ">=": left >= right}[op]
    except TypeError:
        return False


# ---------------------------------------------------------------------------- store


@dataclass
class _Entity:
    kind: str
    id: int
    name: str
    parent: int | None
    fields: dict[str, Any]
    custom: dict[str, dict[str, Any]]
    create_ms: int
    update_ms: int
    artifact_type: str | None = None


@dataclass(frozen=True)
class SeededModel:
    """Ids of what :meth:`ModelRegistryServer.add_model` stored (digit strings)."""

    id: str
    versions: dict[str, str]
    artifacts: dict[str, str]


@dataclass(frozen=True)
class RegistryRequest:
    """One request the server answered."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    status: int
    api: str | None
    fault: str | None


@dataclass
class _Fault:
    kind: str  # "fail" | "slow"
    remaining: int | None
    path_prefix: str | None
    method: str | None
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def matches(self, method: str, path: str, resource: str) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        p = self.path_prefix
        return p is None or path.startswith(p) or resource.startswith(p.lstrip("/"))


_STATE_ENUMS = {REGISTERED_MODEL: ("RegisteredModelState", ("LIVE", "ARCHIVED")),
                MODEL_VERSION: ("ModelVersionState", ("LIVE", "ARCHIVED")),
                ARTIFACT: ("ArtifactState", ("UNKNOWN", "PENDING", "LIVE", "MARKED_FOR_DELETION",
                                             "DELETED", "ABANDONED", "REFERENCE"))}
_RM_FIELDS = ("description", "externalId", "readme", "maturity", "language", "tasks", "provider",
              "logo", "license", "licenseLink", "libraryName", "owner", "state")
_MV_FIELDS = ("description", "externalId", "state", "author")
_MA_FIELDS = ("description", "externalId", "modelFormatName", "storageKey", "storagePath",
              "modelFormatVersion", "serviceAccountName", "modelSourceKind", "modelSourceClass",
              "modelSourceGroup", "modelSourceId", "modelSourceName", "uri", "state")
_DOC_FIELDS = ("description", "externalId", "uri", "state")
_LIST_FIELDS = ("language", "tasks")
_OUTPUT_ONLY = ("id", "createTimeSinceEpoch", "lastUpdateTimeSinceEpoch")
# filterQuery's standard properties per REST entity (internal/db/filter/rest_entity_mapping.go);
# any other name is a custom property, so e.g. ``description = 'x'`` never matches (real)
_COMMON = ("id", "name", "externalId", "createTimeSinceEpoch", "lastUpdateTimeSinceEpoch")
_FILTER_STANDARD = {
    REGISTERED_MODEL: _COMMON + ("state", "owner"),
    MODEL_VERSION: _COMMON + ("registeredModelId", "state", "author"),
    "model-artifact": _COMMON + ("uri", "state") + _MA_FIELDS[2:-2],
    "doc-artifact": _COMMON + ("uri", "state"),
}
_INT_PROPERTIES = ("id", "createTimeSinceEpoch", "lastUpdateTimeSinceEpoch", "registeredModelId")


def _fields_for(kind: str, artifact_type: str | None) -> tuple[str, ...]:
    if kind == REGISTERED_MODEL:
        return _RM_FIELDS
    if kind == MODEL_VERSION:
        return _MV_FIELDS
    return _MA_FIELDS if artifact_type == "model-artifact" else _DOC_FIELDS


def _schema_name(kind: str, artifact_type: str | None, op: str) -> str:
    base = {REGISTERED_MODEL: "RegisteredModel", MODEL_VERSION: "ModelVersion"}.get(kind)
    if base is None:
        base = "ModelArtifact" if artifact_type == "model-artifact" else "DocArtifact"
    return base + op


class ModelRegistryServer(LoopbackServer):
    """Loopback Kubeflow Model Registry REST server (see the module docstring)."""

    def __init__(
        self,
        *,
        api: Iterable[str] = API_VERSIONS,
        deprecate_v1alpha3: bool = True,
        sunset: str = DEFAULT_SUNSET,
        token: str | None = None,
        unauthorized_body: str = "json",
        struct_readback: str = "base64",
        default_page_size: int = 0,
    ) -> None:
        super().__init__()
        self.api = tuple(api)
        unknown = set(self.api) - set(API_VERSIONS)
        if unknown or not self.api:
            raise ValueError(f"api must be a non-empty subset of {API_VERSIONS}, got {self.api}")
        if unauthorized_body not in ("json", "text"):
            raise ValueError("unauthorized_body must be 'json' or 'text'")
        if struct_readback not in ("base64", "json"):
            raise ValueError("struct_readback must be 'base64' or 'json'")
        self.deprecate_v1alpha3 = deprecate_v1alpha3
        self.sunset = sunset
        self.token = token
        self.unauthorized_body = unauthorized_body
        self.struct_readback = struct_readback
        self.default_page_size = default_page_size
        self._entities: dict[tuple[str, int], _Entity] = {}
        self._next_context_id = 1  # RegisteredModels and ModelVersions share MLMD's Context ids
        self._next_artifact_id = 1
        self._last_ms = 0
        self._faults: list[_Fault] = []
        self._seen: list[RegistryRequest] = []

    # addresses ---------------------------------------------------------------------------
    def api_url(self, version: str | None = None) -> str:
        """``<url>/api/model_registry/<version>`` (the newest served version by default)."""
        version = version or ("v1" if "v1" in self.api else self.api[0])
        return f"{self.url}{API_ROOT}/{version}"

    # seeding -----------------------------------------------------------------------------
    def _now_ms(self) -> int:
        self._last_ms = max(int(time.time() * 1000), self._last_ms + 1)
        return self._last_ms

    def _new(self, kind: str, name: str, parent: int | None, fields: Mapping[str, Any],
             custom: Mapping[str, dict[str, Any]], artifact_type: str | None = None) -> _Entity:
        if kind == ARTIFACT:
            eid, self._next_artifact_id = self._next_artifact_id, self._next_artifact_id + 1
        else:
            eid, self._next_context_id = self._next_context_id, self._next_context_id + 1
        now = self._now_ms()
        ent = _Entity(kind, eid, name, parent, dict(fields), dict(custom), now, now,
                      artifact_type)
        self._entities[(kind, eid)] = ent
        return ent

    @staticmethod
    def _typed(props: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for key, value in (props or {}).items():
            typed = to_metadata_value(value)
            if (typed.get("metadataType") == "MetadataStructValue" and "json" not in typed
                    and isinstance(typed.get("struct_value"), str)):
                try:
                    obj = json.loads(base64.b64decode(typed["struct_value"], validate=True))
                    typed = {"metadataType": "MetadataStructValue", "json": obj}
                except (ValueError, binascii.Error):
                    pass  # kept verbatim: a foreign writer's malformed struct
            out[key] = typed
        return out

    def add_model(
        self,
        name: str,
        versions: Mapping[str, Mapping[str, Any] | None] | None = None,
        *,
        owner: str | None = None,
        description: str | None = None,
        state: str = "LIVE",
        custom_properties: Mapping[str, Any] | None = None,
        artifact_uri: str | None = None,
    ) -> SeededModel:
        """Store a RegisteredModel, its versions and one model artifact per version."""
        fields: dict[str, Any] = {"state": state}
        if owner is not None:
            fields["owner"] = owner
        if description is not None:
            fields["description"] = description
        with self.lock:
            rm = self._new(REGISTERED_MODEL, name, None, fields, self._typed(custom_properties))
        vids: dict[str, str] = {}
        aids: dict[str, str] = {}
        for vname, props in (versions or {}).items():
            vid = self.add_version(rm.id, vname, props, author=owner or "evalkit-test")
            vids[vname] = vid
            uri = artifact_uri or f"oci://registry.example/{name}:{vname}"
            aids[vname] = self.add_artifact(vid, name, uri, modelFormatName="vLLM",
                                            modelFormatVersion="1")
        return SeededModel(str(rm.id), vids, aids)

    def add_version(self, model_id: int | str, name: str,
                    custom_properties: Mapping[str, Any] | None = None, **fields: Any) -> str:
        """Store a ModelVersion under RegisteredModel ``model_id``; returns its id."""
        fields.setdefault("state", "LIVE")
        with self.lock:
            if (REGISTERED_MODEL, int(model_id)) not in self._entities:
                raise KeyError(f"no registered model {model_id}")
            ent = self._new(MODEL_VERSION, name, int(model_id), fields,
                            self._typed(custom_properties))
        return str(ent.id)

    def add_artifact(self, version_id: int | str, name: str, uri: str, *,
                     artifact_type: str = "model-artifact",
                     custom_properties: Mapping[str, Any] | None = None, **fields: Any) -> str:
        """Store an artifact (model or doc) under ModelVersion ``version_id``; returns its id."""
        if artifact_type not in SUPPORTED_ARTIFACT_TYPES:
            raise ValueError(f"artifact_type must be one of {SUPPORTED_ARTIFACT_TYPES}")
        fields.setdefault("state", "LIVE")
        fields["uri"] = uri
        with self.lock:
            if (MODEL_VERSION, int(version_id)) not in self._entities:
                raise KeyError(f"no model version {version_id}")
            ent = self._new(ARTIFACT, name, int(version_id), fields,
                            self._typed(custom_properties), artifact_type)
        return str(ent.id)

    def get(self, kind: str, entity_id: int | str) -> dict[str, Any]:
        """What ``GET`` answers for one entity (``KeyError`` when absent)."""
        with self.lock:
            return self._render(self._entities[(kind, int(entity_id))])

    # faults and the request log ----------------------------------------------------------
    def fail_next(self, status: int = 500, count: int = 1, *, path_prefix: str | None = None,
                  method: str | None = None, body: Any = None,
                  headers: Mapping[str, str] | None = None) -> None:
        """The next ``count`` matching requests answer ``status`` (``body``: a JSON-able doc,
        ``str``/``bytes`` sent as text, default an ``Error``). ``path_prefix`` matches the full
        path or the path after the API prefix (``"/model_versions"``)."""
        with self.lock:
            self._faults.append(_Fault("fail", count, path_prefix, method, status, body,
                                       dict(headers or {})))

    def slow(self, delay: float, *, count: int | None = None, path_prefix: str | None = None,
             method: str | None = None) -> None:
        """Wait ``delay`` seconds before answering matching requests (``count=None``: until
        :meth:`clear_faults`)."""
        with self.lock:
            self._faults.append(_Fault("slow", count, path_prefix, method, delay=delay))

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    @property
    def requests(self) -> list[RegistryRequest]:
        with self.lock:
            return list(self._seen)

    def requests_matching(self, method: str | None = None,
                          path_contains: str | None = None) -> list[RegistryRequest]:
        """The logged requests with that method and/or a path containing ``path_contains``."""
        return [r for r in self.requests
                if (method is None or r.method == method.upper())
                and (path_contains is None or path_contains in r.path)]

    def clear_requests(self) -> None:
        with self.lock:
            self._seen.clear()

    def _take_faults(self, method: str, path: str, resource: str) -> tuple[_Fault | None, float]:
        failing: _Fault | None = None
        delay = 0.0
        with self.lock:
            for f in list(self._faults):
                if not f.matches(method, path, resource):
                    continue
                if f.kind == "slow":
                    delay += f.delay
                elif failing is None:
                    failing = f
                else:
                    continue
                if f.remaining is not None:
                    f.remaining -= 1
                    if f.remaining <= 0:
                        self._faults.remove(f)
        return failing, delay

    # rendering ---------------------------------------------------------------------------
    def _render_custom(self, custom: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in sorted(custom):
            value = custom[key]
            if value.get("metadataType") == "MetadataStructValue" and "json" in value:
                text = json.dumps(value["json"], separators=(",", ":"), sort_keys=True)
                if self.struct_readback == "base64":
                    text = base64.b64encode(text.encode()).decode()
                value = {"metadataType": "MetadataStructValue", "struct_value": text}
            out[key] = copy.deepcopy(value)
        return out

    def _render(self, ent: _Entity) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        if ent.kind == ARTIFACT:
            doc["artifactType"] = ent.artifact_type
        doc["id"] = str(ent.id)
        doc["name"] = ent.name
        if ent.kind == MODEL_VERSION:
            doc["registeredModelId"] = str(ent.parent)
        for key in _fields_for(ent.kind, ent.artifact_type):
            if ent.fields.get(key) is not None:
                doc[key] = copy.deepcopy(ent.fields[key])
        if ent.kind == ARTIFACT:
            doc.setdefault("state", "UNKNOWN")
        else:
            doc.setdefault("state", "LIVE")
        doc["customProperties"] = self._render_custom(ent.custom)
        doc["createTimeSinceEpoch"] = str(ent.create_ms)
        doc["lastUpdateTimeSinceEpoch"] = str(ent.update_ms)
        return doc

    # body validation ---------------------------------------------------------------------
    def _check_body(self, body: Any, kind: str, artifact_type: str | None, op: str,
                    extra: Iterable[str] = ()) -> dict[str, Any]:
        """Validate a create/update body like the Go decoder (unknown fields, types, enums)."""
        schema = _schema_name(kind, artifact_type, op)
        if not isinstance(body, dict):
            raise _bad_parse(f"json: cannot unmarshal {_json_type(body)} into Go value of type "
                             f"openapi.{schema}")
        allowed = set(_fields_for(kind, artifact_type)) | {"customProperties"} | set(extra)
        if kind == ARTIFACT:
            allowed.add("artifactType")
        for key in body:
            if key not in allowed:
                raise _bad_parse(f'json: unknown field "{key}"')
        for key, value in body.items():
            if value is None or key in ("customProperties",):
                continue
            if key in _LIST_FIELDS:
                ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
                gotype = "[]string"
            else:
                ok, gotype = isinstance(value, str), "string"
            if not ok:
                raise _bad_parse(f"json: cannot unmarshal {_json_type(value)} into Go struct "
                                 f"field {schema}.{key} of type {gotype}")
        state = body.get("state")
        if state is not None:
            enum_name, values = _STATE_ENUMS[kind]
            if state not in values:
                raise _bad_parse(f"{state} is not a valid {enum_name}")
        return body

    @staticmethod
    def _custom_from_body(body: Mapping[str, Any]) -> dict[str, dict[str, Any]] | None:
        props = body.get("customProperties")
        if props is None:
            return None
        if not isinstance(props, dict):
            raise _bad_parse(f"json: cannot unmarshal {_json_type(props)} into Go struct field "
                             ".customProperties of type map[string]openapi.MetadataValue")
        return {key: _store_value(key, value) for key, value in props.items()}

    # lookups -------------------------------------------------------------------------------
    def _by_id(self, kind: str, raw_id: str, label: str) -> _Entity:
        num = _parse_id(raw_id, label)
        ent = self._entities.get((kind, num))
        if ent is None:
            raise _not_found(f"no {label} found for id {raw_id}")
        return ent

    def _children(self, kind: str, parent: int | None) -> list[_Entity]:
        return [e for (k, _), e in self._entities.items()
                if k == kind and (parent is None or e.parent == parent)]

    def _ensure_unique(self, kind: str, name: str, parent: int | None,
                       artifact_type: str | None, exclude: int | None = None) -> None:
        for e in self._children(kind, parent):
            if e.name == name and e.id != exclude and (
                    kind != ARTIFACT or e.artifact_type == artifact_type):
                label = {REGISTERED_MODEL: "registered model", MODEL_VERSION: "model version"}.get(
                    kind, f"{(artifact_type or 'model-artifact').split('-')[0]} artifact")
                raise ApiError(409, f"{label} with name {name} already exists: conflict")

    # list ------------------------------------------------------------------------------------
    def _list(self, items: list[_Entity], query: Mapping[str, str],
              extra_filter: str = "") -> dict[str, Any]:
        raw_size = query.get("pageSize", "")
        if raw_size:
            if not re.fullmatch(r"[-+]?\d+", raw_size) or not (
                    INT32_MIN <= int(raw_size) <= INT32_MAX):
                reason = ("value out of range" if re.fullmatch(r"[-+]?\d+", raw_size)
                          else "invalid syntax")
                raise _bad(f"invalid numeric string: strconv.ParseInt: parsing \"{raw_size}\": "
                           f"{reason}")
            page_size = int(raw_size)
        else:
            page_size = self.default_page_size
        order_by = query.get("orderBy", "")
        order_by = order_by if order_by in ("ID", "CREATE_TIME", "LAST_UPDATE_TIME") else "ID"
        descending = query.get("sortOrder", "") == "DESC"
        token = query.get("nextPageToken", "")
        cursor: tuple[int, int] | None = None
        if token:
            cursor = _decode_cursor(token)
        fq = query.get("filterQuery", "")
        if extra_filter:
            fq = f"({fq}) AND {extra_filter}" if fq else extra_filter
        try:
            expr = parse_filter(fq)
        except FilterSyntaxError as exc:
            raise _bad(str(exc)) from None
        if expr is not None:
            items = [e for e in items if self._matches(e, expr)]

        def sort_value(e: _Entity) -> int:
            return {"ID": e.id, "CREATE_TIME": e.create_ms,
                    "LAST_UPDATE_TIME": e.update_ms}[order_by]

        items.sort(key=lambda e: (sort_value(e), e.id), reverse=descending)
        if cursor is not None:
            cid, cvalue = cursor
            if descending:
                items = [e for e in items if (sort_value(e), e.id) < (cvalue, cid)]
            else:
                items = [e for e in items if (sort_value(e), e.id) > (cvalue, cid)]
        next_token = ""
        if page_size > 0 and len(items) > page_size:
            items = items[:page_size]
            last = items[-1]
            next_token = base64.b64encode(f"{last.id}:{sort_value(last)}".encode()).decode()
        return {"items": [self._render(e) for e in items], "nextPageToken": next_token,
                "pageSize": page_size, "size": len(items)}

    def _prop(self, ent: _Entity, name: str, explicit: str | None, literal: Any) -> list[Any]:
        """Candidate values of property ``name`` on ``ent`` for a comparison with ``literal``."""
        standard = _FILTER_STANDARD[ent.artifact_type or ent.kind]
        if explicit is None and name in standard:
            doc = self._render(ent)
            if name not in doc:
                return []
            value = doc[name]
            if name in _INT_PROPERTIES:
                value = int(value)
                if isinstance(literal, str) and re.fullmatch(r"-?\d+", literal):
                    return [str(value)]
            return [value]
        typed = ent.custom.get(name)
        if typed is None:
            return []
        kind = typed["metadataType"]
        stored = (_VALUE_KEY[kind], from_metadata_value(typed)) if kind in (
            "MetadataIntValue", "MetadataDoubleValue", "MetadataStringValue",
            "MetadataBoolValue") else (None, None)
        if stored[0] is None:
            return []
        if explicit is not None:
            wanted = (explicit,)
        else:
            probe = literal[0] if isinstance(literal, list) and literal else literal
            if isinstance(probe, bool):
                wanted = ("bool_value",)
            elif isinstance(probe, int):
                wanted = ("int_value", "double_value")
            elif isinstance(probe, float):
                wanted = ("double_value",)
            else:
                wanted = ("string_value",)
        return [stored[1]] if stored[0] in wanted else []

    def _matches(self, ent: _Entity, expr: Comparison | BoolOp) -> bool:
        if isinstance(expr, BoolOp):
            if expr.op == "AND":
                return self._matches(ent, expr.left) and self._matches(ent, expr.right)
            return self._matches(ent, expr.left) or self._matches(ent, expr.right)
        name, explicit = expr.prop, None
        head, _, tail = name.rpartition(".")
        if head and tail in TYPE_SUFFIXES:
            name, explicit = head, tail
        return any(_compare(v, expr.op, expr.value)
                   for v in self._prop(ent, name, explicit, expr.value))

    # request handling ----------------------------------------------------------------------
    def _auth_ok(self, handler: QuietHandler) -> bool:
        if self.token is None:
            return True
        auth = handler.headers.get("Authorization", "")
        return auth.startswith("Bearer ") and auth[7:].strip() == self.token

    def handle(self, handler: QuietHandler, method: str) -> None:
        """Answer one request (called by the handler thread)."""
        parts = urlsplit(handler.path)
        path = parts.path
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        raw = handler.read_body()  # always drained, or a keep-alive connection desyncs
        body: Any = None
        body_error: str | None = None
        if raw:
            try:
                body = json.loads(raw, parse_constant=_reject_constant)
            except ValueError as exc:
                body, body_error = raw.decode(errors="replace"), str(exc)
        api: str | None = None
        resource = path
        for version in API_VERSIONS:
            prefix = f"{API_ROOT}/{version}/"
            if path.startswith(prefix):
                api, resource = version, path[len(prefix):]
        headers: dict[str, str] = {}
        if api == "v1alpha3" and "v1" in self.api and self.deprecate_v1alpha3:
            headers = {"Deprecation": "true", "Sunset": self.sunset, "Link": SUCCESSOR_LINK}
        authorized = self._auth_ok(handler)
        fault, delay = self._take_faults(method, path, resource) if authorized else (None, 0.0)
        if delay:
            self.stopping.wait(delay)
        status: int
        payload: Any
        content_type = "application/json; charset=UTF-8"
        not_found = (404, b"404 page not found\n")
        if not authorized:
            status = 401
            if self.unauthorized_body == "text":
                payload, content_type = b"Unauthorized\n", "text/plain; charset=utf-8"
            else:
                payload = error_doc(401, "Unauthorized")
        elif fault is not None:
            status = fault.status
            headers.update(fault.headers)
            if fault.body is None:
                payload = error_doc(status, f"injected failure ({status})")
            elif isinstance(fault.body, str | bytes):
                payload = fault.body.encode() if isinstance(fault.body, str) else fault.body
                content_type = "text/plain; charset=utf-8"
            else:
                payload = fault.body
        elif api is None or api not in self.api:
            status, payload = not_found
        elif body_error is not None:
            status, payload = 400, error_doc(400, body_error)
        else:
            try:
                with self.lock:
                    status, payload = self.route(method, resource, query, body)
            except _RouteNotFound:
                status, payload = not_found
            except ApiError as exc:
                status, payload = exc.status, exc.doc()
        if isinstance(payload, bytes) and status == 404:
            content_type = "text/plain; charset=utf-8"
        if isinstance(payload, bytes):
            data = payload
        elif status == 405 and payload is None:
            data, content_type = b"", "text/plain; charset=utf-8"
        else:
            data = (json.dumps(payload, separators=(",", ":")) + "\n").encode()
        with self.lock:
            self._seen.append(RegistryRequest(
                method, path, query, body, dict(handler.headers.items()), status, api,
                None if fault is None else f"status {fault.status}"))
        handler.send_bytes(status, data, content_type, headers)

    def route(self, method: str, resource: str, query: Mapping[str, str],
              body: Any) -> tuple[int, Any]:
        """``(status, doc)`` for a request on ``resource`` (the path after the API prefix)."""
        segs = resource.split("/")  # strict like chi: a trailing slash matches nothing
        for pattern, methods in _ROUTES:
            if len(pattern) != len(segs) or any(
                    (p != s) if p != "*" else not s for p, s in zip(pattern, segs, strict=True)):
                continue
            handler = methods.get(method)
            if handler is None:
                return 405, None
            args = [s for p, s in zip(pattern, segs, strict=True) if p == "*"]
            return handler(self, *args, query=query, body=body)
        raise _RouteNotFound()

    # registered models ---------------------------------------------------------------------
    def _list_rms(self, *, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        return 200, self._list(self._children(REGISTERED_MODEL, None), query)

    def _create_rm(self, *, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        body = self._check_body(body, REGISTERED_MODEL, None, "Create", extra=("name",))
        name = body.get("name")
        if not name:
            raise ApiError(422, "required field 'name' is zero value.", code_status=400)
        custom = self._custom_from_body(body) or {}
        self._ensure_unique(REGISTERED_MODEL, name, None, None)
        fields = {k: v for k, v in body.items()
                  if k not in ("name", "customProperties") and v is not None}
        fields.setdefault("state", "LIVE")
        return 201, self._render(self._new(REGISTERED_MODEL, name, None, fields, custom))

    def _get_rm(self, rid: str, *, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        return 200, self._render(self._by_id(REGISTERED_MODEL, rid, "registered model"))

    def _patch_rm(self, rid: str, *, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        body = self._check_body(body, REGISTERED_MODEL, None, "Update")
        return 200, self._update(self._by_id(REGISTERED_MODEL, rid, "registered model"), body)

    def _find_rm(self, *, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        name, ext = query.get("name"), query.get("externalId")
        if name is None and ext is None:
            raise _bad("invalid parameters call, supply either name or externalId")
        hits = [e for e in self._children(REGISTERED_MODEL, None)
                if (name is None or e.name == name)
                and (ext is None or e.fields.get("externalId") == ext)]
        if len(hits) != 1:
            what = "no" if not hits else "multiple"
            raise _not_found(f"{what} registered models found for name={name or ''}, "
                             f"externalId={ext or ''}")
        return 200, self._render(hits[0])

    # model versions ------------------------------------------------------------------------
    def _list_rm_versions(self, rid: str, *, query: Mapping[str, str],
                          body: Any) -> tuple[int, Any]:
        parent = _parse_id(rid, "registered model")
        return 200, self._list(self._children(MODEL_VERSION, parent), query,
                               _name_filter(query))

    def _create_rm_version(self, rid: str, *, query: Mapping[str, str],
                           body: Any) -> tuple[int, Any]:
        parent = _parse_id(rid, "registered model")
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k not in _OUTPUT_ONLY}
            body.setdefault("registeredModelId", str(parent))
        return self._create_mv_in(parent, body)

    def _list_mvs(self, *, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        return 200, self._list(self._children(MODEL_VERSION, None), query)

    def _create_mv(self, *, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        return self._create_mv_in(None, body)

    def _create_mv_in(self, parent: int | None, body: Any) -> tuple[int, Any]:
        body = self._check_body(body, MODEL_VERSION, None, "Create",
                                extra=("name", "registeredModelId"))
        for required in ("name", "registeredModelId"):
            if not body.get(required):
                raise ApiError(422, f"required field '{required}' is zero value.",
                               code_status=400)
        rm_id = parent if parent is not None else _parse_id(body["registeredModelId"],
                                                             "registered model")
        self._by_id(REGISTERED_MODEL, str(rm_id), "registered model")
        custom = self._custom_from_body(body) or {}
        self._ensure_unique(MODEL_VERSION, body["name"], rm_id, None)
        fields = {k: v for k, v in body.items()
                  if k not in ("name", "customProperties", "registeredModelId") and v is not None}
        fields.setdefault("state", "LIVE")
        return 201, self._render(self._new(MODEL_VERSION, body["name"], rm_id, fields, custom))

    def _get_mv(self, vid: str, *, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        return 200, self._render(self._by_id(MODEL_VERSION, vid, "model version"))

    def _patch_mv(self, vid: str, *, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        body = self._check_body(body, MODEL_VERSION, None, "Update")
        return 200, self._update(self._by_id(MODEL_VERSION, vid, "model version"), body)

    def _find_mv(self, *, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        name, parent, ext = query.get("name"), query.get("parentResourceId"), query.get(
            "externalId")
        if (name is None or parent is None) and ext is None:
            raise _bad("invalid parameters call, supply either (name and parentResourceId), "
                       "or externalId")
        pid = _parse_id(parent, "registered model") if parent is not None else None
        hits = [e for e in self._children(MODEL_VERSION, pid)
                if (name is None or e.name == name)
                and (ext is None or e.fields.get("externalId") == ext)]
        if len(hits) != 1:
            what = "no" if not hits else "multiple"
            raise _not_found(f"{what} model versions found for name={name or ''}, "
                             f"parentResourceId={parent or ''}, externalId={ext or ''}")
        return 200, self._render(hits[0])

    # artifacts -------------------------------------------------------------------------------
    def _list_mv_artifacts(self, vid: str, *, query: Mapping[str, str],
                           body: Any) -> tuple[int, Any]:
        parent = _parse_id(vid, "parent resource")
        items = self._artifacts(parent, _artifact_type_param(query))
        return 200, self._list(items, query, _name_filter(query))

    def _artifacts(self, parent: int | None, artifact_type: str | None) -> list[_Entity]:
        return [e for e in self._children(ARTIFACT, parent)
                if artifact_type is None or e.artifact_type == artifact_type]

    def _upsert_mv_artifact(self, vid: str, *, query: Mapping[str, str],
                            body: Any) -> tuple[int, Any]:
        parent = self._by_id(MODEL_VERSION, vid, "model version")
        if not isinstance(body, dict):
            raise _bad_parse("failed to unmarshal JSON into map for the discriminator lookup")
        atype = body.get("artifactType")
        if atype not in SUPPORTED_ARTIFACT_TYPES:
            raise _bad("invalid artifact type, must be either ModelArtifact, DocArtifact, "
                       "DataSet, Metric, or Parameter")
        body = self._check_body(body, ARTIFACT, atype, "", extra=(
            "name", "id", "createTimeSinceEpoch", "lastUpdateTimeSinceEpoch", "experimentId",
            "experimentRunId"))
        if body.get("id") is not None:
            existing = self._by_id(ARTIFACT, str(body["id"]), "artifact")
            if existing.artifact_type != atype:
                raise _bad(f"artifact with id {body['id']} is not a "
                           f"{atype.split('-')[0]} artifact")
            update = {k: v for k, v in body.items()
                      if k not in ("id", "name", "createTimeSinceEpoch",
                                   "lastUpdateTimeSinceEpoch", "experimentId",
                                   "experimentRunId", "artifactType")}
            existing.parent = parent.id
            return 200, self._update(existing, update)
        return 201, self._create_artifact(parent.id, atype, body)

    def _create_artifact(self, parent: int | None, atype: str,
                         body: Mapping[str, Any]) -> dict[str, Any]:
        name = body.get("name") or _uuid_name()
        custom = self._custom_from_body(body) or {}
        self._ensure_unique(ARTIFACT, name, parent, atype)
        fields = {k: v for k, v in body.items() if k in _fields_for(ARTIFACT, atype)
                  and v is not None}
        fields.setdefault("state", "UNKNOWN")
        return self._render(self._new(ARTIFACT, name, parent, fields, custom, atype))

    def _list_model_artifacts(self, *, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        return 200, self._list(self._artifacts(None, "model-artifact"), query)

    def _create_model_artifact(self, *, query: Mapping[str, str],
                               body: Any) -> tuple[int, Any]:
        body = self._check_body(body, ARTIFACT, "model-artifact", "Create", extra=("name",))
        return 201, self._create_artifact(None, "model-artifact", body)

    def _get_model_artifact(self, aid: str, *, query: Mapping[str, str],
                            body: Any) -> tuple[int, Any]:
        ent = self._by_id(ARTIFACT, aid, "artifact")
        if ent.artifact_type != "model-artifact":
            raise _not_found(f"artifact with id {aid} is not a model artifact")
        return 200, self._render(ent)

    def _patch_model_artifact(self, aid: str, *, query: Mapping[str, str],
                              body: Any) -> tuple[int, Any]:
        ent = self._by_id(ARTIFACT, aid, "artifact")
        if ent.artifact_type != "model-artifact":
            raise _not_found(f"artifact with id {aid} is not a model artifact")
        body = self._check_body(body, ARTIFACT, "model-artifact", "Update")
        body = {k: v for k, v in body.items() if k != "artifactType"}
        return 200, self._update(ent, body)

    def _find_artifact_in(self, query: Mapping[str, str], atype: str | None) -> tuple[int, Any]:
        name, parent, ext = query.get("name"), query.get("parentResourceId"), query.get(
            "externalId")
        if (name is None or parent is None) and ext is None:
            raise _bad("invalid parameters call, supply either (artifactName and "
                       "parentResourceId), or externalId")
        pid = _parse_id(parent, "parent resource") if parent is not None else None
        hits = [e for e in self._artifacts(pid, None)
                if (name is None or e.name == name)
                and (ext is None or e.fields.get("externalId") == ext)]
        label = f"{atype} " if atype else ""
        if len(hits) != 1:
            what = "no" if not hits else "multiple"
            raise _not_found(f"{what} {label}artifacts found for name={name or ''}, "
                             f"parentResourceId={parent or ''}, externalId={ext or ''}")
        if atype is not None and hits[0].artifact_type != atype:
            raise _not_found(f"artifact with name={name or ''}, parentResourceId={parent or ''}, "
                             f"externalId={ext or ''} is not a model artifact")
        return 200, self._render(hits[0])

    def _find_model_artifact(self, *, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        return self._find_artifact_in(query, "model-artifact")

    def _find_artifact(self, *, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        return self._find_artifact_in(query, None)

    def _list_all_artifacts(self, *, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        return 200, self._list(self._artifacts(None, _artifact_type_param(query)), query)

    def _get_artifact(self, aid: str, *, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        return 200, self._render(self._by_id(ARTIFACT, aid, "artifact"))

    def _patch_artifact(self, aid: str, *, query: Mapping[str, str],
                        body: Any) -> tuple[int, Any]:
        ent = self._by_id(ARTIFACT, aid, "artifact")
        if not isinstance(body, dict) or body.get("artifactType") not in ARTIFACT_TYPES:
            raise _bad("invalid artifact type, must be either ModelArtifact, DocArtifact, "
                       "DataSet, Metric, or Parameter")
        if body["artifactType"] != ent.artifact_type:
            raise _bad(f"mismatched types, artifact with id {aid} is not a "
                       f"{body['artifactType']}")
        body = self._check_body(body, ARTIFACT, ent.artifact_type, "Update")
        body = {k: v for k, v in body.items() if k != "artifactType"}
        return 200, self._update(ent, body)

    # shared update -------------------------------------------------------------------------
    def _update(self, ent: _Entity, body: Mapping[str, Any]) -> dict[str, Any]:
        """PATCH: merge the fields sent; ``customProperties`` (when not null) replaces all."""
        custom = self._custom_from_body(body)
        for key, value in body.items():
            if key == "customProperties" or value is None:
                continue
            ent.fields[key] = copy.deepcopy(value)
        if custom is not None:
            ent.custom = custom
        ent.update_ms = self._now_ms()
        return self._render(ent)


# ---------------------------------------------------------------------------- helpers


class _RouteNotFound(Exception):
    """No route: the router's plain-text ``404 page not found``."""


def _bad_parse(message: str) -> ApiError:
    """A ``ParsingError`` (request decoding): 400 with the bare decoder message."""
    return ApiError(400, message)


def _reject_constant(name: str) -> float:
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


def _parse_id(raw: str, label: str) -> int:
    if not re.fullmatch(r"[-+]?\d+", raw or "") or not INT32_MIN <= int(raw) <= INT32_MAX:
        reason = "value out of range" if re.fullmatch(r"[-+]?\d+", raw or "") else \
            "invalid syntax"
        raise _bad(f"invalid {label} ID: strconv.ParseInt: parsing \"{raw}\": {reason}")
    return int(raw)


def _decode_cursor(token: str) -> tuple[int, int]:
    try:
        if len(token) > 1024:
            raise ValueError("invalid cursor format")
        text = base64.b64decode(token, validate=True).decode()
        raw_id, sep, value = text.partition(":")
        if not sep:
            raise ValueError("invalid cursor format")
        return int(raw_id), int(value or raw_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise _bad(f"invalid nextPageToken: {exc}") from None


def _name_filter(query: Mapping[str, str]) -> str:
    """The real ``buildCombinedFilterQuery``: ``name``/``externalId`` params as a filter (it
    doubles single quotes, which its own parser then rejects: a name with ``'`` answers 400)."""
    if query.get("name"):
        return "name = '" + query["name"].replace("'", "''") + "'"
    if query.get("externalId"):
        return "externalId = '" + query["externalId"].replace("'", "''") + "'"
    return ""


def _artifact_type_param(query: Mapping[str, str]) -> str | None:
    value = query.get("artifactType") or None
    if value is not None and value not in ARTIFACT_TYPES:
        raise ApiError(400, f"artifactType: {value} is not a valid ArtifactTypeQueryParam")
    return value


def _uuid_name() -> str:
    import uuid

    return str(uuid.uuid4())


_Handler = Callable[..., tuple[int, Any]]
S = ModelRegistryServer
_ROUTES: list[tuple[tuple[str, ...], dict[str, _Handler]]] = [
    (("registered_models",), {"GET": S._list_rms, "POST": S._create_rm}),
    (("registered_models", "*"), {"GET": S._get_rm, "PATCH": S._patch_rm}),
    (("registered_models", "*", "versions"), {"GET": S._list_rm_versions,
                                              "POST": S._create_rm_version}),
    (("registered_model",), {"GET": S._find_rm}),
    (("model_versions",), {"GET": S._list_mvs, "POST": S._create_mv}),
    (("model_versions", "*"), {"GET": S._get_mv, "PATCH": S._patch_mv}),
    (("model_versions", "*", "artifacts"), {"GET": S._list_mv_artifacts,
                                            "POST": S._upsert_mv_artifact}),
    (("model_version",), {"GET": S._find_mv}),
    (("model_artifacts",), {"GET": S._list_model_artifacts, "POST": S._create_model_artifact}),
    (("model_artifacts", "*"), {"GET": S._get_model_artifact,
                                "PATCH": S._patch_model_artifact}),
    (("model_artifact",), {"GET": S._find_model_artifact}),
    (("artifacts",), {"GET": S._list_all_artifacts}),
    (("artifacts", "*"), {"GET": S._get_artifact, "PATCH": S._patch_artifact}),
    (("artifact",), {"GET": S._find_artifact}),
]
del S


class _RegistryHandler(QuietHandler):
    server: Any
    wbufsize = -1  # headers and body leave in one write (flushed after each request)

    def setup(self) -> None:
        super().setup()
        # keep-alive clients otherwise wait for a delayed ACK (~40 ms) on every answer
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _dispatch(self) -> None:
        self.server.owner.handle(self, self.command)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _dispatch


ModelRegistryServer.handler_class = _RegistryHandler
