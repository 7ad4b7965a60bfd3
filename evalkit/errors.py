"""The few exceptions evalkit raises.

Every message names the object that failed and says what to do next. Only *unusable*
input raises; problems inside usable input become rows of an ``issues`` frame.
"""

from __future__ import annotations


class EvalkitError(Exception):
    """Base class for every error evalkit raises on purpose."""


class SourceError(EvalkitError):
    """A source cannot be read at all (unreadable file, not JSON/YAML, not an LMEvalJob
    or lm-eval document, not a snapshot)."""


class UnknownModelError(EvalkitError, KeyError):
    """A model name that is not in the data; the message lists the models that are."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ConfigError(SourceError):
    """Connection settings are missing or unusable: no kubeconfig and not inside a cluster, an
    unknown kubeconfig context, a kubeconfig that cannot be loaded. The message says what to set."""


class SchemaError(EvalkitError):
    """A frame handed to an evalkit function lacks required columns or has wrong dtypes."""


class HTTPError(EvalkitError):
    """A remote endpoint failed after retries, or answered something that is not usable.

    Attributes: ``endpoint`` (URL without credentials or query), ``status`` (HTTP status or
    ``None`` for transport failures), ``cause`` (short text). The text never holds a token.
    """

    def __init__(self, message: str, *, endpoint: str = "", status: int | None = None,
                 cause: str = "") -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.status = status
        self.cause = cause


class BadResponseBody(HTTPError):
    """A 2xx answer whose body is not what the endpoint sends (an HTML login page, cut or
    invalid JSON). Raised by a ``validate`` hook of :meth:`evalkit.http.Client.request`, which
    retries it like a transient failure and re-raises the last one when retries run out."""


class AuthError(HTTPError):
    """401/403 from an endpoint: the message says which permission is missing."""


class NotFoundError(HTTPError):
    """404 from an endpoint (missing object, CRD or API path)."""


class PrometheusError(HTTPError):
    """Prometheus answered ``status: error``; carries ``error_type`` and ``error``."""

    def __init__(self, message: str, *, error_type: str = "", error: str = "",
                 endpoint: str = "", status: int | None = None) -> None:
        super().__init__(message, endpoint=endpoint, status=status, cause=error)
        self.error_type = error_type
        self.error = error


class ReportError(EvalkitError):
    """A report notebook cell failed; ``cell`` and ``log_path`` say where to look."""

    def __init__(self, message: str, *, cell: str = "", log_path: str = "") -> None:
        super().__init__(message)
        self.cell = cell
        self.log_path = log_path
