"""The Kubernetes API: a connection (kubeconfig or in-cluster service account) and paged
listing of resources. Resource-specific code lives with its source (LMEvalJobs:
:mod:`evalkit.lmeval.cluster`).
"""

from .connection import KubeconfigAuth, KubeConnection, connect
from .resources import MAX_PAGES, Progress, list_all

__all__ = ["MAX_PAGES", "KubeConnection", "KubeconfigAuth", "Progress", "connect", "list_all"]
