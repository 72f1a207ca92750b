"""``plan``: what ``provision TENANT`` would change in AEP (the converge plan), computed and changed nothing.

The health-check function answers it (``{"tenantId", "plan": true}``: ``stripe_aep.catalogue.plan_tenant``), so the
CLI needs no Adobe credential of its own.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from botocore.exceptions import BotoCoreError, ClientError

from stripe_aep_cli.commands.operations import tenant_callback
from stripe_aep_cli.common import EPILOG, backend, console, emit_json, fail, is_terminal, options, short_id, table

#: Verbs that change nothing (left out of the change count, shown plain).
_UNCHANGED = ("keep", "keep_orphan")


def plan(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="Tenant id.", callback=tenant_callback)],
) -> None:
    """Show what `provision TENANT` would do in AEP: create, recreate, adopt, patch, enable/disable, delete orphan.

    Compares what DynamoDB records for the tenant with what AEP holds (by ID and by deterministic name); changes
    nothing. Exits 0 (1 when the plan cannot be computed).
    """
    opts = options(ctx)
    stack = backend(opts)
    payload = {"tenantId": tenant, "plan": True}
    try:
        answer = stack.client("lambda").invoke(FunctionName=stack.health_function, Payload=json.dumps(payload).encode())
        result = json.loads(answer["Payload"].read() or b"null")
    except (ClientError, BotoCoreError, ValueError) as exc:
        fail(opts, f"plan failed: {exc}")
    if answer.get("FunctionError") or not isinstance(result, dict):
        message = result.get("errorMessage") if isinstance(result, dict) else result
        fail(opts, f"plan failed: {message}")
    if opts.json:
        emit_json(result)
        return
    actions = result.get("actions", [])
    rows = [
        (
            a["verb"],
            a["kind"],
            a.get("resourcePath") or "-",
            short_id(a.get("objectId") or "-", 40) if is_terminal() else str(a.get("objectId") or "-"),
            str(a.get("reason", "")),
        )
        for a in actions
    ]
    out = console()
    out.print(table(f"Plan of {tenant}", ("verb", "kind", "resource path", "object id", "reason"), rows))
    changes = int(result.get("changes", 0))
    out.print(f"{changes} change(s): " + ("`provision` applies them." if changes else "AEP is as DynamoDB records."))


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command(epilog=EPILOG)(plan)
