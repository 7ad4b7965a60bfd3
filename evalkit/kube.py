"""LMEvalJobs from the Kubernetes API (kubeconfig or in-cluster service account), with paging.

The ``kubernetes`` client only *loads* the connection settings — the ``KUBECONFIG`` variable
(one path or several joined by ``:``), ``~/.kube/config``, contexts, tokens, ``oc login``
configs, client certificates, exec plugins — and evalkit's :class:`~evalkit.http.Client` sends
every request (timeouts, bounded retries, TLS, redaction). ``kubernetes`` is imported only when
a kubeconfig is loaded.

Where the connection comes from, in order:

1. ``kubeconfig=PATH`` (and ``context=``), else ``$KUBECONFIG``, else ``~/.kube/config``;
2. else the in-cluster service account (``KUBERNETES_SERVICE_HOST`` plus
   ``/var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt}``; the token is re-read on
   every request because projected tokens rotate).

``token=`` replaces the kubeconfig's credentials, ``ca_bundle=`` its CA; ``insecure=True`` (or
``insecure-skip-tls-verify`` in the kubeconfig) turns TLS verification off, loudly.

>>> jobs = list_lmevaljobs("private-ai-demo", label_selector="app=eval")   # doctest: +SKIP
>>> [j["metadata"]["name"] for j in jobs["items"]]                          # doctest: +SKIP
['mistral-24b-fp16', 'mistral-24b-w4a16']
"""

from __future__ import annotations

import base64
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from . import http as _http
from .errors import AuthError, ConfigError, HTTPError, NotFoundError
from .http import Auth, Client, RetryPolicy, _register_secret, redact, resolve_auth, safe_url

log = logging.getLogger("evalkit.kube")

GROUP = "trustyai.opendatahub.io"
VERSION = "v1alpha1"
PLURAL = "lmevaljobs"
API_VERSION = f"{GROUP}/{VERSION}"
RESOURCE = f"{PLURAL}.{GROUP}"
MAX_PAGES = 100_000

#: ``progress(pages_read, items_so_far, remaining_or_None)`` after every page
Progress = Callable[[int, int, int | None], None]


# --------------------------------------------------------------------------- credentials


class KubeconfigAuth(Auth):
    """Credentials loaded from a kubeconfig (token, exec plugin, basic auth), asked again on
    every request so that the ``kubernetes`` loader's refresh hook renews an expired exec or
    OIDC token. ``repr`` never shows them.

    >>> KubeconfigAuth.__name__
    'KubeconfigAuth'
    """

    kind = "kubeconfig credentials"

    def __init__(self, configuration: Any, *, origin: str) -> None:
        self._cfg = configuration
        self._origin = origin
        self._value()  # register the secret for redaction right away

    def _value(self) -> str | None:
        cfg = self._cfg
        value = (cfg.get_api_key_with_prefix("BearerToken")
                 or cfg.get_api_key_with_prefix("authorization"))
        if not value:
            return None
        scheme, _, secret = value.partition(" ")
        _register_secret(secret or value)
        if scheme.lower() == "basic" and secret:
            try:
                _register_secret(base64.b64decode(secret).decode().partition(":")[2])
            except (ValueError, UnicodeDecodeError):
                pass
        return value

    def __call__(self, r: Any) -> Any:
        value = self._value()
        if value:
            r.headers["Authorization"] = value
        return r

    def has_credentials(self) -> bool:
        return self._value() is not None

    def describe(self) -> str:
        return f"kubeconfig credentials ({self._origin})"


@dataclass
class KubeConnection:
    """A Kubernetes API endpoint with its credentials, ready for requests.

    ``client`` is an evalkit :class:`~evalkit.http.Client`; ``origin`` says where the settings
    came from (``"kubeconfig /path"`` or ``"in-cluster service account"``).
    """

    client: Client
    origin: str
    context: str | None = None
    default_namespace: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return safe_url(self.client.base_url)

    def describe(self) -> dict[str, Any]:
        """Secret-free settings for a snapshot manifest."""
        d = self.client.describe()
        d.update({"origin": self.origin, "context": self.context})
        return d

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> KubeConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _kubeconfig_path(kubeconfig: str | os.PathLike[str] | None) -> str | None:
    if kubeconfig:
        paths = str(kubeconfig)
        where = "kubeconfig="
    elif os.environ.get("KUBECONFIG"):
        paths = os.environ["KUBECONFIG"]
        where = "$KUBECONFIG="
    else:
        default = Path("~/.kube/config").expanduser()
        return str(default) if default.is_file() else None
    existing = [p for p in paths.split(os.pathsep) if p and Path(p).expanduser().is_file()]
    if not existing:
        raise ConfigError(f"no kubeconfig file at {where}{paths}; run `oc login` or point "
                          "KUBECONFIG at an existing file")
    return os.pathsep.join(existing)


def _load_kubeconfig(path: str, context: str | None) -> Any:
    """Load ``path`` into a fresh ``kubernetes.client.Configuration`` without side effects on
    the global configuration, the kubeconfig file or the process's logger levels."""
    try:
        from kubernetes import client as kclient
        from kubernetes import config as kconfig
        from kubernetes.config.config_exception import ConfigException
    except ImportError:  # pragma: no cover - kubernetes is a core dependency
        raise ConfigError("the `kubernetes` package is needed to read a kubeconfig; "
                          "pip install kubernetes") from None
    loggers = [logging.getLogger(n) for n in ("urllib3", "client")]
    levels = [lg.level for lg in loggers]
    try:
        cfg = kclient.Configuration()  # its constructor resets those loggers to WARNING
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
    try:
        kconfig.load_kube_config(config_file=path, context=context, client_configuration=cfg,
                                 persist_config=False)
    except ConfigException as exc:
        text = redact(exc)
        hint = ""
        if context and ("context" in text.lower() or "Expected key" in text):
            try:
                names = [c["name"] for c in kconfig.list_kube_config_contexts(path)[0]]
            except Exception:  # noqa: BLE001 - only for the hint
                names = []
            hint = f"; contexts in it: {', '.join(names) or 'none'}"
        raise ConfigError(f"kubeconfig {path}: {text}{hint}") from None
    except Exception as exc:  # exec plugin failures, unreadable cert files, bad YAML
        raise ConfigError(f"kubeconfig {path} could not be loaded: {type(exc).__name__}: "
                          f"{redact(exc)}") from None
    return cfg


def _current_context(path: str, context: str | None) -> tuple[str | None, str | None]:
    """(context name, its namespace) — for messages and manifests only."""
    try:
        from kubernetes import config as kconfig

        contexts, current = kconfig.list_kube_config_contexts(path)
    except Exception:  # noqa: BLE001 - informational
        return context, None
    name = context or (current or {}).get("name")
    for c in contexts:
        if c.get("name") == name:
            return name, (c.get("context") or {}).get("namespace")
    return name, None


def connect(
    *,
    context: str | None = None,
    kubeconfig: str | os.PathLike[str] | None = None,
    token: str | Auth | None = None,
    ca_bundle: str | os.PathLike[str] | None = None,
    insecure: bool = False,
    timeout: tuple[float, float] = (5.0, 60.0),
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> KubeConnection:
    """Open a connection to the Kubernetes API from kubeconfig or the in-cluster service
    account (see the module docstring for the order).

    >>> with connect(context="admin") as kc:                          # doctest: +SKIP
    ...     kc.describe()["url"]
    'https://api.cluster.example:6443'
    """
    path = _kubeconfig_path(kubeconfig)
    kw: dict[str, Any] = {"timeout": timeout, "retry": retry, "sleep": sleep,
                          "name": "kubernetes API"}
    if path is not None:
        cfg = _load_kubeconfig(path, context)
        ctx_name, ctx_ns = _current_context(path, context)
        host = str(cfg.host or "").rstrip("/")
        if not host.startswith(("http://", "https://")):
            raise ConfigError(f"kubeconfig {path}: context {ctx_name!r} has no usable server URL")
        auth: Auth | None = resolve_auth(token, service_account=False) if token else None
        if auth is None:
            kauth = KubeconfigAuth(cfg, origin=f"kubeconfig context {ctx_name}")
            auth = kauth if kauth.has_credentials() else None
        cert = None
        if cfg.cert_file and token is None:
            cert = (cfg.cert_file, cfg.key_file) if cfg.key_file else cfg.cert_file
        proxies = {"http": cfg.proxy, "https": cfg.proxy} if getattr(cfg, "proxy", None) else None
        if getattr(cfg, "tls_server_name", None):
            log.warning("kubeconfig %s: tls-server-name %s is not supported; the server "
                        "certificate is checked against %s", path, cfg.tls_server_name,
                        safe_url(host))
        off = insecure or cfg.verify_ssl is False
        client = Client(host, auth=auth, ca_bundle=ca_bundle or cfg.ssl_ca_cert or None,
                        insecure=off, cert=cert, proxies=proxies, **kw)
        return KubeConnection(client, origin=f"kubeconfig {path}", context=ctx_name,
                              default_namespace=ctx_ns)

    sa = Path(_http.SERVICE_ACCOUNT_DIR)
    host_env = os.environ.get("KUBERNETES_SERVICE_HOST")
    if host_env and (sa / "token").is_file():
        if context:
            raise ConfigError(f"context={context!r} needs a kubeconfig, but none was found "
                              "(KUBECONFIG unset, ~/.kube/config missing)")
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        h = f"[{host_env}]" if ":" in host_env else host_env
        auth = resolve_auth(token, service_account=False) if token else _http.TokenFile(sa / "token")
        ca = ca_bundle or ((sa / "ca.crt") if (sa / "ca.crt").is_file() else None)
        ns_file = sa / "namespace"
        ns = ns_file.read_text().strip() if ns_file.is_file() else None
        client = Client(f"https://{h}:{port}", auth=auth, ca_bundle=ca, insecure=insecure, **kw)
        return KubeConnection(client, origin="in-cluster service account", default_namespace=ns)
    raise ConfigError("no Kubernetes credentials: no kubeconfig (KUBECONFIG unset, "
                      "~/.kube/config missing) and not running inside a cluster; run `oc login` "
                      "or pass kubeconfig=PATH")


# --------------------------------------------------------------------------- listing


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

    Errors (one line each): :class:`~evalkit.errors.AuthError` for 401/403 naming the RBAC
    needed (``get``/``list`` on ``lmevaljobs.trustyai.opendatahub.io`` in the namespace);
    :class:`~evalkit.errors.NotFoundError` when the LMEvalJob CRD (TrustyAI operator) is not
    installed or the namespace does not exist; :class:`~evalkit.errors.HTTPError` (status 410)
    when a continue token expired mid-listing; :class:`~evalkit.errors.ConfigError` when no
    connection settings are found.

    >>> doc = list_lmevaljobs("private-ai-demo", page_size=100)       # doctest: +SKIP
    >>> doc["kind"], len(doc["items"])                                 # doctest: +SKIP
    ('LMEvalJobList', 2)
    """
    if not namespace or not isinstance(namespace, str):
        raise ValueError("namespace must be a non-empty string")
    own = connection is None
    conn = connection or connect(context=context, kubeconfig=kubeconfig, token=token,
                                 ca_bundle=ca_bundle, insecure=insecure)
    try:
        return _list(conn, namespace, label_selector, page_size, progress)
    finally:
        if own:
            conn.close()


def _list(conn: KubeConnection, namespace: str, label_selector: str | None, page_size: int,
          progress: Progress | None) -> dict[str, Any]:
    path = lmevaljobs_path(namespace)
    endpoint = safe_url(conn.client.url(path))
    items: list[Any] = []
    head: dict[str, Any] | None = None
    cont: str | None = None
    seen_tokens: set[str] = set()
    pages = 0
    while pages < MAX_PAGES:
        params: dict[str, Any] = {}
        if page_size and page_size > 0:
            params["limit"] = int(page_size)
        if label_selector:
            params["labelSelector"] = label_selector
        if cont:
            params["continue"] = cont
        resp = conn.client.request("GET", path, params=params, parse_json=True,
                                   ok=lambda r: r.status_code in (401, 403, 404, 410))
        doc = resp.evalkit_json  # type: ignore[attr-defined]
        if resp.status_code >= 400:
            raise _error(resp.status_code, doc, conn, namespace, endpoint, pages)
        if not isinstance(doc, dict) or not isinstance(doc.get("items", []), list | None):
            kind = doc.get("kind") if isinstance(doc, dict) else type(doc).__name__
            raise HTTPError(f"kubernetes API at {endpoint}: answered a {kind!r} document instead "
                            "of an LMEvalJobList", endpoint=endpoint, status=resp.status_code,
                            cause="not a list")
        pages += 1
        meta = doc.get("metadata") or {}
        if head is None:
            head = doc
        items.extend(doc.get("items") or [])
        cont = meta.get("continue") or None
        remaining = meta.get("remainingItemCount")
        log.debug("kubernetes API %s: page %d, %d item(s) so far%s", endpoint, pages, len(items),
                  "" if cont is None else ", more to come")
        if progress is not None:
            progress(pages, len(items), remaining if isinstance(remaining, int) else None)
        if not cont:
            break
        if cont in seen_tokens:
            raise HTTPError(f"kubernetes API at {endpoint}: the server repeated a continue token "
                            f"after {pages} page(s); stopping instead of looping",
                            endpoint=endpoint, cause="repeated continue token")
        seen_tokens.add(cont)
    else:
        raise HTTPError(f"kubernetes API at {endpoint}: more than {MAX_PAGES} pages; raise "
                        "page_size", endpoint=endpoint, cause="too many pages")
    assert head is not None
    metadata = {k: v for k, v in (head.get("metadata") or {}).items()
                if k not in ("continue", "remainingItemCount")}
    return {"apiVersion": head.get("apiVersion") or API_VERSION,
            "kind": head.get("kind") or "LMEvalJobList",
            "metadata": metadata, "items": items}


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
