"""Prometheus answers in a snapshot: saved raw (``prometheus/<model>/range/<metric>/NNN.json``,
``prometheus/<model>/window/<metric>.json``), read back with the very parser a live pull uses.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .. import promql
from ..core import frames
from ..core.errors import PrometheusError, SnapshotError
from ..core.http import Client, safe_url
from ..core.snapshot import Snapshot, SnapshotWriter, open_snapshot
from ..core.timeutil import iso_ms, step_to_ms, to_ms, to_unix
from .answer import BadPayload
from .client import QueryRecord, make_client, run_queries
from .parse import parse_answer
from .serving import (
    SOURCE,
    ServingSeries,
    model_selectors,
    range_records,
    series_result,
    window_records,
    window_result,
)

SNAPSHOT_DIR = "prometheus"


def _slug(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "model"
    if s != name:
        s = f"{s}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"
    return s


def _relpath(rec: QueryRecord, i: int) -> str:
    base = f"{SNAPSHOT_DIR}/{_slug(str(rec.model))}/{rec.kind}/{rec.metric}"
    return f"{base}.json" if rec.kind != "range" else f"{base}/{i:03d}.json"


def save_answers(writer: SnapshotWriter, records: Sequence[QueryRecord], *, url: str,
                 models: Mapping[str, promql.SelectorLike], start_ms: int, end_ms: int,
                 step_ms: int, window: str | float = "5m", extra: Mapping[str, Any] | None = None,
                 ) -> dict[str, Any]:
    """Write records' raw answers under ``prometheus/`` and describe them in the manifest
    (``writer.add_source("prometheus", ...)``). Used by :func:`snapshot_prometheus` and by
    the demo generator, so both produce the layout :func:`load_snapshot_series` reads.

    Layout::

        prometheus/<model>/range/<metric>/000.json   raw query_range answers, one per chunk
        prometheus/<model>/window/<metric>.json      raw instant answers over the whole window
    """
    queries = []
    for rec in records:
        d = rec.describe()
        files = []
        for i, body in enumerate(rec.bodies):
            rel = _relpath(rec, i)
            writer.write_bytes(rel, body)
            files.append(rel)
        d["files"] = files
        queries.append(d)
    info: dict[str, Any] = {
        "url": safe_url(url) if url else None,
        "start": iso_ms(start_ms), "end": iso_ms(end_ms), "step_s": step_ms / 1000,
        "window": window if isinstance(window, str) else promql.duration(window),
        "models": {k: str(promql.Selector.of(v)) for k, v in models.items()},
        "layout": "prometheus/<model>/range/<metric>/NNN.json; prometheus/<model>/window/<metric>.json",
        "partial": any(q["partial"] for q in queries),
        "queries": queries,
    }
    if extra:
        info.update(extra)
    writer.add_source(SOURCE, info)
    return info


def snapshot_prometheus(writer: SnapshotWriter, *, url: str | None,
                        selectors: Mapping[str, promql.SelectorLike],
                        start: Any, end: Any, step: float | str, token: Any = None,
                        ca_bundle: str | os.PathLike[str] | None = None, insecure: bool = False,
                        headers: Mapping[str, str] | None = None, tenant: str | None = None,
                        window: str | float = "5m", max_workers: int = 4,
                        progress: bool | None = None, client: Client | None = None,
                        service_account: bool = False) -> dict[str, Any]:
    """Pull the serving metrics and the whole-window answers and save them RAW into a
    snapshot (see :func:`save_answers` for the layout); returns the manifest source entry.

    >>> from evalkit.core.snapshot import SnapshotWriter
    >>> with SnapshotWriter("snap") as w:                                    # doctest: +SKIP
    ...     snapshot_prometheus(w, url="http://127.0.0.1:9090", selectors={"m": None},
    ...                         start="2025-01-01T00:00:00Z", end="2025-01-02T00:00:00Z", step="1m")
    """
    sels = model_selectors(selectors)
    s_ms, e_ms = to_ms(to_unix(start)), to_ms(to_unix(end))
    step_ms = step_to_ms(step)
    recs = range_records(sels, s_ms, e_ms, step_ms, window, "DCGM_FI_DEV_GPU_UTIL", None)
    recs += window_records(sels, s_ms, e_ms)
    cl = client or make_client(url, token=token, ca_bundle=ca_bundle, insecure=insecure,
                               headers=headers, max_workers=max_workers,
                               service_account=service_account)
    try:
        run_queries(cl, recs, max_workers=max_workers, progress=progress, tenant=tenant,
                    desc="prometheus snapshot")
        desc = cl.describe()
    finally:
        if client is None:
            cl.close()
    extra = {"client": desc, "tenant": tenant,
             "headers": sorted(headers) if headers else []}
    return save_answers(writer, recs, url=cl.base_url, models=sels, start_ms=s_ms, end_ms=e_ms,
                        step_ms=step_ms, window=window, extra=extra)


def _load_records(snap: Snapshot, kind: str) -> tuple[list[QueryRecord], dict[str, Any]] | None:
    info = snap.sources.get(SOURCE)
    if not isinstance(info, dict):
        return None
    recs = []
    for q in info.get("queries") or []:
        if not isinstance(q, dict) or q.get("kind") != kind:
            continue
        rec = QueryRecord(q.get("model"), q.get("metric"), q.get("unit"), q.get("query"), kind,
                          note=str(q.get("note", "")))
        rels = q.get("files") or []
        if not isinstance(rels, list) or not all(isinstance(r, str) for r in rels):
            raise SnapshotError(f"snapshot {snap.path}: the prometheus entry of the manifest "
                                f"lists the files of query {q.get('metric')!r} as "
                                f"{type(rels).__name__}, not a list of paths")
        for rel in rels:
            body = snap.read_bytes(rel)
            try:
                ans = parse_answer(body, endpoint=str(rel))
            except PrometheusError as exc:
                if isinstance(exc, BadPayload):
                    raise SnapshotError(f"snapshot {snap.path}: {rel} is not a Prometheus answer "
                                        f"({exc.error})") from None
                rec.note = f"saved answer is an error: {exc.error_type}: {exc.error}"
                continue
            rec.bodies.append(body)
            rec.answers.append(ans)
        if rec.note and not rec.answers:
            rec.query = None
        recs.append(rec)
    return recs, info


def _snapshot(snapshot_or_path: Snapshot | str | os.PathLike[str]) -> Snapshot:
    return snapshot_or_path if isinstance(snapshot_or_path, Snapshot) else open_snapshot(
        snapshot_or_path)


def load_snapshot_series(snapshot_or_path: Snapshot | str | os.PathLike[str]) -> ServingSeries:
    """The serving series from a snapshot's saved query_range answers (same parser as a live
    pull, so the numbers are identical). A snapshot without Prometheus answers gives an empty
    result with an ``info`` issue.
    """
    got = _load_records(_snapshot(snapshot_or_path), "range")
    if got is None:
        return ServingSeries(series=frames.empty("series"), issues=frames.issues_frame([
            frames.issue(SOURCE, "snapshot", "info", "the snapshot holds no Prometheus answers; "
                         "pull with `evalkit pull --prometheus URL` to add serving metrics")]))
    return series_result(got[0])


def load_snapshot_window(snapshot_or_path: Snapshot | str | os.PathLike[str]) -> ServingSeries:
    """The whole-window answers (as :func:`serving_window` returns them) from a snapshot."""
    got = _load_records(_snapshot(snapshot_or_path), "window")
    if got is None:
        return ServingSeries(series=frames.empty("series"))
    recs, info = got
    try:
        s_ms, e_ms = to_ms(to_unix(info["start"])), to_ms(to_unix(info["end"]))
    except (KeyError, TypeError, ValueError):
        raise SnapshotError("snapshot: the prometheus entry of the manifest has no usable "
                            "start/end") from None
    return window_result(recs, s_ms, e_ms)
