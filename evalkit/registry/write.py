"""Writing evaluation results to model versions without losing a property:
:func:`publish_scores`.

A ``PATCH`` of ``customProperties`` REPLACES the whole map on the server, and there is no
locking (no ETag, no ``If-Match``). So, per version:

1. every target is resolved and every version is read (``GET``) BEFORE anything is written: a
   failed read writes nothing anywhere;
2. the new properties are merged into the map read, every existing value kept exactly as read
   (struct values included: :func:`evalkit.registry.values.writable`); a version whose map
   would not change gets NO ``PATCH``;
3. just before the ``PATCH`` the version is read again; when ``lastUpdateTimeSinceEpoch``
   moved, the merge is redone on the fresh map (up to ``max_merges`` times);
4. the full merged map is sent, then the version is re-read and every key compared.

The window that remains: a writer whose change lands between step 3's read and our ``PATCH``
(one round trip, milliseconds) is overwritten, and a writer that read before our ``PATCH`` and
writes after it drops our keys; step 4 catches the second case only when it has happened by
then. Re-running is safe: the merge is idempotent. Run one publisher per version at a time.

>>> publish_scores("https://mr-rest.apps.example.com", scores,             # doctest: +SKIP
...                versions={"mistral-24b-quantized": ("mistral-24b-quantized", "1.0")},
...                dry_run=True).table()
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..core import frames
from ..core.errors import HTTPError, InputError, NotFoundError, UnknownModelError
from ..core.result import Result
from . import values
from .client import RegistryClient
from .mapping import MappingLike, check_mapping, latest, target_for
from .parse import SOURCE
from .scores import score_properties

PLAN_COLUMNS = ["served_model", "registered_model", "version", "version_id", "property",
                "action", "type", "old", "new"]
VERSION_COLUMNS = ["served_model", "registered_model", "version", "version_id", "changes",
                   "patched", "verified", "merges"]


@dataclass(repr=False)
class PublishResult(Result):
    """What :func:`publish_scores` did (or, with ``dry_run``, would do).

    ``plan``: one row per version and property written (:data:`PLAN_COLUMNS`; ``action`` is
    ``add``, ``update``, ``unchanged`` or ``skip``; ``old``/``new`` decoded values).
    ``versions``: one row per target version (:data:`VERSION_COLUMNS`: ``patched`` whether a
    PATCH was sent, ``verified`` whether the re-read matched, ``merges`` how many times the
    merge was redone because the version moved).
    """

    plan: pd.DataFrame
    versions: pd.DataFrame
    dry_run: bool = False
    url: str = ""
    api: str = ""
    requests: int = 0
    _frames = ("plan", "versions")

    def describe(self) -> str:
        return f"{self.url} ({self.api}){' DRY RUN' if self.dry_run else ''}"

    @property
    def ok(self) -> bool:
        """No version skipped and every PATCH verified."""
        v = self.versions
        return not (self.issues["severity"] == "error").any() and bool(
            (~v["patched"].astype(bool) | v["verified"].astype(bool)).all())

    def table(self, *, all_rows: bool = False) -> str:
        """The plan as a plain-text table (``unchanged`` rows left out unless ``all_rows``)."""
        head = (f"model registry {self.url} ({self.api})"
                + (": DRY RUN, nothing written" if self.dry_run else ""))
        plan = self.plan if all_rows else self.plan[self.plan["action"] != "unchanged"]
        lines = [head]
        for row in self.versions.itertuples():
            state = ("would PATCH" if self.dry_run else "PATCHed") if row.changes else \
                "unchanged: no PATCH"
            if row.patched and not row.verified:
                state += ", VERIFICATION FAILED"
            lines.append(f"{_show(row.registered_model)}:{_show(row.version)} (id {row.version_id},"
                         f" served as {_show(row.served_model)}): {row.changes} change(s), {state}")
        if len(plan):
            shown = plan[["registered_model", "version", "property", "action", "type", "old",
                          "new"]].map(_show)
            lines.append(shown.to_string(index=False))
        for r in self.issues.itertuples():
            lines.append(f"{r.severity}: {_show(r.object)}: {_show(r.message, 300)}")
        return "\n".join(lines)


def _show(value: Any, width: int = 60) -> str:
    """A cell for a terminal: control characters escaped, long text cut."""
    if value is None or (not isinstance(value, dict | list | str) and pd.isna(value)):
        return "-"
    text = value if isinstance(value, str) else repr(value)
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass
class _Target:
    served: str
    model: str
    version: str
    version_id: str
    wanted: dict[str, dict[str, Any]]
    current: dict[str, Any]
    last_update: str | None
    rows: list[dict[str, Any]]
    merged: dict[str, Any] | None
    changes: int
    patched: bool = False
    verified: bool = False
    merges: int = 0


def publish_scores(url: Any, scores: pd.DataFrame, *, versions: MappingLike = None,
                   prefix: str = "eval_", include_stderr: bool = True, dry_run: bool = False,
                   models: Iterable[str] | None = None, source: str | None = None,
                   token: Any = None, token_file: str | os.PathLike[str] | None = None,
                   ca_bundle: str | os.PathLike[str] | None = None, insecure: bool = False,
                   base_path: str | None = None, service_account: bool = False,
                   max_merges: int = 3, **http_kw: Any) -> PublishResult:
    """Write each model's latest eval results onto its model version (see the module
    docstring for the merge and :mod:`evalkit.registry.scores` for the properties).

    Parameters
    ----------
    url : registry REST root or a ``model_registry.ModelRegistry`` instance (see
        :func:`~evalkit.registry.read_versions`).
    scores : evalkit's ``scores`` frame (``evalkit.load(...).lmeval.scores``).
    versions : served model → ``"REGISTERED:VERSION"``, ``(registered, version)``,
        ``"REGISTERED"`` (latest version) or a callable; default: the registered model named
        like the served model, latest LIVE version (:mod:`evalkit.registry.mapping`).
    models : the served models to publish (default: the keys of a ``versions`` dict, else every
        model in ``scores``).
    prefix, include_stderr : property names (``<prefix><task>_<metric>,<filter>``) and whether
        to write the ``_stderr`` twins.
    dry_run : read and plan, write nothing; ``.table()`` shows the plan.
    source : where the scores came from, recorded in ``<prefix>provenance``.

    Returns a :class:`PublishResult`. Raises before any write when a target cannot be resolved
    or read; a failure later names the versions already written.
    """
    frames.validate(scores, "scores")
    mapping = check_mapping(versions)
    present = sorted({str(m) for m in scores["model"].dropna()})
    names = _models(models, mapping, present)
    if not isinstance(max_merges, int) or max_merges < 1:
        raise InputError("max_merges must be a positive integer")
    wanted = score_properties(scores[scores["model"].isin(names)], prefix=prefix,
                              include_stderr=include_stderr, source=source)
    issues: list[dict[str, str]] = [i for _, (_, part) in sorted(wanted.items()) for i in part]
    with RegistryClient(url, token=token, token_file=token_file, ca_bundle=ca_bundle,
                        insecure=insecure, base_path=base_path, service_account=service_account,
                        **http_kw) as client:
        targets = _resolve(client, names, mapping, {m: p for m, (p, _) in wanted.items()})
        for t in targets:  # every read before any write
            _, doc = client.get(f"model_versions/{t.version_id}")
            _plan(t, doc, issues)
        if not dry_run:
            _write_all(client, targets, issues, max_merges)
        plan = pd.DataFrame([r for t in targets for r in t.rows], columns=PLAN_COLUMNS,
                            dtype="object")
        vers = pd.DataFrame([{"served_model": t.served, "registered_model": t.model,
                              "version": t.version, "version_id": t.version_id,
                              "changes": t.changes, "patched": t.patched, "verified": t.verified,
                              "merges": t.merges} for t in targets], columns=VERSION_COLUMNS)
        return PublishResult(plan=plan, versions=vers, dry_run=dry_run, url=client.url,
                             api=str(client.api), requests=client.requests,
                             issues=frames.issues_frame(issues))


def _models(models: Iterable[str] | None, mapping: MappingLike, present: list[str]) -> list[str]:
    if models is not None:
        names = [models] if isinstance(models, str) else [str(m) for m in models]
    elif isinstance(mapping, dict):
        names = list(mapping)
    else:
        names = present
    if not names:
        raise InputError("no scores to publish: the scores frame holds no model")
    for name in names:
        if name not in present:
            raise UnknownModelError(f"model {name!r} is not in the scores; models present: "
                                    f"{', '.join(present) or '(none)'}")
    return list(dict.fromkeys(names))


def _resolve(client: RegistryClient, names: list[str], mapping: MappingLike,
             wanted: dict[str, dict[str, dict[str, Any]]]) -> list[_Target]:
    """Registered model and version of every served model; all problems in one error."""
    problems, targets = [], []
    for served in names:
        model, version = target_for(served, mapping)
        found = client.find("registered_model", {"name": model})
        if found is None:
            problems.append(f"no registered model {model!r} (for served model {served!r})")
            continue
        rm_id = str(found[1].get("id"))
        if version is not None:
            hit = client.find("model_version", {"name": version, "parentResourceId": rm_id})
            if hit is None:
                problems.append(f"registered model {model!r} has no version {version!r}")
                continue
            doc = hit[1]
        else:
            items = [i for _, _, page in client.pages(f"registered_models/{rm_id}/versions")
                     for i in page.get("items") or []]
            doc = latest(items)
            if doc is None:
                problems.append(f"registered model {model!r} has no LIVE version; name one "
                                f"({served}={model}:VERSION)")
                continue
        targets.append(_Target(served, model, str(doc.get("name")), str(doc.get("id")),
                               wanted.get(served, {}), {}, None, [], None, 0))
    if problems:
        raise NotFoundError(f"model registry at {client.url}: {'; '.join(problems)}. Map served "
                            "models with versions={served: 'REGISTERED:VERSION'} (command line: "
                            "--registry-model NAME=REGISTERED:VERSION). Nothing was written.",
                            endpoint=client.url, status=404, cause="target not found")
    seen: dict[str, str] = {}
    for t in targets:
        if t.version_id in seen:
            raise InputError(f"served models {seen[t.version_id]!r} and {t.served!r} both map to "
                             f"{t.model}:{t.version}; map them to different versions")
        seen[t.version_id] = t.served
    return targets


def _plan(t: _Target, doc: Any, issues: list[dict[str, str]]) -> None:
    """Merge ``t.wanted`` into the map in ``doc``; fill ``t.rows``, ``t.merged``, ``t.changes``."""
    label = f"{t.model}:{t.version}"
    current = doc.get("customProperties") if isinstance(doc, dict) else None
    t.last_update = doc.get("lastUpdateTimeSinceEpoch") if isinstance(doc, dict) else None
    t.rows, t.merged, t.changes = [], None, 0
    ident = {"served_model": t.served, "registered_model": t.model, "version": t.version,
             "version_id": t.version_id}
    if current is None:
        current = {}
    if not isinstance(current, dict):
        issues.append(frames.issue(SOURCE, label, "error", "customProperties is not an object; "
                                   "version skipped, nothing written to it"))
        return
    t.current = current
    merged: dict[str, Any] = {}
    for key, typed in current.items():
        try:
            merged[key] = values.writable(typed)
        except ValueError as exc:
            issues.append(frames.issue(SOURCE, label, "error",
                                       f"property {key!r} cannot be written back ({exc}); a "
                                       "PATCH would fail or delete it: version skipped, nothing "
                                       "written to it"))
            t.rows = [{**ident, "property": k, "action": "skip", "type": None, "old": None,
                       "new": values.decode(v)[1]} for k, v in sorted(t.wanted.items())]
            return
    for key, typed in sorted(t.wanted.items()):
        old = current.get(key)
        kind, new, _ = values.decode(typed)
        if old is not None and values.same(old, typed):
            action = "unchanged"
        else:
            action = "add" if old is None else "update"
            merged[key] = typed
            t.changes += 1
        t.rows.append({**ident, "property": key, "action": action, "type": kind,
                       "old": _decoded(old), "new": new})
    t.merged = merged


def _decoded(typed: Any) -> Any:
    if typed is None:
        return None
    try:
        return values.decode(typed)[1]
    except ValueError:
        return values.canonical(typed)


def _write_all(client: RegistryClient, targets: list[_Target], issues: list[dict[str, str]],
               max_merges: int) -> None:
    for t in targets:
        if t.merged is None or not t.changes:
            continue
        try:
            _write_one(client, t, issues, max_merges)
        except HTTPError as exc:
            done = [f"{o.model}:{o.version}" for o in targets if o.patched]
            left = [f"{o.model}:{o.version}" for o in targets
                    if o.merged is not None and o.changes and not o.patched]
            written = f"PATCHed: {', '.join(done)}" if done else "nothing PATCHed"
            exc.args = (f"{exc} [{written}; not written: {', '.join(left) or 'none'}; "
                        "re-running is safe: it writes only what differs]",)
            raise


def _write_one(client: RegistryClient, t: _Target, issues: list[dict[str, str]],
               max_merges: int) -> None:
    label = f"{t.model}:{t.version}"
    planned = t.last_update
    for attempt in range(max_merges + 1):
        _, fresh = client.get(f"model_versions/{t.version_id}", writing=True)
        moved = not isinstance(fresh, dict) or fresh.get("lastUpdateTimeSinceEpoch") != planned
        if not moved:
            break
        if attempt == max_merges:
            raise HTTPError(f"model registry at {client.url}: {label} changed {max_merges + 1} "
                            "times while evalkit merged; not written. Retry when the other "
                            "writer is done.", endpoint=client.url, cause="concurrent writes")
        t.merges += 1
        _plan(t, fresh, issues)
        planned = t.last_update
        if t.merged is None or not t.changes:
            return
    assert t.merged is not None
    client.patch_version(t.version_id, t.merged)
    t.patched = True
    _, back = client.get(f"model_versions/{t.version_id}", writing=True)
    got = back.get("customProperties") if isinstance(back, dict) else None
    got = got if isinstance(got, dict) else {}
    wrong = sorted(k for k, v in t.merged.items() if not values.same(got.get(k), v))
    extra = sorted(set(got) - set(t.merged))
    t.verified = not wrong
    if wrong:
        issues.append(frames.issue(SOURCE, label, "error",
                                   f"read back after the PATCH, {len(wrong)} propert(ies) differ "
                                   f"from what was sent ({', '.join(wrong[:5])}): another writer "
                                   "may have raced; re-run to repair"))
    if extra:
        issues.append(frames.issue(SOURCE, label, "warning",
                                   f"read back after the PATCH, {', '.join(extra[:5])} appeared: "
                                   "another writer changed the version meanwhile"))
