"""The exceptions evalkit raises, and what each one means for the command line.

Every message names the object that failed and says what to do next. Only *unusable*
input raises; problems inside usable input become rows of an ``issues`` frame.

=====================  ====  ==========================================================
exception              exit  meaning
=====================  ====  ==========================================================
:class:`InputError`     2    an argument or flag is wrong (a bad duration, an unknown model,
                             a path that is a file where a folder is needed, ...)
:class:`ConfigError`    2    connection settings are missing or unusable
:class:`SourceError`    2    a source cannot be read at all
:class:`HTTPError`      1    a remote call failed after retries
:class:`ReportError`    1    a report cell failed
=====================  ====  ==========================================================

The command line maps them with :data:`EXIT_CODES` (most specific class first).
"""

from __future__ import annotations


class EvalkitError(Exception):
    """Base class for every error evalkit raises on purpose."""


class InputError(EvalkitError):
    """An argument, flag or frame handed to evalkit is unusable; the message says what is
    expected. Raised before any network call, and before the report notebook runs a cell."""


class UnknownModelError(InputError, KeyError):
    """A model name that is not in the data; the message lists the models that are."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class SchemaError(InputError):
    """A frame handed to an evalkit function lacks required columns, or a column has a dtype
    of the wrong kind (text where numbers or times are needed)."""


class LockedError(InputError):
    """Another evalkit run is writing into the same target folder."""


class ConfigError(EvalkitError):
    """Connection settings are missing or unusable: no kubeconfig and not inside a cluster, an
    unknown kubeconfig context, a token with a line break, a kubeconfig that cannot be loaded.
    The message says what to set."""


class SourceError(EvalkitError):
    """A source cannot be read at all (unreadable file, not JSON/YAML, not an LMEvalJob
    or lm-eval document, not a snapshot, a file over a size limit)."""


class SnapshotError(SourceError):
    """A snapshot folder is not usable: an unreadable manifest, a path leaving the folder."""


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
    invalid JSON). Raised by a ``validate`` hook of :meth:`evalkit.core.http.Client.request`,
    which retries it like a transient failure and re-raises the last one when retries run
    out."""


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


#: exception type -> exit code of the command line (checked in order: first match wins)
EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (InputError, 2),
    (ConfigError, 2),
    (SourceError, 2),
    (HTTPError, 1),
    (ReportError, 1),
    (EvalkitError, 1),
    (KeyboardInterrupt, 130),
)


def exit_code(exc: BaseException) -> int:
    """The command line's exit code for ``exc`` (1 for anything evalkit did not expect).

    >>> exit_code(InputError("bad --step")), exit_code(HTTPError("down")), exit_code(ValueError())
    (2, 1, 1)
    """
    for cls, code in EXIT_CODES:
        if isinstance(exc, cls):
            return code
    return 1
