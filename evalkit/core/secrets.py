"""Secrets: the process-wide set of values that must never be shown, and redaction.

Every secret evalkit holds (tokens, header values, passwords in URLs) is registered here the
moment it enters (see :mod:`evalkit.core.auth`); :func:`redact` replaces each of them — and
anything that looks like a credential — in text that leaves evalkit: messages, log records,
snapshot files (:func:`contains_secret`).

Log records are scrubbed by a filter on every evalkit logger (:func:`get_logger`): a filter
on the ``evalkit`` logger alone would not reach records logged by its children.

>>> register("s3cr3t-marker-1")
>>> redact("failed with s3cr3t-marker-1 in header")
'failed with <redacted> in header'
>>> check_value("a\\nb", "$EVALKIT_PROMETHEUS_TOKEN")
Traceback (most recent call last):
...
evalkit.core.errors.ConfigError: $EVALKIT_PROMETHEUS_TOKEN holds a control character (line break or similar) inside the value; remove it (the value is not shown)
"""

from __future__ import annotations

import logging
import re
import threading

from .errors import ConfigError

_SECRETS: set[str] = set()
_LOCK = threading.Lock()
_PATTERNS = [
    (re.compile(r"(?i)(authorization\s*[:=]\s*)(bearer|basic)\s+[^\s'\",]+"), r"\1\2 <redacted>"),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 <redacted>"),
    (re.compile(r"(?i)([?&](?:access_token|token|api_key|apikey)=)[^&\s'\"]+"), r"\1<redacted>"),
    (re.compile(r"(?i)(https?://)[^/\s:@]+:[^/\s@]+@"), r"\1<redacted>@"),
]
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: header names whose values are credentials even when nobody registered them
SENSITIVE_HEADER = re.compile(r"(?i)(authorization|token|api[-_]?key|secret|password|cookie|"
                              r"x-scope-orgid|credential)")


def register(secret: str | None) -> None:
    """Remember ``secret`` so that :func:`redact` hides it (values under 4 characters are
    too short to search for safely and are not registered)."""
    if secret and len(secret) >= 4:
        with _LOCK:
            _SECRETS.add(secret)


def known() -> list[str]:
    """The registered secrets, longest first (for :func:`contains_secret` and redaction)."""
    with _LOCK:
        return sorted(_SECRETS, key=len, reverse=True)


def redact(text: object) -> str:
    """Return ``str(text)`` with every known secret and credential-looking part replaced.

    >>> redact("https://user:pw@host/x?token=abc")
    'https://<redacted>@host/x?token=<redacted>'
    """
    s = str(text)
    for secret in known():
        if secret in s:
            s = s.replace(secret, "<redacted>")
    for pat, repl in _PATTERNS:
        s = pat.sub(repl, s)
    return s


def contains_secret(data: bytes) -> bool:
    """True when ``data`` holds a registered secret (snapshots refuse to write it)."""
    return any(s.encode() in data for s in known())


def check_value(value: str, channel: str) -> str:
    """Refuse a secret holding a control character (a line break splits an HTTP header and
    would print the rest); the message names the ``channel`` — never the value. Returns the
    value without surrounding whitespace."""
    value = value.strip()
    if _CONTROL.search(value):
        raise ConfigError(f"{channel} holds a control character (line break or similar) inside "
                          "the value; remove it (the value is not shown)")
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs secrets from a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            try:
                record.msg = record.getMessage()
            except Exception:  # pragma: no cover - malformed log call
                record.msg = str(record.msg)
            record.args = None
        record.msg = redact(record.msg)
        return True


_FILTER = RedactingFilter()


def get_logger(name: str) -> logging.Logger:
    """The logger ``name`` with the redacting filter attached (every evalkit module gets its
    logger here, so every record passes the filter before any handler sees it)."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


get_logger("evalkit")
