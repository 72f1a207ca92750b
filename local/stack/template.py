"""Read a SAM template and resolve CloudFormation intrinsic functions against local names.

The template is decoded with cfn-lint's YAML loader (`cfnlint.decode.cfn_yaml.load`), which turns the short
tags (`!Ref`, `!Sub`, `!GetAtt`...) into their long JSON forms. `Resolver` then evaluates `Ref`, `Fn::Sub`,
`Fn::GetAtt`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::If` (with `Conditions`), `Fn::Equals`, `Fn::Not`,
`Fn::And`, `Fn::Or`, `Fn::ToJsonString` and the pseudo parameters (`AWS::Region`, `AWS::AccountId`,
`AWS::StackName`, `AWS::Partition`, `AWS::URLSuffix`, `AWS::NoValue`), following the CloudFormation user guide
("Intrinsic function reference").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"

# `${Name}` or `${Resource.Attribute}` in Fn::Sub; `${!Literal}` stands for the text `${Literal}`.
_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


class _NoValue:
    """`Ref: AWS::NoValue`: the enclosing property is removed."""


NO_VALUE = _NoValue()


class TemplateError(Exception):
    """The template uses something this resolver cannot evaluate (unknown reference, unsupported function)."""


def load_template(path: Path) -> dict[str, Any]:
    """Decode `path` (YAML or JSON CloudFormation/SAM template) into plain dicts with long-form intrinsics.

    Raises `TemplateError` when the file is not a template (no `Resources` mapping).
    """
    decoded = cfn_yaml.load(str(path))
    if not isinstance(decoded, dict) or not isinstance(decoded.get("Resources"), dict):
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
    return decoded


class Resolver:
    """Evaluates intrinsic functions.

    `parameters` maps parameter names to their (string) values; `ref` answers `Ref` on a logical id and
    `get_att` answers `Fn::GetAtt` on (logical id, attribute); both raise `TemplateError` for unknown ids.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        parameters: Mapping[str, str],
        stack_name: str,
        ref: Callable[[str], Any],
        get_att: Callable[[str, str], Any],
    ) -> None:
        self._template = template
        self._ref = ref
        self._get_att = get_att
        self.pseudo: dict[str, str] = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{stack_name}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.parameters = dict(parameters)
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        """The value of the template's condition `name` (evaluated once)."""
        if name not in self._conditions:
            conditions = self._template.get("Conditions") or {}
            if name not in conditions:
                raise TemplateError(f"unknown condition {name!r}")
            self._conditions[name] = bool(self.resolve(conditions[name]))
        return self._conditions[name]

    def resolve(self, value: Any) -> Any:
        """`value` with every intrinsic function evaluated; properties resolving to AWS::NoValue dropped."""
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, arg),) = value.items()
                if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                    return self._function(key, arg)
            out = {}
            for key, item in value.items():
                resolved = self.resolve(item)
                if resolved is not NO_VALUE:
                    out[str(key)] = resolved
            return out
        if isinstance(value, list):
            return [r for r in (self.resolve(item) for item in value) if r is not NO_VALUE]
        if isinstance(value, str):
            return str(value)  # drop cfn-lint's str_node subclass
        return value

    def _function(self, key: str, arg: Any) -> Any:
        if key == "Ref":
            return self.ref(str(arg))
        if key == "Condition":
            return self.condition(str(arg))
        if key == "Fn::GetAtt":
            logical_id, attribute = arg.split(".", 1) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
            return self._get_att(str(logical_id), str(attribute))
        if key == "Fn::Sub":
            return self._sub(arg)
        if key == "Fn::Join":
            delimiter, items = arg
            return str(delimiter).join(str(i) for i in self.resolve(items))
        if key == "Fn::Select":
            index, items = self.resolve(arg)
            return items[int(index)]
        if key == "Fn::Split":
            delimiter, text = self.resolve(arg)
            return str(text).split(str(delimiter))
        if key == "Fn::If":
            name, if_true, if_false = arg
            return self.resolve(if_true if self.condition(str(name)) else if_false)
        if key == "Fn::Equals":
            left, right = self.resolve(arg)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self.resolve(arg[0])
        if key == "Fn::And":
            return all(self.resolve(arg))
        if key == "Fn::Or":
            return any(self.resolve(arg))
        if key == "Fn::FindInMap":
            name, top, second = (str(self.resolve(a)) for a in arg)
            return self._template["Mappings"][name][top][second]
        if key == "Fn::ToJsonString":
            return json.dumps(self.resolve(arg), separators=(",", ":"))
        raise TemplateError(f"unsupported intrinsic function {key}")

    def ref(self, name: str) -> Any:
        """`Ref` of a parameter, pseudo parameter or logical id."""
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self._ref(name)

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = str(arg[0]), {str(k): self.resolve(v) for k, v in arg[1].items()}
        else:
            text, variables = str(arg), {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return str(self._get_att(logical_id, attribute))
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text)


def substitute_definition(definition: str, substitutions: Mapping[str, Any]) -> str:
    """Apply a state machine's DefinitionSubstitutions: each `${Key}` in the text becomes the value's text.

    Placeholders without a substitution are left as they are.
    """

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        return str(substitutions[key]) if key in substitutions else match.group(0)

    return _SUB_VARIABLE.sub(replace, definition)
