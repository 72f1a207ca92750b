"""The flow run processor: one verified notification (an SQS message from the receiver) -> the dataflow's health.

For each message (the raw body the receiver verified):

1. **Deduplicate by event id** (I/O Events delivers at least once; SQS too): a conditional update sets
   ``processed_at`` on ``("WEBHOOK#{event_id}", "EVENT")``; already set -> skipped. A failure later removes it
   again, so SQS' retry processes the event.
2. **Map to the product's dataflow** by ``flowId`` (index ``gsi2``). Flows this product did not create (other
   sources of the same IMS org send notifications too) are counted (``unknownFlows``) and dropped; so are
   dataflows that are no longer ACTIVE.
3. **Out of order**: a run that started before the run the item already records is older news: dropped
   (``outOfOrder``).
4. **Classify** with the sweep's own ``classify`` (the run from the event as the latest run; the flow's state
   and schedule from the item: a notification carries no flow), and **record** with the sweep's own
   ``HealthChecker.record``: the same conditional write claims the transition, so one alert is published per
   transition whichever path (push or sweep) saw it first.

No Adobe call is made: the event holds everything the classification needs.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stripe_aep.aep import Flow, FlowRun
from stripe_aep.errors import ConcurrentModificationError
from stripe_aep.health.classify import DEFAULT_POLICY, HealthPolicy, classify
from stripe_aep.health.sweep import HealthChecker, Publisher
from stripe_aep.store import ACTIVE, Store

from .notification import NotificationError, event_key, parse_notification

if TYPE_CHECKING:
    from stripe_aep.aep import PlatformClient

__all__ = ["FlowRunProcessor"]

logger = logging.getLogger(__name__)


def _no_platform(sandbox: str) -> PlatformClient:
    raise RuntimeError("push health makes no Adobe call")


class FlowRunProcessor:
    """Applies flow run notifications to DynamoDB and alerts (see the module docstring). ``counts`` keeps
    ``applied``, ``duplicates``, ``unknownFlows``, ``inactive``, ``outOfOrder``, ``unchanged``, ``alerts``."""

    def __init__(
        self,
        store: Store,
        publish: Publisher | None,
        policy: HealthPolicy = DEFAULT_POLICY,
        clock: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock
        self.checker = HealthChecker(store, _no_platform, publish, policy=policy, clock=clock)
        self.counts: Counter[str] = Counter()

    def process(self, body: str, event_id_header: str | None = None) -> str:
        """Apply one notification body; returns what happened (a ``counts`` key). Raises on DynamoDB or
        publisher errors (the message is then retried by SQS); ``NotificationError`` for a body that is not
        one (cannot happen after the receiver, but a message is never trusted blindly)."""
        notification = parse_notification(json.loads(body), event_id_header)
        key = event_key(notification.event_id)
        try:
            self.store.update(
                key,
                {"processed_at": self.clock() // 1000, "expires_at": self.clock() // 1000 + 2 * 86400},
                condition="attribute_not_exists(processed_at)",
            )
        except ConcurrentModificationError:
            return self._count("duplicates")
        try:
            return self._count(self._apply(notification.flow_id, notification.run))
        except Exception:
            self.store.update(key, remove=("processed_at",))
            raise

    def _apply(self, flow_id: str, raw_run: dict[str, Any]) -> str:
        dataflow = self.store.dataflow_key_of_flow(flow_id)
        if dataflow is None:
            logger.info("push: flow %s is not one of this product's dataflows: dropped", flow_id)
            return "unknownFlows"
        item = self.store.get(dataflow)
        if item is None or item.get("status") != ACTIVE or item.get("flow_id") != flow_id:
            return "inactive"
        run = FlowRun.model_validate(raw_run)
        started = (run.metrics.get("durationSummary") or {}).get("startedAtUTC") or run.created_at or 0
        recorded = item.get("last_run_started_at_ms")
        if recorded is not None and run.id != item.get("last_run_id") and int(started) < int(recorded):
            return "outOfOrder"
        flow = Flow.model_validate(
            {
                "id": flow_id,
                "state": item.get("flow_state") or "enabled",
                "scheduleParams": item.get("schedule") or {},
            }
        )
        health = classify(item, flow, [run], self.clock(), self.policy)
        before = (item.get("health_status"), item.get("last_run_id"), item.get("last_run_state"))
        if self.checker.record(dataflow, item, health):
            self.counts["alerts"] += 1
        after = (health.status.value, health.last_run_id, health.last_run_state)
        return "unchanged" if before == after else "applied"

    def _count(self, outcome: str) -> str:
        self.counts[outcome] += 1
        return outcome


__all__ += ["NotificationError"]
