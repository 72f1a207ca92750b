"""``data``: rows of a tenant's dataset, as the flow runs wrote them (``--local`` only).

The local stack's AEP simulator writes each run's accepted rows as Parquet (``stripe_aep_cli.data``); in AEP the
dataset is read with Query Service instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from stripe_aep_cli.backend import read_stack_file
from stripe_aep_cli.commands.operations import tenant_callback
from stripe_aep_cli.common import EPILOG, backend, console, emit_json, fail, options, usage_error


def data(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="Tenant id.", callback=tenant_callback)],
    path: Annotated[str, typer.Argument(help="Stripe resource path: charges, refunds, subscriptions, ...")],
    limit: Annotated[int, typer.Option("--limit", min=1, help="Rows to show at most.")] = 5,
) -> None:
    """Rows of a tenant's dataset for a resource path, as the flow runs wrote them (--local only: read from the
    AEP simulator's Parquet batches; in AEP, query the dataset with Query Service)."""
    from stripe_aep.resources import get_resource
    from stripe_aep_cli.data import dataset_rows

    opts = options(ctx)
    if not opts.local:
        usage_error(opts, "reading dataset rows needs the local stack (in AEP use Query Service)", "--local")
    try:
        resource = get_resource(path)
    except ValueError as exc:
        usage_error(opts, str(exc), "PATH")
    stack = backend(opts)
    item = next((d for d in stack.store().tenant_items(tenant)[1] if d.get("resource_path") == path), None)
    if item is None or not item.get("dataset_id"):
        fail(opts, f"tenant {tenant} has no dataset for {path}")
    state_dir = read_stack_file(opts.stack_file).get("stateDir")
    if not state_dir:
        fail(opts, f"{opts.stack_file} names no simulator state folder (restart `stripe-aep local up`)")
    rows = dataset_rows(Path(state_dir), str(item["dataset_id"]), limit)
    if opts.json:
        emit_json({"tenantId": tenant, "resourcePath": path, "datasetId": item["dataset_id"], "rows": rows})
        return
    out = console()
    out.print(f"Dataset {item['dataset_id']} ({tenant} / {path}): {len(rows)} row(s) shown.")
    for row in rows:
        namespaces = [v for k, v in row.items() if k.startswith("_") and k != "_id" and isinstance(v, dict)]
        fields: dict[str, Any] = next((n[resource.group] for n in namespaces if resource.group in n), {})
        out.print_json(data={**{k: v for k, v in row.items() if k not in fields and not isinstance(v, dict)}, **fields})


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command(epilog=EPILOG)(data)
