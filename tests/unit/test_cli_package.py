"""The operator CLI's package and its pure parts: where global options may go, where the stack file lives,
what a person reads for a retried, recovered or failed step, and that its distribution ships every package."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from stripe_aep_cli.app import hoist_global_options
from stripe_aep_cli.backend import default_stack_file
from stripe_aep_cli.commands.operations import step_line
from stripe_aep_cli.executions import StepTracker

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["status", "acme", "--json"], ["--json", "status", "acme"]),
        (["provision", "acme", "--local", "--path", "charges"], ["--local", "provision", "acme", "--path", "charges"]),
        (["status", "--stack-file", "f.json"], ["--stack-file", "f.json", "status"]),
        (["status", "--region=eu-west-1"], ["--region=eu-west-1", "status"]),
        (["local", "send-event", "--", "--json"], ["local", "send-event", "--", "--json"]),
    ],
)
def test_global_options_are_moved_before_the_command(argv: list[str], expected: list[str]) -> None:
    assert hoist_global_options(argv) == expected


def test_the_stack_file_is_the_same_from_any_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("STRIPE_AEP_STACK_FILE", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert default_stack_file() == tmp_path / "stripe-aep" / "local-stack.json"
    monkeypatch.setenv("STRIPE_AEP_STACK_FILE", str(tmp_path / "other.json"))
    assert default_stack_file() == tmp_path / "other.json"


def _event(event_id: int, previous: int, kind: str, **details: Any) -> dict[str, Any]:
    key = {
        "TaskStateEntered": "stateEnteredEventDetails",
        "TaskStateExited": "stateExitedEventDetails",
        "TaskFailed": "taskFailedEventDetails",
    }.get(kind, "details")
    return {"id": event_id, "previousEventId": previous, "type": kind, key: details}


def _lines(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    tracker = StepTracker()
    return [line for event in events for line in tracker.feed(event)]


def test_a_retried_step_names_its_state_and_says_it_recovered() -> None:
    cause = json.dumps({"errorType": "ConcurrentModificationError", "errorMessage": "intent held by provision-x"})
    lines = _lines(
        [
            _event(1, 0, "TaskStateEntered", name="CreateDataflow", input='{"resourcePath": "charges"}'),
            _event(2, 1, "TaskScheduled"),
            _event(3, 2, "TaskStarted"),
            _event(4, 3, "TaskFailed", error="ConcurrentModificationError", cause=cause),
            _event(5, 4, "TaskScheduled"),
            _event(6, 5, "TaskStarted"),
            _event(7, 6, "TaskSucceeded"),
            _event(8, 7, "TaskStateExited", name="CreateDataflow", output='{"resourcePath": "charges"}'),
        ]
    )
    assert [step_line(line) for line in lines] == [
        "  [yellow]↻[/] CreateDataflow (charges): ConcurrentModificationError (intent held by provision-x); "
        "retrying, attempt 2",
        "  [green]✓[/] CreateDataflow (charges), recovered after 1 retry",
    ]


def test_a_caught_failure_is_shown_failed_and_an_uncaught_one_at_the_end() -> None:
    cause = json.dumps({"errorType": "TenantNotFoundError", "errorMessage": "no Stripe key secret for tenant x"})
    caught = _lines(
        [
            _event(1, 0, "TaskStateEntered", name="CreateBaseConnection", input="{}"),
            _event(2, 1, "TaskScheduled"),
            _event(3, 2, "TaskFailed", error="TenantNotFoundError", cause=cause),
            _event(4, 3, "TaskStateExited", name="CreateBaseConnection", output="{}"),
        ]
    )
    assert caught == [
        {
            "kind": "state",
            "state": "CreateBaseConnection",
            "outcome": "failed",
            "error": "TenantNotFoundError",
            "message": "no Stripe key secret for tenant x",
        }
    ]
    assert str(step_line(caught[0])).startswith("  [red]✗[/] CreateBaseConnection failed: TenantNotFoundError")
    uncaught = _lines(
        [
            _event(1, 0, "TaskStateEntered", name="ExploreResourcePath", input='{"resourcePath": "refunds"}'),
            _event(2, 1, "TaskScheduled"),
            _event(3, 2, "TaskFailed", error="States.Timeout", cause="timed out"),
            _event(4, 3, "ExecutionFailed"),
        ]
    )
    assert [line["kind"] for line in uncaught] == ["state", "end"]
    assert uncaught[0]["outcome"] == "failed" and uncaught[0]["resourcePath"] == "refunds"


def test_the_cli_distribution_ships_every_package_it_imports() -> None:
    config = tomllib.loads((REPO / "cli" / "pyproject.toml").read_text())
    shipped = set(config["tool"]["setuptools"]["packages"])
    roots = config["tool"]["setuptools"]["package-dir"]
    needed = set()
    for package, relative in roots.items():
        base = (REPO / "cli" / relative).resolve()
        for init in base.rglob("__init__.py"):
            if "__pycache__" not in init.parts:
                needed.add(".".join([package, *init.parent.relative_to(base).parts]))
    assert needed == shipped
    # its runtime dependencies hold no test or lint tool; the local stack is an optional extra
    dependencies = " ".join(config["project"]["dependencies"])
    assert not any(tool in dependencies for tool in ("pytest", "ruff", "mypy", "moto"))
    assert any(dep.startswith("moto") for dep in config["project"]["optional-dependencies"]["local"])


def test_on_a_terminal_ids_never_wrap_and_are_shortened(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from stripe_aep_cli import common
    from stripe_aep_cli.commands import state

    monkeypatch.setattr(common, "is_terminal", lambda: True)
    monkeypatch.setattr(state, "is_terminal", lambda: True)
    flow_id = "16aeab15-844d-4950-8670-d1d66bc1e117"
    rows = [
        {
            "tenantId": "acme",
            "tenant": {"status": "ACTIVE", "base_connection_id": "49fdbfaf-7c18-4efe-8069-f08affc30282"},
            "dataflows": [
                {"resource_path": "charges", "status": "ACTIVE", "health_status": "HEALTHY", "flow_id": flow_id}
            ],
        }
    ]
    for width in (80, 200):
        rendered = Console(width=width, record=True, emoji=False)
        rendered.print(state.status_table(rows, "t", wide=False))
        text = rendered.export_text()
        assert common.short_id(flow_id) in text and flow_id not in text
        assert all(len(line) <= width for line in text.splitlines())
        assert sum("16aeab15" in line for line in text.splitlines()) == 1  # one line: not folded
    wide = Console(width=400, record=True, emoji=False)
    wide.print(state.status_table(rows, "t", wide=True))
    assert flow_id in wide.export_text()


def test_the_cli_pins_the_same_versions_as_the_project() -> None:
    def pins(requirements: list[str]) -> dict[str, str]:
        found = {}
        for requirement in requirements:
            name, _, version = requirement.partition("==")
            found[name.split("[", 1)[0].lower()] = version
        return found

    root = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    cli = tomllib.loads((REPO / "cli" / "pyproject.toml").read_text())["project"]
    project = pins(root["dependencies"] + [r for extra in root["optional-dependencies"].values() for r in extra])
    ours = pins(cli["dependencies"] + [r for extra in cli["optional-dependencies"].values() for r in extra])
    assert all(version for version in ours.values()), "every CLI dependency is pinned"
    assert {name: version for name, version in ours.items() if name in project} == {
        name: project[name] for name in ours if name in project
    }
    assert set(ours) <= set(project)
