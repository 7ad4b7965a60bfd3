"""LMEvalJobs as a :class:`~evalkit.source.Source`: pull the namespace's list (and sample logs
from a local folder) into a snapshot, load them back.

Snapshot files::

    lmevaljobs.json                  the LMEvalJobList exactly as the API returned it (pages merged)
    samples/<job>/samples_<task>_<ts>.jsonl   per-sample logs copied from ``samples=``

Sample logs are matched to jobs by :func:`evalkit.lmeval.match_samples`; symlinks that leave
the folder are never followed, and every file not copied is listed under ``unmatched`` in the
manifest with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..core import files, secrets
from ..core.auth import Auth
from ..core.errors import InputError
from ..core.snapshot import Snapshot, SnapshotWriter
from ..core.timeutil import utc_now
from ..source import Check, Source
from .builder import LMEVALJOBS, SAMPLES_DIR, Builder
from .match import job_record, match_samples

log = secrets.get_logger("evalkit.lmeval")


class LMEvalSource(Source):
    """The LMEvalJobs of one namespace (and, optionally, a local folder of sample logs).

    >>> LMEvalSource("private-ai-demo").describe()
    'LMEvalJobs in namespace private-ai-demo'
    """

    key = "lmeval"

    def __init__(self, namespace: str, *, label_selector: str | None = None,
                 context: str | None = None, kubeconfig: str | os.PathLike[str] | None = None,
                 token: str | Auth | None = None, ca_bundle: str | os.PathLike[str] | None = None,
                 insecure: bool = False, samples: str | os.PathLike[str] | None = None) -> None:
        if not namespace or not isinstance(namespace, str):
            raise InputError("namespace must be a non-empty string")
        if samples is not None and files.kind_of(Path(samples)) != "dir":
            raise InputError(f"--samples {samples}: not a folder; pass an lm-eval output folder "
                             "or a mounted PVC path holding samples_*.jsonl files")
        self.namespace = namespace
        self.label_selector = label_selector
        self.conn_kw = {"context": context, "kubeconfig": kubeconfig, "token": token,
                        "ca_bundle": ca_bundle, "insecure": insecure}
        self.samples = Path(samples) if samples is not None else None

    def describe(self) -> str:
        return f"LMEvalJobs in namespace {self.namespace}"

    def pull(self, writer: SnapshotWriter) -> dict[str, Any]:
        from ..kube import connect
        from .cluster import list_lmevaljobs, lmevaljobs_path

        started = utc_now()
        with connect(**self.conn_kw) as conn:
            pages: list[int] = []
            doc = list_lmevaljobs(self.namespace, label_selector=self.label_selector,
                                  connection=conn, progress=lambda p, n, r: pages.append(p))
            info = conn.describe()
            endpoint = conn.client.url(lmevaljobs_path(self.namespace))
        writer.write_json(LMEVALJOBS, doc)
        items = [i for i in doc.get("items") or []
                 if isinstance(i, dict) and i.get("kind", "LMEvalJob") == "LMEvalJob"]
        entry = {
            "kind": "kubernetes", "endpoint": endpoint.split("?")[0], "server": info["url"],
            "kubeconfig_context": info.get("context"), "config_origin": info.get("origin"),
            "auth": info.get("auth"), "tls_verify": info.get("tls_verify"),
            "insecure": info.get("insecure"), "namespace": self.namespace,
            "label_selector": self.label_selector,
            "resource": "lmevaljobs.trustyai.opendatahub.io/v1alpha1",
            "resource_version": (doc.get("metadata") or {}).get("resourceVersion"),
            "pages": len(pages), "items": len(items), "started_at": started,
            "finished_at": utc_now(),
        }
        writer.add_source("lmevaljobs", entry)
        if self.samples is not None:
            writer.add_source("samples", self._copy_samples(writer, items))
        return entry

    def _copy_samples(self, writer: SnapshotWriter, items: list[dict[str, Any]]) -> dict[str, Any]:
        root = self.samples
        assert root is not None
        skipped: list[dict[str, str]] = []
        matched, unmatched = match_samples(root, [job_record(i) for i in items], skipped)
        counts: dict[str, int] = {}
        for job, found in sorted(matched.items()):
            taken: set[str] = set()
            for f in found:
                if f.name in taken:
                    unmatched.append({"path": f.relative_to(root).as_posix(),
                                      "reason": f"another {f.name} was already copied for "
                                                f"job {job}"})
                    continue
                taken.add(f.name)
                with f.open("rb") as fh:
                    writer.write_bytes(f"{SAMPLES_DIR}/{job}/{f.name}", fh.read())
            counts[job] = len(taken)
        unmatched += [{"path": s["object"], "reason": s["message"]} for s in skipped]
        for u in unmatched:
            log.warning("samples file %s not copied: %s", u["path"], u["reason"])
        return {"kind": "local folder", "path": str(root.resolve()),
                "files": sum(counts.values()), "jobs": counts, "unmatched": unmatched,
                "rule": "folder named <job> or <job>-pvc on the path, else a "
                        "<model_name_sanitized> folder served by exactly one job"}

    @classmethod
    def load(cls, snapshot: Snapshot) -> Any:
        from .load import LMEvalResult

        if not snapshot.has(LMEVALJOBS) and not snapshot.listed(f"{SAMPLES_DIR}/"):
            return None
        b = Builder()
        b.source = str(snapshot.path)
        b.add_snapshot(snapshot)
        out = b.finish()
        return LMEvalResult(jobs=out["jobs"], scores=out["scores"], runs=out["runs"],
                            samples=out["samples"], issues=out["issues"], source=b.source,
                            demo=b.demo, manifest=b.manifest, snapshot=b.snapshot)

    def check(self) -> list[Check]:
        from ..core.errors import EvalkitError
        from ..kube import connect
        from .cluster import list_lmevaljobs

        try:
            with connect(**self.conn_kw) as conn:
                doc = list_lmevaljobs(self.namespace, label_selector=self.label_selector,
                                      connection=conn, page_size=1)
        except EvalkitError as exc:
            return [Check(self.key, f"list LMEvalJobs in {self.namespace}", False, str(exc))]
        return [Check(self.key, f"list LMEvalJobs in {self.namespace}", True,
                      f"{len(doc.get('items') or [])} item(s) on the first page")]
