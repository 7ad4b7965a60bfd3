"""The Source interface: what every data source (LMEvalJobs, Prometheus, the Model Registry,
GuideLLM reports, ...) implements, so that adding a source is adding one folder.

A source is configured with its connection settings and answers three questions:

- :meth:`Source.pull` — fetch its raw answers and write them, untouched, into a snapshot
  (:class:`~evalkit.core.snapshot.SnapshotWriter`), describing where they came from;
- :meth:`Source.load` — read them back from a snapshot into a result object (frames + issues),
  with the same parser a live call uses; ``None`` when the snapshot holds nothing of it;
- :meth:`Source.check` — can it be reached, with the permissions it needs (for ``doctor``).

:data:`SOURCES` names every source; :func:`source_class` imports one on demand, so
``import evalkit`` stays light.

>>> sorted(SOURCES)
['guidellm', 'lmeval', 'prometheus', 'registry']
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar

from .core.result import Result
from .core.snapshot import Snapshot, SnapshotWriter

#: source key -> "module:Class" (the key is also the manifest's ``sources`` entry)
SOURCES: dict[str, str] = {
    "lmeval": "evalkit.lmeval.source:LMEvalSource",
    "prometheus": "evalkit.prometheus.source:PrometheusSource",
    "registry": "evalkit.registry.source:RegistrySource",
    "guidellm": "evalkit.guidellm.source:GuideLLMSource",
}


@dataclass
class Check:
    """One reachability or permission check: what was tried and whether it worked."""

    source: str
    what: str
    ok: bool
    message: str = ""


class Source:
    """Base class of every source (see the module docstring)."""

    key: ClassVar[str] = ""

    def pull(self, writer: SnapshotWriter) -> dict[str, Any]:
        """Write raw answers into ``writer`` and return the manifest entry it added."""
        raise NotImplementedError

    @classmethod
    def load(cls, snapshot: Snapshot) -> Result | None:
        """The source's result from ``snapshot``; ``None`` when it holds nothing of it."""
        raise NotImplementedError

    def check(self) -> list[Check]:
        """Reachability and permission checks (nothing is written)."""
        return []

    def describe(self) -> str:
        return self.key


def source_class(key: str) -> type[Source]:
    """The class registered for ``key`` (imported on first use)."""
    try:
        target = SOURCES[key]
    except KeyError:
        raise KeyError(f"unknown source {key!r}; one of {sorted(SOURCES)}") from None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
