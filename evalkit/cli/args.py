"""Argument types for the command line: each checks one kind of value the moment argparse
reads it, so a bad flag is one line and exit 2 before anything runs.

>>> margin("0.02"), confidence("0.9"), duration("30s")
(0.02, 0.9, '30s')
>>> model_selector('m=namespace="ns",pod=~"m-predictor.*"')[0]
'm'
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from ..core import secrets
from ..core.errors import ConfigError


def margin(text: str) -> float:
    """A non-inferiority margin on the 0–1 scale: a finite number ≥ 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (0.02 = 2 points)") from None
    if not (math.isfinite(v) and v >= 0):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number >= 0 "
                                         "(0.02 = 2 points)")
    return v


def confidence(text: str) -> float:
    """An interval level strictly between 0 and 1."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number, e.g. 0.95") from None
    if not 0.0 < v < 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 1, e.g. 0.95")
    return v


def duration(text: str) -> str:
    """A positive duration (``30s``, ``1m``, ``250ms`` or seconds)."""
    from ..core.timeutil import step_to_ms

    try:
        step_to_ms(text)
    except (ValueError, TypeError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def time(text: str) -> float:
    """A point in time: RFC 3339 or unix seconds."""
    from ..core.timeutil import to_unix

    try:
        return to_unix(text)
    except (ValueError, TypeError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def model_selector(text: str) -> tuple[str, str]:
    """``NAME=SELECTOR`` with a PromQL label selector that parses."""
    from .. import promql

    name, sep, selector = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=SELECTOR, e.g. "
                                         "m='namespace=\"ns\",pod=~\"m-predictor.*\"'")
    try:
        promql.parse_selector(selector)
    except (ValueError, TypeError) as exc:
        raise argparse.ArgumentTypeError(f"the selector of {name!r}: {exc}") from None
    return name, selector


def header(text: str) -> tuple[str, str]:
    """``'NAME: VALUE'``; the value is a secret from here on (never printed or recorded)."""
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not name or any(c.isspace() for c in name):
        raise argparse.ArgumentTypeError("expected 'NAME: VALUE' (the value is not shown)")
    try:
        value = secrets.check_value(value, f"--prometheus-header {name}")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    secrets.register(value)
    return name, value


def namespace(text: str) -> str:
    """A Kubernetes namespace name (RFC 1123 label: lower-case letters, digits and ``-``, at
    most 63 characters) — checked here so a typo never reaches the API as a path.

    >>> namespace("private-ai-demo")
    'private-ai-demo'
    """
    import re

    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a namespace name (lower-case "
                                         "letters, digits and '-', at most 63 characters)")
    return text


def folder(text: str) -> str:
    """A path that is a folder or does not exist yet (never a file)."""
    from ..core.files import kind_of

    kind = kind_of(Path(text).expanduser())
    if kind not in ("missing", "dir"):
        raise argparse.ArgumentTypeError(f"{text} is a {kind}, not a folder")
    return text


def existing_folder(text: str) -> str:
    from ..core.files import kind_of

    if kind_of(Path(text).expanduser()) != "dir":
        raise argparse.ArgumentTypeError(f"{text} is not a folder")
    return text


def source(text: str) -> str:
    """A path to a file or folder that exists (JSON text is not a path)."""
    from ..core.files import kind_of

    if text.lstrip().startswith(("{", "[")) or "\n" in text:
        raise argparse.ArgumentTypeError("expects a path to a file or folder, not JSON text; "
                                         "save it to a file first")
    kind = kind_of(Path(text).expanduser())
    if kind not in ("file", "dir"):
        what = "does not exist" if kind == "missing" else f"is a {kind}"
        raise argparse.ArgumentTypeError(f"{text} {what}; pass an `oc get lmevaljob -o json` "
                                         "dump, an lm-eval results file or folder, or a "
                                         "snapshot")
    return text


def token_file(text: str) -> str:
    """A readable file (its content is checked when it is wrapped, never printed)."""
    from ..core.files import kind_of

    if kind_of(Path(text).expanduser()) != "file":
        raise argparse.ArgumentTypeError(f"{text} is not a readable file")
    return text


def existing_path(text: str) -> str:
    """A regular file or a folder that exists."""
    from ..core.files import kind_of

    kind = kind_of(Path(text).expanduser())
    if kind not in ("file", "dir"):
        what = "does not exist" if kind == "missing" else f"is a {kind}"
        raise argparse.ArgumentTypeError(f"{text} {what}; pass a file or a folder")
    return text


def existing_file(text: str) -> str:
    """A path to a regular file that exists."""
    from ..core.files import kind_of

    kind = kind_of(Path(text).expanduser())
    if kind != "file":
        raise argparse.ArgumentTypeError(f"{text} is not a file ({kind})")
    return text


def percent(text: str) -> float:
    """A percentage between 0 and 1000 (recovery may exceed 100)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number, e.g. 98") from None
    if not (math.isfinite(v) and 0 <= v <= 1000):
        raise argparse.ArgumentTypeError(f"{text!r} must be a percentage, e.g. 98")
    return v


def config_defaults(sub: argparse.ArgumentParser, path: str) -> dict[str, object]:
    """Defaults for ``sub``'s flags from a YAML/JSON file ``{flag name: value}``: each value
    goes through the flag's own check (``type=``), so a config file is validated exactly like
    the command line; unknown keys, inline tokens and wrong shapes are an error naming the key.

    A flag that takes ``NAME=VALUE`` and repeats (``--model``, ``--registry-model``) takes a
    mapping; other repeatable flags a list; switches ``true``/``false``.
    """
    import yaml

    from ..core.errors import InputError
    from ..core.files import read_document

    class NoAliases(yaml.SafeLoader):  # aliases make "billion laughs" bombs; configs need none
        def compose_node(self, parent: object, index: object) -> object:
            if self.check_event(yaml.events.AliasEvent):
                raise yaml.YAMLError("YAML aliases (*name) are not accepted")
            return super().compose_node(parent, index)  # type: ignore[arg-type]

    try:
        doc = yaml.load(read_document(Path(path).expanduser(), limit=1 << 20),  # noqa: S506
                        Loader=NoAliases)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"--config {path}: not YAML ({first})") from None
    except (RecursionError, ValueError, TypeError) as exc:  # too deep, an integer too long
        raise InputError(f"--config {path}: not a usable config file "
                         f"({type(exc).__name__}: {str(exc)[:100]})") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InputError(f"--config {path}: expected a mapping of flag names to values")
    actions = {a.dest: a for a in sub._actions if a.option_strings}  # noqa: SLF001 - argparse
    for a in list(actions.values()):
        for opt in a.option_strings:
            actions.setdefault(opt.lstrip("-").replace("-", "_"), a)
    out: dict[str, object] = {}
    for key, value in doc.items():
        name = str(key).replace("-", "_")
        if "token" in name and not name.endswith("token_file"):
            raise InputError(f"--config {path}: {key}: tokens are not read from a config "
                             "file; give a *-token-file path or an environment variable")
        action = actions.get(name)
        if action is None or name in ("config", "help"):
            known = sorted(k.replace("_", "-") for k in actions if k not in ("config", "help"))
            raise InputError(f"--config {path}: unknown key {key!r}; known: {', '.join(known)}")
        try:
            out[action.dest] = _config_value(action, value)
        except (argparse.ArgumentTypeError, ValueError, TypeError) as exc:
            raise InputError(f"--config {path}: {key}: {exc}") from None
    return out


def _config_value(action: argparse.Action, value: object) -> object:
    conv = action.type or str
    if isinstance(action, argparse._StoreTrueAction):  # noqa: SLF001 - argparse
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if isinstance(action, argparse._AppendAction):  # noqa: SLF001 - argparse
        if isinstance(value, dict):
            items = [f"{k}={v}" for k, v in value.items()]
        elif isinstance(value, list):
            items = [str(v) for v in value]
        else:
            items = [str(value)]
        return [conv(x) for x in items]  # type: ignore[operator]
    if isinstance(value, dict | list):
        raise ValueError("expected a single value")
    result = conv(str(value))  # type: ignore[operator]
    if action.choices is not None and result not in action.choices:
        raise ValueError(f"{value!r} is not one of {', '.join(map(str, action.choices))}")
    return result


def check_auth(url: Any, token_file: str | None, env_prefix: str, service_account: bool,
               flag: str) -> None:
    """Resolve the credential an endpoint will get — refusing a token with a control
    character, or the service-account token over plain http — without sending anything."""
    from ..core.auth import TokenFile, resolve_auth
    from ..core.errors import ConfigError
    from ..core.settings import check_url

    if not isinstance(url, str) or not url:
        return
    url = check_url(url, flag.lstrip("-"))
    auth = resolve_auth(TokenFile(token_file) if token_file else None, env_prefix=env_prefix,
                        service_account=service_account)
    if service_account and auth is None:
        raise ConfigError(f"{flag}-service-account: there is no service-account token (evalkit "
                          "is not running in a pod); pass a token file instead")
    if auth is not None:
        auth.check_url(url)
