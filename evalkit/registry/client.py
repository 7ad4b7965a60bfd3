"""Talking to a Kubeflow Model Registry over REST, through evalkit's one HTTP client.

:class:`RegistryClient` finds the API generation the server speaks — ``/api/model_registry/v1``
first, ``/api/model_registry/v1alpha3`` on a 404 — and says which answered (a ``base_path``
argument skips the probe). Every answer carrying ``Deprecation`` or ``Sunset`` headers becomes a
:class:`RegistryDeprecationWarning` and a data issue. Lists are followed through
``nextPageToken``. Errors say what to do: a missing or rejected token, a missing permission,
a path the server does not serve (the v1/v1alpha3 mismatch), a failing server.

``target`` may be a URL or a ``model_registry.ModelRegistry`` the user built in a workbench
(duck-typed: anything whose ``_api.config`` has the client's ``host``, ``access_token``,
``ssl_ca_cert`` and ``verify_ssl`` attributes, as releases 0.3.14 and 0.3.18 have): evalkit takes
the address (port included), token and CA file from it and talks REST itself. TLS stays
verified: an instance built with ``is_secure=False`` does not turn verification off.

>>> RegistryClient("http://127.0.0.1:8080/api/model_registry/v1alpha3").base_path
'/api/model_registry/v1alpha3'
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from ..core import secrets
from ..core.errors import AuthError, ConfigError, HTTPError, InputError, NotFoundError
from ..core.http import Client, safe_url
from ..core.settings import check_url, service_client
from .parse import API_ROOT

log = secrets.get_logger("evalkit.registry")

GENERATIONS = ("v1", "v1alpha3")
PAGE_SIZE = 100
MAX_PAGES = 10_000
_BACKTICK_SUFFIX = re.compile(r"`([^`]+)`\.(string_value|double_value|int_value|bool_value)")


class RegistryDeprecationWarning(UserWarning):
    """The registry marked the API generation evalkit used as deprecated (``Deprecation`` /
    ``Sunset`` headers)."""


def check_filter(query: str | None) -> str | None:
    """Refuse a ``filterQuery`` the real server answers 400 to, before any call.

    >>> check_filter("`eval_gsm8k.double_value` > 0.7")
    '`eval_gsm8k.double_value` > 0.7'
    >>> check_filter("`eval_gsm8k`.double_value > 0.7")
    Traceback (most recent call last):
    ...
    evalkit.core.errors.InputError: filterQuery: write `eval_gsm8k.double_value` — the type suffix goes INSIDE the backticks (the registry answers 400 to `eval_gsm8k`.double_value)
    """
    if query is None:
        return None
    if not isinstance(query, str) or not query.strip():
        raise InputError("filterQuery must be a non-empty string, e.g. \"name = '1.0'\"")
    m = _BACKTICK_SUFFIX.search(query)
    if m:
        raise InputError(f"filterQuery: write `{m[1]}.{m[2]}` — the type suffix goes INSIDE the "
                         f"backticks (the registry answers 400 to `{m[1]}`.{m[2]})")
    return query


def instance_settings(target: Any) -> dict[str, Any] | None:
    """``{url, token, ca_bundle, verify}`` of a ``model_registry.ModelRegistry`` (or any
    object with its ``_api.config`` attributes); ``None`` when ``target`` is not one.

    >>> from types import SimpleNamespace as NS
    >>> mr = NS(_api=NS(config=NS(host="https://mr.example:443", access_token="t-marker",
    ...                           ssl_ca_cert=None, verify_ssl=True)))
    >>> instance_settings(mr)["url"]
    'https://mr.example:443'
    """
    config = getattr(getattr(target, "_api", None), "config", None)
    host = getattr(config, "host", None)
    if not isinstance(host, str) or not host:
        return None
    token = getattr(config, "access_token", None)
    ca = getattr(config, "ssl_ca_cert", None)
    return {"url": host, "token": token if isinstance(token, str) and token.strip() else None,
            "ca_bundle": ca if isinstance(ca, str | os.PathLike) else None,
            "verify": bool(getattr(config, "verify_ssl", True))}


def split_base(url: str, base_path: str | None) -> tuple[str, str | None, str | None]:
    """``(root URL, base path or None, api or None)``: a URL that already ends in
    ``/api/model_registry/<generation>`` fixes the generation.

    >>> split_base("https://mr:8443/api/model_registry/v1alpha3/", None)
    ('https://mr:8443', '/api/model_registry/v1alpha3', 'v1alpha3')
    >>> split_base("https://mr:8443", "v1")
    ('https://mr:8443', '/api/model_registry/v1', 'v1')
    """
    parts = urlsplit(url.rstrip("/"))
    path = parts.path
    m = re.search(rf"{re.escape(API_ROOT)}/([^/]+)$", path)
    if m and base_path is None:
        root = urlunsplit((parts.scheme, parts.netloc, path[:m.start()], "", ""))
        return root, f"{API_ROOT}/{m[1]}", m[1]
    if base_path is None:
        return url.rstrip("/"), None, None
    bp = base_path.strip()
    if bp in GENERATIONS:
        return url.rstrip("/"), f"{API_ROOT}/{bp}", bp
    if not bp.startswith("/"):
        raise InputError(f"base_path {base_path!r}: give 'v1', 'v1alpha3' or a path starting "
                         "with '/' (e.g. /api/model_registry/v1alpha3)")
    bp = bp.rstrip("/")
    last = bp.rsplit("/", 1)[-1]
    return url.rstrip("/"), bp, last if last in GENERATIONS else "custom"


class RegistryClient:
    """One Model Registry REST endpoint (see the module docstring).

    ``token`` (a string or a :mod:`evalkit.core.auth` object), ``token_file``,
    ``$EVALKIT_REGISTRY_TOKEN`` / ``$EVALKIT_REGISTRY_TOKEN_FILE``, then — only with
    ``service_account=True`` and https — the pod's service-account token. ``url`` falls back
    to ``$EVALKIT_REGISTRY_URL``. ``http_kw`` go to :class:`evalkit.core.http.Client`
    (``timeout``, ``retry``, ``sleep``, ``deadline``...).
    """

    def __init__(self, target: Any = None, *, token: Any = None,
                 token_file: str | os.PathLike[str] | None = None,
                 ca_bundle: str | os.PathLike[str] | None = None, insecure: bool = False,
                 base_path: str | None = None, service_account: bool = False,
                 **http_kw: Any) -> None:
        self.notes: list[str] = []
        if target is not None and not isinstance(target, str):
            found = instance_settings(target)
            if found is None:
                raise InputError(f"expected a registry URL or a model_registry.ModelRegistry, got "
                                 f"{type(target).__name__}")
            target = found["url"]
            if token is None and token_file is None and found["token"]:
                token = found["token"]
            if ca_bundle is None and found["ca_bundle"]:
                ca_bundle = found["ca_bundle"]
            if not found["verify"] and urlsplit(target).scheme == "https" and not insecure:
                self.notes.append("the ModelRegistry instance does not verify TLS "
                                  "(is_secure=False); evalkit does (pass ca_bundle=PATH, or "
                                  "insecure=True to match it)")
                log.warning("%s", self.notes[-1])
        raw = target or os.environ.get("EVALKIT_REGISTRY_URL", "")
        if not raw:
            raise ConfigError("no model registry URL: pass it (or a ModelRegistry instance), "
                              "--registry URL, or set EVALKIT_REGISTRY_URL")
        root, self.base_path, self.api = split_base(check_url(raw, "model registry"), base_path)
        self.forced = self.api is not None
        self.http: Client = service_client("registry", root, token=token, token_file=token_file,
                                           service_account=service_account,
                                           ca_bundle=ca_bundle, insecure=insecure, **http_kw)
        self.url = safe_url(self.http.base_url)
        self.discovery: list[dict[str, Any]] = []
        self.deprecation: dict[str, str] = {}
        self.requests = 0

    def __repr__(self) -> str:
        return f"RegistryClient({self.url!r}, api={self.api!r})"

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> dict[str, Any]:
        """Secret-free settings for a snapshot manifest."""
        return {**self.http.describe(), "api": self.api, "base_path": self.base_path}

    # -- one call ----------------------------------------------------------------------
    def _path(self, resource: str) -> str:
        if self.base_path is None:
            self.discover()
        return f"{self.base_path}/{resource.lstrip('/')}"

    def _send(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
              json_body: Any = None, accept_404: bool = False,
              writing: bool = False) -> requests.Response:
        self.requests += 1
        try:
            resp = self.http.request(method, path, params=dict(params or {}) or None,
                                     json_body=json_body, parse_json=True,
                                     ok=(lambda r: r.status_code == 404) if accept_404 else None,
                                     idempotent=None if method == "GET" else False)
        except HTTPError as exc:
            raise self._explain(exc, path, writing=writing) from None
        self._note_deprecation(resp)
        return resp

    def _note_deprecation(self, resp: requests.Response) -> None:
        found = {k: resp.headers[k] for k in ("Deprecation", "Sunset", "Link")
                 if k in resp.headers}
        if not ({"Deprecation", "Sunset"} & set(found)) or self.deprecation:
            return
        self.deprecation = found
        msg = (f"model registry at {self.url}: {self.base_path} is deprecated by the server "
               f"({'; '.join(f'{k}: {v}' for k, v in found.items())}); evalkit uses the newest "
               "generation when base_path is left unset")
        warnings.warn(msg, RegistryDeprecationWarning, stacklevel=4)
        log.warning("%s", msg)

    def _explain(self, exc: HTTPError, path: str, *, writing: bool) -> HTTPError:
        """The same error, with what to do next."""
        tail = "" if writing else " Nothing was written."
        if isinstance(exc, AuthError) and exc.status == 401:
            hint = ("Pass a valid token: token=... (Python), --registry-token-file (command "
                    "line) or $EVALKIT_REGISTRY_TOKEN / $EVALKIT_REGISTRY_TOKEN_FILE; on "
                    "OpenShift AI `oc whoami -t` prints yours (tokens expire).")
        elif isinstance(exc, AuthError):
            hint = ("The token is valid but may not use this registry: grant the user or "
                    "service account access (OpenShift AI dashboard: Settings > Model registry "
                    "settings > Manage permissions) and retry.")
        elif isinstance(exc, NotFoundError) and exc.cause.startswith("404 page not found"):
            other = [g for g in GENERATIONS if g != self.api]
            if self.forced and self.api in GENERATIONS:
                hint = (f"This server does not serve {self.base_path}: it speaks another API "
                        "generation. Leave base_path unset (evalkit probes v1, then v1alpha3) "
                        f"or pass base_path={other[0]!r}.")
            else:
                hint = (f"This server does not serve {path}: check the registry URL, or "
                        "upgrade a registry too old for this call.")
        elif isinstance(exc, NotFoundError):
            hint = "The object does not exist (any more): re-read the registry and retry."
        elif exc.status == 400:
            hint = "The registry refused the request as malformed; check names and filters."
        elif exc.status is not None and exc.status >= 500:
            hint = ("The registry itself failed: check its pod logs (oc logs deploy/<registry> "
                    "-n <namespace>) and retry.")
        else:
            hint = "Check the registry URL, the network path to it and its health, then retry."
        out = type(exc)(f"{exc} {hint}{tail}", endpoint=exc.endpoint, status=exc.status,
                        cause=exc.cause)
        return out

    # -- discovery ---------------------------------------------------------------------
    def discover(self) -> str:
        """Probe ``v1`` then ``v1alpha3`` (``GET .../registered_models?pageSize=1``); return the
        generation that answered. Raises :class:`~evalkit.core.errors.NotFoundError` naming the
        URLs tried when neither exists."""
        if self.base_path is not None:
            return str(self.api)
        for gen in GENERATIONS:
            path = f"{API_ROOT}/{gen}/registered_models"
            self.base_path, self.api = f"{API_ROOT}/{gen}", gen
            resp = self._send("GET", path, params={"pageSize": "1"}, accept_404=True)
            self.discovery.append({"url": safe_url(self.http.url(path)),
                                   "status": resp.status_code})
            if resp.status_code != 404:
                log.info("model registry at %s answers %s", self.url, gen)
                return gen
        self.base_path = self.api = None
        tried = ", ".join(d["url"] for d in self.discovery)
        raise NotFoundError(
            f"model registry at {self.url}: no Model Registry REST API there (404 from {tried})."
            " Pass the registry's REST root — on OpenShift AI https://<registry>-rest.<apps "
            "domain> or in-cluster https://<registry>.<namespace>.svc:8443 — not the dashboard "
            "or a model endpoint. Nothing was written.", endpoint=self.url, status=404,
            cause="no API")

    # -- reads -------------------------------------------------------------------------
    def get(self, resource: str, params: Mapping[str, str] | None = None, *,
            writing: bool = False) -> tuple[bytes, Any]:
        """``GET`` one resource: ``(raw body, decoded JSON)``; ``writing`` when it happens in
        the middle of writes (its error then does not claim that nothing was written)."""
        resp = self._send("GET", self._path(resource), params=params, writing=writing)
        return resp.content, resp.evalkit_json  # type: ignore[attr-defined]

    def find(self, resource: str, params: Mapping[str, str]) -> tuple[bytes, Any] | None:
        """A find (``registered_model?name=``, ``model_version?name=&parentResourceId=``):
        ``None`` on a 404 whose body is the registry's JSON error (no such object)."""
        path = self._path(resource)
        resp = self._send("GET", path, params=params, accept_404=True)
        if resp.status_code == 404:
            if not isinstance(resp.evalkit_json, dict):  # type: ignore[attr-defined]
                try:  # the router's plain-text 404: a path the server does not serve
                    self.http.raise_for_status(resp, safe_url(self.http.url(path)))
                except HTTPError as exc:
                    raise self._explain(exc, path, writing=False) from None
            return None
        return resp.content, resp.evalkit_json  # type: ignore[attr-defined]

    def pages(self, resource: str, params: Mapping[str, str] | None = None
              ) -> Iterator[tuple[int, bytes, Any]]:
        """Every page of a list: ``(page number, raw body, decoded JSON)``."""
        query = {"pageSize": str(PAGE_SIZE), "orderBy": "ID", "sortOrder": "ASC",
                 **dict(params or {})}
        seen: set[str] = set()
        for page in range(1, MAX_PAGES + 1):
            body, doc = self.get(resource, query)
            if not isinstance(doc, dict) or not isinstance(doc.get("items", []), list):
                raise HTTPError(f"model registry at {self.url}: {resource} answered "
                                f"{type(doc).__name__} instead of a list object. Nothing was "
                                "written.", endpoint=self.url, cause="not a list")
            yield page, body, doc
            token = doc.get("nextPageToken") or ""
            if not token or not doc.get("items"):
                return
            if token in seen:
                raise HTTPError(f"model registry at {self.url}: {resource} repeats a "
                                "nextPageToken; stopped paging (server bug). Nothing was "
                                "written.", endpoint=self.url, cause="paging loop")
            seen.add(token)
            query["nextPageToken"] = token
        raise HTTPError(f"model registry at {self.url}: {resource} has more than {MAX_PAGES} "
                        "pages; narrow the read (models=..., filter_query=...)",
                        endpoint=self.url, cause="too many pages")

    # -- writes ------------------------------------------------------------------------
    def patch_version(self, version_id: str, custom: Mapping[str, Any]) -> tuple[bytes, Any]:
        """``PATCH model_versions/{id}`` with the FULL ``customProperties`` map (the server
        replaces the map it holds). Not retried after a timeout (the server may have acted)."""
        resp = self._send("PATCH", self._path(f"model_versions/{version_id}"),
                          json_body={"customProperties": dict(custom)}, writing=True)
        return resp.content, resp.evalkit_json  # type: ignore[attr-defined]
