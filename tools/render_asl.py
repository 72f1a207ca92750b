"""Render the state machines' ASL the way CloudFormation does, for validators that need plain JSON.

`statemachine/*.asl.json` holds `${Name}` placeholders that the template's `DefinitionSubstitutions` fill
at deploy time. AWS::StepFunctions::StateMachine replaces them in the text, so
`"MaxConcurrency": ${MaxConcurrency}` becomes a JSON number (the raw files are therefore not JSON).
This module does the same substitution from `template.yaml` with stand-in values: a function's
`!GetAtt XFunction.Arn` becomes `arn:aws:lambda:us-east-1:123456789012:function:XFunction` and a
`!Ref Parameter` becomes the parameter's Default. Used by `make asl-validate` (asl-validator reads the
output) and by tests/unit/test_template.py.

    python tools/render_asl.py --out .aws-sam/asl     # writes <out>/<name>.asl.json, prints the paths
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "template.yaml"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
STAND_IN_ACCOUNT = "123456789012"
STAND_IN_REGION = "us-east-1"


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as a dict, intrinsic tags decoded (`!Ref X` -> `{"Ref": "X"}`) by cfn-lint's decoder."""
    template: dict[str, Any] = cfn_yaml.load(str(path))
    return template


def state_machines(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Logical id -> Properties of every AWS::Serverless::StateMachine in the template."""
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::StateMachine"
    }


def stand_in(value: Any, template: Mapping[str, Any]) -> str:
    """A deploy-time-like value for one DefinitionSubstitutions entry.

    Raises ValueError for an intrinsic this module does not resolve (only GetAtt X.Arn, Ref Parameter and
    FindInMap).
    """
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, Mapping) and "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        if attribute == "Arn":
            return f"arn:aws:lambda:{STAND_IN_REGION}:{STAND_IN_ACCOUNT}:function:{logical_id}"
    if isinstance(value, Mapping) and "Fn::FindInMap" in value:
        name, top, second = value["Fn::FindInMap"]
        return str(template["Mappings"][name][top][second])
    if isinstance(value, Mapping) and "Ref" in value:
        parameter = template.get("Parameters", {}).get(value["Ref"])
        if parameter is not None and "Default" in parameter:
            return str(parameter["Default"])
    raise ValueError(f"cannot stand in for substitution value {value!r}")


def render(logical_id: str, template: Mapping[str, Any] | None = None, repo: Path = REPO) -> str:
    """The ASL text of one state machine with every `${Name}` replaced, as CloudFormation would.

    Raises KeyError when the definition uses a `${Name}` its DefinitionSubstitutions lacks.
    """
    template = template if template is not None else load_template(repo / "template.yaml")
    properties = state_machines(template)[logical_id]
    text = (repo / properties["DefinitionUri"]).read_text(encoding="utf-8")
    values = {name: stand_in(value, template) for name, value in properties.get("DefinitionSubstitutions", {}).items()}
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="directory for the rendered definitions")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    template = load_template()
    for logical_id, properties in state_machines(template).items():
        text = render(logical_id, template)
        json.loads(text)  # fails loudly if the substituted definition is not JSON
        target = args.out / Path(properties["DefinitionUri"]).name
        target.write_text(text, encoding="utf-8")
        print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
