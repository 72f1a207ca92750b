"""Adobe I/O Events, played: flow run notifications signed and delivered to a webhook when a run ends.

As Adobe documents it (AdobeDocs/adobe-io-events src/pages/guides/index.md; EN help/sources/notifications.md):

- the body is ``{"event_id", "event": <flow run + header._adobeio{imsOrgId, providerMetadata, eventCode}>,
  "recipient_client_id"}``, event code ``sources_flow_run_success`` or ``sources_flow_run_failed``;
- two key pairs (RSA 2048) sign the raw body (``rsa-sha256``, PKCS#1 v1.5), headers
  ``x-adobe-digital-signature-1/2`` (base64) and ``x-adobe-public-key1-path/2-path``
  (``/prod/keys/pub-key-<random>.pem``), plus ``x-adobe-event-id``, ``x-adobe-event-code``,
  ``x-adobe-delivery-id``, ``x-adobe-provider``, ``user-agent: Adobe/1.0``;
- the public keys are served by the simulator's own HTTP server at those paths, the way
  ``static.adobeioevents.com`` serves Adobe's (the receiver's key host is a setting: here the simulator's URL).

Misbehaviour for tests, one ``Delivery`` plan per notification (``plan(...)``; default: deliver once, now):
``copies`` (deliver twice), ``delay_s`` (late), ``hold`` (kept until ``release()``, which can reverse the
order: out of order), ``tamper`` (body changed after signing), ``wrong_key`` (signed with a key the key host
does not serve), ``key_path`` (a path of the attacker's choosing), ``drop`` (lost: never delivered).
"""

from __future__ import annotations

import base64
import copy
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = ["Delivery", "DeliveryRecord", "IoEvents"]

PROVIDER_METADATA = "aep_observability_catalog_events"


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _sign(key: rsa.RSAPrivateKey, body: bytes) -> str:
    return base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


@dataclass(frozen=True)
class Delivery:
    """How the next notification misbehaves (see the module docstring)."""

    copies: int = 1
    delay_s: float = 0.0
    hold: bool = False
    tamper: bool = False
    wrong_key: bool = False
    key_path: str | None = None
    drop: bool = False


@dataclass
class DeliveryRecord:
    """One POST to the webhook: the event id, the HTTP status answered (0: no answer), when (epoch ms)."""

    event_id: str
    flow_id: str
    run_id: str
    status: int
    sent_at_ms: int
    answered_at_ms: int
    answer: Any = None


@dataclass
class _Pending:
    body: bytes
    headers: dict[str, str]
    event_id: str
    flow_id: str
    run_id: str
    extra: dict[str, Any] = field(default_factory=dict)


class IoEvents:
    """The I/O Events side of the simulator: keys, signing, delivery to ``webhook_url`` (None: off)."""

    def __init__(self, ims_org: str = "stripe-aep-local@AdobeOrg", recipient_client_id: str = "") -> None:
        self.ims_org = ims_org
        self.recipient_client_id = recipient_client_id
        self.webhook_url: str | None = None
        self._keys = [_new_key(), _new_key()]
        self._paths = [f"/prod/keys/pub-key-{secrets.token_urlsafe(8).replace('_', 'x')}.pem" for _ in range(2)]
        self._stranger = _new_key()  # a key pair the key host does not serve
        self._lock = threading.Lock()
        self._plans: list[Delivery] = []
        self._held: list[_Pending] = []
        self._threads: list[threading.Thread] = []
        self.deliveries: list[DeliveryRecord] = []
        self.key_fetches = 0
        self._session = requests.Session()

    # --- the key host -------------------------------------------------------------------------------------
    def public_key(self, path: str) -> bytes | None:
        """The PEM served at ``path`` (as static.adobeioevents.com does), or None (404)."""
        for key, own in zip(self._keys, self._paths, strict=True):
            if path == own:
                with self._lock:
                    self.key_fetches += 1
                return _pem(key)
        return None

    # --- configuring misbehaviour -------------------------------------------------------------------------
    def plan(self, *deliveries: Delivery) -> None:
        """The next notifications follow these plans, in order (then the default: once, now)."""
        with self._lock:
            self._plans.extend(deliveries)

    def release(self, reverse: bool = False, gap_s: float = 0.0) -> None:
        """Deliver the held notifications now, one after the other from one thread, ``gap_s`` seconds apart
        (``reverse``: newest first, i.e. out of order)."""
        with self._lock:
            held, self._held = self._held, []
        ordered = list(reversed(held)) if reverse else held

        def run() -> None:
            for i, pending in enumerate(ordered):
                self._send(pending, gap_s if i else 0.0)

        thread = threading.Thread(target=run, name="io-events-release", daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    # --- building and signing -----------------------------------------------------------------------------
    def notification(self, run: dict[str, Any]) -> tuple[bytes, str, str]:
        """(body, event id, event code) of the notification for a finished run."""
        status = str(run.get("metrics", {}).get("statusSummary", {}).get("status", ""))
        code = "sources_flow_run_failed" if status.lower() == "failed" else "sources_flow_run_success"
        event = copy.deepcopy(run)
        event["header"] = {
            "_adobeio": {"imsOrgId": self.ims_org, "providerMetadata": PROVIDER_METADATA, "eventCode": code}
        }
        event_id = str(uuid.uuid4())
        document: dict[str, Any] = {"event_id": event_id, "event": event}
        if self.recipient_client_id:
            document["recipient_client_id"] = self.recipient_client_id
        return json.dumps(document).encode(), event_id, code

    def signed(
        self, body: bytes, event_id: str, code: str, plan: Delivery = Delivery()
    ) -> tuple[bytes, dict[str, str]]:
        """(body as sent, headers) for a plan: signatures over the body, then the plan's tampering."""
        keys = [self._stranger, self._stranger] if plan.wrong_key else self._keys
        headers = {
            "content-type": "application/json",
            "user-agent": "Adobe/1.0",
            "x-adobe-event-id": event_id,
            "x-adobe-event-code": code,
            "x-adobe-delivery-id": str(uuid.uuid4()),
            "x-adobe-provider": PROVIDER_METADATA,
            "x-adobe-digital-signature-1": _sign(keys[0], body),
            "x-adobe-digital-signature-2": _sign(keys[1], body),
            "x-adobe-public-key1-path": plan.key_path or self._paths[0],
            "x-adobe-public-key2-path": plan.key_path or self._paths[1],
        }
        if plan.tamper:
            body = body.replace(b'"failed"', b'"success"', 1) if b'"failed"' in body else body + b" "
        return body, headers

    # --- delivering ---------------------------------------------------------------------------------------
    def on_run_end(self, run: dict[str, Any]) -> None:
        """Run listener of the simulator: sign and deliver the run's notification (in the background)."""
        if not self.webhook_url:
            return
        with self._lock:
            plan = self._plans.pop(0) if self._plans else Delivery()
        if plan.drop:
            return
        raw, event_id, code = self.notification(run)
        body, headers = self.signed(raw, event_id, code, plan)
        pending = _Pending(body, headers, event_id, str(run.get("flowId")), str(run.get("id")))
        if plan.hold:
            with self._lock:
                self._held.append(pending)
            return
        for _ in range(max(1, plan.copies)):
            self._send_async(pending, plan.delay_s)

    def _send_async(self, pending: _Pending, delay_s: float) -> None:
        thread = threading.Thread(target=self._send, args=(pending, delay_s), name="io-events", daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _send(self, pending: _Pending, delay_s: float) -> None:
        if delay_s > 0:
            time.sleep(delay_s)
        sent = int(time.time() * 1000)
        status, answer = 0, None
        try:
            response = self._session.post(str(self.webhook_url), data=pending.body, headers=pending.headers, timeout=30)
            status = response.status_code
            answer = response.json() if response.content else None
        except (requests.RequestException, ValueError):
            pass
        record = DeliveryRecord(
            pending.event_id, pending.flow_id, pending.run_id, status, sent, int(time.time() * 1000), answer
        )
        with self._lock:
            self.deliveries.append(record)

    def wait_idle(self, timeout_s: float = 30.0) -> None:
        """Wait until every delivery started so far has been answered (held ones excepted)."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                threads = [t for t in self._threads if t.is_alive()]
                self._threads = threads
            if not threads:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("I/O Events deliveries still running")
            threads[0].join(remaining)
