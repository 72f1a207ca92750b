"""``stripe-aep upgrade`` and ``stripe-aep fields``, and the table versions ``status`` shows.

Self-contained on purpose (small functions over ``Backend`` and the executions helpers), so that they move to
another CLI package unchanged:

- ``upgrade TENANT`` / ``upgrade --all [--batch N]`` [--dry-run]: the lifecycle ``upgrade`` operation, for one
  tenant or for every ACTIVE tenant of the table in batches of at most N executions at once (the lifecycle
  state machine's Map bounds each tenant's paths; N bounds the tenants), reporting per tenant;
- ``fields TENANT PATH --include F ... | --exclude F ...``: the lifecycle ``update_fields`` operation;
- ``table_versions(dataflows)``: each dataflow's table version against the current one (``outdated``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from local.cli.backend import Backend
from local.cli.executions import Execution, follow, start_or_attach
from stripe_aep.resources import RESOURCE_PATHS, get_resource
from stripe_aep.store import ACTIVE
from stripe_aep.tenants import LifecycleInput, parse_input

#: The table version of a dataflow provisioned before versions were recorded (``stripe_aep.steps.upgrade``).
FIRST_VERSION = 1


def table_versions(dataflows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{path: {version, current, outdated}}`` of a tenant's dataflow items (DynamoDB ``table_version``)."""
    out = {}
    for item in dataflows:
        path = str(item.get("resource_path"))
        if path not in RESOURCE_PATHS:
            continue
        version = int(item.get("table_version", FIRST_VERSION))
        current = get_resource(path).table_version
        out[path] = {"version": version, "current": current, "outdated": version < current}
    return out


def version_text(versions: Mapping[str, Any] | None) -> str:
    """``v1`` or ``v1 -> v2 (outdated)`` for the status table."""
    if not versions:
        return ""
    text = f"v{versions['version']}"
    return f"{text} -> v{versions['current']} (outdated)" if versions["outdated"] else text


def upgrade_targets(backend: Backend, tenant_id: str | None) -> list[str]:
    """The tenant, or every ACTIVE tenant of the table (sorted)."""
    if tenant_id:
        return [tenant_id]
    return sorted(str(t["tenant_id"]) for t in backend.store().tenants() if t.get("status") == ACTIVE)


def run_lifecycle_batches(
    backend: Backend,
    payloads: Sequence[dict[str, Any]],
    batch: int,
    timeout_s: float,
    on_done: Callable[[dict[str, Any]], None] = lambda report: None,
) -> list[dict[str, Any]]:
    """Start lifecycle executions for ``payloads`` (each validated as ``LifecycleInput``), at most ``batch`` at
    a time, wait for each batch, and return one report per payload: ``{tenantId, status, execution,
    upgrades (the Map's per-path results), error, cause}``. An execution that cannot be started is reported
    ``FAILED`` with the error; the others go on."""
    sfn = backend.client("stepfunctions")
    arn = backend.state_machine_arn("lifecycle")
    reports: list[dict[str, Any]] = []
    for start in range(0, len(payloads), max(1, batch)):
        started: list[tuple[dict[str, Any], Execution | None, str]] = []
        for payload in payloads[start : start + batch]:
            parse_input(LifecycleInput, payload)  # InputValidationError before anything starts
            detail = dict(payload)
            operation = str(payload["operation"]).replace("_", "-")
            try:
                started.append((payload, start_or_attach(sfn, arn, operation, str(payload["tenantId"]), detail), ""))
            except (ClientError, BotoCoreError, RuntimeError) as exc:
                started.append((payload, None, str(exc)))
        for payload, execution, problem in started:
            report: dict[str, Any] = {"tenantId": payload["tenantId"], "status": "FAILED", "error": problem}
            if execution is not None:
                follow(sfn, execution, lambda line: None, poll_s=0.25 if backend.local else 1.0, timeout_s=timeout_s)
                output = execution.output if isinstance(execution.output, dict) else {}
                report = {
                    "tenantId": payload["tenantId"],
                    "status": execution.status,
                    "execution": execution.name,
                    "upgrades": output.get("upgrades", []),
                    "error": execution.error,
                    "cause": execution.cause,
                }
            reports.append(report)
            on_done(report)
    return reports


def upgrade_payloads(tenants: Sequence[str], dry_run: bool) -> list[dict[str, Any]]:
    return [{"operation": "upgrade", "tenantId": t, **({"dryRun": True} if dry_run else {})} for t in tenants]


def fields_payload(tenant_id: str, path: str, include: Sequence[str], exclude: Sequence[str]) -> dict[str, Any]:
    """The ``update_fields`` lifecycle input of ``stripe-aep fields``; ``ValueError`` unless exactly one of
    ``include`` / ``exclude`` is given."""
    if bool(include) == bool(exclude):
        raise ValueError("give --include or --exclude (one of them)")
    chosen = {"include": list(include)} if include else {"exclude": list(exclude)}
    return {"operation": "update_fields", "tenantId": tenant_id, "fields": {path: chosen}}


def upgrade_line(report: Mapping[str, Any]) -> str:
    """One line per tenant: status, then per path ``path vA->vB: writes`` (or what a dry run would write)."""
    parts = []
    for item in report.get("upgrades") or []:
        did = ", ".join(item.get("writes") or []) or "no write"
        planned = "; ".join(item.get("planned") or [])
        parts.append(f"{item['resourcePath']} v{item['fromVersion']}->v{item['toVersion']}: {planned or did}")
    error = f" {report.get('error')}: {report.get('cause')}" if report.get("status") != "SUCCEEDED" else ""
    return f"{report['tenantId']}: {report['status']}{error}" + (f" ({'; '.join(parts)})" if parts else "")
