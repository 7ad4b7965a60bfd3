"""Typed Model Registry property values (``customProperties``), read and written exactly.

The REST API types every value: ``MetadataIntValue`` (the int as a STRING, int32 column),
``MetadataDoubleValue`` (finite: JSON has no NaN), ``MetadataStringValue``,
``MetadataBoolValue``, ``MetadataStructValue`` (base64 of a JSON object — but servers on the
embedded database, 2025-08 on, answer the raw JSON text instead) and ``MetadataProtoValue``
(readable, never writable: both storage backends answer 400).

- :func:`decode` turns one typed value into ``(type, value, encoding)`` — ``type`` one of
  :data:`TYPES` — or raises :class:`ValueError` naming what is wrong;
- :func:`encode` turns a Python value (numpy scalars included, via ``.item()``) into the typed
  value evalkit sends, refusing what the server would refuse or change;
- :func:`writable` gives back a value READ from the server in the form to send it back
  unchanged (the exact dict read; a struct read as raw JSON text is re-sent as base64 of those
  exact bytes, the only form a server accepts on write).

>>> decode({"metadataType": "MetadataIntValue", "int_value": "14042"})
('int', 14042, None)
>>> encode(0.71)
{'metadataType': 'MetadataDoubleValue', 'double_value': 0.71}
>>> import numpy as np
>>> encode(np.int64(5))
{'metadataType': 'MetadataIntValue', 'int_value': '5'}
>>> decode(writable({"metadataType": "MetadataStructValue", "struct_value": '{"a":1}'}))
('struct', {'a': 1}, 'base64')
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from typing import Any

#: evalkit's names of the value types, by ``metadataType``
TYPES: dict[str, str] = {
    "MetadataDoubleValue": "double",
    "MetadataIntValue": "int",
    "MetadataStringValue": "string",
    "MetadataBoolValue": "bool",
    "MetadataStructValue": "struct",
    "MetadataProtoValue": "proto",
}
VALUE_KEYS: dict[str, str] = {
    "MetadataDoubleValue": "double_value",
    "MetadataIntValue": "int_value",
    "MetadataStringValue": "string_value",
    "MetadataBoolValue": "bool_value",
    "MetadataStructValue": "struct_value",
    "MetadataProtoValue": "proto_value",
}
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
_INT_RE = re.compile(r"[-+]?\d+")
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def decode(typed: Any) -> tuple[str, Any, str | None]:
    """``(type, value, encoding)`` of one typed value; ``encoding`` is ``"base64"`` or
    ``"json"`` for structs (how the server sent it), else ``None``.

    >>> decode({"metadataType": "MetadataStructValue", "struct_value": "eyJhIjoxfQ=="})
    ('struct', {'a': 1}, 'base64')
    >>> decode({"metadataType": "MetadataIntValue", "int_value": "1.5"})
    Traceback (most recent call last):
    ...
    ValueError: int_value '1.5' is not an integer
    """
    if not isinstance(typed, Mapping):
        raise ValueError(f"not a typed value object: {json.dumps(typed)[:80]}")
    kind = typed.get("metadataType")
    if kind not in TYPES:
        raise ValueError(f"unknown metadataType {kind!r}")
    key = VALUE_KEYS[kind]
    if key not in typed:
        raise ValueError(f"{kind} without {key}")
    raw = typed[key]
    name = TYPES[kind]
    if name == "int":
        if isinstance(raw, int) and not isinstance(raw, bool):
            return name, raw, None
        if isinstance(raw, str) and _INT_RE.fullmatch(raw.strip()):
            return name, int(raw), None
        raise ValueError(f"int_value {raw!r} is not an integer")
    if name == "double":
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return name, float(raw), None
        if isinstance(raw, str) and raw in _NON_FINITE:  # protobuf JSON's spelling
            return name, _NON_FINITE[raw], None
        raise ValueError(f"double_value {raw!r} is not a number")
    if name == "bool":
        if isinstance(raw, bool):
            return name, raw, None
        raise ValueError(f"bool_value {raw!r} is not true/false")
    if not isinstance(raw, str):
        raise ValueError(f"{key} {raw!r} is not a string")
    if name == "struct":
        obj, encoding = _struct(raw)
        return name, obj, encoding
    return name, raw, None


def _struct(text: str) -> tuple[Any, str]:
    try:
        obj = json.loads(base64.b64decode(text, validate=True).decode("utf-8"))
        return obj, "base64"
    except (ValueError, binascii.Error, UnicodeDecodeError):
        pass
    try:
        return json.loads(text), "json"
    except ValueError:
        raise ValueError("struct_value is neither base64 JSON nor JSON text") from None


def to_python(value: Any) -> Any:
    """A numpy scalar as the Python scalar it holds (``.item()``); anything else unchanged.

    >>> import numpy as np
    >>> type(to_python(np.bool_(True))).__name__, type(to_python(np.float32(0.5))).__name__
    ('bool', 'float')
    """
    mod = type(value).__module__
    if mod == "numpy" and hasattr(value, "item"):
        return value.item()
    return value


def encode(value: Any) -> dict[str, Any]:
    """The typed value evalkit sends for ``value``.

    ``bool`` → bool, ``int`` → int (int32 range, else :class:`ValueError`: store big numbers
    as doubles or strings), ``float`` → double (finite, else :class:`ValueError`), ``str`` →
    string, ``dict`` → struct (base64 of compact, key-sorted JSON). numpy scalars are
    converted with ``.item()`` first (``np.int64`` stays an int, ``np.bool_`` a bool).

    >>> encode(True), encode("w4a16")["string_value"]
    ({'metadataType': 'MetadataBoolValue', 'bool_value': True}, 'w4a16')
    >>> encode(float("nan"))
    Traceback (most recent call last):
    ...
    ValueError: nan cannot be sent: the registry stores finite doubles only (JSON has no NaN/Infinity)
    """
    value = to_python(value)
    if isinstance(value, bool):
        return {"metadataType": "MetadataBoolValue", "bool_value": value}
    if isinstance(value, int):
        if not INT32_MIN <= value <= INT32_MAX:
            raise ValueError(f"{value} does not fit the registry's 32-bit int column; store it "
                             "as a double or a string")
        return {"metadataType": "MetadataIntValue", "int_value": str(value)}
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} cannot be sent: the registry stores finite doubles only "
                             "(JSON has no NaN/Infinity)")
        return {"metadataType": "MetadataDoubleValue", "double_value": value}
    if isinstance(value, str):
        return {"metadataType": "MetadataStringValue", "string_value": value}
    if isinstance(value, Mapping):
        text = json.dumps(dict(value), separators=(",", ":"), sort_keys=True, allow_nan=False)
        return {"metadataType": "MetadataStructValue",
                "struct_value": base64.b64encode(text.encode()).decode()}
    raise TypeError(f"no registry value type for {type(value).__name__}")


def writable(typed: Mapping[str, Any]) -> dict[str, Any]:
    """A value read from the server, in the form that writes it back unchanged: the same
    dict, except that a struct read as raw JSON text (embedded-DB servers) is sent as base64
    of exactly those bytes. A proto value raises :class:`ValueError` (not writable over REST).

    >>> writable({"metadataType": "MetadataStringValue", "string_value": "x"})
    {'metadataType': 'MetadataStringValue', 'string_value': 'x'}
    """
    kind = typed.get("metadataType")
    if kind == "MetadataProtoValue":
        raise ValueError("a MetadataProtoValue cannot be written through the REST API")
    if kind == "MetadataStructValue":
        text = typed.get("struct_value")
        if isinstance(text, str):
            _, encoding = _struct(text)
            if encoding == "json":
                return {"metadataType": kind,
                        "struct_value": base64.b64encode(text.encode("utf-8")).decode()}
    return dict(typed)


def same(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """True when two typed values hold the same type and value (struct encodings aside).

    >>> same({"metadataType": "MetadataDoubleValue", "double_value": 5},
    ...      {"metadataType": "MetadataDoubleValue", "double_value": 5.0})
    True
    >>> same(encode(1), encode(1.0))
    False
    """
    if a is None or b is None:
        return a is b
    try:
        ta, va, _ = decode(a)
        tb, vb, _ = decode(b)
    except ValueError:
        return dict(a) == dict(b)
    if ta != tb:
        return False
    if ta == "double" and math.isnan(va) and math.isnan(vb):
        return True
    return bool(va == vb) and type(va) is type(vb)


def canonical(typed: Any) -> str:
    """Compact, key-sorted JSON text of a typed value as received (the ``raw`` column)."""
    return json.dumps(typed, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
