"""The one place evalkit talks HTTP: sessions, timeouts, retries, TLS, limits, redaction.

Every request evalkit itself sends goes through :class:`Client`. Auth objects come from
:mod:`evalkit.core.auth`; error texts and log lines pass through
:func:`evalkit.core.secrets.redact`.

Bounded work: every answer is read in full inside the retry loop, checked against its
``Content-Length`` (urllib3 1.26 returns a cut-off body short instead of failing), refused
beyond ``max_body_bytes`` (default 256 MB, ``$EVALKIT_MAX_BODY_MB``; an announced
``Content-Length`` beyond it is refused before reading), and a whole request — connect plus the
full body — must finish within ``deadline`` seconds (default 300, ``$EVALKIT_HTTP_DEADLINE``)
besides the per-read timeout. The deadline is enforced on the socket
(:mod:`evalkit.core.watchdog`): a server trickling one byte at a time cannot hold a request
open. A redirect to another origin is refused, not followed (credentials and secret headers
never travel to it).

>>> c = Client("https://prometheus.example:9090", name="prometheus")
>>> c
Client(name='prometheus', url='https://prometheus.example:9090', auth=None, verify=True)
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import re
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.auth import AuthBase

from . import auth, secrets
from .auth import Auth
from .errors import AuthError, BadResponseBody, ConfigError, HTTPError, NotFoundError
from .files import env_positive
from .watchdog import Adapter, Deadline

log = secrets.get_logger("evalkit.http")

#: default limits (overridable per client and through the environment)
MAX_BODY_BYTES = 256 * 2**20
DEADLINE_S = 300.0


def default_max_body() -> int:
    """``$EVALKIT_MAX_BODY_MB`` in bytes, else 256 MB."""
    return int(env_positive("EVALKIT_MAX_BODY_MB", MAX_BODY_BYTES / 2**20) * 2**20)


def default_deadline() -> float:
    """``$EVALKIT_HTTP_DEADLINE`` seconds, else 300."""
    return env_positive("EVALKIT_HTTP_DEADLINE", DEADLINE_S)


def safe_url(url: str) -> str:
    """``url`` without userinfo, query string or fragment: safe for messages and manifests.

    >>> safe_url("https://user:pw@host:9091/api/v1/query?token=x")
    'https://host:9091/api/v1/query'
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port:
        host = f"{host}:{port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def resolve_verify(url: str, ca_bundle: str | os.PathLike[str] | None = None,
                   insecure: bool = False) -> str | bool:
    """The ``verify`` value for ``requests``: ``False`` only when ``insecure`` is set
    (warned loudly), else a CA bundle path (argument, ``$EVALKIT_CA_BUNDLE``, or the
    in-cluster service CA for ``*.svc`` hosts), else ``True`` (system trust store)."""
    if insecure:
        msg = (f"TLS verification is OFF for {safe_url(url)} (insecure=True); results will be "
               "marked insecure. Pass ca_bundle=PATH instead.")
        warnings.warn(msg, stacklevel=3)
        log.warning(msg)
        return False
    for given, origin in ((ca_bundle, "ca_bundle"), (os.environ.get("EVALKIT_CA_BUNDLE"),
                                                      "$EVALKIT_CA_BUNDLE")):
        if given:
            if not Path(given).is_file():
                raise ConfigError(f"CA bundle {given} (from {origin}) is not a file; pass the PEM "
                                  f"file holding the CA of {safe_url(url)}")
            return str(given)
    host = urlsplit(url).hostname or ""
    if host.endswith(".svc") or host.endswith(".svc.cluster.local"):
        for name in ("service-ca.crt", "ca.crt"):
            p = auth.SERVICE_ACCOUNT_DIR / name
            if p.is_file():
                return str(p)
    return True


# --------------------------------------------------------------------------- retries


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and jitter, honouring ``Retry-After``.

    ``attempts`` counts every try (first one included). Retried: HTTP ``statuses``, connection
    errors, timeouts, truncated bodies and (for JSON calls) bodies that are not valid JSON.

    >>> RetryPolicy().delay(1, None) <= 1.0
    True
    """

    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 120.0
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 502, 503, 504}))

    def delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait before try ``attempt + 1`` (``attempt`` starts at 1)."""
        if retry_after:
            ra = _parse_retry_after(retry_after)
            if ra is not None:
                return min(max(ra, 0.0), self.max_retry_after)
        base = min(self.backoff * 2 ** (attempt - 1), self.max_backoff)
        return base * (0.5 + random.random() / 2)


#: Methods repeated after a timeout or a lost connection by default (RFC 9110 idempotent).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def _parse_retry_after(value: str) -> float | None:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()


class _Truncated(Exception):
    """The body ended before its ``Content-Length``."""


class _Deadline(Exception):
    """The whole request took longer than the client's deadline."""


class _CrossOrigin(Exception):
    """A redirect to another origin (credentials and secret headers must not follow)."""


class _Session(requests.Session):
    """A session that refuses to follow a redirect off its own origin: ``requests`` drops only
    the ``Authorization`` header there, not secret custom headers (``X-Scope-OrgID``, API
    keys), and an answer from another server is not what the user pointed evalkit at."""

    def __init__(self, origin: tuple[str, str, int | None]) -> None:
        super().__init__()
        self.origin = origin

    def rebuild_auth(self, prepared_request: Any, response: Any) -> None:
        if _origin(prepared_request.url) != self.origin:
            raise _CrossOrigin(safe_url(prepared_request.url))
        super().rebuild_auth(prepared_request, response)


# --------------------------------------------------------------------------- client


class Client:
    """One HTTP endpoint with evalkit's rules: timeouts, retries, TLS, auth, limits, redaction.

    Parameters
    ----------
    base_url : the endpoint's root, e.g. ``https://thanos-querier.openshift-monitoring.svc:9091``.
    auth : an :class:`~evalkit.core.auth.Auth` (use :func:`~evalkit.core.auth.resolve_auth`),
        or ``None``.
    ca_bundle, insecure : TLS settings, see :func:`resolve_verify`.
    timeout : ``(connect, read)`` seconds.
    retry : a :class:`RetryPolicy`.
    headers : extra headers on every request (e.g. ``{"X-Scope-OrgID": "tenant"}``); values of
        credential-like headers are registered as secrets, control characters are refused.
    name : what the endpoint is, for messages ("prometheus", "model registry").
    sleep : the function that waits between retries (tests pass a fake to run fast).
    cert : a client certificate, ``(cert_file, key_file)`` or one PEM path holding both
        (Kubernetes client-certificate kubeconfigs).
    proxies : explicit proxies, e.g. ``{"https": "http://proxy:3128"}`` (the environment's
        ``HTTPS_PROXY`` is ignored on purpose).
    max_body_bytes, deadline : limits on one answer's size and on one request's total time
        (connect + full body); see the module docstring.

    Tokens are sent only to ``base_url``'s own origin: an absolute URL to another host is
    refused, and so is a redirect to another origin.

    >>> Client("http://127.0.0.1:9090", name="prometheus").url("/api/v1/query")
    'http://127.0.0.1:9090/api/v1/query'
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: Auth | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
        insecure: bool = False,
        timeout: tuple[float, float] = (5.0, 60.0),
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        name: str = "endpoint",
        sleep: Callable[[float], None] = time.sleep,
        pool_size: int = 10,
        cert: str | tuple[str, str] | None = None,
        proxies: Mapping[str, str] | None = None,
        max_body_bytes: int | None = None,
        deadline: float | None = None,
    ) -> None:
        if auth is not None and not isinstance(auth, AuthBase):
            raise TypeError("auth must be an evalkit auth object; wrap tokens with resolve_auth()")
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        if parts.password:
            secrets.register(parts.password)
        if isinstance(auth, Auth):
            auth.check_url(self.base_url)
        self.name = name
        self.auth = auth
        self.insecure = bool(insecure)
        self.verify = resolve_verify(base_url, ca_bundle, insecure)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.max_body_bytes = int(max_body_bytes or default_max_body())
        self.deadline = float(deadline or default_deadline())
        self._sleep = sleep
        self.session = _Session(_origin(self.base_url))
        self.session.trust_env = False  # proxies/netrc from the environment never add credentials
        adapter = Adapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.verify = self.verify
        self.session.auth = auth
        self.cert = cert
        if cert is not None:
            self.session.cert = cert
        if proxies:
            self.session.proxies.update(proxies)
        self.session.headers["User-Agent"] = _user_agent()
        for key, value in (headers or {}).items():
            value = secrets.check_value(str(value), f"the value of header {key}")
            if secrets.SENSITIVE_HEADER.search(key):
                secrets.register(value)
            self.session.headers[key] = value

    def __repr__(self) -> str:
        return (f"Client(name={self.name!r}, url={safe_url(self.base_url)!r}, "
                f"auth={self.auth!r}, verify={self.verify!r})")

    def describe(self) -> dict[str, Any]:
        """Secret-free settings for a snapshot manifest."""
        return {
            "name": self.name,
            "url": safe_url(self.base_url),
            "auth": self.auth.describe() if isinstance(self.auth, Auth) else (
                None if self.auth is None else type(self.auth).__name__),
            "tls_verify": self.verify is not False,
            "insecure": self.insecure,
            "ca_bundle": self.verify if isinstance(self.verify, str) else None,
            "client_cert": self.cert is not None,
        }

    def url(self, path: str) -> str:
        """The absolute URL for ``path``; an absolute ``path`` must be on ``base_url``'s origin
        (so credentials never travel to another host)."""
        if path.startswith(("http://", "https://")):
            if _origin(path) != _origin(self.base_url):
                raise ValueError(f"{self.name}: refusing to send a request for {safe_url(path)} "
                                 f"through the client of {safe_url(self.base_url)}")
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    # -- one try ------------------------------------------------------------------------
    def _send(self, method: str, url: str, **kw: Any) -> requests.Response:
        """Send and read the whole body within the deadline and size limit (the deadline is
        enforced on the socket: a server trickling bytes cannot hold a read open)."""
        with Deadline(self.deadline) as watch:
            try:
                resp = self._read(method, url, **kw)
            except Exception:
                if watch.fired:
                    raise _Deadline() from None
                raise
        if watch.fired:
            raise _Deadline()
        return resp

    def _read(self, method: str, url: str, **kw: Any) -> requests.Response:
        resp = self.session.request(method, url, timeout=self.timeout, stream=True, **kw)
        try:
            expected = resp.headers.get("Content-Length")
            if (expected and expected.isdigit() and int(expected) > self.max_body_bytes
                    and method.upper() != "HEAD"):
                raise self._too_large(url, resp)  # announced: do not even start reading
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_content(chunk_size=1 << 16):
                size += len(chunk)
                if size > self.max_body_bytes:
                    raise self._too_large(url, resp)
                chunks.append(chunk)
            body = b"".join(chunks)
            if expected and expected.isdigit() and method.upper() != "HEAD":
                raw_read = getattr(resp.raw, "tell", lambda: len(body))()
                got = raw_read if resp.headers.get("Content-Encoding") else len(body)
                if got < int(expected):
                    raise _Truncated(f"{got} of {expected} bytes")
            resp._content = body  # type: ignore[attr-defined]
            resp._content_consumed = True  # type: ignore[attr-defined]
        finally:
            resp.close()
        return resp

    def _too_large(self, url: str, resp: requests.Response) -> HTTPError:
        return HTTPError(
            f"{self.name} at {safe_url(url)}: the answer is larger than the "
            f"{self.max_body_bytes / 2**20:g} MB limit; narrow the query, or raise the limit "
            "(max_body_bytes=..., $EVALKIT_MAX_BODY_MB)",
            endpoint=safe_url(url), status=resp.status_code, cause="body too large")

    # -- core loop ----------------------------------------------------------------------
    def request(self, method: str, path: str, *, params: Any = None, data: Any = None,
                json_body: Any = None, headers: Mapping[str, str] | None = None,
                ok: Callable[[requests.Response], bool] | None = None,
                parse_json: bool = False, idempotent: bool | None = None,
                validate: Callable[[requests.Response], Any] | None = None) -> requests.Response:
        """Send one request with retries; return the response with its body read in full.

        Raises :class:`~evalkit.core.errors.HTTPError` (or :class:`AuthError` /
        :class:`NotFoundError`) naming the endpoint and the cause when the request cannot
        succeed. A status >= 400 that ``ok(response)`` accepts is returned at once, not raised
        nor retried (with ``parse_json`` its body's JSON, or ``None``, is on ``evalkit_json``).
        With ``parse_json`` the body must be valid JSON (retried otherwise) and is stored
        on ``response.evalkit_json``. ``idempotent=False`` (for writes: creating a registry
        object, pushing metrics) stops retries of a timeout or a connection lost after the
        request was sent (the server may have acted on it); refused connections and
        retryable statuses are still retried. The default (``None``) follows the method:
        GET, HEAD, OPTIONS, PUT and DELETE are safe to repeat, POST and PATCH are not; read-only
        POSTs (Prometheus form queries) pass ``idempotent=True``.
        ``validate(response)`` checks an accepted body; its value is stored on
        ``response.evalkit_value``. When it raises :class:`~evalkit.core.errors.BadResponseBody`
        the request is retried, and the last such error is raised when retries run out; any
        other exception propagates at once.
        """
        if idempotent is None:
            idempotent = method.upper() in IDEMPOTENT_METHODS
        url = self.url(path)
        endpoint = safe_url(url)
        last_cause = ""
        last_status: int | None = None
        last_invalid: BadResponseBody | None = None
        for attempt in range(1, self.retry.attempts + 1):
            retry_after = None
            last_invalid = None
            try:
                resp = self._send(method, url, params=params, data=data, json=json_body,
                                  headers=dict(headers or {}))
            except requests.exceptions.SSLError as exc:
                raise HTTPError(
                    f"{self.name} at {endpoint}: TLS verification failed ({_short(exc)}). Pass "
                    "ca_bundle=PATH (or set EVALKIT_CA_BUNDLE) with the cluster's CA.",
                    endpoint=endpoint, cause="tls") from None
            except _Deadline:
                last_cause, last_status = (f"no complete answer within the {self.deadline:g} s "
                                           "deadline (raise it with deadline=... or "
                                           "$EVALKIT_HTTP_DEADLINE)"), None
                if not idempotent:
                    raise self._not_retried(method, endpoint, last_cause) from None
            except _CrossOrigin as exc:
                raise HTTPError(
                    f"{self.name} at {endpoint}: redirected to another origin ({exc}); evalkit "
                    "does not follow it (credentials and headers stay with the URL you gave); "
                    "pass the final URL instead", endpoint=endpoint,
                    cause="cross-origin redirect") from None
            except _Truncated as exc:
                last_cause, last_status = f"body truncated ({exc})", None
                if not idempotent:
                    raise self._not_retried(method, endpoint, last_cause) from None
            except requests.exceptions.Timeout as exc:
                last_cause, last_status = f"timed out ({_short(exc)})", None
                if not idempotent and not isinstance(exc, requests.exceptions.ConnectTimeout):
                    raise self._not_retried(method, endpoint, last_cause) from None
            except (requests.exceptions.ConnectionError,
                    requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError) as exc:
                last_cause, last_status = f"connection failed or body truncated ({_short(exc)})", None
                if not idempotent and not _never_connected(exc):
                    raise self._not_retried(method, endpoint, last_cause) from None
            except requests.exceptions.RequestException as exc:  # invalid URL, bad proxy, ...
                raise HTTPError(f"{self.name} at {endpoint}: request could not be sent "
                                f"({_short(exc)})", endpoint=endpoint, cause=_short(exc)) from None
            except (ValueError, UnicodeError) as exc:  # a header value http.client refuses
                raise HTTPError(f"{self.name} at {endpoint}: request could not be sent "
                                f"({type(exc).__name__})", endpoint=endpoint,
                                cause=type(exc).__name__) from None
            except OSError as exc:  # unreadable client certificate or CA file
                raise HTTPError(f"{self.name} at {endpoint}: {_short(exc)}", endpoint=endpoint,
                                cause=_short(exc)) from None
            else:
                last_status = resp.status_code
                accepted_error = resp.status_code >= 400 and ok is not None and ok(resp)
                if accepted_error or resp.status_code < 400:
                    if parse_json:
                        try:
                            resp.evalkit_json = json.loads(resp.content)  # type: ignore[attr-defined]
                        except (ValueError, RecursionError):
                            if not accepted_error:
                                last_cause = (f"HTTP {resp.status_code} with a body that is not "
                                              f"valid JSON ({_describe_body(resp)})")
                                self._pause(attempt, endpoint, last_cause, None)
                                continue
                            # an accepted error answer: its JSON if any, never retried
                            resp.evalkit_json = None  # type: ignore[attr-defined]
                    if validate is None:
                        return resp
                    try:
                        resp.evalkit_value = validate(resp)  # type: ignore[attr-defined]
                    except BadResponseBody as exc:
                        last_invalid = exc
                        last_cause = f"HTTP {resp.status_code}: {exc}"
                    else:
                        return resp
                elif resp.status_code in self.retry.statuses:
                    last_cause = f"HTTP {resp.status_code} ({_describe_body(resp)})"
                    retry_after = resp.headers.get("Retry-After")
                else:
                    self.raise_for_status(resp, endpoint)
            self._pause(attempt, endpoint, last_cause, retry_after)
        if last_invalid is not None:
            last_invalid.args = (f"{self.name} at {endpoint} failed after {self.retry.attempts} "
                                 f"attempt(s): {secrets.redact(last_invalid)}",)
            raise last_invalid
        raise HTTPError(
            f"{self.name} at {endpoint} failed after {self.retry.attempts} attempt(s): "
            f"{secrets.redact(last_cause)}. Check that the endpoint is reachable and healthy, or "
            "raise the timeout/retries.",
            endpoint=endpoint, status=last_status, cause=secrets.redact(last_cause))

    def _pause(self, attempt: int, endpoint: str, cause: str, retry_after: str | None) -> None:
        """Wait before the next try (nothing after the last one)."""
        if attempt < self.retry.attempts:
            wait = self.retry.delay(attempt, retry_after)
            log.info("%s %s: %s; retry %d/%d in %.1fs", self.name, endpoint, cause,
                     attempt, self.retry.attempts - 1, wait)
            self._sleep(wait)

    def get_json(self, path: str, **kw: Any) -> Any:
        """``GET`` and return the decoded JSON body (see :meth:`request`)."""
        return self.request("GET", path, parse_json=True, **kw).evalkit_json  # type: ignore[attr-defined]

    def send_json(self, method: str, path: str, **kw: Any) -> Any:
        """Any method, returning the decoded JSON body (see :meth:`request`)."""
        return self.request(method, path, parse_json=True, **kw).evalkit_json  # type: ignore[attr-defined]

    def _not_retried(self, method: str, endpoint: str, cause: str) -> HTTPError:
        return HTTPError(f"{self.name} at {endpoint}: {method.upper()} "
                         f"{secrets.redact(cause)}; not retried because the server may already "
                         "have acted on it. Check before retrying.",
                         endpoint=endpoint, cause=secrets.redact(cause))

    def raise_for_status(self, resp: requests.Response, endpoint: str) -> None:
        """Raise the typed error for an error answer (401/403 → AuthError, 404 →
        NotFoundError, else HTTPError), naming the endpoint and the body's message."""
        detail = _describe_body(resp)
        status = resp.status_code
        if status in (401, 403):
            word = "unauthorized (401): the token is missing, expired or wrong" if status == 401 \
                else "forbidden (403): the token lacks a permission"
            raise AuthError(f"{self.name} at {endpoint}: {word} ({detail})",
                            endpoint=endpoint, status=status, cause=detail)
        if status == 404:
            raise NotFoundError(f"{self.name} at {endpoint}: not found (404) ({detail})",
                                endpoint=endpoint, status=status, cause=detail)
        raise HTTPError(f"{self.name} at {endpoint}: HTTP {status} ({detail})",
                        endpoint=endpoint, status=status, cause=detail)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _never_connected(exc: BaseException) -> bool:
    """True when a ``ConnectionError`` happened before the request reached the server."""
    import urllib3.exceptions as u3

    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        e = stack.pop()
        if id(e) in seen or e is None:
            continue
        seen.add(id(e))
        if isinstance(e, (u3.NewConnectionError, u3.ConnectTimeoutError)):
            return True
        if isinstance(e, BaseException):
            stack.extend(e.args)
            stack.extend([getattr(e, "reason", None), e.__cause__, e.__context__])
    return False


def _short(exc: BaseException) -> str:
    text = secrets.redact(exc)
    return text if len(text) <= 200 else text[:197] + "..."


def _describe_body(resp: requests.Response) -> str:
    """A short, secret-free description of an error body (JSON message, HTML page, text)."""
    ctype = resp.headers.get("Content-Type", "")
    body = resp.content[:4000].decode("utf-8", "replace")
    if "html" in ctype or body.lstrip().lower().startswith(("<!doctype html", "<html")):
        m = re.search(r"<title>(.*?)</title>", body, re.I | re.S)
        title = f" titled {m.group(1).strip()[:80]!r}" if m else ""
        return f"an HTML page{title} instead of JSON, probably a proxy or login page"
    try:
        doc = json.loads(resp.content[: 1 << 20])
    except (ValueError, RecursionError):
        text = " ".join(body.split())
        return secrets.redact(text[:200]) if text else "empty body"
    if isinstance(doc, dict):
        for key in ("message", "error", "msg", "detail"):
            if isinstance(doc.get(key), str):
                prefix = f"{doc['errorType']}: " if isinstance(doc.get("errorType"), str) else ""
                return secrets.redact(prefix + doc[key])[:300]
    return secrets.redact(json.dumps(doc)[:200])


def _user_agent() -> str:
    from .._version import __version__

    return f"evalkit/{__version__} python-requests/{requests.__version__}"
