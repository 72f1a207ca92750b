"""Push health: Adobe I/O Events flow run notifications -> the webhook receiver -> SQS -> the processor, which
updates a dataflow's health at once with the sweep's classification (the scheduled sweep stays as the safety
net for lost events). Registering the webhook: docs/push-health.md.

The names load on first use (PEP 562 ``__getattr__``, as in ``stripe_aep.aep``): the receiver does not import
the processor (the health sweep, pydantic) nor the processor the receiver's signature check (requests,
cryptography).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .notification import Notification, NotificationError, event_key, parse_notification
    from .processor import FlowRunProcessor
    from .receiver import ReceiverSettings, WebhookReceiver
    from .signature import ADOBE_KEY_HOST, KeyCache, KeyUnavailableError, SignatureError, verify_signatures

#: Which submodule defines each name.
_HOMES = {
    "ADOBE_KEY_HOST": "signature",
    "FlowRunProcessor": "processor",
    "KeyCache": "signature",
    "KeyUnavailableError": "signature",
    "Notification": "notification",
    "NotificationError": "notification",
    "ReceiverSettings": "receiver",
    "SignatureError": "signature",
    "WebhookReceiver": "receiver",
    "event_key": "notification",
    "parse_notification": "notification",
    "verify_signatures": "signature",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        globals()[name] = value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ADOBE_KEY_HOST",
    "FlowRunProcessor",
    "KeyCache",
    "KeyUnavailableError",
    "Notification",
    "NotificationError",
    "ReceiverSettings",
    "SignatureError",
    "WebhookReceiver",
    "event_key",
    "parse_notification",
    "verify_signatures",
]
