"""The webhook receiver: Adobe I/O Events' challenge, signature check, replay guard, then a queue message.

Behind a Lambda Function URL (payload format 2.0: ``requestContext.http.method``, lowercase ``headers``,
``queryStringParameters``, ``body``, ``isBase64Encoded``). It does the least that must be synchronous and
answers fast; the processor Lambda does the rest from SQS.

Answers (nothing about a rejected request is parsed beyond what the check needs, stored or logged in full):

| request | status |
| --- | --- |
| ``GET ?challenge=X`` (registration; I/O Events "The challenge request") | 200 ``{"challenge": X}`` |
| body over ``max_body_bytes`` (default 256 KiB) | 413 |
| a signature or key path header missing | 401 |
| key path not ``/prod/keys/pub-key-….pem`` on the key host, or no signature verifies | 401 |
| the key host cannot be reached | 503 (I/O Events retries) |
| authentic, but not JSON / not a flow run notification | 400 |
| ``recipient_client_id`` is another integration's (when ``recipient_client_id`` is set) | 403 |
| the run's ``updatedAt`` older than ``max_event_age_s`` or more than 5 min ahead (replay) | 400 |
| an event id already accepted (I/O Events delivers at least once) | 200 ``{"duplicate": true}``, not queued |
| accepted | 200 ``{"accepted": event_id}``, one SQS message |
| another method | 405 |

An event id is claimed with a conditional put of ``("WEBHOOK#{event_id}", "EVENT")`` (``expires_at`` TTL:
two days) before the message is sent; if the send fails the claim is removed and the answer is 503, so
I/O Events' retry is not mistaken for a duplicate.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stripe_aep.errors import ConcurrentModificationError
from stripe_aep.store import Store

from .notification import NotificationError, event_key, parse_notification
from .signature import KeyCache, KeyUnavailableError, SignatureError, verify_signatures

__all__ = ["ReceiverSettings", "WebhookReceiver"]

logger = logging.getLogger(__name__)

_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{1,128}")
_FUTURE_SKEW_MS = 300_000
_DEDUP_TTL_S = 2 * 86400


@dataclass(frozen=True)
class ReceiverSettings:
    """``max_body_bytes`` (bytes), ``max_event_age_s`` (seconds), ``recipient_client_id`` (the Developer
    Console project's client id; empty: not checked)."""

    queue_url: str
    max_body_bytes: int = 262_144
    max_event_age_s: int = 3600
    recipient_client_id: str = ""


def _reply(status: int, document: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(document if document is not None else {"status": status}),
    }


class WebhookReceiver:
    """Handles one Function URL request (see the module docstring). ``send(queue_url, body, event_id)`` puts the
    SQS message; ``clock`` gives epoch milliseconds."""

    def __init__(
        self,
        settings: ReceiverSettings,
        keys: KeyCache,
        store: Store,
        send: Callable[[str, str, str], None],
        clock: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.settings = settings
        self.keys = keys
        self.store = store
        self.send = send
        self.clock = clock

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The HTTP answer to one request (never raises for anything the caller sent)."""
        method = str(((event.get("requestContext") or {}).get("http") or {}).get("method") or "").upper()
        if method == "GET":
            challenge = (event.get("queryStringParameters") or {}).get("challenge")
            if isinstance(challenge, str) and _CHALLENGE.fullmatch(challenge):
                return _reply(200, {"challenge": challenge})
            return self._reject(400, "challenge missing or malformed")
        if method != "POST":
            return self._reject(405, "method not allowed")
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        raw = event.get("body") or ""
        limit = self.settings.max_body_bytes
        # Cheap size checks before decoding anything (base64 is 4/3 of the bytes).
        declared = headers.get("content-length", "")
        if (declared.isdigit() and int(declared) > limit) or len(raw) > limit * 4 // 3 + 4:
            return self._reject(413, "body too large")
        try:
            body = base64.b64decode(raw, validate=True) if event.get("isBase64Encoded") else str(raw).encode()
        except (binascii.Error, ValueError):
            return self._reject(400, "body is not valid base64")
        if len(body) > limit:
            return self._reject(413, "body too large")
        try:
            verify_signatures(body, headers, self.keys)
        except SignatureError as exc:
            return self._reject(401, str(exc))
        except KeyUnavailableError as exc:
            return self._reject(503, str(exc))
        # Authentic from here on.
        try:
            notification = parse_notification(json.loads(body), headers.get("x-adobe-event-id"))
        except (ValueError, NotificationError) as exc:
            reason = str(exc) if isinstance(exc, NotificationError) else "body is not JSON"
            return self._reject(400, reason)
        expected = self.settings.recipient_client_id
        if expected and notification.recipient_client_id != expected:
            return self._reject(403, "recipient_client_id is not this integration's")
        now = self.clock()
        if notification.time_ms < now - self.settings.max_event_age_s * 1000:
            return self._reject(400, "event too old (replay guard)", notification.event_id)
        if notification.time_ms > now + _FUTURE_SKEW_MS:
            return self._reject(400, "event time in the future", notification.event_id)
        key = event_key(notification.event_id)
        try:
            self.store.update(
                key,
                {"received_at": now // 1000, "expires_at": now // 1000 + _DEDUP_TTL_S},
                condition="attribute_not_exists(pk)",
            )
        except ConcurrentModificationError:
            logger.info("webhook: duplicate event %s acknowledged, not queued", notification.event_id)
            return _reply(200, {"duplicate": True})
        try:
            self.send(self.settings.queue_url, body.decode(), notification.event_id)
        except Exception:
            logger.exception("webhook: could not queue event %s", notification.event_id)
            self.store.delete(key)
            return _reply(503, {"status": 503, "reason": "could not queue; retry"})
        logger.info("webhook: accepted event %s (%s)", notification.event_id, notification.event_code)
        return _reply(200, {"accepted": notification.event_id})

    def _reject(self, status: int, reason: str, event_id: str | None = None) -> dict[str, Any]:
        # The reason is ours (never a value from the request); the event id only once the body was authentic.
        logger.warning("webhook: rejected %s: %s%s", status, reason, f" (event {event_id})" if event_id else "")
        return _reply(status, {"status": status, "reason": reason})
