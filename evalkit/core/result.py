"""The result convention: readers and analyses return a small object holding frames, the data
issues met on the way and a little metadata — never side data in ``DataFrame.attrs`` (pandas
drops ``attrs`` in ``concat``).

A subclass is a dataclass that lists its frames in ``_frames``; :class:`Result` gives it a
one-line ``repr`` and an HTML view for Jupyter (every text escaped).

>>> import pandas as pd
>>> from dataclasses import dataclass
>>> @dataclass(repr=False)
... class Demo(Result):
...     table: pd.DataFrame
...     _frames = ("table",)
>>> Demo(table=pd.DataFrame({"a": [1]}))
<Demo: table 1 row(s), 0 data issue(s)>
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import ClassVar

import pandas as pd

from . import frames


@dataclass(repr=False)
class Result:
    """Base of evalkit's result objects; subclasses add frames and metadata."""

    _frames: ClassVar[tuple[str, ...]] = ()
    issues: pd.DataFrame = field(default_factory=lambda: frames.empty("issues"), kw_only=True)

    def describe(self) -> str:
        """Extra text for the ``repr`` (subclasses override)."""
        return ""

    def __repr__(self) -> str:
        parts = []
        for name in self._frames:
            f = getattr(self, name, None)
            if isinstance(f, pd.DataFrame):
                parts.append(f"{name} {len(f)} row(s)")
        extra = self.describe()
        head = f"{type(self).__name__}" + (f" {extra}" if extra else "")
        return f"<{head}: {', '.join(parts + [f'{len(self.issues)} data issue(s)'])}>"

    def _repr_html_(self) -> str:  # pragma: no cover - Jupyter display
        out = [f"<p><code>{html.escape(repr(self))}</code></p>"]
        for name in (*self._frames, "issues"):
            f = getattr(self, name, None)
            if isinstance(f, pd.DataFrame) and len(f):
                out.append(f"<p><b>{html.escape(name)}</b></p>"
                           + f.head(20).to_html(index=False, escape=True))
        return "".join(out)

    @property
    def n_issues(self) -> int:
        return len(self.issues)
