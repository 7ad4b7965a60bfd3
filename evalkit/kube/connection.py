"""A connection to the Kubernetes API from a kubeconfig or the in-cluster service account.

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

>>> with connect() as kc:                                   # doctest: +SKIP
...     kc.describe()["url"]
'https://api.cluster.example:6443'

Reading a kubeconfig needs the ``kubernetes`` package (``pip install 'evalkit[kube]'``); the
in-cluster path does not.
"""

from __future__ import annotations

import base64
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core import auth as core_auth
from ..core import secrets
from ..core.auth import Auth, ServiceAccountToken, resolve_auth
from ..core.errors import ConfigError
from ..core.http import Client, RetryPolicy, safe_url
from ..core.secrets import redact

log = secrets.get_logger("evalkit.kube")


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
        secrets.register(secret or value)
        # a line break would split the header (and http.client would print half of it)
        secrets.check_value(value, f"the credentials of {self._origin}")
        if scheme.lower() == "basic" and secret:
            try:
                secrets.register(base64.b64decode(secret).decode().partition(":")[2])
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
    except ImportError:
        raise ConfigError("reading a kubeconfig needs the `kubernetes` package: "
                          "pip install 'evalkit[kube]' (inside a pod the service account works "
                          "without it)") from None
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
        auth: Auth | None = resolve_auth(token) if token else None
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

    sa = Path(core_auth.SERVICE_ACCOUNT_DIR)
    host_env = os.environ.get("KUBERNETES_SERVICE_HOST")
    if host_env and (sa / "token").is_file():
        if context:
            raise ConfigError(f"context={context!r} needs a kubeconfig, but none was found "
                              "(KUBECONFIG unset, ~/.kube/config missing)")
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        h = f"[{host_env}]" if ":" in host_env else host_env
        auth = resolve_auth(token) if token else ServiceAccountToken(sa / "token")
        ca = ca_bundle or ((sa / "ca.crt") if (sa / "ca.crt").is_file() else None)
        ns_file = sa / "namespace"
        ns = ns_file.read_text().strip() if ns_file.is_file() else None
        client = Client(f"https://{h}:{port}", auth=auth, ca_bundle=ca, insecure=insecure, **kw)
        return KubeConnection(client, origin="in-cluster service account", default_namespace=ns)
    raise ConfigError("no Kubernetes credentials: no kubeconfig (KUBECONFIG unset, "
                      "~/.kube/config missing) and not running inside a cluster; run `oc login` "
                      "or pass kubeconfig=PATH")
