"""Adobe IMS OAuth Server-to-Server credential and access-token provider.

Follows "Authenticate and access Experience Platform APIs" (EN help/landing/api-authentication.md):
``POST {ims_url}/ims/token/v3`` with a form body
``grant_type=client_credentials&client_id&client_secret&scope``
(scopes comma separated) answers ``{"access_token", "token_type": "bearer", "expires_in": 86399}`` where
``expires_in`` is in **seconds** (v3; the retired JWT exchange used milliseconds).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from .errors import AepConnectionError, AepError, AuthenticationError, UnexpectedResponseError

__all__ = ["DEFAULT_SCOPES", "ImsCredential", "ImsTokenProvider", "clear_token_cache"]

logger = logging.getLogger(__name__)

DEFAULT_SCOPES: tuple[str, ...] = (
    "openid",
    "AdobeID",
    "read_organizations",
    "additional_info.projectedProductContext",
    "session",
)
IMS_TOKEN_PATH = "/ims/token/v3"  # noqa: S105 (a URL path, not a password)
# IMS tokens live 24 h; never trust a cache entry longer than that (guards against a value in milliseconds).
_MAX_TOKEN_LIFETIME_S = 86_400.0


class ImsCredential(BaseModel):
    """An OAuth Server-to-Server credential of an Adobe Developer Console project.

    ``client_id`` is also the ``x-api-key``; ``ims_org`` is the ``…@AdobeOrg`` id sent as ``x-gw-ims-org-id``.
    ``client_secret`` is a ``SecretStr``: repr/str/model_dump never show it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    ims_org: str = Field(min_length=1)
    scopes: list[str] = Field(default_factory=lambda: list(DEFAULT_SCOPES))

    def cache_key(self, ims_url: str) -> str:
        """A process-local cache key; holds a hash of the secret (so a rotated secret gets its own token)."""
        digest = hashlib.sha256(self.client_secret.get_secret_value().encode()).hexdigest()[:16]
        return f"{ims_url}|{self.client_id}|{self.ims_org}|{','.join(self.scopes)}|{digest}"


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float  # time.monotonic() seconds

    def __repr__(self) -> str:
        return f"_Token(expires_at={self.expires_at:.0f}, value='**********')"


_CACHE: dict[str, _Token] = {}
_CACHE_LOCK = threading.Lock()


def clear_token_cache() -> None:
    """Forget every cached access token of this process (tests; credential rotation)."""
    with _CACHE_LOCK:
        _CACHE.clear()


class ImsTokenProvider:
    """Access tokens for one credential, cached per process and credential, thread-safe.

    A token is reused until ``refresh_margin_s`` before it expires (the margin shrinks to a quarter of the
    lifetime for short-lived tokens). ``invalidate(token)`` drops it after a Platform 401 so the next
    ``token()``
    asks IMS again; concurrent callers then share one new token.

    ``reload_credential``: reads the credential again bypassing every cache (Secrets Manager ``force_fetch``).
    When IMS answers ``invalid_client`` (the client secret was rotated after this process read it), the
    provider calls it once and asks IMS again with what it returned; a second refusal is raised.

    Raises ``AuthenticationError`` (IMS 400/401/403: unknown client, bad secret, bad scope), ``AepError``
    subclasses for other statuses, ``AepConnectionError`` when IMS cannot be reached.
    """

    def __init__(
        self,
        credential: ImsCredential,
        ims_url: str,
        session: requests.Session,
        timeout: tuple[float, float],
        refresh_margin_s: float = 300.0,
        reload_credential: Callable[[], ImsCredential] | None = None,
    ) -> None:
        self._credential = credential
        self._reload_credential = reload_credential
        self._ims_url = ims_url.rstrip("/")
        self._session = session
        self._timeout = timeout
        self._refresh_margin_s = refresh_margin_s
        self._key = credential.cache_key(self._ims_url)
        self._lock = threading.Lock()  # one IMS call at a time per provider

    @property
    def credential(self) -> ImsCredential:
        """The credential in use (the one read again after an ``invalid_client``, if that happened)."""
        return self._credential

    def __repr__(self) -> str:
        return f"ImsTokenProvider(client_id={self._credential.client_id!r}, ims_url={self._ims_url!r})"

    def token(self) -> str:
        """A valid access token (cached or new)."""
        cached = self.cached_token()
        if cached is not None:
            return cached
        with self._lock:
            cached = self.cached_token()  # another thread may have fetched it meanwhile
            if cached is not None:
                return cached
            try:
                fresh = self._fetch()
            except AuthenticationError as exc:
                if exc.error_code != "invalid_client" or self._reload_credential is None:
                    raise
                logger.info("IMS answered invalid_client: reading the Adobe credential again, asking once more")
                self._credential = self._reload_credential()
                self._key = self._credential.cache_key(self._ims_url)
                fresh = self._fetch()
            with _CACHE_LOCK:
                _CACHE[self._key] = fresh
            return fresh.value

    def invalidate(self, token: str) -> None:
        """Drop ``token`` from the cache if it is still the cached one (a Platform call answered 401)."""
        with _CACHE_LOCK:
            current = _CACHE.get(self._key)
            if current is not None and current.value == token:
                del _CACHE[self._key]

    def cached_token(self) -> str | None:
        """The access token this process holds for the credential, or ``None`` when none is cached or it is due
        for refresh (makes no IMS call)."""
        with _CACHE_LOCK:
            current = _CACHE.get(self._key)
        if current is not None and time.monotonic() < current.expires_at:
            return current.value
        return None

    def _fetch(self) -> _Token:
        # Imported here to avoid a cycle (http imports errors only, but keeps the mapping in one place).
        from .http import error_from_response

        operation = "ims.token"
        cred = self._credential
        form = {
            "grant_type": "client_credentials",
            "client_id": cred.client_id,
            "client_secret": cred.client_secret.get_secret_value(),
            "scope": ",".join(cred.scopes),
        }
        try:
            response = self._session.post(
                self._ims_url + IMS_TOKEN_PATH,
                data=form,
                headers={"Accept": "application/json"},
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            raise AepConnectionError(f"IMS unreachable: {type(exc).__name__}", operation=operation) from None
        if response.status_code in (400, 401, 403):
            base = error_from_response(operation, response)
            raise AuthenticationError(
                f"IMS refused the client credential: {base.message}",
                status=base.status,
                error_code=base.error_code,
                request_id=base.request_id,
                operation=operation,
            )
        if not response.ok:
            raise error_from_response(operation, response)
        try:
            body = response.json()
            value = str(body["access_token"])
            expires_in = float(body["expires_in"])
        except (ValueError, KeyError, TypeError):
            raise UnexpectedResponseError(
                "IMS answer has no access_token/expires_in", status=response.status_code, operation=operation
            ) from None
        if not value or expires_in <= 0:
            raise AepError("IMS returned an empty or expired token", status=response.status_code, operation=operation)
        lifetime = min(expires_in, _MAX_TOKEN_LIFETIME_S)
        margin = min(self._refresh_margin_s, lifetime / 4)
        logger.debug("IMS token fetched for client %s, expires in %.0f s", cred.client_id, expires_in)
        return _Token(value=value, expires_at=time.monotonic() + lifetime - margin)
