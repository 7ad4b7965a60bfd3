"""The one place evalkit talks HTTP: sessions, timeouts, retries, TLS, auth, redaction.

Every request evalkit itself sends goes through :class:`Client`. A token enters once, at the
edge (argument, environment variable, token file or the in-cluster service account), and is
wrapped at once in an auth object (:class:`BearerToken`, :class:`TokenFile`) whose ``repr``
never shows it; error texts and log lines pass through :func:`redact`.

>>> auth = BearerToken("s3cr3t-marker")
>>> "s3cr3t" in repr(auth)
False
>>> c = Client("https://prometheus.example:9090", auth=auth, name="prometheus")
>>> "s3cr3t" in repr(c)
False

Settings read from the environment (arguments always win; see :func:`service_client`):

==============================  =====================================================
``EVALKIT_PROMETHEUS_URL``       Prometheus / Thanos querier root URL
``EVALKIT_PROMETHEUS_TOKEN``     bearer token for it (``..._TOKEN_FILE``: a file holding it,
                                 re-read on every request)
``EVALKIT_REGISTRY_URL``         Model Registry REST root URL
``EVALKIT_REGISTRY_TOKEN``       bearer token for it (``..._TOKEN_FILE`` likewise)
``EVALKIT_CA_BUNDLE``            CA bundle (PEM) used to verify every HTTPS endpoint
==============================  =====================================================

Without a token from any of these channels, the in-cluster service-account token
(``/var/run/secrets/kubernetes.io/serviceaccount/token``) is used when it exists, re-read on
every request because projected tokens rotate.
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import random
import re
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.auth import AuthBase

from .errors import AuthError, BadResponseBody, HTTPError, NotFoundError

log = logging.getLogger("evalkit.http")

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")

# --------------------------------------------------------------------------- redaction

_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()
_PATTERNS = [
    (re.compile(r"(?i)(authorization\s*[:=]\s*)(bearer|basic)\s+[^\s'\",]+"), r"\1\2 <redacted>"),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 <redacted>"),
    (re.compile(r"(?i)([?&](?:access_token|token|api_key|apikey)=)[^&\s'\"]+"), r"\1<redacted>"),
    (re.compile(r"(?i)(https?://)[^/\s:@]+:[^/\s@]+@"), r"\1<redacted>@"),
]


def _register_secret(secret: str) -> None:
    if secret and len(secret) >= 4:
        with _SECRETS_LOCK:
            _SECRETS.add(secret)


def redact(text: object) -> str:
    """Return ``str(text)`` with every known token and credential-looking part replaced.

    >>> _ = BearerToken("marker-abc-123")
    >>> redact("failed with marker-abc-123 in header")
    'failed with <redacted> in header'
    """
    s = str(text)
    with _SECRETS_LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        if secret in s:
            s = s.replace(secret, "<redacted>")
    for pat, repl in _PATTERNS:
        s = pat.sub(repl, s)
    return s


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs secrets from every record evalkit logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            try:
                record.msg = record.getMessage()
            except Exception:  # pragma: no cover - malformed log call
                record.msg = str(record.msg)
            record.args = None
        record.msg = redact(record.msg)
        return True


logging.getLogger("evalkit").addFilter(RedactingFilter())


def safe_url(url: str) -> str:
    """``url`` without userinfo, query string or fragment: safe for messages and manifests.

    >>> safe_url("https://user:pw@host:9091/api/v1/query?token=x")
    'https://host:9091/api/v1/query'
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


# --------------------------------------------------------------------------- auth objects


class Auth(AuthBase):
    """Base of evalkit's auth objects. ``repr`` and ``str`` never reveal the secret."""

    kind = "auth"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<redacted>)"

    __str__ = __repr__

    def describe(self) -> str:
        """A secret-free description for manifests (e.g. ``"bearer token from file /x"``)."""
        return self.kind

    def __reduce__(self):  # never pickle a secret into a snapshot or a worker by accident
        raise TypeError(f"{type(self).__name__} cannot be pickled (it holds a secret)")


class BearerToken(Auth):
    """A bearer token held in memory.

    >>> BearerToken("abc-marker-1")
    BearerToken(<redacted>)
    """

    kind = "bearer token"
    __slots__ = ("_token", "_origin")

    def __init__(self, token: str, *, origin: str = "argument") -> None:
        token = (token or "").strip()
        if not token:
            raise ValueError("empty token")
        self._token = token
        self._origin = origin
        _register_secret(token)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self._token}"
        return r

    def header(self) -> dict[str, str]:
        """The ``Authorization`` header (for libraries that need it as a dict)."""
        return {"Authorization": f"Bearer {self._token}"}

    def describe(self) -> str:
        return f"bearer token ({self._origin})"


class TokenFile(Auth):
    """A bearer token re-read from a file on every request (projected service-account
    tokens rotate).

    >>> TokenFile("/var/run/secrets/kubernetes.io/serviceaccount/token")
    TokenFile(/var/run/secrets/kubernetes.io/serviceaccount/token)
    """

    kind = "bearer token file"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"TokenFile({self.path})"

    __str__ = __repr__

    def _read(self) -> str:
        try:
            token = self.path.read_text().strip()
        except OSError as exc:
            raise AuthError(
                f"cannot read token file {self.path}: {exc.strerror or exc}; check the path "
                "or pass token=...", endpoint=str(self.path), cause="token file unreadable",
            ) from None
        if not token:
            raise AuthError(f"token file {self.path} is empty", endpoint=str(self.path),
                            cause="empty token file")
        _register_secret(token)
        return token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self._read()}"
        return r

    def header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._read()}"}

    def describe(self) -> str:
        return f"bearer token file {self.path}"


def resolve_auth(
    token: str | Auth | None = None,
    *,
    token_file: str | os.PathLike[str] | None = None,
    env_prefix: str | None = None,
    service_account: bool = True,
) -> Auth | None:
    """Wrap the token that arrives through one channel into an auth object.

    Order: ``token`` argument, ``token_file`` argument, ``{env_prefix}_TOKEN``,
    ``{env_prefix}_TOKEN_FILE``, then the in-cluster service-account token file when it exists
    (and ``service_account`` is true). Returns ``None`` when no channel holds a token.

    >>> resolve_auth("marker-xyz-1")
    BearerToken(<redacted>)
    >>> resolve_auth(None, service_account=False) is None
    True
    """
    if isinstance(token, Auth):
        return token
    if token:
        return BearerToken(token, origin="argument")
    if token_file:
        return TokenFile(token_file)
    if env_prefix:
        env_token = os.environ.get(f"{env_prefix}_TOKEN")
        if env_token:
            return BearerToken(env_token, origin=f"${env_prefix}_TOKEN")
        env_file = os.environ.get(f"{env_prefix}_TOKEN_FILE")
        if env_file:
            return TokenFile(env_file)
    sa = SERVICE_ACCOUNT_DIR / "token"
    if service_account and sa.is_file():
        return TokenFile(sa)
    return None


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
            if not Path(given).exists():
                raise HTTPError(f"CA bundle {given} (from {origin}) does not exist; pass the PEM "
                                f"file holding the CA of {safe_url(url)}",
                                endpoint=safe_url(url), cause="CA bundle missing")
            return str(given)
    host = urlsplit(url).hostname or ""
    if host.endswith(".svc") or host.endswith(".svc.cluster.local"):
        for name in ("service-ca.crt", "ca.crt"):
            p = SERVICE_ACCOUNT_DIR / name
            if p.is_file():
                return str(p)
    return True


#: service name -> environment prefix (``{prefix}_URL``, ``{prefix}_TOKEN``, ``{prefix}_TOKEN_FILE``)
SERVICES: dict[str, str] = {
    "prometheus": "EVALKIT_PROMETHEUS",
    "registry": "EVALKIT_REGISTRY",
}


def resolve_url(url: str | None, env_var: str, *, what: str = "endpoint") -> str:
    """``url`` if given, else the value of ``env_var``; a clear error when neither is set.

    >>> resolve_url("http://127.0.0.1:9090/", "EVALKIT_PROMETHEUS_URL")
    'http://127.0.0.1:9090'
    """
    value = url or os.environ.get(env_var, "")
    value = value.strip()
    if not value:
        raise HTTPError(f"no {what} URL: pass it as an argument (or a CLI flag) or set {env_var}",
                        cause="no URL")
    if not value.startswith(("http://", "https://")):
        raise HTTPError(f"{what} URL {safe_url(value)!r} must start with http:// or https://",
                        endpoint=safe_url(value), cause="bad URL")
    return value.rstrip("/")


def service_client(
    service: str,
    url: str | None = None,
    *,
    token: str | Auth | None = None,
    token_file: str | os.PathLike[str] | None = None,
    ca_bundle: str | os.PathLike[str] | None = None,
    insecure: bool = False,
    **client_kw: Any,
) -> Client:
    """A :class:`Client` for ``"prometheus"`` or ``"registry"`` from arguments, then the
    environment (``EVALKIT_<SERVICE>_URL``, ``_TOKEN``, ``_TOKEN_FILE``, ``EVALKIT_CA_BUNDLE``),
    then the in-cluster service account.

    >>> c = service_client("prometheus", "http://127.0.0.1:9090", token="marker-svc-1")
    >>> c.describe()["auth"], c.name
    ('bearer token (argument)', 'prometheus')
    """
    try:
        prefix = SERVICES[service]
    except KeyError:
        raise ValueError(f"unknown service {service!r}; one of {sorted(SERVICES)}") from None
    base = resolve_url(url, f"{prefix}_URL", what=service)
    auth = resolve_auth(token, token_file=token_file, env_prefix=prefix)
    client_kw.setdefault("name", "model registry" if service == "registry" else service)
    return Client(base, auth=auth, ca_bundle=ca_bundle, insecure=insecure, **client_kw)


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


# --------------------------------------------------------------------------- client


class Client:
    """One HTTP endpoint with evalkit's rules: timeouts, retries, TLS, auth, redaction.

    Parameters
    ----------
    base_url : the endpoint's root, e.g. ``https://thanos-querier.openshift-monitoring.svc:9091``.
    auth : an :class:`Auth` (use :func:`resolve_auth`), or ``None``.
    ca_bundle, insecure : TLS settings, see :func:`resolve_verify`.
    timeout : ``(connect, read)`` seconds.
    retry : a :class:`RetryPolicy`.
    headers : extra headers on every request (e.g. ``{"X-Scope-OrgID": "tenant"}``).
    name : what the endpoint is, for messages ("prometheus", "model registry").
    sleep : the function that waits between retries (tests pass a fake to run fast).
    cert : a client certificate, ``(cert_file, key_file)`` or one PEM path holding both
        (Kubernetes client-certificate kubeconfigs).
    proxies : explicit proxies, e.g. ``{"https": "http://proxy:3128"}`` (the environment's
        ``HTTPS_PROXY`` is ignored on purpose).

    Tokens are sent only to ``base_url``'s own origin: an absolute URL to another host is refused.

    >>> Client("http://127.0.0.1:9090", name="prometheus")
    Client(name='prometheus', url='http://127.0.0.1:9090', auth=None, verify=True)
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
    ) -> None:
        if auth is not None and not isinstance(auth, AuthBase):
            raise TypeError("auth must be an evalkit.http.Auth; wrap tokens with resolve_auth()")
        self.base_url = base_url.rstrip("/")
        password = urlsplit(self.base_url).password
        if password:
            _register_secret(password)
        self.name = name
        self.auth = auth
        self.insecure = bool(insecure)
        self.verify = resolve_verify(base_url, ca_bundle, insecure)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self.session = requests.Session()
        self.session.trust_env = False  # proxies/netrc from the environment never add credentials
        adapter = requests.adapters.HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size,
                                                max_retries=0)
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
        if headers:
            self.session.headers.update(headers)

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
        (so credentials never travel to another host).

        >>> Client("http://127.0.0.1:9090").url("/api/v1/query")
        'http://127.0.0.1:9090/api/v1/query'
        """
        if path.startswith(("http://", "https://")):
            if _origin(path) != _origin(self.base_url):
                raise ValueError(f"{self.name}: refusing to send a request for {safe_url(path)} "
                                 f"through the client of {safe_url(self.base_url)}")
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    # -- core loop ----------------------------------------------------------------------
    def request(self, method: str, path: str, *, params: Any = None, data: Any = None,
                json_body: Any = None, headers: Mapping[str, str] | None = None,
                ok: Callable[[requests.Response], bool] | None = None,
                parse_json: bool = False, idempotent: bool | None = None,
                validate: Callable[[requests.Response], Any] | None = None) -> requests.Response:
        """Send one request with retries; return the response with its body read in full.

        Raises :class:`~evalkit.errors.HTTPError` (or :class:`AuthError` /
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
        ``response.evalkit_value``. When it raises :class:`~evalkit.errors.BadResponseBody` the
        request is retried, and the last such error is raised when retries run out; any other
        exception propagates at once.
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
                resp = self.session.request(method, url, params=params, data=data, json=json_body,
                                            headers=dict(headers or {}), timeout=self.timeout,
                                            stream=False)
                _ = resp.content  # read the whole body inside the retry loop
            except requests.exceptions.SSLError as exc:
                raise HTTPError(
                    f"{self.name} at {endpoint}: TLS verification failed ({_short(exc)}). Pass "
                    "ca_bundle=PATH (or set EVALKIT_CA_BUNDLE) with the cluster's CA.",
                    endpoint=endpoint, cause="tls") from None
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
                        except ValueError:
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
                    self._raise_for(resp, endpoint)
            self._pause(attempt, endpoint, last_cause, retry_after)
        if last_invalid is not None:
            last_invalid.args = (f"{self.name} at {endpoint} failed after {self.retry.attempts} "
                                 f"attempt(s): {redact(last_invalid)}",)
            raise last_invalid
        raise HTTPError(
            f"{self.name} at {endpoint} failed after {self.retry.attempts} attempt(s): "
            f"{redact(last_cause)}. Check that the endpoint is reachable and healthy, or raise "
            "the timeout/retries.",
            endpoint=endpoint, status=last_status, cause=redact(last_cause))

    def _pause(self, attempt: int, endpoint: str, cause: str, retry_after: str | None) -> None:
        """Wait before the next try (nothing after the last one)."""
        if attempt < self.retry.attempts:
            wait = self.retry.delay(attempt, retry_after)
            log.info("%s %s: %s; retry %d/%d in %.1fs", self.name, endpoint, redact(cause),
                     attempt, self.retry.attempts - 1, wait)
            self._sleep(wait)

    def get_json(self, path: str, **kw: Any) -> Any:
        """``GET`` and return the decoded JSON body (see :meth:`request`)."""
        return self.request("GET", path, parse_json=True, **kw).evalkit_json  # type: ignore[attr-defined]

    def send_json(self, method: str, path: str, **kw: Any) -> Any:
        """Any method, returning the decoded JSON body (see :meth:`request`)."""
        return self.request(method, path, parse_json=True, **kw).evalkit_json  # type: ignore[attr-defined]

    def _not_retried(self, method: str, endpoint: str, cause: str) -> HTTPError:
        return HTTPError(f"{self.name} at {endpoint}: {method.upper()} {redact(cause)}; not retried "
                         "because the server may already have acted on it. Check before retrying.",
                         endpoint=endpoint, cause=redact(cause))

    def _raise_for(self, resp: requests.Response, endpoint: str) -> None:
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
    text = redact(exc)
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
        doc = json.loads(resp.content)
    except ValueError:
        text = " ".join(body.split())
        return redact(text[:200]) if text else "empty body"
    if isinstance(doc, dict):
        for key in ("message", "error", "msg", "detail"):
            if isinstance(doc.get(key), str):
                prefix = f"{doc['errorType']}: " if isinstance(doc.get("errorType"), str) else ""
                return redact(prefix + doc[key])[:300]
    return redact(json.dumps(doc)[:200])


def _user_agent() -> str:
    from ._version import __version__

    return f"evalkit/{__version__} python-requests/{requests.__version__}"
