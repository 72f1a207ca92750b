"""The health sweep: every ACTIVE dataflow (or one tenant's), classified, recorded, alerted on change.

Adobe calls, as few as the API allows (EN help/sources/tutorials/api/monitor.md, sort-and-filter.md):

- per sandbox, the Stripe flows in pages: ``GET /flows?property=flowSpec.id==6499120c-…`` (listFlows);
  their items carry ``state`` and ``lastRunDetails``. A flow absent from the list is confirmed with
  ``GET /flows/{id}`` (retrieveFlow) before it is called MISSING. One tenant's check: retrieveFlow per flow.
- ``GET /runs?property=flowId==X&orderby=-createdAt&limit=5`` (listFlowRuns) only for flows whose last run did
  not simply succeed (failed, partial, running): see ``classify.needs_runs``.

Per-flow work runs in a thread pool of ``concurrency`` workers, each holding at most one Adobe call, so no
more than ``concurrency`` calls are in flight; 429/5xx are retried by the client's HTTP layer. A flow whose
check raises is recorded as an error on its item (``health_check_error``) and the sweep goes on.

A full sweep walks the sparse index ``gsi1`` in ``gsi1sk`` order in batches, saving after each batch a cursor
in the item ``("HEALTH", "CURSOR")``; before each batch it compares the Lambda's remaining time with a reserve
and stops cleanly, so the next invocation continues after the cursor: each dataflow is checked once per cycle.
A lease on the cursor item (``lease_owner``, ``lease_until`` epoch s) keeps two sweeps from walking together.

DISABLED dataflows (out of ``gsi1``; listed on the item ``store.DISABLED_KEY``) are not judged (they have no
runs to judge), but at the end of each cycle one whose flow is absent from its sandbox's listing is confirmed
with ``GET /flows/{id}`` and recorded MISSING, alerted on and repaired as an ACTIVE one is; one MISSING whose
flow is back is recorded DISABLED again (a recovery notice). A listed flow costs no Adobe call.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from pydantic import BaseModel, ConfigDict, Field

from stripe_aep.aep import NotFoundError
from stripe_aep.clock import now_s
from stripe_aep.errors import ConcurrentModificationError, TenantNotFoundError, error_details
from stripe_aep.runtime import Runtime
from stripe_aep.store import ACTIVE, DISABLED, ItemKey, Store, dataflow_key
from stripe_aep.tenants import execution_name, validate_tenant_id

if TYPE_CHECKING:
    from stripe_aep.aep import Flow, FlowRun, PlatformClient

from .classify import DEFAULT_POLICY, UNHEALTHY, Health, HealthPolicy, HealthStatus, classify, needs_runs, redact

__all__ = [
    "CURSOR_KEY",
    "HealthChecker",
    "HealthSettings",
    "ProvisionRepair",
    "Publisher",
    "SnsPublisher",
    "SweepSummary",
    "checker_for",
]

logger = logging.getLogger(__name__)

#: The item holding the sweep's cursor (``cursor`` = the last ``gsi1sk`` done), ``cycle`` and the lease.
CURSOR_KEY: ItemKey = ("HEALTH", "CURSOR")
ERROR = "ERROR"


class Publisher(Protocol):
    """Sends one alert or recovery notice (a JSON-able mapping, never holding a secret)."""

    def __call__(self, notice: Mapping[str, Any]) -> None: ...


class SnsPublisher:
    """Publishes notices to an SNS topic: JSON body, ``Subject`` (<= 100 chars), attributes ``kind``,
    ``status`` and ``tenantId`` for subscription filter policies. Raises ``botocore`` errors."""

    def __init__(self, topic_arn: str, client: Any | None = None) -> None:
        self.topic_arn = topic_arn
        self._sns = client if client is not None else boto3.client("sns")

    def __call__(self, notice: Mapping[str, Any]) -> None:
        label = "RECOVERED" if notice["kind"] == "RECOVERY" else "ALERT"
        subject = f"[stripe-aep] {label} {notice['status']}: {notice['tenantId']}/{notice['resourcePath']}"
        self._sns.publish(
            TopicArn=self.topic_arn,
            Subject=subject[:100],
            Message=json.dumps(notice, sort_keys=True),
            MessageAttributes={
                key: {"DataType": "String", "StringValue": str(notice[name])}
                for key, name in (("kind", "kind"), ("status", "status"), ("tenantId", "tenantId"))
            },
        )


class ProvisionRepair:
    """Starts the repair of a MISSING dataflow: a provision execution of its tenant and resource path (with the
    schedule DynamoDB holds), which re-creates the flow on its existing connections (``catalogue.converge``).

    The execution name is ``repair-{tenant}-{sha256(path, flow id)[:12]}``: one repair per vanished flow, however
    many sweeps see it (ExecutionAlreadyExists counts as started). Returns what the alert says. Raises
    ``botocore`` errors other than ExecutionAlreadyExists.
    """

    def __init__(self, state_machine_arn: str, client: Any | None = None) -> None:
        self.state_machine_arn = state_machine_arn
        self._sfn = client if client is not None else boto3.client("stepfunctions")

    def __call__(self, item: Mapping[str, Any]) -> str:
        tenant_id, path = str(item["tenant_id"]), str(item["resource_path"])
        name = execution_name("repair", tenant_id, {"resourcePath": path, "flowId": item.get("flow_id")})
        payload: dict[str, Any] = {"tenantId": tenant_id, "sandbox": item.get("sandbox"), "resourcePaths": [path]}
        schedule = item.get("schedule")
        if isinstance(schedule, dict) and schedule.get("frequency"):
            payload["schedule"] = {k: schedule[k] for k in ("frequency", "interval") if schedule.get(k) is not None}
        with contextlib.suppress(self._sfn.exceptions.ExecutionAlreadyExists):
            self._sfn.start_execution(stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(payload))
        return f"started provision execution {name} to re-create the flow"


#: What an alert on a MISSING dataflow says when the automatic repair is off.
REPAIR_OFF = "automatic repair off (template parameter HealthRepairMissingFlows): run `stripe-aep provision {t}`"


@dataclass
class SweepSummary:
    """What one invocation did. ``by_status`` counts HealthStatus values and ``ERROR`` (checks that raised);
    ``cursor`` is the ``gsi1sk`` a stopped sweep resumes after (``None`` once a cycle completed)."""

    checked: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    complete: bool = True
    cursor: str | None = None
    alerts: int = 0
    skipped: str | None = None
    #: With push health on: transitions this sweep found on a run push never reported (lost events).
    missed_by_push: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The handler's answer: ``{checked, byStatus, complete, cursor, alerts}`` (+ ``skipped``)."""
        out: dict[str, Any] = {
            "checked": self.checked,
            "byStatus": dict(sorted(self.by_status.items())),
            "complete": self.complete,
            "cursor": self.cursor,
            "alerts": self.alerts,
        }
        if self.skipped:
            out["skipped"] = self.skipped
        if self.missed_by_push is not None:
            out["missedByPush"] = self.missed_by_push
        return out


@dataclass(frozen=True)
class _Outcome:
    status: str | None  # a HealthStatus value, ERROR, or None when the item left ACTIVE meanwhile
    alerted: bool = False
    missed: bool = False  # a transition on a run the item had not recorded yet (push would have)


def _swept_status(item: Mapping[str, Any]) -> str:
    """The provisioning status a verdict is written under: DISABLED for a disabled dataflow, else ACTIVE."""
    return DISABLED if item.get("status") == DISABLED else ACTIVE


def _now_ms() -> int:
    return int(time.time() * 1000)


def _chunks(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class HealthChecker:
    """Checks dataflows against Flow Service and records the verdicts (see the module docstring).

    ``platform(sandbox)`` gives the Platform client of a sandbox (``Runtime.platform``). ``publish`` receives
    alert/recovery notices (``None``: no alerts). ``clock`` returns epoch milliseconds (Adobe's unit).
    ``reserve_ms``: a full sweep stops when less remains before a batch. ``batch_size`` dataflows per batch,
    ``flow_page_size`` flows per listFlows page, ``runs_limit`` runs per listFlowRuns call.
    """

    def __init__(
        self,
        store: Store,
        platform: Callable[[str], PlatformClient],
        publish: Publisher | None = None,
        *,
        concurrency: int = 8,
        policy: HealthPolicy = DEFAULT_POLICY,
        clock: Callable[[], int] = _now_ms,
        reserve_ms: int = 60_000,
        batch_size: int = 100,
        flow_page_size: int = 100,
        runs_limit: int = 5,
        push_enabled: bool = False,
        repair: Callable[[Mapping[str, Any]], str] | None = None,
    ) -> None:
        if concurrency < 1 or batch_size < 1:
            raise ValueError("concurrency and batch_size must be >= 1")
        self.store = store
        self.platform = platform
        self.publish = publish
        self.concurrency = concurrency
        self.policy = policy
        self.clock = clock
        self.reserve_ms = reserve_ms
        self.batch_size = batch_size
        self.flow_page_size = flow_page_size
        self.runs_limit = runs_limit
        self.push_enabled = push_enabled
        self.repair = repair

    # ---- entry points ------------------------------------------------------------------------------------
    def check_tenant(self, tenant_id: str) -> SweepSummary:
        """Check the ACTIVE dataflows of one tenant (retrieveFlow per flow). The sweep cursor is not touched.

        Raises ``ValueError`` for an invalid tenant id, ``TenantNotFoundError`` for a tenant DynamoDB lacks.
        """
        validate_tenant_id(tenant_id)
        tenant, items = self.store.tenant_items(tenant_id)
        if tenant is None and not items:
            raise TenantNotFoundError(f"no tenant {tenant_id} in DynamoDB")
        summary = SweepSummary(missed_by_push=0 if self.push_enabled else None)
        active = [i for i in items if i.get("status") == ACTIVE]
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="health") as pool:
            self._run_batch(pool, active, {}, summary)
        return summary

    def sweep(self, remaining_ms: Callable[[], int], owner: str) -> SweepSummary:
        """Check every ACTIVE dataflow after the saved cursor until done or ``remaining_ms() < reserve_ms``.

        ``remaining_ms``: Lambda's ``context.get_remaining_time_in_millis``; ``owner``: a unique id of this
        invocation (the request id) for the lease. Returns the summary; ``complete`` is True when the cycle
        ended (cursor cleared, ``cycle`` incremented). Another live sweep's lease: ``skipped``, nothing done.
        """
        lease_s = max(60, remaining_ms() // 1000 + 60)
        try:
            state = self._claim(owner, lease_s)
        except ConcurrentModificationError:
            current = self.store.get(CURSOR_KEY) or {}
            return SweepSummary(
                complete=False, cursor=current.get("cursor"), skipped="another health sweep holds the lease"
            )
        cursor: str | None = state.get("cursor")
        summary = SweepSummary(complete=False, cursor=cursor, missed_by_push=0 if self.push_enabled else None)
        listings: dict[str, dict[str, Flow] | None] = {}
        try:
            with ThreadPoolExecutor(self.concurrency, thread_name_prefix="health") as pool:
                for batch in _chunks(self.store.active_dataflows(cursor, self.batch_size), self.batch_size):
                    if remaining_ms() < self.reserve_ms:
                        logger.info("time budget reached; stopping at cursor %s", cursor)
                        return summary
                    for sandbox in sorted({str(i.get("sandbox") or "") for i in batch} - set(listings)):
                        listings[sandbox] = self._list_flows(sandbox)
                    self._run_batch(pool, batch, listings, summary)
                    cursor = str(batch[-1]["gsi1sk"])
                    self._save_cursor(owner, cursor)
                    summary.cursor = cursor
                if remaining_ms() < self.reserve_ms:
                    return summary
                self._check_disabled(pool, listings, summary)
            self._complete_cycle(owner)
            summary.complete, summary.cursor = True, None
            return summary
        finally:
            self._release(owner)

    # ---- one batch ---------------------------------------------------------------------------------------
    def _run_batch(
        self,
        pool: ThreadPoolExecutor,
        items: Sequence[dict[str, Any]],
        listings: Mapping[str, dict[str, Flow] | None],
        summary: SweepSummary,
    ) -> None:
        outcomes = pool.map(lambda item: self._check(item, listings.get(str(item.get("sandbox") or ""))), items)
        for outcome in outcomes:
            if outcome.status is None:
                continue
            summary.checked += 1
            summary.by_status[outcome.status] += 1
            summary.alerts += int(outcome.alerted)
            if summary.missed_by_push is not None:
                summary.missed_by_push += int(outcome.missed)

    def _check_disabled(
        self, pool: ThreadPoolExecutor, listings: dict[str, dict[str, Flow] | None], summary: SweepSummary
    ) -> None:
        """Notice DISABLED dataflows whose flow is gone (see the module docstring): only those absent from their
        sandbox's listing (or MISSING before) are checked; entries of items no longer DISABLED are pruned."""
        items = list(pool.map(lambda key: (key, self.store.get(key)), self.store.disabled_dataflows()))
        self.store.forget_disabled([key for key, item in items if (item or {}).get("status") != DISABLED])
        disabled = [item for _, item in items if item is not None and item.get("status") == DISABLED]
        for sandbox in sorted({str(i.get("sandbox") or "") for i in disabled} - set(listings)):
            listings[sandbox] = self._list_flows(sandbox)

        def due(item: Mapping[str, Any]) -> bool:
            listing = listings.get(str(item.get("sandbox") or ""))
            flow_id = item.get("flow_id")
            gone = listing is None or not flow_id or flow_id not in listing
            return gone or item.get("health_status") == HealthStatus.MISSING.value

        for batch in _chunks((i for i in disabled if due(i)), self.batch_size):
            self._run_batch(pool, batch, listings, summary)

    def _list_flows(self, sandbox: str) -> dict[str, Flow] | None:
        """The sandbox's Stripe flows by id (listFlows, all pages), or ``None`` when listing failed (each flow
        is then read with retrieveFlow)."""
        try:
            client = self.platform(sandbox)
            from stripe_aep.aep.models import STRIPE_FLOW_SPEC_ID  # the wire models: loaded on the first sweep

            flows = client.list_flows(properties=[f"flowSpec.id=={STRIPE_FLOW_SPEC_ID}"], limit=self.flow_page_size)
            return {flow.id: flow for flow in flows}
        except Exception as exc:  # one sandbox's trouble must not stop the sweep
            logger.warning("listFlows failed in sandbox %s: %s", sandbox, error_details(exc))
            return None

    def _check(self, item: dict[str, Any], listing: Mapping[str, Flow] | None) -> _Outcome:
        key = dataflow_key(str(item.get("tenant_id")), str(item.get("resource_path")))
        try:
            client = self.platform(str(item.get("sandbox") or ""))
            flow_id = item.get("flow_id")
            flow: Flow | None = None
            if flow_id:
                flow = listing.get(flow_id) if listing is not None else None
                if flow is None:  # not listed (or no listing): ask for it before calling it missing
                    try:
                        flow = client.get_flow(flow_id)
                    except NotFoundError:
                        flow = None
            runs: list[FlowRun] = []
            if flow is not None and needs_runs(item, flow, self.clock(), self.policy):
                runs = list(islice(client.list_flow_runs(flow.id, limit=self.runs_limit), self.runs_limit))
            health = classify(item, flow, runs, self.clock(), self.policy)
            return self._record(key, item, health)
        except Exception as exc:  # recorded for this flow; the sweep goes on
            details = error_details(exc)
            details["message"] = redact(str(details.get("message", "")))
            logger.warning("health check of %s/%s failed: %s", key[0], key[1], details)
            try:
                self.store.update(
                    key,
                    {"health_check_error": {**details, "at": now_s()}},
                    condition="attribute_exists(pk)",
                )
            except Exception:
                logger.exception("could not record the health check error of %s/%s", key[0], key[1])
            return _Outcome(ERROR)

    # ---- recording and alerting ---------------------------------------------------------------------------
    def record(self, key: ItemKey, item: Mapping[str, Any], health: Health) -> bool:
        """Record a verdict reached elsewhere (push health: a flow run notification) exactly as the sweep does:
        the same conditional write claims the transition, so one notice is sent whichever path saw it first.
        Returns whether a notice was published. Raises like the sweep (publisher errors, a lost race twice)."""
        return self._record(key, item, health).alerted

    def _record(self, key: ItemKey, item: Mapping[str, Any], health: Health) -> _Outcome:
        """Write the verdict, conditional on the item still being ACTIVE with the ``health_status`` seen;
        publish when the status moved into or out of UNHEALTHY. The write claims the transition, so a notice
        is sent once even when two checks race."""
        previous: str | None = item.get("health_status")
        if (previous, item.get("last_run_id"), item.get("last_run_state")) == (
            health.status.value,
            health.last_run_id,
            health.last_run_state,
        ):
            # Same verdict on the same run: nothing to write (a healthy fleet costs no DynamoDB write per sweep;
            # ``health_checked_at`` is when the verdict last changed or a new run was seen).
            return _Outcome(health.status.value)
        for attempt in (1, 2):
            try:
                self._write(key, health, previous, _swept_status(item))
                break
            except ConcurrentModificationError:
                fresh = self.store.get(key)
                if fresh is None or fresh.get("status") != _swept_status(item):
                    return _Outcome(None)  # deprovisioned, enabled or disabled meanwhile: nothing to say
                if attempt == 2:
                    raise
                previous = fresh.get("health_status")
        status = health.status
        missed = previous != status.value and health.last_run_id not in (None, item.get("last_run_id"))
        repair: str | None = None
        if status is HealthStatus.MISSING and previous != status.value:
            repair = self.repair(item) if self.repair else REPAIR_OFF.format(t=item.get("tenant_id"))
        if previous == status.value or self.publish is None:
            return _Outcome(status.value, missed=missed)
        was_unhealthy = previous in {s.value for s in UNHEALTHY}
        if status not in UNHEALTHY and not was_unhealthy:
            return _Outcome(status.value, missed=missed)
        notice = {
            "kind": "ALERT" if status in UNHEALTHY else "RECOVERY",
            "tenantId": item.get("tenant_id"),
            "resourcePath": item.get("resource_path"),
            "sandbox": item.get("sandbox"),
            "flowId": item.get("flow_id"),
            "status": status.value,
            "previousStatus": previous,
            "reason": redact(health.reason, 1000),
            "lastRunId": health.last_run_id,
            "errors": [dict(e) for e in health.errors],
            "checkedAt": now_s(),
        }
        if repair is not None:
            notice["repair"] = repair
        try:
            self.publish(notice)
        except Exception:
            # Put the previous status back so that the next check sees the transition again and re-publishes.
            restore = {"health_status": previous} if previous else {}
            self.store.update(
                key, restore, remove=() if previous else ("health_status",), condition="attribute_exists(pk)"
            )
            raise
        return _Outcome(status.value, alerted=True, missed=missed)

    def _write(self, key: ItemKey, health: Health, previous: str | None, status: str = ACTIVE) -> None:
        values: dict[str, Any] = {
            "health_status": health.status.value,
            "health_reason": redact(health.reason, 1000),
            "health_errors": [dict(e) for e in health.errors],
            "health_checked_at": now_s(),
            "last_run_id": health.last_run_id,
            "last_run_state": health.last_run_state,
            "last_run_started_at_ms": health.last_run_started_at_ms,
            "last_run_completed_at_ms": health.last_run_completed_at_ms,
            "last_run_input_records": health.input_records,
            "last_run_failed_records": health.failed_records,
        }
        if previous != health.status.value:
            values["health_changed_at"] = now_s()
        present = {k: v for k, v in values.items() if v is not None}
        absent = (*(k for k, v in values.items() if v is None), "health_check_error")
        condition = "attribute_exists(pk) AND #status = :active AND "
        condition_values: dict[str, Any] = {":active": status}
        if previous is None:
            condition += "attribute_not_exists(#health)"
        else:
            condition += "#health = :previous"
            condition_values[":previous"] = previous
        self.store.update(
            key,
            present,
            remove=absent,
            condition=condition,
            condition_names={"#status": "status", "#health": "health_status"},
            condition_values=condition_values,
        )

    # ---- cursor and lease ----------------------------------------------------------------------------------
    def _claim(self, owner: str, lease_s: int) -> dict[str, Any]:
        now = now_s()
        return self.store.update(
            CURSOR_KEY,
            {"lease_owner": owner, "lease_until": now + lease_s},
            condition="attribute_not_exists(#until) OR #until < :now OR #owner = :owner",
            condition_names={"#until": "lease_until", "#owner": "lease_owner"},
            condition_values={":now": now, ":owner": owner},
        )

    def _owned(self) -> dict[str, Any]:
        return {"condition": "#owner = :owner", "condition_names": {"#owner": "lease_owner"}}

    def _save_cursor(self, owner: str, cursor: str) -> None:
        self.store.update(CURSOR_KEY, {"cursor": cursor}, **self._owned(), condition_values={":owner": owner})

    def _complete_cycle(self, owner: str) -> None:
        state = self.store.get(CURSOR_KEY) or {}
        self.store.update(
            CURSOR_KEY,
            {"cycle": int(state.get("cycle") or 0) + 1, "last_complete_at": now_s()},
            remove=("cursor",),
            **self._owned(),
            condition_values={":owner": owner},
        )

    def _release(self, owner: str) -> None:
        try:
            self.store.update(
                CURSOR_KEY,
                remove=("lease_owner", "lease_until"),
                **self._owned(),
                condition_values={":owner": owner},
            )
        except ConcurrentModificationError:
            logger.warning("the health sweep lease was taken over before release")


class HealthSettings(BaseModel):
    """The health check's own environment (names are the lowercased variables)."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)
    health_topic_arn: str = ""
    health_concurrency: int = Field(default=8, ge=1, le=64)
    health_grace_s: int = Field(default=900, ge=0)
    health_time_reserve_ms: int = Field(default=60_000, ge=0)
    #: Start a provision execution for a MISSING dataflow (template parameter HealthRepairMissingFlows).
    health_repair_missing: bool = False
    provision_state_machine_arn: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HealthSettings:
        """Read from ``env`` (default ``os.environ``); raises ``pydantic.ValidationError``."""
        source = os.environ if env is None else env
        return cls.model_validate({key.lower(): value for key, value in source.items()})


def checker_for(runtime: Runtime, settings: HealthSettings) -> HealthChecker:
    """A ``HealthChecker`` over the runtime's store and Platform clients, alerting to ``HEALTH_TOPIC_ARN``."""
    return HealthChecker(
        runtime.store,
        runtime.platform,
        SnsPublisher(settings.health_topic_arn) if settings.health_topic_arn else None,
        concurrency=settings.health_concurrency,
        policy=HealthPolicy(grace_s=settings.health_grace_s),
        reserve_ms=settings.health_time_reserve_ms,
        repair=(
            ProvisionRepair(settings.provision_state_machine_arn)
            if settings.health_repair_missing and settings.provision_state_machine_arn
            else None
        ),
    )
