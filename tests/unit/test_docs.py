"""The docs match the code: links and file paths exist, every command the deployment guide and the CLI docs show
is one the tools accept, every template parameter the guide names exists (and every one is explained), and the
credential shape the guide gives is the one the code reads."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import typer
import yaml

from stripe_aep.aep.auth import ImsCredential
from stripe_aep_cli.app import app, hoist_global_options

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
DEPLOY = REPO / "docs" / "deploy.md"
SAM = REPO / ".venv-sam" / "bin" / "sam"
#: Options every aws command takes (AWS CLI v2 global options), and ones the guide uses for output.
AWS_GLOBAL = {"--region", "--profile", "--output", "--query", "--no-cli-pager", "--endpoint-url", "--debug"}
#: Parameters the AWS CLI renames (its customizations): (service, operation) -> {CLI option: model option}.
AWS_RENAMED = {("sns", "subscribe"): {"--notification-endpoint": "--endpoint"}}


def _code_blocks(text: str, languages: tuple[str, ...]) -> list[str]:
    return [m.group(2) for m in re.finditer(r"```(\w*)\n(.*?)```", text, re.S) if m.group(1) in languages]


def _commands(block: str) -> list[list[str]]:
    """Shell lines of a block (continuations joined, `&&` split, `$ ` prompts dropped), as argv lists."""
    joined = re.sub(r"\\\n\s*", " ", block)
    found = []
    for line in joined.splitlines():
        line = line.strip().removeprefix("$ ")
        if not line or line.startswith("#"):
            continue
        for part in line.split("&&"):
            found.append(shlex.split(part.strip(), comments=True))
    return found


def _ignored(path: str) -> bool:
    """Whether git ignores ``path`` (a generated file, such as bench/results.json)."""
    ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO, check=False)  # noqa: S603, S607
    return ignored.returncode == 0


def _tracked_top_level() -> set[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True)  # noqa: S607
    return {line.split("/", 1)[0] for line in listed.stdout.splitlines() if line}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_links_and_file_paths_in_the_docs_exist(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    missing = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^(https?:|mailto:|#)", target):
            continue
        if not (doc.parent / target.split("#", 1)[0]).exists():
            missing.append(f"link {target}")
    top = _tracked_top_level()
    for token in re.findall(r"`([^`\s]+)`", text):
        path = token.rstrip("/.,:;")
        if "/" not in path or re.search(r"[{}<>*…$=@]", path) or path.startswith(("/", "http")):
            continue
        if path.split("/", 1)[0] in top and not (REPO / path).exists() and not _ignored(path):
            missing.append(f"path {path}")
    assert not missing, f"{doc.name} names what does not exist: {missing}"


def _template_parameters() -> set[str]:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load((REPO / "template.yaml").read_text(), Loader=Loader)  # noqa: S506 - SafeLoader subclass
    return set(template["Parameters"])


def test_the_guide_explains_every_template_parameter_and_names_no_other() -> None:
    text = DEPLOY.read_text(encoding="utf-8")
    section = text.split("### Template parameters", 1)[1].split("\n## ", 1)[0]
    in_table = set(re.findall(r"^\| `(\w+)` \|", section, re.M))
    assert in_table == _template_parameters()
    overrides = set()
    for block in _code_blocks(text, ("sh",)):
        for argv in _commands(block):
            if "--parameter-overrides" in argv:
                values = argv[argv.index("--parameter-overrides") + 1 :]
                overrides |= {v.split("=", 1)[0] for v in values if "=" in v and not v.startswith("-")}
    assert overrides and overrides <= _template_parameters()


@cache
def _aws_model(service: str) -> dict[str, set[str]]:
    """Operation (kebab-case, as the AWS CLI names it) -> its options, from botocore's service model."""
    model = botocore.session.get_session().get_service_model(service)
    operations = {}
    for name in model.operation_names:
        kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()
        shape = model.operation_model(name).input_shape
        members = set(shape.members) if shape else set()
        options = {"--" + re.sub(r"(?<!^)(?=[A-Z])", "-", m).lower() for m in members}
        booleans = {f"--no-{o[2:]}" for o in options}
        operations[kebab] = options | booleans
    return operations


@cache
def _sam_help(subcommand: str) -> str:
    return subprocess.run(  # noqa: S603
        [str(SAM), subcommand, "--help"], capture_output=True, text=True, check=True, timeout=120
    ).stdout


def _guide_commands(tool: str) -> list[list[str]]:
    text = DEPLOY.read_text(encoding="utf-8")
    return [argv for block in _code_blocks(text, ("sh",)) for argv in _commands(block) if argv and argv[0] == tool]


def test_every_aws_command_in_the_guide_is_a_real_operation_with_real_options() -> None:
    commands = _guide_commands("aws")
    assert len(commands) >= 8
    for argv in commands:
        service, operation, *rest = argv[1:]
        operations = _aws_model(service)
        assert operation in operations, f"aws {service} {operation}: no such operation"
        renamed = AWS_RENAMED.get((service, operation), {})
        options = {renamed.get(o, o) for o in (a.split("=", 1)[0] for a in rest if a.startswith("--"))}
        unknown = options - operations[operation] - AWS_GLOBAL
        assert not unknown, f"aws {service} {operation}: unknown options {unknown}"


def test_every_sam_command_in_the_guide_takes_the_options_it_shows() -> None:
    commands = _guide_commands("sam")
    assert {argv[1] for argv in commands} >= {"build", "deploy", "validate", "delete"}
    if not SAM.exists():
        pytest.skip(f"{SAM} is not installed (`make .venv-sam/.installed`): sam options not checked")
    for argv in commands:
        help_text = _sam_help(argv[1])
        for option in (a.split("=", 1)[0] for a in argv[2:] if a.startswith("--")):
            assert re.search(rf"{re.escape(option)}\b", help_text), f"sam {argv[1]} has no option {option}"


def _parse_cli(argv: list[str]) -> None:
    """Parse ``stripe-aep ARGV`` down to its command with click, as the CLI would, without running it."""
    command: Any = typer.main.get_command(app)
    args = hoist_global_options(argv)
    ctx = command.make_context("stripe-aep", args)
    while hasattr(command, "get_command"):  # a group (typer's TyperGroup is not a click.Group subclass)
        rest = [*ctx._protected_args, *ctx.args]
        assert rest, f"stripe-aep {' '.join(argv)}: no command"
        name, *rest = rest
        sub = command.get_command(ctx, name)
        assert sub is not None, f"stripe-aep {' '.join(argv)}: no command {name}"
        ctx = sub.make_context(name, rest, parent=ctx)
        command = sub


def _cli_commands_in(doc: Path) -> list[list[str]]:
    text = doc.read_text(encoding="utf-8")
    found = []
    for block in _code_blocks(text, ("sh", "console")):
        for line in block.splitlines():
            if line.startswith("$ stripe-aep ") or line.startswith("stripe-aep "):
                argv = shlex.split(line.removeprefix("$ "), comments=True)
                found.append(argv[1 : argv.index("|")] if "|" in argv else argv[1:])
    return found


@pytest.mark.parametrize("doc", [REPO / "README.md", DEPLOY, REPO / "docs" / "cli.md"], ids=lambda p: p.name)
def test_every_cli_command_in_the_docs_parses(doc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # send-event FILE paths are relative to the checkout
    commands = _cli_commands_in(doc)
    assert commands, f"{doc.name} shows no stripe-aep command"
    for argv in commands:
        try:
            _parse_cli([a for a in argv if not a.startswith("<")] if "<" in " ".join(argv) else argv)
        except typer.TyperException as exc:  # typer's parser errors (UsageError, NoSuchOption...)
            if type(exc).__name__ == "BadParameter":
                continue  # a value the docs show being refused (their "Mistakes"); the option itself exists
            pytest.fail(f"{doc.name}: stripe-aep {' '.join(argv)}: {exc}")


def test_the_credential_shape_in_the_guide_is_the_one_the_code_reads() -> None:
    text = DEPLOY.read_text(encoding="utf-8")
    (credential,) = [json.loads(b) for b in _code_blocks(text, ("json",)) if "client_secret" in b]
    parsed = ImsCredential.model_validate(credential)
    assert parsed.ims_org.endswith("@AdobeOrg") and "openid" in parsed.scopes


def test_the_cli_doc_is_generated_from_real_runs() -> None:
    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert "generated by `tools/cli_doc.py`" in text
    assert "/tmp/" not in text and "/root/" not in text  # noqa: S108 - no path of the machine that generated it
