"""The commands that start a state machine execution: provision, deprovision, update-schedule, rotate-key,
disable, enable. Each validates its input with the state machine's own pydantic model first (a usage error,
exit 2, naming the option the user typed), then starts or attaches to the execution and follows it."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated, Any, get_args

import typer
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ValidationError
from rich.markup import escape

from stripe_aep.resources import RESOURCE_PATHS
from stripe_aep.tenants import DeprovisionInput, Frequency, LifecycleInput, ProvisionInput, validate_tenant_id
from stripe_aep_cli.common import EPILOG, ExitCode, Options, backend, console, emit_json, fail, options, plural
from stripe_aep_cli.common import usage_error as _usage_error
from stripe_aep_cli.executions import Execution, created_since, follow, known_ids, last_error, start_or_attach

FREQUENCIES: tuple[str, ...] = get_args(Frequency)
#: The model field -> the option a user types (messages name options, not the console input's fields).
OPTION_OF = {
    "tenantId": "TENANT",
    "sandbox": "--sandbox",
    "resourcePaths": "--path",
    "schedule": "--frequency/--interval/--start-time",
    "schedule.frequency": "--frequency",
    "schedule.interval": "--interval",
    "schedule.startTime": "--start-time",
    "name": "--name",
    "purge": "--purge",
}


def tenant_callback(value: str | None) -> str | None:
    """The TENANT argument: the layer's tenant id rule, a usage error (exit 2) otherwise."""
    if value is None:
        return None
    try:
        return validate_tenant_id(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="TENANT") from None


def _paths_callback(values: list[str] | None) -> list[str] | None:
    for value in values or []:
        if value not in RESOURCE_PATHS:
            raise typer.BadParameter(
                f"{value!r} is not a Stripe resource path; choose from {', '.join(RESOURCE_PATHS)}",
                param_hint="--path",
            )
    return values


def _frequency_callback(value: str | None) -> str | None:
    if value is not None and value not in FREQUENCIES:
        raise typer.BadParameter(f"{value!r} is not a frequency; choose from {', '.join(FREQUENCIES)}")
    return value


TenantArg = Annotated[
    str,
    typer.Argument(
        help="Tenant id: 3-40 lowercase letters, digits, inner hyphens.", callback=tenant_callback, metavar="TENANT"
    ),
]
PathOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--path", help=f"Stripe resource path (repeatable): {', '.join(RESOURCE_PATHS)}.", callback=_paths_callback
    ),
]
FREQUENCY_HELP = f"{', '.join(FREQUENCIES)}."
IntervalOpt = Annotated[
    int | None,
    typer.Option(help="Frequency units between runs [default with --frequency: 1; 15 for minute].", min=1),
]
WaitOpt = Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the execution until it ends.")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds to follow before giving up.", min=1)]


def validated(opts: Options, model: type[BaseModel], payload: dict[str, Any]) -> dict[str, Any]:
    """The console input, validated by the state machine's own model; a usage error naming the options otherwise.

    Pydantic's messages never echo the rejected value.
    """
    try:
        return model.model_validate(payload).model_dump(exclude_none=True)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = [str(part) for part in error["loc"] if not isinstance(part, int)]
            option = OPTION_OF.get(".".join(loc)) or OPTION_OF.get(loc[0] if loc else "", "input")
            problems.append(f"{option}: {str(error['msg']).removeprefix('Value error, ')}")
        _usage_error(opts, "; ".join(problems))


def epoch_seconds(value: str | None) -> int | None:
    """``--start-time``: epoch seconds, or an ISO 8601 time with its offset (e.g. 2026-01-01T00:00:00Z)."""
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("give epoch seconds or ISO 8601 with offset", param_hint="--start-time") from None
    if moment.tzinfo is None:
        raise typer.BadParameter("an ISO 8601 time needs its UTC offset (e.g. Z)", param_hint="--start-time")
    return int(moment.timestamp())


def schedule(frequency: str | None, interval: int | None, start_time: int | None = None) -> dict[str, Any] | None:
    """The input's ``schedule`` from the options given (None when none is: the stack's defaults apply).

    ``--frequency`` without ``--interval`` means every 1 unit (15 for minute, Adobe's minimum; none for once).
    """
    if frequency is not None and interval is None and frequency != "once":
        interval = 15 if frequency == "minute" else 1
    given = {"frequency": frequency, "interval": interval, "startTime": start_time}
    if frequency is None and any(v is not None for v in given.values()):
        raise typer.BadParameter("--interval and --start-time need --frequency", param_hint="--frequency")
    return {key: value for key, value in given.items() if value is not None} or None


def step_line(line: dict[str, Any]) -> str | None:
    """A person's line for a ``StepTracker`` line (None for the end line: the outcome line follows)."""
    where = escape(str(line.get("state")) + (f" ({line['resourcePath']})" if line.get("resourcePath") else ""))
    if line["kind"] == "retry":
        message = escape(str(line.get("message", ""))[:200])
        return f"  [yellow]↻[/] {where}: {escape(str(line['error']))} ({message}); retrying, attempt {line['attempt']}"
    if line["kind"] != "state":
        return None
    outcome = line.get("outcome")
    if outcome == "failed":
        message = escape(str(line.get("message", "")))
        return f"  [red]✗[/] {where} failed: {escape(str(line['error']))}: {message}"
    if outcome == "recovered":
        retries = int(line["retries"])
        return f"  [green]✓[/] {where}, recovered after {retries} {'retry' if retries == 1 else 'retries'}"
    if outcome == "found":
        return f"  [green]=[/] {where}: already existed, nothing created"
    return f"  [green]✓[/] {where}"


def run(
    ctx: typer.Context, kind: str, model: type[BaseModel], payload: dict[str, Any], wait: bool, timeout: float
) -> None:
    """Validate the input, start (or attach to) the execution, follow it, print the outcome; exits with the ExitCode.

    ``kind`` is the state machine (provision, deprovision, lifecycle); the execution name starts with the
    lifecycle input's ``operation`` (``update_schedule`` as ``update-schedule``), otherwise with ``kind``.
    """
    opts = options(ctx)
    detail = validated(opts, model, payload)
    tenant_id = str(detail["tenantId"])
    operation = str(detail.get("operation", kind)).replace("_", "-")
    stack = backend(opts)
    sfn = stack.client("stepfunctions")
    out = console()
    try:
        before = known_ids(stack.store(), tenant_id)
        execution = start_or_attach(sfn, stack.state_machine_arn(kind), operation, tenant_id, detail)
    except (ClientError, BotoCoreError, RuntimeError) as exc:
        fail(opts, f"cannot start {operation} for {tenant_id}: {exc}")
    if not opts.json:
        verb = "started" if execution.started else f"attached to the {execution.status.lower()}"
        out.print(f"{operation} {tenant_id}: {verb} execution [bold]{execution.name}[/].")
    if wait:

        def show(line: dict[str, Any]) -> None:
            text = None if opts.json else step_line(line)
            if text:
                out.print(text)

        try:
            with out.status(f"{operation} {tenant_id}: running", spinner="dots"):
                follow(sfn, execution, show, poll_s=0.25 if stack.local else 1.0, timeout_s=timeout, before=before)
        except (ClientError, BotoCoreError) as exc:
            fail(opts, f"cannot follow {execution.name}: {exc}")
    error = None
    created = None
    try:
        if execution.status not in ("SUCCEEDED", "RUNNING"):
            error = last_error(stack.store(), tenant_id, execution.name)
        elif kind == "provision" and execution.status == "SUCCEEDED":
            created = created_since(before, known_ids(stack.store(), tenant_id))
    except (ClientError, BotoCoreError):
        pass
    report(opts, operation, tenant_id, execution, error, wait, created)


def report(
    opts: Options,
    operation: str,
    tenant_id: str,
    execution: Execution,
    error: dict[str, Any] | None,
    waited: bool,
    created: tuple[int, int] | None = None,
) -> None:
    """The outcome: one JSON document, or sentences (on failure the step, Adobe's code, message, request id)."""
    failed = execution.status not in ("SUCCEEDED", "RUNNING")
    still_running = waited and execution.status == "RUNNING"
    out = console()
    if opts.json:
        document: dict[str, Any] = {
            "operation": operation,
            "tenantId": tenant_id,
            "execution": execution.as_dict(),
            "lastError": error,
        }
        if created is not None:
            document["adobeObjects"] = {"created": created[0], "alreadyExisted": created[1]}
        emit_json(document)
    elif execution.status == "SUCCEEDED":
        what = ""
        if created is not None:
            what = f": {plural(created[0], 'Adobe object')} created, {created[1]} already existed"
        out.print(f"[green]{operation} {tenant_id}: SUCCEEDED[/]{what} ({execution.name}).")
    elif execution.status == "RUNNING":
        note = "still running; run the same command again to follow it" if still_running else "running"
        out.print(f"{operation} {tenant_id}: {note} ({execution.arn}).")
    else:
        out.print(f"[red]{operation} {tenant_id}: {execution.status}[/] ({execution.name}).")
        message = str(error.get("message", "")) if error else ""
        if error:
            where = f" ({error['resource_path']})" if error.get("resource_path") else ""
            if error.get("step"):
                out.print(f"  step: {escape(str(error['step']))}{escape(where)}")
            if error.get("adobe_error_code"):
                out.print(f"  Adobe error code: {escape(str(error['adobe_error_code']))}")
            out.print(f"  message: {escape(message)}")
            if error.get("request_id"):
                out.print(f"  request id: {escape(str(error['request_id']))}")
        out.print(f"  error: {escape(str(execution.error))}")
        cause = str(execution.cause or "")
        if cause and (not message or message not in cause):
            out.print(f"  cause: {escape(cause)}")
    if failed or still_running:
        raise typer.Exit(ExitCode.FAILED)


def provision(
    ctx: typer.Context,
    tenant: TenantArg,
    sandbox: Annotated[str | None, typer.Option(help="AEP sandbox [default: the stack's DefaultSandbox].")] = None,
    path: PathOpt = None,
    frequency: Annotated[
        str | None,
        typer.Option(
            help=f"{FREQUENCY_HELP} [default: the stack's DefaultScheduleFrequency/Interval]",
            callback=_frequency_callback,
        ),
    ] = None,
    interval: IntervalOpt = None,
    start_time: Annotated[
        str | None, typer.Option("--start-time", help="First run: epoch seconds or ISO 8601 with offset.")
    ] = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = 900,
) -> None:
    """Provision a tenant: base connection, then per resource path the source, target and dataflow."""
    plan = schedule(frequency, interval, epoch_seconds(start_time))
    payload = {"tenantId": tenant, "sandbox": sandbox, "resourcePaths": path or None, "schedule": plan}
    run(ctx, "provision", ProvisionInput, payload, wait, timeout)


def _confirm_purge(ctx: typer.Context, tenant: str) -> None:
    """Show the datasets ``--purge`` deletes and ask (unless --yes); refuse without a terminal to ask on."""
    opts = options(ctx)
    stack = backend(opts)
    try:
        _, dataflows = stack.store().tenant_items(tenant)
    except (ClientError, BotoCoreError) as exc:
        fail(opts, f"cannot read {stack.outputs['TableName']}: {exc}")
    datasets = [(str(d.get("resource_path")), str(d["dataset_id"])) for d in dataflows if d.get("dataset_id")]
    if not datasets:
        return  # nothing to purge: no dataset is deleted
    err = console(stderr=True)
    err.print(f"deprovision --purge deletes {plural(len(datasets), 'dataset')} of {tenant} and their data, for good:")
    for path, dataset_id in datasets:
        err.print(f"  {escape(path)}: dataset {escape(dataset_id)}")
    if opts.json or not sys.stdin.isatty():
        _usage_error(opts, "deleting datasets cannot be undone: add --yes to confirm (nothing was started)", "--purge")
    if not typer.confirm("Delete them?", default=False, err=True):
        err.print("Nothing was started.")
        raise typer.Exit(ExitCode.USAGE)


def deprovision(
    ctx: typer.Context,
    tenant: TenantArg,
    purge: Annotated[
        bool, typer.Option("--purge", help="Also delete the tenant's datasets (cannot be undone).")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before --purge deletes datasets.")] = False,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = 900,
) -> None:
    """Deprovision a tenant: delete its dataflows, connections and base connection (datasets with --purge)."""
    if purge and not yes:
        _confirm_purge(ctx, tenant)
    run(ctx, "deprovision", DeprovisionInput, {"tenantId": tenant, "purge": purge}, wait, timeout)


def update_schedule(
    ctx: typer.Context,
    tenant: TenantArg,
    frequency: Annotated[str | None, typer.Option(help=FREQUENCY_HELP, callback=_frequency_callback)] = None,
    interval: IntervalOpt = None,
    path: PathOpt = None,
    name: Annotated[str | None, typer.Option(help="New dataflow name.")] = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = 900,
) -> None:
    """Change the schedule (--frequency, --interval) or the name (--name) of a tenant's dataflows (all, or the
    --path ones)."""
    if frequency is None and name is None:
        raise typer.BadParameter(
            "give --frequency (a new schedule), --name (a new name) or both", param_hint="--frequency"
        )
    payload = {
        "operation": "update_schedule",
        "tenantId": tenant,
        "schedule": schedule(frequency, interval),
        "resourcePaths": path or None,
        "name": name,
    }
    run(ctx, "lifecycle", LifecycleInput, payload, wait, timeout)


def rotate_key(ctx: typer.Context, tenant: TenantArg, wait: WaitOpt = True, timeout: TimeoutOpt = 900) -> None:
    """Point the tenant's base connection at the Stripe key now in its secret (verified by explore)."""
    run(ctx, "lifecycle", LifecycleInput, {"operation": "rotate_key", "tenantId": tenant}, wait, timeout)


def _flow_state(operation: str, help_text: str) -> Any:
    """``disable`` and ``enable``: the lifecycle operation on the tenant's dataflows (all, or the --path ones)."""

    def command(
        ctx: typer.Context, tenant: TenantArg, path: PathOpt = None, wait: WaitOpt = True, timeout: TimeoutOpt = 900
    ) -> None:
        payload = {"operation": operation, "tenantId": tenant, "resourcePaths": path or None}
        run(ctx, "lifecycle", LifecycleInput, payload, wait, timeout)

    command.__doc__ = help_text
    return command


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command(epilog=EPILOG)(provision)
    app.command(epilog=EPILOG)(deprovision)
    app.command("update-schedule", epilog=EPILOG)(update_schedule)
    app.command("rotate-key", epilog=EPILOG)(rotate_key)
    app.command("disable", epilog=EPILOG)(
        _flow_state("disable", "Disable a tenant's dataflows (a suspended tenant); health checks then say DISABLED.")
    )
    app.command("enable", epilog=EPILOG)(_flow_state("enable", "Enable a tenant's dataflows again."))
