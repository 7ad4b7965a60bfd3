"""``evalkit pull``: save what the live systems answer into a snapshot folder.

The snapshot (see ``docs/snapshot.md``) gets:

- ``lmevaljobs.json`` — the namespace's ``LMEvalJobList`` exactly as the Kubernetes API returned
  it, pages merged into one list (:func:`evalkit.kube.list_lmevaljobs`);
- ``samples/<job>/samples_<task>_<ts>.jsonl`` — per-sample files copied from a local folder
  (``samples=``: an lm-eval output folder or a mounted PVC), when given;
- ``prometheus/...`` — when ``prometheus=`` is given (:func:`evalkit.prometheus.snapshot_prometheus`);
- ``manifest.json`` — endpoint URLs without credentials, namespace, selector, counts, times,
  evalkit version and whether TLS verification was off (``insecure``). Never a secret.

Everything is written into a temporary sibling folder that is renamed into place at the end,
so an interrupted pull never leaves a folder that looks complete.

How sample files are matched to jobs (the same rule as ``load_lmeval(samples=...)``, widened
to any ancestor folder):

1. a ``samples_*.jsonl`` (or legacy ``samples_*.json``) file belongs to job ``J`` when a folder
   on its path below the ``samples`` root — or the root itself — is named ``J`` or ``J-pvc``
   (the operator's managed PVC), e.g. ``mnt/J/mistral__m/samples_arc_easy_2025-....jsonl``;
2. otherwise, when its own folder is the job's ``model_name_sanitized`` — the served model name
   (``spec.modelArgs`` ``model``, else ``pretrained``, else the ``model`` label) with ``/``
   (and lm-eval's other unsafe characters) replaced by ``__`` — and exactly one job serves that
   model; when several do, the candidates are narrowed to jobs whose task list names the file's
   task (``samples_<task>_<ts>.jsonl``), then to jobs that have results, and the file is
   matched if exactly one remains;
3. anything else is not copied and is listed under ``unmatched`` in the manifest.

>>> pull("snap/", namespace="private-ai-demo", samples="/mnt/lmeval-output")   # doctest: +SKIP
PosixPath('snap')
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from ._version import __version__
from .errors import EvalkitError, SourceError
from .http import Auth, safe_url
from .lmeval import job_record, match_samples
from .snapshot import LMEVALJOBS, SnapshotWriter, sample_relpath, utc_now

log = logging.getLogger("evalkit.pull")



def pull(
    out: str | os.PathLike[str],
    *,
    namespace: str,
    label_selector: str | None = None,
    context: str | None = None,
    kubeconfig: str | os.PathLike[str] | None = None,
    samples: str | os.PathLike[str] | None = None,
    token: str | Auth | None = None,
    ca_bundle: str | os.PathLike[str] | None = None,
    insecure: bool = False,
    prometheus: str | None = None,
    prometheus_token: str | Auth | None = None,
    prometheus_namespace: str | None = None,
    prometheus_headers: dict[str, str] | None = None,
    models: Any = None,
    start: Any = None,
    end: Any = None,
    step: Any = None,
    overwrite: bool = False,
) -> Path:
    """Write a snapshot of ``namespace``'s LMEvalJobs (and, with ``prometheus=``, serving
    metrics) to ``out``; return ``out`` as a :class:`~pathlib.Path`.

    ``token``/``ca_bundle``/``insecure``/``context``/``kubeconfig`` are the Kubernetes
    connection settings (:func:`evalkit.kube.connect`); ``ca_bundle`` and ``insecure`` also
    apply to Prometheus. ``prometheus_namespace`` is the Thanos tenancy namespace (the
    ``thanos-querier`` port 9092 needs ``?namespace=``), ``prometheus_headers`` extra headers
    such as Mimir's ``X-Scope-OrgID`` (only their names reach the manifest). ``models``,
    ``start``, ``end``, ``step`` go to
    :func:`evalkit.prometheus.snapshot_prometheus`. An existing ``out`` is an error unless
    ``overwrite=True``.

    >>> snap = pull("snap/", namespace="private-ai-demo")           # doctest: +SKIP
    >>> evalkit.load_lmeval(snap).jobs                              # doctest: +SKIP
    """
    snapshot_prometheus = None
    if prometheus:
        try:
            from .prometheus import snapshot_prometheus
        except ImportError as exc:
            raise EvalkitError(f"prometheus={safe_url(prometheus)} was given but this evalkit "
                               f"cannot pull Prometheus series yet ({exc}); drop --prometheus or "
                               "upgrade evalkit") from None
    if samples is not None and not Path(samples).is_dir():
        raise SourceError(f"samples={samples}: not a folder; pass an lm-eval output folder or "
                          "a mounted PVC path holding samples_*.jsonl files")
    from .kube import connect, list_lmevaljobs, lmevaljobs_path

    out = Path(out)
    t0 = time.monotonic()
    writer = SnapshotWriter(out, overwrite=overwrite,
                            description=f"evalkit pull of LMEvalJobs in namespace {namespace}",
                            extra={"insecure": bool(insecure), "pulled_by": f"evalkit {__version__}"})
    with writer:
        started = utc_now()
        with connect(context=context, kubeconfig=kubeconfig, token=token, ca_bundle=ca_bundle,
                     insecure=insecure) as conn:
            pages: list[int] = []
            doc = list_lmevaljobs(namespace, label_selector=label_selector, connection=conn,
                                  progress=lambda p, n, r: pages.append(p))
            info = conn.describe()
            endpoint = safe_url(conn.client.url(lmevaljobs_path(namespace)))
        writer.write_json(LMEVALJOBS, doc)
        items = [i for i in doc.get("items") or [] if isinstance(i, dict)]
        writer.add_source("lmevaljobs", {
            "kind": "kubernetes",
            "endpoint": endpoint,
            "server": info["url"],
            "kubeconfig_context": info.get("context"),
            "config_origin": info.get("origin"),
            "auth": info.get("auth"),
            "tls_verify": info.get("tls_verify"),
            "insecure": info.get("insecure"),
            "namespace": namespace,
            "label_selector": label_selector,
            "resource": "lmevaljobs.trustyai.opendatahub.io/v1alpha1",
            "resource_version": (doc.get("metadata") or {}).get("resourceVersion"),
            "pages": len(pages),
            "items": len(items),
            "started_at": started,
            "finished_at": utc_now(),
        })
        insecure_any = bool(info.get("insecure"))
        if samples is not None:
            matched, unmatched = match_samples(samples, [job_record(i) for i in items])
            counts: dict[str, int] = {}
            for job, files in sorted(matched.items()):
                taken: set[str] = set()
                for f in files:
                    if f.name in taken:
                        unmatched.append({"path": f.relative_to(Path(samples)).as_posix(),
                                          "reason": f"another {f.name} was already copied for "
                                                    f"job {job}"})
                        continue
                    taken.add(f.name)
                    writer.copy_file(f, sample_relpath(job, f.name))
                counts[job] = len(taken)
            for u in unmatched:
                log.warning("samples file %s not copied: %s", u["path"], u["reason"])
            writer.add_source("samples", {
                "kind": "local folder",
                "path": str(Path(samples).resolve()),
                "files": sum(counts.values()),
                "jobs": counts,
                "unmatched": unmatched,
                "rule": "folder named <job> or <job>-pvc on the path, else a "
                        "<model_name_sanitized> folder served by exactly one job",
            })
        if snapshot_prometheus is not None:
            snapshot_prometheus(writer, url=prometheus, models=models, start=start, end=end,
                                step=step, token=prometheus_token, ca_bundle=ca_bundle,
                                insecure=insecure, namespace=prometheus_namespace,
                                headers=prometheus_headers)
            prom = writer.manifest["sources"].get("prometheus") or {}
            client_info = prom.get("client") if isinstance(prom.get("client"), dict) else {}
            insecure_any = (insecure_any or bool(insecure) or bool(prom.get("insecure"))
                            or bool(client_info.get("insecure")))
        writer.manifest["insecure"] = bool(writer.manifest.get("insecure")) or insecure_any
        writer.manifest["counts"] = {"lmevaljobs": len(items),
                                     "sample_files": sum(1 for f in writer.manifest["files"]
                                                         if f["path"].startswith("samples/"))}
        writer.manifest["pull_seconds"] = round(time.monotonic() - t0, 3)
    log.info("snapshot %s: %d LMEvalJob(s) from namespace %s", out, len(items), namespace)
    return out
