"""The Platform API client's error hierarchy.

Every error is raised, never returned. Each carries the HTTP ``status`` (``None`` when no response came back),
Adobe's ``error_code`` (``FLOW-1404-412`` from a Flow Service ``type`` URL, ``401013`` from the API gateway,
``XDM-1012-404`` from Schema Registry, Catalog's ``code``), the ``request_id`` (header ``x-request-id`` or
body
``report.request-id``), the client ``operation`` (Adobe's OpenAPI operationId, e.g. ``createFlow``) and
whether a
retry may help (``retryable``). The class name is the ``Error`` a Step Functions Retry/Catch matches, so the
names
are part of the contract (docs/architecture.md, "stripe_aep.aep").

Messages are one line: operation, status, code, Adobe's message, request id. They never hold request bodies,
headers, tokens or keys.
"""

from __future__ import annotations

__all__ = [
    "AepConnectionError",
    "AepError",
    "AepValidationError",
    "AuthenticationError",
    "ConflictError",
    "NotFoundError",
    "PreconditionFailedError",
    "ThrottledError",
    "UnexpectedResponseError",
    "UpstreamError",
]

_MAX_MESSAGE_CHARS = 400


def one_line(text: str, limit: int = _MAX_MESSAGE_CHARS) -> str:
    """Collapse whitespace (newlines included) to single spaces and cut to ``limit`` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class AepError(Exception):
    """Base of every Platform API error.

    Attributes: ``status`` (int | None), ``error_code`` (str | None), ``request_id`` (str | None),
    ``operation`` (str | None: the OpenAPI operationId or ``ims.token``), ``message`` (Adobe's message, one
    line),
    ``retryable`` (bool).
    """

    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        request_id: str | None = None,
        operation: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        self.message = one_line(message)
        self.status = status
        self.error_code = error_code
        self.request_id = request_id
        self.operation = operation
        self.retryable = self.default_retryable if retryable is None else retryable
        super().__init__(self._format())

    def _format(self) -> str:
        parts = [self.operation or "aep"]
        parts.append(f"HTTP {self.status}" if self.status is not None else "no response")
        if self.error_code:
            parts.append(self.error_code)
        text = ": ".join(parts) + f": {self.message}"
        if self.request_id:
            text += f" (request id {self.request_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(operation={self.operation!r}, status={self.status!r}, "
            f"error_code={self.error_code!r}, request_id={self.request_id!r}, message={self.message!r})"
        )

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only constructors defeat Exception's default pickling (used by copy and multiprocessing).
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type[AepError], state: dict[str, object]) -> AepError:
    err = cls.__new__(cls)
    err.__dict__.update(state)
    Exception.__init__(err, err._format())
    return err


class AuthenticationError(AepError):
    """401/403 (gateway ``401013`` token not valid, ``403003`` bad API key...) after one token refresh, or IMS
    refused the client credential."""


class NotFoundError(AepError):
    """404: the object does not exist (or not in this sandbox)."""


class PreconditionFailedError(AepError):
    """412: the If-Match etag is stale (Flow Service ``FLOW-1404-412``)."""


class ConflictError(AepError):
    """409, and 400 "still in use" (``FLOW-1418-400``: a base connection that flows still use)."""


class AepValidationError(AepError):
    """Any other 4xx. ``detail`` holds Adobe's message (also in ``message``)."""

    @property
    def detail(self) -> str:
        return self.message


class ThrottledError(AepError):
    """429. ``retry_after`` is Adobe's Retry-After in seconds, or ``None`` when Adobe gave none."""

    default_retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class UpstreamError(AepError):
    """5xx from Adobe (after the HTTP layer's retries, for GET/DELETE)."""

    default_retryable = True


class AepConnectionError(AepError):
    """No usable response: connection refused or reset, connect or read timeout."""

    default_retryable = True


class UnexpectedResponseError(AepError):
    """A 2xx response that does not have the documented shape (e.g. no ``id``). Not retryable."""
