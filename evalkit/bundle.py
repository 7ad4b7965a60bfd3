"""What a snapshot (or a results file or folder) holds, loaded once: one result per source.

:func:`load` opens a snapshot and asks every registered :class:`~evalkit.source.Source` to
read its part, through the snapshot's verified reader; a plain results file, folder, dict or
text gives LMEvalJob/lm-eval data only. Nothing here computes anything.

>>> import evalkit as ek
>>> b = ek.load(ek.demo_path())
>>> b.demo, b.lmeval.models, b.serving is not None
(True, ['mistral-24b', 'mistral-24b-quantized'], True)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .core import files, frames
from .core.errors import InputError
from .core.result import Result
from .core.snapshot import MANIFEST, open_snapshot
from .lmeval import LMEvalResult, load_lmeval
from .source import SOURCES, source_class


@dataclass(repr=False)
class Bundle(Result):
    """Every source's result from one place. ``issues`` holds problems of the container
    itself (modified or unlisted snapshot files); each source's own issues stay on its result
    and :func:`evalkit.analyze` merges them all."""

    lmeval: LMEvalResult
    serving: Any = None
    registry: Any = None
    guidellm: Any = None
    source: str = ""
    demo: bool = False
    manifest: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        have = [k for k in ("serving", "registry", "guidellm") if getattr(self, k) is not None]
        demo = ", DEMO DATA" if self.demo else ""
        return f"from {self.source!r}{demo}: lmeval{''.join(', ' + h for h in have)}"

    @property
    def models(self) -> list[str]:
        return self.lmeval.models


#: source key -> Bundle attribute
_ATTR = {"lmeval": "lmeval", "prometheus": "serving", "registry": "registry",
         "guidellm": "guidellm"}


def load(source: Any = None, *, samples: str | os.PathLike[str] | None = None,
         progress: bool | None = None) -> Bundle:
    """Load ``source`` — a snapshot folder (every source in it), an ``oc get lmevaljob`` dump,
    lm-eval results file or folder, a dict or text; ``None`` is the bundled demo snapshot.

    ``samples`` adds a folder of sample logs (see :func:`evalkit.load_lmeval`).
    """
    from ._resources import demo_path

    if source is None:
        source = demo_path()
    if isinstance(source, str | os.PathLike) and not _looks_like_text(source):
        path = Path(os.fspath(source)).expanduser()
        if files.kind_of(path) == "dir" and (path / MANIFEST).exists() and samples is None:
            return _load_snapshot(path)
    res = load_lmeval(source, samples=samples, progress=progress)
    return Bundle(lmeval=res, source=res.source, demo=res.demo, manifest=res.manifest)


def _looks_like_text(source: str | os.PathLike[str]) -> bool:
    return isinstance(source, str) and ("\n" in source or source.lstrip().startswith("{"))


def _load_snapshot(path: Path) -> Bundle:
    snap = open_snapshot(path)
    parts: dict[str, Any] = {}
    for key in SOURCES:
        try:
            cls = source_class(key)
        except ImportError:  # an optional source whose extra is not installed
            continue
        parts[_ATTR[key]] = cls.load(snap)
    lm = parts.pop("lmeval", None)
    if lm is None:
        raise InputError(f"{path}: the snapshot holds no LMEvalJob results "
                         f"({', '.join(sorted(snap.sources)) or 'no sources'}); nothing to "
                         "compare")
    return Bundle(lmeval=lm, source=str(path), demo=snap.demo, manifest=snap.manifest,
                  issues=frames.issues_frame(snap.issues), **parts)
