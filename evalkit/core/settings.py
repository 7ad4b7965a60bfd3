"""Connection settings: every ``EVALKIT_*`` value, where it came from, and the clients built
from them. Arguments (and command-line flags) always win over the environment.

==============================  =====================================================
``EVALKIT_PROMETHEUS_URL``       Prometheus / Thanos querier root URL
``EVALKIT_PROMETHEUS_TOKEN``     bearer token for it (``..._TOKEN_FILE``: a file holding it,
                                 re-read on every request)
``EVALKIT_REGISTRY_URL``         Model Registry REST root URL
``EVALKIT_REGISTRY_TOKEN``       bearer token for it (``..._TOKEN_FILE`` likewise)
``EVALKIT_PUSHGATEWAY_TOKEN``    bearer token for the Pushgateway ``evalkit publish`` pushes to
                                 (``..._TOKEN_FILE`` likewise; its URL is always a flag)
``EVALKIT_CA_BUNDLE``            CA bundle (PEM) used to verify every HTTPS endpoint
``EVALKIT_MAX_BODY_MB``          largest HTTP answer accepted (default 256)
``EVALKIT_HTTP_DEADLINE``        seconds one request may take in total (default 300)
``EVALKIT_MAX_FILE_MB``          largest results/answer document read from disk (default 256)
==============================  =====================================================

The in-cluster service-account token is sent to Prometheus or the registry only when the
caller opts in (``service_account=True``; ``--prometheus-service-account`` on the command line).

>>> resolve_url("http://127.0.0.1:9090/", "EVALKIT_PROMETHEUS_URL")
'http://127.0.0.1:9090'
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from .auth import Auth, resolve_auth
from .errors import ConfigError, InputError
from .http import Client, safe_url

#: service name -> environment prefix (``{prefix}_URL``, ``{prefix}_TOKEN``, ``{prefix}_TOKEN_FILE``)
SERVICES: dict[str, str] = {
    "prometheus": "EVALKIT_PROMETHEUS",
    "registry": "EVALKIT_REGISTRY",
}
#: display names of the services
NAMES = {"prometheus": "prometheus", "registry": "model registry"}


def check_url(value: str, what: str = "endpoint") -> str:
    """A usable root URL: http(s), a host, no query or fragment (they would be silently
    dropped or break path joins); the trailing ``/`` removed.

    >>> check_url("https://thanos:9091/?x=1", "prometheus")
    Traceback (most recent call last):
    ...
    evalkit.core.errors.InputError: prometheus URL 'https://thanos:9091/' must not carry a query string or fragment; pass the API root, e.g. https://host:9091
    """
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{what} URL {safe_url(value)!r} must start with http:// or https:// "
                         "and name a host")
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise InputError(f"{what} URL {safe_url(value)!r} must not carry a query string or "
                         "fragment; pass the API root, e.g. https://host:9091")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise InputError(f"{what} URL {safe_url(value)!r} has an invalid port") from None
    return value.rstrip("/")


def resolve_url(url: str | None, env_var: str, *, what: str = "endpoint") -> str:
    """``url`` if given, else the value of ``env_var``; a clear error when neither is set."""
    value = (url or os.environ.get(env_var, "")).strip()
    if not value:
        raise ConfigError(f"no {what} URL: pass it as an argument (or a command-line flag) or "
                          f"set {env_var}")
    return check_url(value, what)


def service_client(
    service: str,
    url: str | None = None,
    *,
    token: str | Auth | None = None,
    token_file: str | os.PathLike[str] | None = None,
    service_account: bool = False,
    ca_bundle: str | os.PathLike[str] | None = None,
    insecure: bool = False,
    **client_kw: Any,
) -> Client:
    """A :class:`~evalkit.core.http.Client` for ``"prometheus"`` or ``"registry"`` from
    arguments, then the environment (``EVALKIT_<SERVICE>_URL``, ``_TOKEN``, ``_TOKEN_FILE``,
    ``EVALKIT_CA_BUNDLE``), then — only with ``service_account=True`` — the in-cluster service
    account.

    >>> c = service_client("prometheus", "http://127.0.0.1:9090", token="marker-svc-1")
    >>> c.describe()["auth"], c.name
    ('bearer token (argument)', 'prometheus')
    """
    try:
        prefix = SERVICES[service]
    except KeyError:
        raise ValueError(f"unknown service {service!r}; one of {sorted(SERVICES)}") from None
    base = resolve_url(url, f"{prefix}_URL", what=service)
    auth = resolve_auth(token, token_file=token_file, env_prefix=prefix,
                        service_account=service_account)
    client_kw.setdefault("name", NAMES[service])
    return Client(base, auth=auth, ca_bundle=ca_bundle, insecure=insecure, **client_kw)
