"""Loopback test servers shared by evalkit's tests.

- :mod:`tests.servers.kube_api` — :class:`KubeAPIServer`, a Kubernetes API serving LMEvalJob
  lists (paging, label selectors, bearer tokens, 401/403/404/410), and :func:`write_kubeconfig`.
- :mod:`tests.servers.fault_proxy` — :class:`FaultProxy`, a fault-injecting reverse proxy to put
  in front of any HTTP server (500/502/503, 429 + Retry-After, slow, drop, truncate, invalid JSON,
  HTML error pages).
- :mod:`tests.servers.model_registry` — :class:`ModelRegistryServer`, a Kubeflow Model Registry
  REST server (both API generations, typed properties, PATCH replace semantics, paging, filters).
- :mod:`tests.servers.tls` — :func:`make_certs`, a throw-away CA with server and client
  certificates (``cryptography`` when installed, else the ``openssl`` CLI).

All bind 127.0.0.1 on a free port, run in a daemon thread and stop when their ``with`` block ends.
"""

from .fault_proxy import FAULT_KINDS, FaultProxy, SeenRequest
from .kube_api import KubeAPIServer, make_lmevaljob, write_kubeconfig
from .model_registry import ModelRegistryServer
from .tls import CertSet, make_certs

__all__ = ["FAULT_KINDS", "CertSet", "FaultProxy", "KubeAPIServer", "ModelRegistryServer",
           "SeenRequest", "make_certs",
           "make_lmevaljob", "write_kubeconfig"]
