"""``upgrade --all`` in Step Functions: the page step of ``statemachine/upgrade_all.asl.json``.

The UpgradeAll state machine pages through the tenant index, the sparse index ``gsi1`` of ACTIVE dataflows
(``gsi1sk = "{tenant}#{path}"``, read in order, as the health sweep does), ``pageSize`` tenants at a time. Each
page is an inline Map over its tenants (``MaxConcurrency`` of the template) whose iteration is an inline Map
over the tenant's dataflows running the lifecycle's own step, ``steps.upgrade.upgrade_dataflow`` (so the
field group PATCH, mapping set PUT and flow PATCH, the rate budget and the retries are the lifecycle
``upgrade``'s). A tenant whose upgrade fails is caught in its iteration (RecordFailure records it on the
tenant item, as a lifecycle execution would) and reported failed; the run goes on. Then this step folds the
page into the report and reads the next page after the cursor (the page's last tenant id), until a page is
empty: a loop of bounded batches for any tenant count.

Idempotent and resumable: every step records its progress in DynamoDB, so a re-run after a failure half-way
(of one tenant or of the whole run) upgrades what is left, each tenant once, and a tenant already on the
current version costs DynamoDB reads and no Adobe call (reported ``current``). ``startAfter`` starts the run
after a tenant id (the cursor of a run that stopped).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from stripe_aep.runtime import Runtime
from stripe_aep.steps.common import StepInput, StepOutput
from stripe_aep.store import DEPROVISIONED, DEPROVISIONING, Store
from stripe_aep.tenants import TenantId, parse_input

__all__ = [
    "MAX_TENANTS_PER_EXECUTION",
    "REPORT_LIMIT_BYTES",
    "UpgradeAllInput",
    "UpgradePageStep",
    "fold_report",
    "plan_upgrade_page",
]

#: The report's JSON size past which per-path details of tenants that did not fail are dropped, then entries
#: (Step Functions caps a state's payload at 256 KiB; a page's Map results, at most ``pageSize`` 40 tenants of
#: six paths, add about 100 KB before they are folded).
REPORT_LIMIT_BYTES = 100_000
#: Tenants one execution upgrades before it stops with ``resumeAfter`` in its report (a Standard execution's
#: history holds 25,000 events; a tenant costs about 8 + 7 per dataflow, 50 with six): the caller starts the
#: next execution with ``startAfter`` (``stripe-aep upgrade --all`` does).
MAX_TENANTS_PER_EXECUTION = 400
#: Sorts after every resource path in ``gsi1sk`` (``{tenant}#{path}``, paths ``[a-z_]``): ``"{t}#~"`` is past
#: every dataflow of tenant ``t`` and before the next tenant's (``#`` sorts before ``-`` and the alphanumerics).
_PAST_PATHS = "~"


class UpgradeAllInput(BaseModel):
    """The UpgradeAll execution input: ``{pageSize (tenants per batch, 1-40, default 10), dryRun,
    startAfter (a tenant id: start after it)}``, every key optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pageSize: int = Field(default=10, ge=1, le=40)
    dryRun: bool = False
    startAfter: TenantId | None = None


class UpgradePageStep(StepInput):
    """In: ``{input: $$.Execution.Input, page: {started, cursor, report} (the previous answer of this step),
    done: [the tenant Map's results of that page], executionName}``."""

    input: Any = None
    page: dict[str, Any] = {}
    done: list[dict[str, Any]] | None = None


class UpgradePage(StepOutput):
    """``PlanUpgradePage``'s answer: the next page of tenants to upgrade and the report so far."""

    started: bool
    #: The last tenant id read (the next page starts after it); ``None`` before any.
    cursor: str | None
    #: The page holds tenants (the state machine maps them, then asks for the next page).
    more: bool
    dryRun: bool
    #: ``[{tenantId, sandbox, resourcePaths, owner}]``.
    tenants: list[dict[str, Any]]
    report: dict[str, Any]


def _tenant_ids(store: Store, after: str | None, size: int) -> list[str]:
    """Up to ``size`` tenant ids of the index ``gsi1`` after tenant ``after``, in index order."""
    ids: list[str] = []
    start = f"{after}#{_PAST_PATHS}" if after else None
    for item in store.active_dataflows(start_after=start, page_size=min(200, size * 6 + 1)):
        tenant = str(item["gsi1sk"]).split("#", 1)[0]
        if ids and ids[-1] == tenant:
            continue
        if len(ids) == size:
            break
        ids.append(tenant)
    return ids


def _targets(store: Store, tenant_ids: Sequence[str], owner: str) -> list[dict[str, Any]]:
    """``[{tenantId, sandbox, resourcePaths, owner}]``: each tenant's live dataflows with a flow, as the
    lifecycle's ValidateLifecycleInput gives them (``owner``: the per-tenant execution name the steps use for
    their intents and ``last_error``)."""
    out = []
    for tenant_id in tenant_ids:
        tenant, dataflows = store.tenant_items(tenant_id)
        if tenant is None or tenant.get("status") in (DEPROVISIONING, DEPROVISIONED):
            continue
        paths = [
            str(i["resource_path"])
            for i in dataflows
            if i.get("flow_id") and i.get("status") not in (DEPROVISIONING, DEPROVISIONED)
        ]
        if paths:
            out.append(
                {
                    "tenantId": tenant_id,
                    "sandbox": str(tenant.get("sandbox") or ""),
                    "resourcePaths": paths,
                    "owner": f"{owner}/{tenant_id}",
                }
            )
    return out


def _message(cause: Any) -> str:
    """A Lambda error document's ``errorMessage``, or the cause as it is."""
    try:
        value = json.loads(str(cause))
    except ValueError:
        return str(cause)
    return str(value.get("errorMessage", cause)) if isinstance(value, dict) else str(cause)


def _entry(done: Mapping[str, Any], dry_run: bool) -> dict[str, Any]:
    """One tenant's report line from its Map iteration's result (``{tenantId, upgrades}`` or ``{tenantId,
    error}``)."""
    tenant_id = str(done.get("tenantId"))
    error = done.get("error")
    if isinstance(error, Mapping):
        recorded = "error" in error  # RecordFailure's {error, cause}; else the raw {Error, Cause}
        return {
            "tenantId": tenant_id,
            "status": "FAILED",
            "result": "failed",
            "error": str(error.get("error" if recorded else "Error") or "States.TaskFailed"),
            "cause": (str(error.get("cause")) if recorded else _message(error.get("Cause")))[:1000],
        }
    upgrades = [
        {
            "resourcePath": u.get("resourcePath"),
            "fromVersion": u.get("fromVersion"),
            "toVersion": u.get("toVersion"),
            "writes": list(u.get("writes") or []),
            **({"planned": list(u.get("planned") or [])} if dry_run else {}),
        }
        for u in done.get("upgrades") or []
        if isinstance(u, Mapping)
    ]
    if dry_run:
        result = "planned" if any(u["planned"] for u in upgrades) else "current"
    else:
        result = "upgraded" if any(u["writes"] for u in upgrades) else "current"
    return {"tenantId": tenant_id, "status": "SUCCEEDED", "result": result, "upgrades": upgrades}


def _compact(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry without its per-path details (a tenant that did not fail): ``writes`` counts them."""
    if entry["status"] == "FAILED" or "upgrades" not in entry:
        return entry
    writes = sum(len(u.get("writes") or []) for u in entry["upgrades"])
    return {k: v for k, v in entry.items() if k != "upgrades"} | {"writes": writes}


def fold_report(report: Mapping[str, Any] | None, done: Sequence[Mapping[str, Any]], dry_run: bool) -> dict[str, Any]:
    """The report with a page's results added: ``{dryRun, counts: {upgraded, current, planned, failed},
    resumeAfter (a tenant id: this execution stopped there, see ``MAX_TENANTS_PER_EXECUTION``; else null),
    tenants: [{tenantId, status (SUCCEEDED|FAILED), result (upgraded|current|planned|failed), upgrades:
    [{resourcePath, fromVersion, toVersion, writes: [operationId...], planned?}], error?, cause?}],
    truncated}``. Kept under ``REPORT_LIMIT_BYTES``: first the ``upgrades`` of tenants that did not fail
    become a ``writes`` count, then the latest entries (failures last) only count (``truncated``)."""
    out: dict[str, Any] = {
        "dryRun": dry_run,
        "counts": {"upgraded": 0, "current": 0, "planned": 0, "failed": 0},
        "tenants": [],
        "truncated": 0,
        "resumeAfter": None,
        **{k: v for k, v in (report or {}).items() if k in ("counts", "tenants", "truncated")},
    }
    out["counts"] = dict(out["counts"])
    out["tenants"] = list(out["tenants"])
    for item in done:
        entry = _entry(item, dry_run)
        out["counts"][entry["result"]] = int(out["counts"].get(entry["result"], 0)) + 1
        out["tenants"].append(entry)
    if len(json.dumps(out)) > REPORT_LIMIT_BYTES:
        out["tenants"] = [_compact(e) for e in out["tenants"]]
    size = len(json.dumps(out))
    if size > REPORT_LIMIT_BYTES:
        # drop the latest entries, those that did not fail first: ", " + the entry, each; counts stay exact
        entries: list[dict[str, Any]] = out["tenants"]
        order = sorted(range(len(entries)), key=lambda i: (entries[i]["status"] == "FAILED", -i))
        dropped: set[int] = set()
        for index in order:
            if size <= REPORT_LIMIT_BYTES:
                break
            size -= len(json.dumps(entries[index])) + 2
            dropped.add(index)
        out["tenants"] = [e for i, e in enumerate(entries) if i not in dropped]
        out["truncated"] += len(dropped)
    return out


def plan_upgrade_page(request: UpgradePageStep, runtime: Runtime) -> UpgradePage:
    """Fold the page just done into the report and read the next page of tenants (see the module docstring).

    Out: ``UpgradePage`` (the report: see ``fold_report``). Makes no Adobe call. Raises ``InputValidationError``
    naming the field of a bad execution input.
    """
    data = parse_input(UpgradeAllInput, request.input if request.input is not None else {})
    page = request.page or {}
    report = fold_report(page.get("report"), request.done or [], data.dryRun)
    cursor = page.get("cursor") if page.get("started") else data.startAfter
    if sum(int(n) for n in report["counts"].values()) >= MAX_TENANTS_PER_EXECUTION:
        ids = _tenant_ids(runtime.store, str(cursor) if cursor else None, 1)
        report["resumeAfter"] = cursor if ids else None
        return UpgradePage(
            started=True,
            cursor=str(cursor) if cursor else None,
            more=False,
            dryRun=data.dryRun,
            tenants=[],
            report=report,
        )
    ids = _tenant_ids(runtime.store, str(cursor) if cursor else None, data.pageSize)
    last = ids[-1] if ids else cursor
    return UpgradePage(
        started=True,
        cursor=str(last) if last else None,
        more=bool(ids),
        dryRun=data.dryRun,
        tenants=_targets(runtime.store, ids, request.executionName),
        report=report,
    )
