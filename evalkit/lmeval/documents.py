"""Reading lm-eval and LMEvalJob documents: JSON or safe YAML text, and the small value
normalisers every reader shares (lm-eval's stringly-typed values are normalised here, once).

>>> parse_text('{"kind": "List", "items": []}', "x")["kind"]
'List'
>>> to_float("N/A") is None, to_float("NaN") != to_float("NaN")
(True, True)
>>> model_args("pretrained=org/m,dtype=float16")
{'pretrained': 'org/m', 'dtype': 'float16'}
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..core import files
from ..core.errors import SourceError

_TS_RE = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}[-:]\d{2}[-:]\d{2}(?:\.\d+)?)")
#: secrets in model_args; tokenizer= and tokenized_requests= are settings, not secrets
_SECRET_ARG_RE = re.compile(r"(?i)\b((?:[a-z_]*api_key|[a-z_]*token|password|secret)=)[^,]*")
MISSING = object()


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors/aliases (``oc`` never writes them; they enable bombs)."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        if self.check_event(yaml.events.AliasEvent):
            event = self.peek_event()
            raise yaml.YAMLError(f"YAML aliases are not accepted (alias *{event.anchor} at "
                                 f"line {event.start_mark.line + 1})")
        return super().compose_node(parent, index)


def parse_text(text: str | bytes, where: str) -> Any:
    """JSON first (Python's json accepts NaN/Infinity like lm-eval writes), then safe YAML.
    Any failure — invalid syntax, nesting too deep, an integer too long — is a
    :class:`~evalkit.core.errors.SourceError` naming ``where``."""
    try:
        return json.loads(text)
    except RecursionError:
        raise SourceError(f"{where}: nested too deeply to be an lm-eval or LMEvalJob "
                          "document") from None
    except ValueError as json_exc:
        json_msg = str(json_exc)[:120]
    try:
        doc = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - safe loader subclass
    except RecursionError:
        raise SourceError(f"{where}: nested too deeply to be an lm-eval or LMEvalJob "
                          "document") from None
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        first = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise SourceError(f"{where}: neither JSON ({json_msg}) nor YAML ({first}); expected the "
                          "output of `oc get lmevaljob -o json|yaml` or an lm-eval results "
                          "file") from None
    if not isinstance(doc, dict):
        raise SourceError(f"{where}: not a JSON/YAML document (got {type(doc).__name__}); "
                          "expected an LMEvalJob list or an lm-eval results file")
    return doc


def read_file(path: Path) -> Any:
    """Parse one file (size-limited, regular files only)."""
    return parse_text(files.read_document(path), str(path))


def kind(doc: Any) -> str:
    """``"list"``, ``"job"``, ``"results"`` (an lm-eval results document) or ``"unknown"``."""
    if not isinstance(doc, dict):
        return "unknown"
    k = doc.get("kind")
    if k == "LMEvalJob":
        return "job"
    if isinstance(doc.get("items"), list) and (k in ("List", "LMEvalJobList") or
                                               "apiVersion" in doc):
        return "list"
    if isinstance(doc.get("results"), dict):
        return "results"
    return "unknown"


def mapping(x: Any) -> dict[Any, Any]:
    """``x`` when it is a mapping, else ``{}`` (malformed parts read as absent)."""
    return x if isinstance(x, dict) else {}


def to_float(x: Any) -> float | None:
    """lm-eval's numbers: ``"N/A"`` and junk → None; ``"NaN"``, ``"inf"`` → float."""
    if x is None or x is MISSING or isinstance(x, bool):
        return None
    if isinstance(x, int | float):
        try:
            return float(x)
        except OverflowError:
            return math.inf if x > 0 else -math.inf
    if isinstance(x, str):
        s = x.strip()
        if s.upper() in ("N/A", "NA", ""):
            return None
        try:
            return float(s)  # accepts "NaN", "inf", "Infinity"
        except ValueError:
            return None
    return None


def parse_metrics(metrics: dict[Any, Any]) -> dict[tuple[str, str], tuple[Any, Any]]:
    """``{"acc,none": .8, "acc_stderr,none": .04, "alias": ...}`` →
    ``{("acc", "none"): (.8, .04)}``. Legacy keys without a filter get ``"none"``.

    >>> parse_metrics({"acc,none": 0.8, "acc_stderr,none": 0.04, "alias": "arc"})
    {('acc', 'none'): (0.8, 0.04)}
    """
    values: dict[tuple[str, str], Any] = {}
    errs: dict[tuple[str, str], Any] = {}
    for key, val in metrics.items():
        key = str(key)
        if key in ("alias", " ", "name", "sample_len", "samples"):
            continue
        name, _, filt = key.partition(",")
        filt = filt or "none"
        if name.endswith("_stderr"):
            errs[(name[: -len("_stderr")], filt)] = val
        elif isinstance(val, int | float | str) or val is None:
            if isinstance(val, bool):
                continue
            values[(name, filt)] = val
    return {k: (v, errs.get(k, MISSING)) for k, v in values.items()}


def model_args(args: Any) -> dict[str, str]:
    """``[{name, value}]`` (CR), ``"k=v,k=v"`` (lm-eval) or a dict → dict."""
    if isinstance(args, list):
        return {str(a.get("name")): str(a.get("value")) for a in args
                if isinstance(a, dict) and a.get("name")}
    if isinstance(args, dict):
        return {str(k): str(v) for k, v in args.items()}
    if isinstance(args, str):
        out: dict[str, str] = {}
        for part in args.split(","):
            k, sep, v = part.partition("=")
            if sep:
                out[k.strip()] = v.strip()
        return out
    return {}


def redact_args(args: Any) -> str | None:
    """``model_args`` as text with secret values blanked (``tokenizer=`` is kept: a setting).

    >>> redact_args("pretrained=m,api_key=abc,tokenizer=t,hf_token=x")
    'pretrained=m,api_key=<redacted>,tokenizer=t,hf_token=<redacted>'
    """
    if args is None:
        return None
    text = args if isinstance(args, str) else json.dumps(args, sort_keys=True, default=str)
    if not isinstance(args, str):  # JSON: "api_key": "abc"
        return re.sub(r'(?i)("(?:[a-z_]*api_key|[a-z_]*token|password|secret)"\s*:\s*)"[^"]*"',
                      r'\1"<redacted>"', text)
    return _SECRET_ARG_RE.sub(r"\1<redacted>", text)


def gen_kwargs(cfg: dict[str, Any], doc: dict[str, Any], task: str) -> str | None:
    parts = {}
    if cfg.get("gen_kwargs"):
        parts["cli"] = cfg["gen_kwargs"]
    tcfg = mapping(mapping(doc.get("configs")).get(task))
    if tcfg.get("generation_kwargs"):
        parts["task"] = tcfg["generation_kwargs"]
    return json.dumps(parts, sort_keys=True, default=str) if parts else None


def file_timestamp(name: str) -> pd.Timestamp | None:
    """The timestamp in an lm-eval file name (``results_2025-01-25T04-48-43.622918.json``)."""
    m = _TS_RE.search(name)
    if not m:
        return None
    date, _, clock = m.group(1).partition("T")
    clock = clock.replace("-", ":", 2)
    try:
        return pd.Timestamp(f"{date}T{clock}", tz="UTC")
    except ValueError:
        return None


def unix_time(x: Any) -> pd.Timestamp | None:
    """A unix time (lm-eval's ``date``) as a UTC timestamp; None when unusable."""
    f = to_float(x)
    if f is None or not math.isfinite(f):
        return None
    try:
        return pd.Timestamp(dt.datetime.fromtimestamp(f, dt.UTC))
    except (OverflowError, OSError, ValueError):
        return None
