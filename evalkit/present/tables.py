"""Tables people read: no row index, readable headers, text left-aligned and numbers
right-aligned with their unit, consistent decimals, and never a ``<NA>``, ``NaT`` or
``NoReason`` placeholder — an empty cell is an em dash. Every cell is escaped.

A column spec is ``(column, header, kind)`` with kind one of ``text``, ``int``, ``num``
(4 significant digits), ``pts`` (a 0–1 proportion shown in points, 1 decimal), ``pct`` (a
percentage, 1 decimal), ``p`` (a p-value), ``ratio`` (2 decimals, ×), ``usd`` (dollars),
``bool`` (yes/no), ``ts`` (a UTC timestamp to the minute).

>>> import pandas as pd
>>> html_table(pd.DataFrame({"task": ["arc<b>"], "delta": [-0.041]}),
...            [("task", "task", "text"), ("delta", "Δ (points)", "pts")])
'<table class="ek"><thead><tr><th>task</th><th class="num">Δ (points)</th></tr></thead><tbody><tr><td>arc&lt;b&gt;</td><td class="num">−4.1</td></tr></tbody></table>'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from .text import html

Spec = tuple[str, str, str]
_PLACEHOLDERS = {"", "nan", "none", "<na>", "nat", "noreason"}


def missing(v: Any) -> bool:
    """True for None, NaN, NA, NaT and the operator's ``NoReason`` placeholder."""
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if isinstance(v, str) and v.strip().lower() in _PLACEHOLDERS:
        return True
    try:
        return bool(pd.isna(v)) if not isinstance(v, list | tuple | dict) else False
    except (TypeError, ValueError):
        return False


def cell(v: Any, kind: str) -> str:
    """One value as text for a table (unescaped; :func:`html_table` escapes)."""
    if missing(v):
        return "—"
    try:
        if kind == "int":
            return f"{int(v):,}"
        if kind == "num":
            return f"{float(v):,.4g}"
        if kind == "pts":
            return f"{100 * float(v):+.1f}".replace("-", "−") if float(v) < 0 else \
                f"{100 * float(v):.1f}"
        if kind == "pct":
            return f"{float(v):.1f}"
        if kind == "p":
            p = float(v)
            return "< 0.001" if p < 0.001 else f"{p:.3f}"
        if kind == "ratio":
            return f"{float(v):.2f}×"
        if kind == "usd":
            return f"${float(v):,.3f}"
        if kind == "bool":
            return "yes" if bool(v) else "no"
        if kind == "ts":
            return pd.Timestamp(v).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError, OverflowError):
        return str(v)
    if isinstance(v, list | tuple):
        return ", ".join(map(str, v))
    return str(v)


def html_table(df: pd.DataFrame, columns: Sequence[Spec], *, caption: str | None = None,
               max_rows: int = 400) -> str:
    """``df`` as an escaped HTML table with the given column specs (missing columns are
    skipped); rows beyond ``max_rows`` are counted in a last row."""
    cols = [(c, h, k) for c, h, k in columns if c in df.columns]
    head = "".join(f'<th{_num(k)}>{html(h)}</th>' for _, h, k in cols)
    body = []
    for _, row in df.head(max_rows).iterrows():
        body.append("<tr>" + "".join(f"<td{_num(k)}>{html(cell(row[c], k))}</td>"
                                     for c, _, k in cols) + "</tr>")
    if len(df) > max_rows:
        body.append(f'<tr><td colspan="{len(cols)}">… {len(df) - max_rows:,} more rows '
                    "(all in the Parquet frames)</td></tr>")
    cap = f"<caption>{html(caption)}</caption>" if caption else ""
    return (f'<table class="ek">{cap}<thead><tr>{head}</tr></thead><tbody>'
            f'{"".join(body)}</tbody></table>')


def _num(kind: str) -> str:
    return "" if kind in ("text", "bool", "ts") else ' class="num"'
