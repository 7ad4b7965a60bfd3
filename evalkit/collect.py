""":func:`pull`: save what the live systems answer into ONE snapshot folder.

Each configured :class:`~evalkit.source.Source` writes its raw answers (see its module for
the files); the manifest records endpoints without credentials, namespaces, selectors, counts,
times, the evalkit version and whether TLS verification was off anywhere. Never a secret.

The folder is written privately beside ``out`` and moved into place at the end (see
:class:`~evalkit.core.snapshot.SnapshotWriter`): an existing ``out`` is refused — also one
that appears while the pull runs — unless ``overwrite=True``, which replaces only an evalkit
snapshot; a second concurrent pull into the same ``out`` fails at once.

>>> snap = pull("snap/", namespace="private-ai-demo", samples="/mnt/out")   # doctest: +SKIP
>>> evalkit.load(snap)                                                      # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ._version import __version__
from .core import secrets
from .core.auth import Auth
from .core.snapshot import SnapshotWriter, check_target, target_path
from .source import Source

log = secrets.get_logger("evalkit.pull")


def pull_sources(out: str | os.PathLike[str], sources: Sequence[Source], *,
                 overwrite: bool = False, description: str | None = None) -> Path:
    """Run every source's :meth:`~evalkit.source.Source.pull` into one snapshot at ``out``."""
    target = target_path(out)
    check_target(target, overwrite=overwrite)  # before any network call
    t0 = time.monotonic()
    desc = description or "evalkit pull: " + "; ".join(s.describe() for s in sources)
    writer = SnapshotWriter(target, overwrite=overwrite, description=desc,
                            extra={"pulled_by": f"evalkit {__version__}"})
    with writer:
        for src in sources:
            src.pull(writer)
        man = writer.manifest
        man["insecure"] = any(_insecure(v) for v in man["sources"].values())
        man["counts"] = {
            "lmevaljobs": (man["sources"].get("lmevaljobs") or {}).get("items", 0),
            "sample_files": sum(1 for f in man["files"] if f["path"].startswith("samples/")),
            "files": len(man["files"]),
        }
        man["pull_seconds"] = round(time.monotonic() - t0, 3)
    log.info("snapshot %s written from %d source(s)", target, len(sources))
    return target


def _insecure(entry: Any) -> bool:
    if not isinstance(entry, dict):
        return False
    return bool(entry.get("insecure")) or _insecure(entry.get("client"))


def pull(out: str | os.PathLike[str], *, namespace: str,
         label_selector: str | None = None, context: str | None = None,
         kubeconfig: str | os.PathLike[str] | None = None,
         samples: str | os.PathLike[str] | None = None, token: str | Auth | None = None,
         ca_bundle: str | os.PathLike[str] | None = None, insecure: bool = False,
         prometheus: str | None = None, prometheus_token: str | Auth | None = None,
         prometheus_tenant: str | None = None,
         prometheus_headers: Mapping[str, str] | None = None,
         prometheus_service_account: bool = False,
         selectors: Mapping[str, Any] | None = None, start: Any = None, end: Any = None,
         step: Any = "30s", registry: Any = None, registry_token: str | Auth | None = None,
         registry_models: Mapping[str, Any] | None = None,
         registry_service_account: bool = False,
         guidellm: str | os.PathLike[str] | None = None, overwrite: bool = False) -> Path:
    """Snapshot ``namespace``'s LMEvalJobs (plus sample logs from ``samples``) and, with
    ``prometheus=URL`` and ``selectors={model: selector}``, their serving metrics.

    ``token``/``ca_bundle``/``insecure``/``context``/``kubeconfig`` are the Kubernetes
    connection settings; ``ca_bundle`` and ``insecure`` also apply to Prometheus.
    ``prometheus_tenant`` is the Thanos tenancy namespace (querier port 9092 needs
    ``?namespace=``), ``prometheus_headers`` extra headers such as Mimir's ``X-Scope-OrgID``
    (their values are secrets: only the names reach the manifest).
    ``prometheus_service_account=True`` sends the pod's service-account token to Prometheus
    (https only); it is never sent anywhere else without being asked.

    ``registry=URL`` (or a ``model_registry.ModelRegistry`` instance) adds the Model Registry's
    raw answers (:class:`evalkit.registry.RegistrySource`); ``registry_models`` maps served
    model names to ``"REGISTERED[:VERSION]"`` (default: every registered model is read, and
    ``map_models`` pairs them by name); ``registry_token`` and
    ``registry_service_account`` as for Prometheus; ``ca_bundle``/``insecure`` apply too.

    ``guidellm=PATH`` copies the GuideLLM reports there (a file or a folder) into the snapshot
    (:class:`evalkit.guidellm.GuideLLMSource`: credentials redacted) for capacity and cost.

    Every argument is checked before the first network call.
    """
    from .lmeval import LMEvalSource

    sources: list[Source] = [LMEvalSource(namespace, label_selector=label_selector,
                                          context=context, kubeconfig=kubeconfig, token=token,
                                          ca_bundle=ca_bundle, insecure=insecure,
                                          samples=samples)]
    if prometheus or selectors:
        from .prometheus import PrometheusSource

        sources.append(PrometheusSource(
            prometheus, selectors or {}, start=start, end=end, step=step,
            token=prometheus_token, ca_bundle=ca_bundle, insecure=insecure,
            headers=prometheus_headers, tenant=prometheus_tenant,
            service_account=prometheus_service_account))
    if registry is not None or registry_models:
        from .registry import RegistrySource

        sources.append(RegistrySource(
            registry, mapping=registry_models, token=registry_token, ca_bundle=ca_bundle,
            insecure=insecure, service_account=registry_service_account))
    if guidellm is not None:
        from .guidellm.source import GuideLLMSource

        sources.append(GuideLLMSource(guidellm))
    return pull_sources(out, sources, overwrite=overwrite)
