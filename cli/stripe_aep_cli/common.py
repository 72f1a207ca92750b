"""What every command shares: the global options, exit codes, the backend, usage errors and output.

Output is for people on a terminal (colour, tables whose IDs never wrap, shortened with an ellipsis unless
``--wide``), plain for pipes (no colour, no box, no wrapping, full IDs) and one JSON document on stdout with
``--json``. Errors go to stderr (or, with ``--json``, as ``{"error": ...}`` on stdout).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from stripe_aep_cli.backend import Backend, BackendError, aws_backend, default_stack_file, local_backend


class ExitCode(IntEnum):
    """The CLI's exit codes (documented in ``--help``)."""

    OK = 0
    FAILED = 1
    USAGE = 2
    UNHEALTHY = 3


EPILOG = (
    "Exit codes: 0 success; 1 failed operation (execution FAILED, TIMED_OUT or ABORTED, or an AWS error); "
    "2 usage error (bad tenant id or option, no stack found); 3 unhealthy result (health)."
)


@dataclass(frozen=True)
class Options:
    """Where to send calls and how to print: the global options, stored in ``ctx.obj`` by the app callback."""

    local: bool = False
    stack_file: Path = field(default_factory=default_stack_file)
    stack_name: str | None = None
    region: str | None = None
    json: bool = False


def options(ctx: typer.Context) -> Options:
    """The global options of this invocation."""
    return ctx.ensure_object(Options)


def backend(opts: Options) -> Backend:
    """The local stack (``--local``) or the deployed stack; a usage error (exit 2) when it cannot be found."""
    try:
        if opts.local:
            return local_backend(opts.stack_file)
        return aws_backend(opts.stack_name, opts.region)
    except BackendError as exc:
        usage_error(opts, str(exc), "--stack-file" if opts.local else "--stack-name")


# ---- output ------------------------------------------------------------------------------------------------
def is_terminal() -> bool:
    """Whether stdout is a terminal (people) rather than a pipe or file (programs)."""
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def console(stderr: bool = False) -> Console:
    """A rich console: styled on a terminal; on a pipe plain text that never wraps."""
    if is_terminal() and not stderr:
        return Console(highlight=False, soft_wrap=True, emoji=False)
    return Console(highlight=False, soft_wrap=True, emoji=False, stderr=stderr, no_color=not stderr, width=10_000)


def emit_json(document: Any) -> None:
    """One JSON document on stdout (``--json``)."""
    sys.stdout.write(json.dumps(document, default=str, sort_keys=True) + "\n")
    sys.stdout.flush()


def fail(opts: Options, message: str, code: ExitCode = ExitCode.FAILED) -> NoReturn:
    """Report ``message`` (stderr, or ``{"error"}`` with --json) and exit with ``code``."""
    if opts.json:
        emit_json({"error": message})
    else:
        console(stderr=True).print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def usage_error(opts: Options, message: str, option: str | None = None) -> NoReturn:
    """A usage error (exit 2) naming the option the user typed."""
    fail(opts, f"{option}: {message}" if option else message, ExitCode.USAGE)


def short_id(value: Any, width: int = 13) -> str:
    """An ID for a person's table: the first characters and an ellipsis (full with --wide / --json / a pipe)."""
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> Table | str:
    """A table: rich (no cell wraps) on a terminal; on a pipe, aligned plain columns, one line per row."""
    if is_terminal():
        rendered = Table(title=title)
        for column in columns:
            rendered.add_column(column, no_wrap=True, overflow="ellipsis")
        for row in rows:
            rendered.add_row(*(escape(cell) for cell in row))
        return rendered
    widths = [max(len(str(cell)) for cell in column) for column in zip(columns, *rows, strict=False)]
    lines = [title] + [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()
        for row in [columns, *rows]
    ]
    return escape("\n".join(lines))


def plural(count: int, noun: str) -> str:
    """``1 dataflow``, ``2 dataflows``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
