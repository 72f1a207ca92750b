"""The Typer app: global options, the command groups, and ``main`` (the ``stripe-aep`` console script)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from stripe_aep_cli.backend import STACK_FILE_ENV, default_stack_file
from stripe_aep_cli.commands import data, evolve, local, operations, plan, run, state
from stripe_aep_cli.common import EPILOG, Options

app = typer.Typer(
    name="stripe-aep",
    help="Provision and operate Stripe -> Adobe Experience Platform dataflows per tenant.",
    epilog=EPILOG,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
operations.register(app)
run.register(app)
state.register(app)
data.register(app)
plan.register(app)
evolve.register(app)
app.add_typer(local.local_app, name="local")

#: Global options a user may also type after the command (``stripe-aep status acme --json``).
GLOBAL_FLAGS = frozenset({"--local", "--json"})
GLOBAL_VALUED = frozenset({"--stack-file", "--stack-name", "--region"})


@app.callback()
def _global_options(
    ctx: typer.Context,
    local_: Annotated[
        bool, typer.Option("--local", help="Use the local stack (`stripe-aep local up`).", show_default=False)
    ] = False,
    stack_file: Annotated[
        Path | None,
        typer.Option(
            "--stack-file",
            help=f"Stack file `local up` writes, --local reads [default: "
            f"${STACK_FILE_ENV}, else ~/.local/state/stripe-aep/local-stack.json].",
            show_default=False,
        ),
    ] = None,
    stack_name: Annotated[
        str | None, typer.Option("--stack-name", help="Deployed stack [default: samconfig.toml's stack_name].")
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="AWS region [default: samconfig.toml's].")] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="One JSON document on stdout, nothing else.", show_default=False)
    ] = False,
) -> None:
    """Global options: before or after the command name."""
    ctx.obj = Options(local_, stack_file or default_stack_file(), stack_name, region, json_output)


def hoist_global_options(argv: Sequence[str]) -> list[str]:
    """``argv`` with the global options moved before the command, wherever the user typed them.

    ``--`` ends the scan (what follows is passed as is).
    """
    front: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        name = arg.split("=", 1)[0]
        if arg == "--":
            rest.extend(argv[index:])
            break
        if arg in GLOBAL_FLAGS or (name in GLOBAL_VALUED and "=" in arg):
            front.append(arg)
        elif arg in GLOBAL_VALUED and index + 1 < len(argv):
            front += [arg, argv[index + 1]]
            index += 1
        else:
            rest.append(arg)
        index += 1
    return front + rest


def main(argv: Sequence[str] | None = None) -> None:
    """Console script entry point (``stripe-aep``)."""
    app(args=hoist_global_options(sys.argv[1:] if argv is None else argv), prog_name="stripe-aep")
