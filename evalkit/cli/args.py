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
