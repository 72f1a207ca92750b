"""HTTP plumbing of the Platform API client: a requests session with urllib3 retries, URL safety and the
mapping of Adobe's error bodies to the error hierarchy (``errors.py``).

Retry rules (docs/architecture.md): GET and DELETE are retried on 429/500/502/503/504 and on connection
errors,
with exponential backoff and jitter, Retry-After honoured; attempts, any single wait and the total wait are
capped.
POST and PATCH are never retried here (Adobe has no idempotency key; the state machine re-runs the idempotent
step).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError
from urllib3.util.retry import Retry

from .errors import (
    AepError,
    AepValidationError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PreconditionFailedError,
    ThrottledError,
    UpstreamError,
    one_line,
)

__all__ = [
    "RETRY_STATUSES",
    "PlatformRetry",
    "build_session",
    "check_url",
    "error_from_response",
    "parse_retry_after",
]

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_METHODS = frozenset({"GET", "DELETE"})
_LOOPBACK_NAMES = {"localhost"}
_TYPE_CODE = re.compile(r"([A-Z]+-\d+-\d+)$")


class PlatformRetry(Retry):
    """urllib3 ``Retry`` with a cap on the total time spent waiting and no retry of non-idempotent methods.

    - ``retry_after_max`` (urllib3's own) caps a single Retry-After wait; ``backoff_max`` caps a single
    backoff.
    - ``total_wait_max`` (seconds) caps the sum of all waits of one request; once spent, the request is given
    up
      and the last response (or error) is surfaced.
    - Connection errors are retried only for ``allowed_methods`` (urllib3 alone retries connect errors of any
      method).
    """

    def __init__(self, *args: Any, total_wait_max: float = 30.0, waited: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.total_wait_max = total_wait_max
        self.waited = waited

    def new(self, **kw: Any) -> PlatformRetry:
        kw.setdefault("total_wait_max", self.total_wait_max)
        kw.setdefault("waited", self.waited)
        return super().new(**kw)

    def is_exhausted(self) -> bool:
        return super().is_exhausted() or self.waited >= self.total_wait_max

    def increment(  # type: ignore[override]
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Retry:
        if error is not None and method is not None and not self._is_method_retryable(method):
            # POST/PATCH: urllib3 alone retries connect errors of any method; this client never does.
            # Raised the way urllib3 raises an exhausted retry, so requests maps it to its own exceptions.
            if self._is_connection_error(error) or isinstance(error, NewConnectionError):
                raise MaxRetryError(_pool, url or "", error) from error
            raise error
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def sleep(self, response: Any = None) -> None:
        wait = 0.0
        if self.respect_retry_after_header and response is not None:
            wait = self.get_retry_after(response) or 0.0
        if wait <= 0:
            wait = self.get_backoff_time()
        wait = max(0.0, min(wait, self.total_wait_max - self.waited))
        self.waited += wait
        if wait > 0:
            logger.debug("retrying in %.2f s (waited %.2f s of %.2f s)", wait, self.waited, self.total_wait_max)
            time.sleep(wait)


def make_retry(
    attempts: int = 5,
    backoff_factor: float = 0.5,
    backoff_max: float = 8.0,
    backoff_jitter: float = 0.5,
    retry_after_max: int = 20,
    total_wait_max: float = 30.0,
    statuses: frozenset[int] = RETRY_STATUSES,
) -> PlatformRetry:
    """The GET/DELETE retry policy. ``attempts`` counts the first try (5 -> at most 4 retries); ``statuses``:
    the HTTP statuses retried (without 429 when a shared rate budget handles throttling)."""
    retries = max(0, attempts - 1)
    return PlatformRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        redirect=0,
        allowed_methods=RETRY_METHODS,
        status_forcelist=statuses,
        backoff_factor=backoff_factor,
        backoff_max=backoff_max,
        backoff_jitter=backoff_jitter,
        retry_after_max=retry_after_max,
        respect_retry_after_header=True,
        raise_on_status=False,  # surface the last 429/5xx response; it is mapped to an AepError below
        raise_on_redirect=False,
        total_wait_max=total_wait_max,
    )


def build_session(retry: Retry, pool_maxsize: int = 16) -> requests.Session:
    """A session whose http(s) adapters carry ``retry``. TLS verification stays on (requests' default)."""
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=pool_maxsize)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> str:
    """Return ``url`` (without a trailing slash) if it is ``https://...``, or ``http://`` to a loopback host.

    Raises ``ValueError`` for plain http to any other host, other schemes, or no host.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host:
        raise ValueError(f"URL has no host: {url!r}")
    if parts.scheme == "https":
        return url.rstrip("/")
    if parts.scheme == "http" and _is_loopback(host):
        return url.rstrip("/")
    raise ValueError(f"refusing {parts.scheme}:// to {host}: only https (or http to a loopback host) is allowed")


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (delta-seconds form; an HTTP date is converted), ``None`` when
    absent/invalid."""
    if value is None:
        return None
    try:
        return max(0.0, Retry().parse_retry_after(value))
    except Exception:
        return None


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _adobe_fields(body: Any) -> tuple[str | None, str | None, str | None]:
    """(error_code, message, request_id) from the error bodies of the gateway, Flow Service, Schema Registry,
    Catalog, Data Prep and IMS (aep-api-notes.md "Errors")."""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]  # Catalog sometimes answers a list of errors
    if not isinstance(body, dict):
        return None, None, None
    code: str | None = None
    message: str | None = None
    request_id: str | None = None
    report = body.get("report") if isinstance(body.get("report"), dict) else {}
    type_url = body.get("type")
    if isinstance(type_url, str):
        match = _TYPE_CODE.search(type_url.rstrip("/"))
        code = match.group(1) if match else None
    for key in ("error_code", "code", "errorCode", "error"):
        if code is None and body.get(key) not in (None, ""):
            code = str(body[key])
    detailed = report.get("detailed-message") if isinstance(report, dict) else None
    for candidate in (
        detailed,
        body.get("detail"),
        body.get("message"),
        body.get("error_description"),
        body.get("description"),
        body.get("title"),
    ):
        if isinstance(candidate, str) and candidate.strip():
            message = candidate
            break
    title = body.get("title")
    if isinstance(title, str) and title and message and not message.startswith(title):
        message = f"{title}: {message}"
    rid = report.get("request-id") if isinstance(report, dict) else None
    if isinstance(rid, str):
        request_id = rid
    return code, message, request_id


def error_from_response(operation: str, response: requests.Response) -> AepError:
    """Map a non-2xx response to the error hierarchy (not raised here).

    401/403 -> AuthenticationError, 404 -> NotFoundError, 412 -> PreconditionFailedError, 409 and 400
    ``FLOW-1418-400`` -> ConflictError, other 4xx -> AepValidationError, 429 -> ThrottledError
    (``retry_after``),
    5xx -> UpstreamError. Only Adobe's code, message and request id are kept: never the request's body or
    headers.
    """
    status = response.status_code
    code, message, body_request_id = _adobe_fields(_json(response))
    request_id = response.headers.get("x-request-id") or body_request_id
    text = message or response.reason or "no message"
    common: dict[str, Any] = {
        "status": status,
        "error_code": code,
        "request_id": request_id,
        "operation": operation,
    }
    if status in (401, 403):
        return AuthenticationError(text, **common)
    if status == 404:
        return NotFoundError(text, **common)
    if status == 412:
        return PreconditionFailedError(text, **common)
    if status == 409 or (status == 400 and _in_use(code, text)):
        return ConflictError(text, **common)
    if status == 429:
        return ThrottledError(text, retry_after=parse_retry_after(response.headers.get("Retry-After")), **common)
    if 400 <= status < 500:
        return AepValidationError(text, **common)
    if status >= 500:
        return UpstreamError(text, **common)
    return AepError(f"unexpected status: {one_line(text)}", **common)


def _in_use(code: str | None, message: str) -> bool:
    return (code or "").endswith("1418-400") or "in use" in message.lower()
