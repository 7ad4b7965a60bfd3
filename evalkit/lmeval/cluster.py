"""LMEvalJobs from the Kubernetes API: the namespace's list, every page, as ONE
``LMEvalJobList`` exactly as the API returned it — with error messages that name the RBAC or
the operator that is missing.

>>> lmevaljobs_path("demo")
'/apis/trustyai.opendatahub.io/v1alpha1/namespaces/demo/lmevaljobs'
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import quote

from ..core.auth import Auth
from ..core.errors import AuthError, HTTPError, InputError, NotFoundError
from ..core.http import safe_url
from ..core.secrets import redact
from ..kube import KubeConnection, Progress, connect, list_all

GROUP = "trustyai.opendatahub.io"
VERSION = "v1alpha1"
PLURAL = "lmevaljobs"
API_VERSION = f"{GROUP}/{VERSION}"
RESOURCE = f"{PLURAL}.{GROUP}"


def lmevaljobs_path(namespace: str) -> str:
    """The API path of the LMEvalJob list in ``namespace``.

    >>> lmevaljobs_path("demo")
    '/apis/trustyai.opendatahub.io/v1alpha1/namespaces/demo/lmevaljobs'
    """
    return f"/apis/{GROUP}/{VERSION}/namespaces/{quote(namespace, safe='')}/{PLURAL}"


def list_lmevaljobs(
    namespace: str,
    *,
    label_selector: str | None = None,
    context: str | None = None,
    kubeconfig: str | os.PathLike[str] | None = None,
    token: str | Auth | None = None,
    ca_bundle: str | os.PathLike[str] | None = None,
    insecure: bool = False,
    page_size: int = 500,
    progress: Progress | None = None,
    connection: KubeConnection | None = None,
) -> dict[str, Any]:
    """List the LMEvalJobs of ``namespace`` and return ONE ``LMEvalJobList``: every page's
    items, exactly as the API returned them, in order, with the first page's ``metadata``
    (``resourceVersion``) and no ``continue``.

    Pages of ``page_size`` items (``0``: no ``limit``) are followed through ``continue``;
    ``progress(pages, items, remaining)`` is called after each one. ``connection`` reuses a
    :func:`connect` result (then the connection arguments are ignored).

    Errors (one line each): :class:`~evalkit.core.errors.AuthError` for 401/403 naming the RBAC
    needed (``get``/``list`` on ``lmevaljobs.trustyai.opendatahub.io`` in the namespace);
    :class:`~evalkit.core.errors.NotFoundError` when the LMEvalJob CRD (TrustyAI operator) is not
    installed or the namespace does not exist; :class:`~evalkit.core.errors.HTTPError` (status 410)
    when a continue token expired mid-listing; :class:`~evalkit.core.errors.ConfigError` when no
    connection settings are found.

    >>> doc = list_lmevaljobs("private-ai-demo", page_size=100)       # doctest: +SKIP
    >>> doc["kind"], len(doc["items"])                                 # doctest: +SKIP
    ('LMEvalJobList', 2)
    """
    if not namespace or not isinstance(namespace, str):
        raise InputError("namespace must be a non-empty string")
    own = connection is None
    conn = connection or connect(context=context, kubeconfig=kubeconfig, token=token,
                                 ca_bundle=ca_bundle, insecure=insecure)
    try:
        endpoint = safe_url(conn.client.url(lmevaljobs_path(namespace)))
        doc = list_all(conn, lmevaljobs_path(namespace), kind="LMEvalJobList",
                       label_selector=label_selector, page_size=page_size, progress=progress,
                       on_error=lambda status, body, pages: _error(status, body, conn, namespace,
                                                                   endpoint, pages))
        doc["apiVersion"] = doc.get("apiVersion") or API_VERSION
        return doc
    finally:
        if own:
            conn.close()


def _error(status: int, doc: Any, conn: KubeConnection, ns: str, endpoint: str,
           pages: int) -> HTTPError:
    message = doc.get("message") if isinstance(doc, dict) else None
    message = redact(message) if isinstance(message, str) else ""
    details = (doc.get("details") or {}) if isinstance(doc, dict) else {}
    host = conn.host
    grant = (f"`get` and `list` on {RESOURCE} in namespace {ns} (e.g. `oc create role "
             f"lmevaljob-reader -n {ns} --verb=get,list --resource={RESOURCE}` plus a rolebinding)")
    if status == 401:
        return AuthError(
            f"kubernetes API at {host}: unauthorized (401) listing {RESOURCE} in namespace {ns}: "
            f"the credentials from {conn.origin} are missing, expired or invalid; run `oc login` "
            f"again or pass token=..., and the account needs {grant}",
            endpoint=endpoint, status=401, cause=message or "Unauthorized")
    if status == 403:
        m = re.search(r'User "([^"]+)"', message)
        who = m.group(1) if m else "the account"
        return AuthError(
            f"kubernetes API at {host}: forbidden (403): {who} may not list {RESOURCE} in "
            f"namespace {ns}; missing RBAC: {grant}",
            endpoint=endpoint, status=403, cause=message or "Forbidden")
    if status == 404:
        if isinstance(details, dict) and details.get("kind") == "namespaces":
            return NotFoundError(f"kubernetes API at {host}: namespace {ns} not found; check the "
                                 "name (oc get projects)", endpoint=endpoint, status=404,
                                 cause=message or "namespace not found")
        return NotFoundError(
            f"kubernetes API at {host}: the LMEvalJob CRD ({PLURAL}.{GROUP}/{VERSION}) is not "
            "installed: the TrustyAI operator is missing or disabled (enable the trustyai "
            "component of OpenShift AI / Open Data Hub), or the context points at another cluster",
            endpoint=endpoint, status=404, cause=message or "404 page not found")
    return HTTPError(
        f"kubernetes API at {host}: the continue token expired (410 Gone) while listing "
        f"{RESOURCE} in namespace {ns} after {pages} page(s) (the list changed or paging was "
        "too slow); run again, or use a larger page_size",
        endpoint=endpoint, status=status, cause=message or "Expired")
