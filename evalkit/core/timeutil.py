"""Time helpers shared by every source: unix seconds, durations, RFC 3339 text.

>>> to_unix("2023-11-14T22:13:20Z"), to_seconds("1m30s"), iso_ms(1700000000000)
(1700000000.0, 90.0, '2023-11-14T22:13:20Z')
"""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pandas as pd


def utc_now() -> str:
    """The current UTC time as RFC 3339 with seconds (manifest timestamps)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_ISO_RE = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?"
                     r"(Z|[+-]\d{2}:?\d{2})?\Z")


def to_unix(t: float | int | str | dt.datetime | pd.Timestamp | np.datetime64) -> float:
    """Unix seconds from a number, a datetime (naive = UTC) or an RFC 3339 string.

    >>> to_unix("2023-11-14T22:13:20Z"), to_unix(1700000000)
    (1700000000.0, 1700000000.0)
    """
    if isinstance(t, bool):
        raise TypeError("a boolean is not a time")
    if isinstance(t, (int, float, np.integer, np.floating)):
        out = float(t)
        if not math.isfinite(out):
            raise ValueError(f"invalid time {t!r}: not a finite number")
        return out
    if isinstance(t, str):
        s = t.strip()
        try:
            return to_unix(float(s))
        except ValueError:
            pass
        if not _ISO_RE.match(s):
            raise ValueError(f"invalid time {t!r}: use RFC 3339 (2025-01-01T00:00:00Z) or unix "
                             "seconds")
        try:
            ts = pd.Timestamp(s)
        except (ValueError, OverflowError):
            raise ValueError(f"invalid time {t!r}: use RFC 3339 (2025-01-01T00:00:00Z) or unix "
                             "seconds") from None
    elif isinstance(t, (dt.datetime, np.datetime64, pd.Timestamp)):
        ts = pd.Timestamp(t)
    else:
        raise TypeError(f"cannot read a time from {type(t).__name__}")
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.value / 1e9


_DUR_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_DUR_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def to_seconds(step: float | int | str | dt.timedelta) -> float:
    """Seconds from a number, a ``timedelta`` or a duration string (``"15s"``, ``"1m30s"``).

    >>> to_seconds("1m30s"), to_seconds(15), to_seconds("250ms")
    (90.0, 15.0, 0.25)
    """
    if isinstance(step, dt.timedelta):
        out = step.total_seconds()
    elif isinstance(step, str):
        s = step.strip()
        try:
            out = float(s)
        except ValueError:
            parts = _DUR_PART.findall(s)
            if not parts or "".join(a + b for a, b in parts) != s:
                raise ValueError(f"invalid duration {step!r}; use seconds or e.g. '15s', '1m'") from None
            out = sum(float(a) * _DUR_S[b] for a, b in parts)
    else:
        out = float(step)
    if not out > 0 or math.isinf(out):
        raise ValueError(f"duration must be positive, got {step!r}")
    return out


def to_ms(x: float) -> int:
    """Whole milliseconds from unix seconds."""
    return int(round(x * 1000))


def step_to_ms(step: float | int | str | dt.timedelta) -> int:
    """A query step in whole milliseconds; ``ValueError`` unless it is > 0 and ≥ 1 ms
    (evalkit's time grid is in ms, like Prometheus' timestamps)."""
    sec = to_seconds(step)
    ms = to_ms(sec)
    if ms < 1:
        raise ValueError(f"step {step!r} is {sec:g} s: it must be at least 1ms (0.001 s)")
    return ms


def fmt_ms(ms: int) -> str:
    """Milliseconds as Prometheus' seconds text (``'1700000000.250'``)."""
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    return f"{sign}{ms // 1000}.{ms % 1000:03d}"


def iso_ms(ms: int) -> str:
    """Milliseconds as RFC 3339 UTC (``'2023-11-14T22:13:20Z'``)."""
    return pd.Timestamp(ms, unit="ms", tz="UTC").isoformat().replace("+00:00", "Z")
