"""Push health: Adobe I/O Events flow run notifications -> the webhook receiver -> SQS -> the processor, which
updates a dataflow's health at once with the sweep's classification (the scheduled sweep stays as the safety
net for lost events). Registering the webhook: docs/push-health.md."""

from .notification import Notification, NotificationError, parse_notification
from .processor import FlowRunProcessor
from .receiver import ReceiverSettings, WebhookReceiver, event_key
from .signature import ADOBE_KEY_HOST, KeyCache, KeyUnavailableError, SignatureError, verify_signatures

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
