"""Which registered model and version a served model is.

The rule (:func:`map_models`): the registered model whose name equals the served model name
(``spec.modelArgs.model`` of the LMEvalJob, ``model_name`` in vLLM metrics), and its LATEST
version: the ``LIVE`` version with the newest ``createTimeSinceEpoch`` (ties: the higher id);
archived versions are never picked by default. Override per served name with
``"REGISTERED:VERSION"`` (the version name after the LAST colon), ``"REGISTERED"`` (its latest
version), a ``(registered, version)`` pair, or a callable ``served -> any of those`` (``None``:
the default rule).

>>> parse_target("mistral-24b:1.0"), parse_target("granite")
(('mistral-24b', '1.0'), ('granite', None))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..core import frames
from ..core.errors import InputError
from ..core.result import Result
from .parse import SOURCE, RegistryResult

Target = tuple[str, str | None]
MappingLike = Mapping[str, Any] | Callable[[str], Any] | None


def parse_target(text: str) -> Target:
    """``"REGISTERED:VERSION"`` → ``(registered, version)``; ``"REGISTERED"`` → latest.

    >>> parse_target("org:model:v2")
    ('org:model', 'v2')
    """
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"registry target {text!r}: expected REGISTERED[:VERSION]")
    text = text.strip()
    if ":" not in text:
        return text, None
    model, _, version = text.rpartition(":")
    if not model.strip() or not version.strip():
        raise InputError(f"registry target {text!r}: expected REGISTERED[:VERSION] with both "
                         "parts non-empty")
    return model.strip(), version.strip()


def as_target(value: Any, served: str) -> Target:
    """One override value as ``(registered, version or None)`` (``None``: the default rule)."""
    if value is None:
        return served, None
    if isinstance(value, str):
        return parse_target(value)
    if isinstance(value, list | tuple) and len(value) == 2 and isinstance(value[0], str):
        version = value[1]
        if version is not None and not isinstance(version, str):
            raise InputError(f"registry target for {served!r}: version must be a string or None")
        return value[0], version
    raise InputError(f"registry target for {served!r}: {value!r} is not 'REGISTERED[:VERSION]' "
                     "or a (registered, version) pair")


def check_mapping(mapping: MappingLike) -> MappingLike:
    """Validate a mapping's values before any network call (callables are checked when
    called)."""
    if mapping is None or callable(mapping):
        return mapping
    if not isinstance(mapping, Mapping):
        raise InputError("versions/mapping: expected {served name: 'REGISTERED[:VERSION]' or "
                         "(registered, version)}")
    return {str(k): as_target(v, str(k)) for k, v in mapping.items()}


def target_for(served: str, mapping: MappingLike) -> Target:
    """The ``(registered, version or None)`` a served name maps to."""
    if mapping is None:
        return served, None
    if callable(mapping):
        return as_target(mapping(served), served)
    return as_target(mapping.get(served), served)


def latest(versions: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The version the default rule picks among ``versions`` (REST docs or frame rows with
    ``state``, ``id``/``version_id`` and ``createTimeSinceEpoch``/``created_at``).

    >>> latest([{"id": "2", "state": "LIVE", "createTimeSinceEpoch": "5"},
    ...         {"id": "4", "state": "ARCHIVED", "createTimeSinceEpoch": "9"}])["id"]
    '2'
    """
    def key(v: Mapping[str, Any]) -> tuple[int, int]:
        created = v.get("createTimeSinceEpoch")
        if created is None and v.get("created_at") is not None and not pd.isna(v["created_at"]):
            created = pd.Timestamp(v["created_at"]).value // 1_000_000
        vid = str(v.get("id", v.get("version_id", "")))
        return (int(created) if str(created).lstrip("-").isdigit() else -1,
                int(vid) if vid.isdigit() else -1)

    live = [v for v in versions if str(v.get("state") or "LIVE") == "LIVE"]
    return max(live, key=key) if live else None


@dataclass(repr=False)
class ModelMapping(Result):
    """:func:`map_models`'s answer: ``table`` has one row per served model — ``served_model,
    registered_model, version, version_id, rule`` (``version_id`` empty when unresolved) —
    and ``issues`` says why a name did not resolve."""

    table: pd.DataFrame
    _frames = ("table",)

    def target(self, served: str) -> tuple[str, str] | None:
        """``(registered model, version)`` of ``served``, or ``None`` when unresolved."""
        rows = self.table[(self.table["served_model"] == served)
                          & self.table["version_id"].notna()]
        if rows.empty:
            return None
        return str(rows.iloc[0]["registered_model"]), str(rows.iloc[0]["version"])


def map_models(served: Iterable[str], registry: RegistryResult, *,
               mapping: MappingLike = None) -> ModelMapping:
    """Map served model names to registered models and versions in ``registry`` (see the
    module docstring for the rule). ``mapping`` defaults to the one a pull recorded
    (``registry.mapping``). Names that do not resolve are data issues, never guesses.

    >>> import evalkit as ek
    >>> m = map_models(["mistral-24b"], ek.load().registry)
    >>> m.table[["served_model", "registered_model", "version", "rule"]].values.tolist()
    [['mistral-24b', 'mistral-24b', '1.0', 'same name, latest version']]
    """
    mapping = check_mapping(registry.mapping if mapping is None else mapping)
    versions = registry.versions
    rows, issues = [], []
    for name in dict.fromkeys(str(s) for s in served):
        model, version = target_for(name, mapping)
        rule = ("same name" if model == name else "mapped") + (
            ", latest version" if version is None else ", named version")
        cand = versions[versions["registered_model"] == model]
        row = {"served_model": name, "registered_model": model, "version": version,
               "version_id": None, "rule": rule}
        if cand.empty:
            known = sorted(str(m) for m in registry.models["registered_model"].dropna())
            issues.append(frames.issue(SOURCE, name, "warning",
                                       f"no registered model {model!r} for served model {name!r}"
                                       f" (registered: {', '.join(known) or 'none read'}); map "
                                       "it with NAME=REGISTERED[:VERSION]"))
        elif version is None:
            pick = latest(cand.to_dict("records"))
            if pick is None:
                issues.append(frames.issue(SOURCE, name, "warning",
                                           f"registered model {model!r} has no LIVE version; "
                                           "name one with NAME=REGISTERED:VERSION"))
            else:
                row.update(version=pick["version"], version_id=pick["version_id"])
        else:
            hit = cand[cand["version"] == version]
            if hit.empty:
                issues.append(frames.issue(SOURCE, name, "warning",
                                           f"registered model {model!r} has no version "
                                           f"{version!r} (versions: "
                                           f"{', '.join(map(str, cand['version']))})"))
            else:
                row["version_id"] = hit.iloc[0]["version_id"]
        rows.append(row)
    table = pd.DataFrame(rows, columns=["served_model", "registered_model", "version",
                                        "version_id", "rule"], dtype="object")
    return ModelMapping(table=table, issues=frames.issues_frame(issues))
