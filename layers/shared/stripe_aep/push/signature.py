"""Adobe I/O Events digital signatures: the public keys (fetched only from the key host, cached) and the check.

Adobe's scheme (AdobeDocs/adobe-io-events, src/pages/guides/index.md "Security Considerations" and
guides/sdk/sdk_signature_verification.md; the reference implementations adobe/aio-lib-events
``src/signatureUtils.js`` and adobe/aio-lib-java ``EventVerifier``):

- every delivery carries two signatures, ``x-adobe-digital-signature-1`` and ``x-adobe-digital-signature-2``
  (base64), each an ``rsa-sha256`` (RSASSA-PKCS1-v1_5 with SHA-256) signature of the **raw** request body;
- and two relative key paths, ``x-adobe-public-key1-path`` / ``x-adobe-public-key2-path``
  (``/prod/keys/pub-key-<random>.pem``) of PEM public keys served from Adobe's fixed domain
  ``https://static.adobeioevents.com``. The URL is the fixed host + the path: a path can never name another
  host (it must match ``KEY_PATH``), so a forger cannot bring their own key;
- the delivery is authentic when **either** signature verifies with its key (Adobe rotates one pair at a time);
- a fetched key may be cached for **not more than 24 h** (Adobe sends no cache-control).
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = [
    "ADOBE_KEY_HOST",
    "KEY_PATH",
    "SIGNATURE_HEADERS",
    "KeyCache",
    "KeyUnavailableError",
    "SignatureError",
    "verify_signatures",
]

#: Adobe I/O Events' key host (the only host keys are fetched from in production).
ADOBE_KEY_HOST = "https://static.adobeioevents.com"
#: The relative key path Adobe sends (``/prod/keys/pub-key-<random>.pem``); anything else is refused unfetched.
KEY_PATH = re.compile(r"/prod/keys/pub-key-[A-Za-z0-9_-]{1,64}\.pem")
#: (signature header, key path header) pairs, in Adobe's order.
SIGNATURE_HEADERS = (
    ("x-adobe-digital-signature-1", "x-adobe-public-key1-path"),
    ("x-adobe-digital-signature-2", "x-adobe-public-key2-path"),
)
_MAX_KEY_BYTES = 8192
_MIN_KEY_BITS = 2048
_MAX_SIGNATURE_CHARS = 1024


class SignatureError(Exception):
    """The delivery is not authentic (missing header, key path off the key host, bad signature, bad key)."""


class KeyUnavailableError(Exception):
    """The key host could not be reached or answered an error: the delivery may be authentic; ask for a retry."""


def _check_key_host(key_host: str) -> str:
    parts = urlsplit(key_host)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ValueError("the key host must be https:// (plain http only on loopback, for the local simulator)")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("the key host is a scheme and host only, e.g. https://static.adobeioevents.com")
    return f"{parts.scheme}://{parts.netloc}"


class KeyCache:
    """PEM public keys by key path, fetched from ``key_host`` only and kept at most ``max_age_s`` seconds.

    ``fetch(url) -> bytes`` defaults to an HTTPS GET (no redirects, 3 s connect / 5 s read, at most 8 KiB).
    Thread-safe. ``key(path)`` raises ``SignatureError`` for a path that is not Adobe's shape or a body that is
    not an RSA public key of at least 2048 bits, ``KeyUnavailableError`` when the host cannot give it.
    """

    def __init__(
        self,
        key_host: str = ADOBE_KEY_HOST,
        max_age_s: int = 24 * 3600,
        fetch: Callable[[str], bytes] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < max_age_s <= 24 * 3600:
            raise ValueError("Adobe allows caching a key for at most 24 h")
        self.key_host = _check_key_host(key_host)
        self.max_age_s = max_age_s
        self._fetch = fetch or _https_get
        self._clock = clock
        self._keys: dict[str, tuple[rsa.RSAPublicKey, float]] = {}
        self._lock = threading.Lock()
        self.fetches = 0

    def key(self, path: str) -> rsa.RSAPublicKey:
        """The public key at ``key_host + path`` (cached)."""
        if not KEY_PATH.fullmatch(path):
            raise SignatureError("public key path is not an I/O Events key path on the key host")
        now = self._clock()
        with self._lock:
            cached = self._keys.get(path)
            if cached is not None and now - cached[1] < self.max_age_s:
                return cached[0]
        pem = self._fetch(self.key_host + path)
        self.fetches += 1
        try:
            key = serialization.load_pem_public_key(pem)
        except (ValueError, TypeError):
            raise SignatureError("the key host's answer is not a PEM public key") from None
        if not isinstance(key, rsa.RSAPublicKey) or key.key_size < _MIN_KEY_BITS:
            raise SignatureError("the public key is not an RSA key of at least 2048 bits")
        with self._lock:
            self._keys[path] = (key, now)
        return key


def _https_get(url: str) -> bytes:
    try:
        response = requests.get(url, timeout=(3.05, 5), allow_redirects=False, stream=True)
        if response.status_code != 200:
            raise KeyUnavailableError(f"key host answered {response.status_code}")
        body = response.raw.read(_MAX_KEY_BYTES + 1, decode_content=True)
    except requests.RequestException as exc:
        raise KeyUnavailableError(f"key host unreachable: {type(exc).__name__}") from None
    if len(body) > _MAX_KEY_BYTES:
        raise SignatureError("the key host's answer is too large for a public key")
    return bytes(body)


def verify_signatures(body: bytes, headers: Mapping[str, str], keys: KeyCache) -> None:
    """Check a delivery's I/O Events signatures over the raw ``body``; ``headers`` keys are lowercase.

    Returns when either signature verifies with its key. Raises ``SignatureError`` (missing or malformed
    header, key path off the key host, no signature verifies) or ``KeyUnavailableError``.
    """
    pairs = []
    for signature_header, path_header in SIGNATURE_HEADERS:
        signature, path = headers.get(signature_header), headers.get(path_header)
        if not signature or not path:
            raise SignatureError("unsigned: I/O Events signature or key path header missing")
        if not KEY_PATH.fullmatch(path):  # both paths, before any fetch: no key comes from elsewhere
            raise SignatureError("public key path is not an I/O Events key path on the key host")
        pairs.append((signature, path))
    unavailable: KeyUnavailableError | None = None
    for signature, path in pairs:
        if len(signature) > _MAX_SIGNATURE_CHARS:
            raise SignatureError("signature header too long")
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError("signature is not base64") from None
        try:
            key = keys.key(path)
        except KeyUnavailableError as exc:
            unavailable = exc
            continue
        try:
            key.verify(raw, body, padding.PKCS1v15(), hashes.SHA256())
            return
        except InvalidSignature:
            continue
    if unavailable is not None:
        raise unavailable
    raise SignatureError("no I/O Events signature verifies with its public key")
