"""Auth objects: a token enters once and is wrapped at once; only the object travels.

A token may arrive as an argument, an environment variable, a token file or the in-cluster
service account. :func:`resolve_auth` takes the first channel that holds one, refuses a value
with a control character (naming the channel, never the value), registers it for redaction and
returns an :class:`Auth` whose ``repr`` never shows it.

The in-cluster service-account token is used only where the caller opts in
(``service_account=True``: the Kubernetes API, or a URL the user pointed it at with a flag),
and never over plain ``http://`` (:meth:`Auth.check_url`).

>>> auth = BearerToken("s3cr3t-marker")
>>> "s3cr3t" in repr(auth)
False
>>> resolve_auth(None) is None
True
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase

from . import secrets
from .errors import AuthError, ConfigError

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class Auth(AuthBase):
    """Base of evalkit's auth objects. ``repr`` and ``str`` never reveal the secret."""

    kind = "auth"
    #: True for credentials that must never travel over plain http (the service account)
    tls_only = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<redacted>)"

    __str__ = __repr__

    def describe(self) -> str:
        """A secret-free description for manifests (e.g. ``"bearer token file /x"``)."""
        return self.kind

    def check_url(self, url: str) -> None:
        """Refuse to attach this credential to ``url`` when it may not go there."""
        if self.tls_only and urlsplit(url).scheme != "https":
            raise ConfigError(f"refusing to send the {self.describe()} over plain http to "
                              f"{urlsplit(url).netloc}; use an https:// URL")

    def __reduce__(self):  # never pickle a secret into a snapshot or a worker by accident
        raise TypeError(f"{type(self).__name__} cannot be pickled (it holds a secret)")


class BearerToken(Auth):
    """A bearer token held in memory; ``origin`` names the channel it came through.

    >>> BearerToken("abc-marker-1")
    BearerToken(<redacted>)
    >>> BearerToken("a\\nb", origin="--token-file x")
    Traceback (most recent call last):
    ...
    evalkit.core.errors.ConfigError: the token from --token-file x holds a control character (line break or similar) inside the value; remove it (the value is not shown)
    """

    kind = "bearer token"
    __slots__ = ("_token", "_origin")

    def __init__(self, token: str, *, origin: str = "argument") -> None:
        token = secrets.check_value(token or "", f"the token from {origin}")
        if not token:
            raise ConfigError(f"the token from {origin} is empty")
        self._token = token
        self._origin = origin
        secrets.register(token)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self._token}"
        return r

    def describe(self) -> str:
        return f"bearer token ({self._origin})"


class TokenFile(Auth):
    """A bearer token re-read from a file on every request (projected service-account
    tokens rotate). The file is read once at construction to fail early.

    >>> TokenFile.__name__
    'TokenFile'
    """

    kind = "bearer token file"

    def __init__(self, path: str | os.PathLike[str], *, check: bool = True) -> None:
        self.path = Path(path)
        if check:
            self._read()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path})"

    __str__ = __repr__

    def _read(self) -> str:
        try:
            raw = self.path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or type(exc).__name__
            raise AuthError(f"cannot read token file {self.path}: {why}; check the path or pass "
                            "the token another way", endpoint=str(self.path),
                            cause="token file unreadable") from None
        token = secrets.check_value(raw, f"token file {self.path}")
        if not token:
            raise AuthError(f"token file {self.path} is empty", endpoint=str(self.path),
                            cause="empty token file")
        secrets.register(token)
        return token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self._read()}"
        return r

    def describe(self) -> str:
        return f"bearer token file {self.path}"


class ServiceAccountToken(TokenFile):
    """The in-cluster service-account token: https only, re-read on every request."""

    kind = "service-account token"
    tls_only = True

    def describe(self) -> str:
        return f"in-cluster service-account token ({self.path})"


def service_account_token() -> ServiceAccountToken | None:
    """The pod's service-account token, when evalkit runs inside a cluster."""
    p = SERVICE_ACCOUNT_DIR / "token"  # read at call time: tests point it elsewhere
    return ServiceAccountToken(p) if p.is_file() else None


def resolve_auth(
    token: str | Auth | None = None,
    *,
    token_file: str | os.PathLike[str] | None = None,
    env_prefix: str | None = None,
    service_account: bool = False,
) -> Auth | None:
    """Wrap the token that arrives through one channel into an auth object.

    Order: ``token`` argument, ``token_file`` argument, ``{env_prefix}_TOKEN``,
    ``{env_prefix}_TOKEN_FILE``, then — only with ``service_account=True`` — the in-cluster
    service-account token file when it exists. Returns ``None`` when no channel holds a token.
    A value with a control character raises :class:`~evalkit.core.errors.ConfigError` naming the
    channel.

    >>> resolve_auth("marker-xyz-1")
    BearerToken(<redacted>)
    """
    if isinstance(token, AuthBase):
        return token  # type: ignore[return-value]
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
    if service_account:
        return service_account_token()
    return None
