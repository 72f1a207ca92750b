"""``stripe-aep local ...``: start and stop the one-machine stack, add a tenant to it, send it an event.

``up`` needs the optional ``local`` part (moto, the AEP simulator: ``pip install 'stripe-aep-cli[local]'``) and
the project's checkout; the other commands only talk to the running stack over loopback HTTP.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import requests
import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.markup import escape

from stripe_aep_cli import local_stack
from stripe_aep_cli.backend import STATE_MACHINE_OUTPUTS, BackendError, read_stack_file
from stripe_aep_cli.commands.operations import report, step_line, tenant_callback
from stripe_aep_cli.common import EPILOG, ExitCode, backend, console, emit_json, fail, options, usage_error
from stripe_aep_cli.executions import Execution, follow, known_ids, last_error

local_app = typer.Typer(
    help="The one-machine stack (moto + AEP simulator) that --local commands talk to.", epilog=EPILOG
)
#: The platform's event source (template TenantLifecycleRule) and the operation each detail-type starts.
PLATFORM_SOURCE = "saas.platform"


def _missing_local_part(exc: ImportError) -> typer.Exit:
    console(stderr=True).print(
        f"error: the local stack needs the optional local part ({exc.name} is not installed): "
        "pip install 'stripe-aep-cli[local]', or `make .venv/bin/.installed` in the checkout"
    )
    return typer.Exit(ExitCode.USAGE)


def _wiring_sentences(document: dict[str, Any]) -> list[str]:
    wiring = document.get("wiring") or {}
    lines = [
        f"Events: put them on bus {document['outputs'].get('EventBusName')} (`stripe-aep local send-event FILE`); "
        f"the SQS event source mapping feeds start_execution from {wiring.get('eventQueueUrl')}.",
        f"A new version of a secret under {wiring.get('tenantSecretPrefix')} starts rotate_key "
        "(the TenantSecretChangedRule, fed with the CloudTrail event AWS would emit).",
    ]
    interval = wiring.get("healthIntervalSeconds")
    if interval:
        speed = f", {wiring['healthClockSpeedup']}x faster than on AWS" if wiring.get("healthClockSpeedup") else ""
        lines.append(f"Health check: every {interval:g} s (template: {wiring.get('healthSchedule')}{speed}).")
    else:
        lines.append("Health check: the schedule is off (--health-every 0); run `stripe-aep --local health`.")
    return lines


@local_app.command("up", epilog=EPILOG)
def up(
    ctx: typer.Context,
    background: Annotated[
        bool, typer.Option("--background", "-d", help="Run detached; logs in stack.log beside the stack file.")
    ] = False,
    seed_demo: Annotated[
        bool, typer.Option("--seed-demo", help="Add the demo tenants acme and globex with fake Stripe keys.")
    ] = False,
    project: Annotated[
        Path | None, typer.Option("--project", help="The project checkout [default: found from this folder].")
    ] = None,
    health_every: Annotated[
        float, typer.Option("--health-every", help="Seconds between scheduled health checks (0: off).", min=0)
    ] = 60,
) -> None:
    """Start moto + the AEP simulator with the template's resources and its event path; write the stack file."""
    opts = options(ctx)
    out = console()

    def announce(document: dict[str, Any]) -> None:
        if opts.json:
            emit_json(document)
            return
        out.print(f"Local stack up (pid {document['pid']}); its endpoints are in {opts.stack_file}.")
        out.print(f"  AWS services (moto): {document['awsEndpoint']} (region {document['region']}, any credentials)")
        out.print(f"  AEP simulator (IMS and Platform APIs): {document['simulatorUrl']}")
        out.print(f"  Control (local add-tenant): {document['controlUrl']}")
        for line in _wiring_sentences(document):
            out.print(f"  {escape(line)}")
        if document["seededTenants"]:
            out.print(f"Demo tenants with Stripe keys: {', '.join(document['seededTenants'])}.")
        if not background:
            out.print("Ctrl-C (or `stripe-aep local down`) stops it.")

    try:
        if background:
            log = opts.stack_file.parent / "stack.log"
            announce(local_stack.start_background(opts.stack_file, seed_demo, log, project, health_every))
        else:
            local_stack.run_foreground(opts.stack_file, seed_demo, announce, project, health_every)
    except ImportError as exc:
        raise _missing_local_part(exc) from None
    except BackendError as exc:
        usage_error(opts, str(exc))


@local_app.command("down", epilog=EPILOG)
def down(ctx: typer.Context) -> None:
    """Stop the local stack that serves the stack file."""
    opts = options(ctx)
    try:
        pid = local_stack.stop(opts.stack_file)
    except BackendError as exc:
        fail(opts, str(exc))
    console().print(f"Local stack (pid {pid}) stopped." if pid else "No local stack was running.")


@local_app.command("add-tenant", epilog=EPILOG)
def add_tenant(
    ctx: typer.Context,
    tenant: Annotated[
        str,
        typer.Argument(
            help="Tenant id: 3-40 lowercase letters, digits, inner hyphens.", callback=tenant_callback, metavar="TENANT"
        ),
    ],
    stripe_key: Annotated[
        str | None,
        typer.Option(
            "--stripe-key",
            help="A (fake) Stripe secret key, sk_test_... [default: one made up].",
            envvar="STRIPE_AEP_LOCAL_STRIPE_KEY",
            show_envvar=True,
        ),
    ] = None,
) -> None:
    """Register the tenant's Stripe key with the simulator's Stripe and write its secret; then provision it."""
    opts = options(ctx)
    try:
        document = read_stack_file(opts.stack_file)
    except BackendError as exc:
        usage_error(opts, str(exc), "--stack-file")
    key = stripe_key or local_stack.demo_stripe_key(tenant)
    if not local_stack.STRIPE_KEY.match(key):
        usage_error(opts, "a Stripe secret key looks like sk_test_... (letters, digits, underscores)", "--stripe-key")
    try:
        answer = requests.post(
            f"{document['controlUrl']}/tenants", json={"tenantId": tenant, "stripeKey": key}, timeout=30
        )
    except (requests.RequestException, KeyError) as exc:
        fail(opts, f"the local stack's control endpoint did not answer ({type(exc).__name__}): `stripe-aep local up`")
    body = answer.json() if answer.content else {}
    if answer.status_code != 201:
        usage_error(opts, str(body.get("error", answer.status_code)))
    if opts.json:
        emit_json(body)
    else:
        what = (
            f"a new version of secret {escape(str(body['secretArn']))}; the Secrets Manager rule starts rotate_key "
            f"(follow it with `stripe-aep --local status {tenant}`)."
            if body.get("newVersion")
            else f"secret {escape(str(body['secretArn']))}. Next: `stripe-aep --local provision {tenant}`."
        )
        console().print(f"Tenant {tenant}: Stripe key registered with the simulator and stored in {what}")


def _executions(stack: Any) -> set[tuple[str, str]]:
    sfn = stack.client("stepfunctions")
    found = set()
    for output in STATE_MACHINE_OUTPUTS.values():
        pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=stack.outputs[output])
        found |= {(output, e["executionArn"]) for page in pages for e in page["executions"]}
    return found


@local_app.command("send-event", epilog=EPILOG)
def send_event(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="An EventBridge event (JSON with source, detail-type, detail), e.g. events/tenant-signed-up.json.",
            exists=True,
            dir_okay=False,
            metavar="FILE",
        ),
    ],
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the execution the event starts.")] = True,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for it.", min=1)] = 120,
) -> None:
    """Put an event on the local stack's bus as the SaaS platform (or CloudTrail) would, and follow what it starts.

    Platform events (source saas.platform) go to the stack's EventBusName, others to the default bus.
    """
    opts = options(ctx)
    try:
        event = json.loads(file.read_text(encoding="utf-8"))
        entry = {
            "Source": str(event["source"]),
            "DetailType": str(event["detail-type"]),
            "Detail": json.dumps(event["detail"]),
        }
    except (ValueError, KeyError, TypeError) as exc:
        usage_error(opts, f"{file} is not an EventBridge event with source, detail-type and detail ({exc})", "FILE")
    if not opts.local:
        usage_error(opts, "send-event talks to the local stack only (give --local)", "--local")
    stack = backend(opts)
    entry["EventBusName"] = stack.outputs["EventBusName"] if entry["Source"] == PLATFORM_SOURCE else "default"
    detail = event["detail"] if isinstance(event["detail"], dict) else {}
    tenant_hint = detail.get("tenantId") or str(detail.get("requestParameters", {}).get("secretId", "")).rsplit("/")[-1]
    try:
        before = _executions(stack)
        ids_before = known_ids(stack.store(), tenant_hint) if tenant_hint else None
        answer = stack.client("events").put_events(Entries=[entry])
    except (ClientError, BotoCoreError) as exc:
        fail(opts, f"PutEvents failed: {exc}")
    if answer.get("FailedEntryCount"):
        fail(opts, f"EventBridge refused the event: {answer['Entries']}")
    event_id = answer["Entries"][0].get("EventId")
    out = console()
    if not opts.json:
        out.print(f"Event {event_id} ({escape(entry['DetailType'])}) put on bus {entry['EventBusName']}.")
    if not wait:
        if opts.json:
            emit_json({"eventId": event_id, "eventBusName": entry["EventBusName"]})
        return
    deadline = time.monotonic() + timeout
    started: list[tuple[str, str]] = []
    while not started and time.monotonic() < deadline:
        time.sleep(0.5)
        started = sorted(_executions(stack) - before)
    if not started:
        fail(
            opts,
            f"no execution started within {timeout:g} s: the starter refused the event or no rule matched it; "
            f"a refused event goes back to the queue and, after five receives, to the dead-letter queue",
        )
    arn = started[0][1]
    name = arn.rsplit(":", 1)[-1]
    operation, tenant_id = name.split("-")[0], name.split("-")[1]
    if name.startswith(("update-schedule-", "rotate-key-")):
        operation, tenant_id = "-".join(name.split("-")[:2]), name.split("-")[2]
    execution = Execution(name=name, arn=arn, started=True)
    if not opts.json:
        out.print(f"{operation} {tenant_id}: the event started execution [bold]{name}[/].")

    def show(line: dict[str, Any]) -> None:
        text = None if opts.json else step_line(line)
        if text:
            out.print(text)

    sfn = stack.client("stepfunctions")
    if tenant_hint != tenant_id:
        ids_before = None
    follow(sfn, execution, show, poll_s=0.25, timeout_s=max(1.0, deadline - time.monotonic()), before=ids_before)
    error = None if execution.status in ("SUCCEEDED", "RUNNING") else last_error(stack.store(), tenant_id, name)
    report(opts, operation, tenant_id, execution, error, waited=True)
