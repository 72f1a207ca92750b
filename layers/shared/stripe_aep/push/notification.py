"""A flow run notification as Adobe I/O Events delivers it (EN help/sources/notifications.md, "Flow run
notifications").

Event codes: ``sources_flow_run_success`` and ``sources_flow_run_failed`` (the guide also spells it
``sources_flow_run_failure``), provider "Platform notifications" (``aep_observability_catalog_events``).
Two documented shapes:

- ``{"event_id", "event": {<flow run: id, flowId, createdAt, updatedAt (epoch ms), metrics{durationSummary,
  recordSummary, statusSummary{status, errors}}, activities}, "header": {"_adobeio": {"eventCode"}}}}`` plus
  I/O Events' ``recipient_client_id`` (the success example);
- ``[{"messages": [{"timestamp", "_eventNotificationMeta": {"type"}, "value": <flow run>}]}]`` (the failure
  example); the event id is then the ``x-adobe-event-id`` header.

Partial ingestion: a run with failed records is ``sources_flow_run_success`` while under the flow's error
threshold; the run's ``recordSummary`` and ``errors`` still tell, and the health classification (the sweep's)
reads them, not the event code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["EVENT_CODES", "Notification", "NotificationError", "event_key", "parse_notification"]

EVENT_CODES = frozenset({"sources_flow_run_success", "sources_flow_run_failed", "sources_flow_run_failure"})
_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class NotificationError(ValueError):
    """The (authentic) body is not a flow run notification this product understands."""


@dataclass(frozen=True)
class Notification:
    """``event_id`` (I/O Events', the deduplication key), ``event_code``, ``run`` (the flow run object),
    ``time_ms`` (when Adobe last updated the run: epoch ms), ``recipient_client_id`` (or None)."""

    event_id: str
    event_code: str | None
    run: dict[str, Any]
    time_ms: int
    recipient_client_id: str | None

    @property
    def flow_id(self) -> str:
        return str(self.run["flowId"])


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def parse_notification(payload: Any, header_event_id: str | None = None) -> Notification:
    """The notification in a parsed body. Raises ``NotificationError`` naming what is missing."""
    code: Any = None
    time_ms: int | None = None
    if isinstance(payload, dict) and isinstance(payload.get("event"), dict):
        run = payload["event"]
        event_id = payload.get("event_id") or header_event_id
        header = run.get("header") if isinstance(run.get("header"), dict) else {}
        code = (header.get("_adobeio") or {}).get("eventCode") if isinstance(header.get("_adobeio"), dict) else None
        recipient = payload.get("recipient_client_id")
    elif isinstance(payload, list) and payload and isinstance(payload[0], dict):
        messages = payload[0].get("messages")
        message = messages[0] if isinstance(messages, list) and messages and isinstance(messages[0], dict) else {}
        run = message.get("value") if isinstance(message.get("value"), dict) else None
        if run is None:
            raise NotificationError("no flow run in messages[0].value")
        event_id = header_event_id
        meta = message.get("_eventNotificationMeta")
        code = meta.get("type") if isinstance(meta, dict) else None
        time_ms = _int(message.get("timestamp"))
        recipient = None
    else:
        raise NotificationError("not a flow run notification (no event object)")
    if not isinstance(event_id, str) or not _ID.fullmatch(event_id):
        raise NotificationError("event_id missing or malformed")
    if not isinstance(run.get("flowId"), str) or not isinstance(run.get("id"), str):
        raise NotificationError("the flow run has no id or flowId")
    time_ms = _int(run.get("updatedAt")) or time_ms or _int(run.get("createdAt"))
    if time_ms is None:
        raise NotificationError("the flow run has no updatedAt/createdAt (epoch ms)")
    return Notification(
        event_id=event_id,
        event_code=code if isinstance(code, str) else None,
        run=run,
        time_ms=time_ms,
        recipient_client_id=recipient if isinstance(recipient, str) else None,
    )


def event_key(event_id: str) -> tuple[str, str]:
    """The DynamoDB item of one I/O Events event id (receiver's claim, processor's mark)."""
    return (f"WEBHOOK#{event_id}", "EVENT")
