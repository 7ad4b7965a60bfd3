"""Text from input is data, never markup: one place that escapes it for every medium it lands
in, and the number formats every table and sentence shares.

- :func:`md` — Markdown (and the HTML it becomes): HTML special characters become entities,
  Markdown punctuation is backslash-escaped (no heading, emphasis, link or ``javascript:`` URL
  can be forged), ``$`` cannot start maths, line breaks become spaces;
- :func:`html` — HTML text and attribute values;
- :func:`mpl` — matplotlib text: ``$`` is escaped so a name never turns into mathtext (evalkit's
  figures also switch mathtext off, see :mod:`evalkit.present.plots.theme`).

>>> md("arc<script>alert(1)</script>")
'arc&lt;script&gt;alert\\\\(1\\\\)&lt;/script&gt;'
>>> md("# SAFE TO SHIP [x](javascript:alert(1))")
'\\\\# SAFE TO SHIP \\\\[x\\\\]\\\\(javascript\\\\:alert\\\\(1\\\\)\\\\)'
>>> mpl("cost $5$")
'cost \\\\$5\\\\$'
"""

from __future__ import annotations

import html as _html
import math
import re
from typing import Any

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$>:])")
_WS = re.compile(r"[\r\n\t\x0b\x0c]+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def md(value: Any) -> str:
    """``value`` as literal Markdown text (safe inside paragraphs, list items and emphasis)."""
    s = _CONTROL.sub("", _WS.sub(" ", str(value)))
    s = _html.escape(s, quote=True)
    # entities contain '&' and ';' only; escape Markdown punctuation around them
    return _MD_SPECIAL.sub(r"\\\1", s)


def html(value: Any) -> str:
    """``value`` as HTML text or a quoted attribute value."""
    return _html.escape(_CONTROL.sub("", str(value)), quote=True)


def mpl(value: Any) -> str:
    """``value`` as matplotlib text that never becomes mathtext."""
    return str(value).replace("$", r"\$")


def points(x: float, signed: bool = True, digits: int = 1) -> str:
    """A 0–1 proportion as percentage points with a real minus sign (``−4.1``); ``n/a`` for
    NaN.

    >>> points(-0.0412), points(0.5, signed=False)
    ('−4.1', '50.0')
    """
    if x is None or not isinstance(x, int | float) or not math.isfinite(x):
        return "n/a"
    v = 100.0 * x
    s = f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"
    return s.replace("-", "−")


def number(x: Any, digits: int = 4) -> str:
    """A readable number (``—`` for missing), ``digits`` significant digits, thousands split.

    >>> number(1234.5678), number(float("nan")), number(0.000123456)
    ('1,235', '—', '0.0001235')
    """
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(v):
        return "—"
    return f"{v:,.{digits}g}"
