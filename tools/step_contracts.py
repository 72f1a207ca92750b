"""Check the state machines' data paths against the step models, the way a run would meet them.

Every Task state of `statemachine/*.asl.json` (rendered by tools/render_asl.py, as CloudFormation substitutes it)
that invokes a Lambda is traced to its step: the function's logical id -> `template.yaml`'s CodeUri and Handler
-> `functions/<dir>/app.py`'s `lambda_handler = step_handler(<module>.<step>)` -> the step's parameter
annotation (its input model) and return annotation (its output model, a `StepOutput`).

The definition is then walked from `StartAt` along `Next`, `Choices`, `Default` and `Catch`, into Parallel
branches and Map item processors, carrying the *shape* of the state data: what each state put where
(`ResultSelector`, `ResultPath`, `OutputPath`, `InputPath`; a Parallel's array of branch outputs, a Map's array
of iteration outputs, a Catch's `{Error, Cause}`), starting from the execution input's JSON Schema
(`schemas/<machine>-input.schema.json`). A problem is reported when:

- a `ResultSelector` path (`$.Payload.X...`) is not a field of the step's output model;
- a path a state reads from the state data or the context object (`Parameters`/`ItemSelector`/`ResultSelector`
  `.$` values and intrinsic function arguments, `ItemsPath`, `InputPath`, `OutputPath`, Choice `Variable`s and
  `...Path` operands, Fail `ErrorPath`/`CausePath`) does not resolve through what earlier states placed there;
- a field the step's input model requires is not in the `Payload` its Task builds (or a supplied value is an
  object where the model wants a scalar, or the reverse).

    PYTHONPATH=layers/shared:. .venv/bin/python -m tools.step_contracts   # prints the problems; exit 1 if any

Only the JSONPath forms the ASL uses are understood (`.name`, `['name']`, `[0]`, `[*]`); anything beyond is
taken as "anything" rather than guessed. JSONata states are not checked.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import sys
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tools.render_asl import REPO, load_template, render, state_machines

# ---- shapes of JSON values --------------------------------------------------------------------------------


class Shape:
    """What a run may find at some place of the state data."""


@dataclass(frozen=True)
class AnyShape(Shape):
    """Anything: every path resolves (a ``dict[str, Any]`` field, an unchecked input)."""


@dataclass(frozen=True)
class Scalar(Shape):
    kind: str  # string | number | boolean | null


@dataclass(frozen=True)
class Obj(Shape):
    """An object with known keys; ``open``: other keys may be there too (they resolve to anything)."""

    fields: tuple[tuple[str, Shape], ...]
    origin: str = "object"
    open: bool = False

    def get(self, key: str) -> Shape | None:
        return next((shape for name, shape in self.fields if name == key), None)

    def keys(self) -> list[str]:
        return [name for name, _ in self.fields]

    def with_field(self, key: str, shape: Shape) -> Obj:
        kept = tuple((name, s) for name, s in self.fields if name != key)
        return Obj((*kept, (key, shape)), self.origin, self.open)


@dataclass(frozen=True)
class DictOf(Shape):
    """An object whose keys are data (``dict[str, X]``): every key holds ``value``."""

    value: Shape


@dataclass(frozen=True)
class Arr(Shape):
    item: Shape


@dataclass(frozen=True)
class Tup(Shape):
    """An array whose positions differ (a Parallel's branch outputs, a literal array)."""

    items: tuple[Shape, ...]


@dataclass(frozen=True)
class OneOf(Shape):
    """One of several shapes (the outputs of a Map's several end states): a path must resolve in each."""

    options: tuple[Shape, ...]


ANY = AnyShape()
STRING, NUMBER, BOOLEAN, NULL = Scalar("string"), Scalar("number"), Scalar("boolean"), Scalar("null")
EMPTY = Obj((), "empty object")


def one_of(shapes: Sequence[Shape]) -> Shape:
    flat: list[Shape] = []
    for shape in shapes:
        for option in shape.options if isinstance(shape, OneOf) else (shape,):
            if option not in flat:
                flat.append(option)
    if not flat:
        return ANY
    if ANY in flat:
        return ANY
    return flat[0] if len(flat) == 1 else OneOf(tuple(flat))


def literal(value: Any, origin: str = "literal") -> Shape:
    """The shape of a JSON value written in the definition."""
    if isinstance(value, Mapping):
        return Obj(tuple((str(k), literal(v)) for k, v in value.items()), origin)
    if isinstance(value, list):
        return Tup(tuple(literal(v) for v in value))
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int | float):
        return NUMBER
    if isinstance(value, str):
        return STRING
    return NULL


def describe(shape: Shape) -> str:
    if isinstance(shape, Obj):
        return f"{shape.origin} {{{', '.join(shape.keys())}}}"
    if isinstance(shape, Scalar):
        return f"a {shape.kind}"
    if isinstance(shape, Arr | Tup):
        return "an array"
    if isinstance(shape, DictOf):
        return "a map"
    return "a value"


# ---- shapes of the models -----------------------------------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _options(annotation: Any) -> list[Any]:
    """The members of ``X | Y | None`` without ``None``."""
    annotation = _unwrap(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [_unwrap(a) for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


def is_model(annotation: Any) -> bool:
    return inspect.isclass(annotation) and issubclass(annotation, BaseModel)


def output_key(name: str, info: Any) -> str:
    """The key ``model_dump(by_alias=True)`` writes for a field."""
    return str(info.serialization_alias or info.alias or name)


def input_keys(name: str, info: Any, model: type[BaseModel]) -> list[str]:
    """The keys ``model_validate`` accepts for a field (its alias, and its name when populate_by_name)."""
    alias = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
    if not alias:
        return [name]
    return [alias, name] if model.model_config.get("populate_by_name") else [alias]


def model_shape(model: type[BaseModel]) -> Obj:
    """The shape of ``model.model_dump(mode="json", by_alias=True)``."""
    fields = tuple((output_key(n, i), annotation_shape(i.annotation)) for n, i in model.model_fields.items())
    return Obj(fields, model.__name__, open=model.model_config.get("extra") == "allow")


def annotation_shape(annotation: Any) -> Shape:
    options = [_annotation_shape(a) for a in _options(annotation)]
    return one_of(options) if options else NULL


def _annotation_shape(annotation: Any) -> Shape:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if is_model(annotation):
        return model_shape(annotation)
    if annotation in (str,) or (inspect.isclass(annotation) and issubclass(annotation, str)):
        return STRING
    if annotation is bool:
        return BOOLEAN
    if annotation in (int, float):
        return NUMBER
    if origin is typing.Literal:
        return one_of([literal(a) for a in args])
    if origin in (list, set, frozenset) or (origin is not None and origin.__name__ in ("Sequence", "Iterable")):
        return Arr(annotation_shape(args[0]) if args else ANY)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return Arr(annotation_shape(args[0]))
        return Tup(tuple(annotation_shape(a) for a in args))
    if origin in (dict,) or (origin is not None and origin.__name__ == "Mapping"):
        return DictOf(annotation_shape(args[1]) if len(args) == 2 else ANY)
    return ANY


def schema_shape(schema: Mapping[str, Any], root: Mapping[str, Any] | None = None, origin: str = "input") -> Shape:
    """The shape of a JSON Schema (local ``$ref``s; combinators are taken as anything)."""
    root = root if root is not None else schema
    if "$ref" in schema and str(schema["$ref"]).startswith("#/"):
        target: Any = root
        for part in str(schema["$ref"])[2:].split("/"):
            target = target[part]
        return schema_shape(target, root, origin)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        fields = tuple((k, schema_shape(v, root, origin)) for k, v in properties.items())
        extra = schema.get("additionalProperties", True)
        if not properties and isinstance(extra, Mapping):
            return DictOf(schema_shape(extra, root, origin))
        return Obj(fields, origin, open=extra is not False)
    if kind == "array":
        items = schema.get("items")
        return Arr(schema_shape(items, root, origin) if isinstance(items, Mapping) else ANY)
    if kind in ("string", "boolean", "null"):
        return Scalar(str(kind))
    if kind in ("integer", "number"):
        return NUMBER
    if "enum" in schema and all(isinstance(v, str) for v in schema["enum"]):
        return STRING
    return ANY


# ---- paths --------------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\.([A-Za-z0-9_\-$@]+)|\['([^']*)'\]|\[(\d+)\]|\[\*\]|\.\*")


def parse_path(path: str) -> tuple[bool, list[str | int | None]] | None:
    """``$.a[0].b`` -> (False, ["a", 0, "b"]); ``$$.Map.Item.Value`` -> (True, [...]); ``None`` is ``[*]``.
    Returns None for a path outside the understood forms (filters, slices, recursive descent)."""
    context = path.startswith("$$")
    rest = path[2:] if context else path[1:] if path.startswith("$") else None
    if rest is None:
        return None
    steps: list[str | int | None] = []
    position = 0
    while position < len(rest):
        match = _TOKEN.match(rest, position)
        if match is None:
            return None
        name, quoted, index = match.groups()
        steps.append(name if name is not None else quoted if quoted is not None else int(index) if index else None)
        position = match.end()
    return context, steps


def show(steps: Sequence[str | int | None], context: bool = False) -> str:
    text = "$$" if context else "$"
    for step in steps:
        text += "[*]" if step is None else f"[{step}]" if isinstance(step, int) else f".{step}"
    return text


class PathError(Exception):
    pass


def resolve(shape: Shape, steps: Sequence[str | int | None], context: bool = False) -> Shape:
    """The shape at ``steps`` under ``shape``; raises ``PathError`` saying where the path leaves it."""
    for i, step in enumerate(steps):
        here = show(steps[:i], context)
        if isinstance(shape, AnyShape):
            return ANY
        if isinstance(shape, OneOf):
            return one_of([resolve(option, steps[i:], context) for option in shape.options])
        if step is None:
            if isinstance(shape, Arr):
                return Arr(resolve(shape.item, steps[i + 1 :], context))
            if isinstance(shape, Tup):
                return Arr(one_of([resolve(s, steps[i + 1 :], context) for s in shape.items]))
            if isinstance(shape, Obj | DictOf):
                return ANY
            raise PathError(f"{here} is {describe(shape)}, not an array")
        if isinstance(step, int):
            if isinstance(shape, Arr):
                shape = shape.item
            elif isinstance(shape, Tup):
                if step >= len(shape.items):
                    raise PathError(f"{here} has {len(shape.items)} items, no [{step}]")
                shape = shape.items[step]
            else:
                raise PathError(f"{here} is {describe(shape)}, not an array")
            continue
        if isinstance(shape, DictOf):
            shape = shape.value
        elif isinstance(shape, Obj):
            found = shape.get(step)
            if found is None:
                if shape.open:
                    return ANY
                raise PathError(f"{here} has no field {step!r}: it is {describe(shape)}")
            shape = found
        else:
            raise PathError(f"{here} is {describe(shape)}, not an object (reading {step!r})")
    return shape


def place(target: Shape, steps: Sequence[str | int | None], value: Shape) -> Shape:
    """``target`` with ``value`` written at ``steps`` (a ResultPath: missing objects are created)."""
    if not steps:
        return value
    head, rest = steps[0], steps[1:]
    if isinstance(head, str):
        if isinstance(target, Obj):
            inner = target.get(head)
            return target.with_field(head, place(inner if inner is not None else EMPTY, rest, value))
        if isinstance(target, OneOf):
            return one_of([place(option, steps, value) for option in target.options])
        if isinstance(target, AnyShape | DictOf):
            return Obj(((head, place(EMPTY, rest, value)),), "object", open=True)
        raise PathError(f"cannot write {head!r} into {describe(target)}")
    raise PathError("a ResultPath cannot index an array")


# ---- the steps behind the functions -------------------------------------------------------------------------


@dataclass(frozen=True)
class StepContract:
    """What one Lambda function takes and answers."""

    function: str  # template logical id
    step: str  # module.function
    input_model: type[BaseModel] | None
    output_model: type[BaseModel] | None
    problem: str = ""


def step_of_handler(app: Path, handler_name: str) -> Callable[..., Any]:
    """The step function an app.py wraps: ``<handler_name> = step_handler("<module>.<step>")``, resolved as the
    handler resolves it (``stripe_aep.handler.resolve_step``). Raises LookupError when the handler is not built
    that way."""
    from stripe_aep.handler import resolve_step

    tree = ast.parse(app.read_text(encoding="utf-8"))
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and any(getattr(t, "id", None) == handler_name for t in node.targets)):
            continue
        call = node.value
        if not (isinstance(call, ast.Call) and call.args and ast.unparse(call.func).endswith("step_handler")):
            break
        name = call.args[0]
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
            break
        step, _ = resolve_step(name.value)
        return step
    raise LookupError(f'{app}: {handler_name} is not step_handler("<module>.<step>")')


def contract_of(function: str, template: Mapping[str, Any], repo: Path = REPO) -> StepContract:
    """The contract of the template's function ``function`` (a logical id)."""
    resource = template["Resources"].get(function)
    if resource is None or resource.get("Type") not in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
        return StepContract(function, "", None, None, f"{function} is not a function of template.yaml")
    properties = resource.get("Properties", {})
    defaults = template.get("Globals", {}).get("Function", {})
    handler = str(properties.get("Handler") or defaults.get("Handler") or "app.lambda_handler")
    module_file, _, handler_name = handler.rpartition(".")
    app = repo / str(properties.get("CodeUri", "")) / f"{module_file.replace('.', '/')}.py"
    try:
        step = step_of_handler(app, handler_name)
    except (LookupError, OSError, ImportError, AttributeError) as exc:
        return StepContract(function, "", None, None, f"no step found behind {function}: {exc}")
    name = f"{step.__module__}.{step.__name__}"
    hints = typing.get_type_hints(step)
    parameters = [v for k, v in hints.items() if k != "return"]
    input_model = parameters[0] if parameters and is_model(parameters[0]) else None
    output_model = hints.get("return")
    problem = ""
    if input_model is None:
        problem = f"{name} takes no pydantic input model"
    if not is_model(output_model):
        problem = f"{name} returns {output_model!r}, not a pydantic output model"
        output_model = None
    return StepContract(function, name, input_model, output_model, problem)


def contracts(template: Mapping[str, Any], repo: Path = REPO) -> dict[str, StepContract]:
    """Every function of the template that a state machine's Task names, by logical id."""
    found: dict[str, StepContract] = {}
    for logical_id in state_machines(template):
        definition = json.loads(render(logical_id, template, repo))
        for state in _all_states(definition):
            function = function_of(state)
            if function and function not in found:
                found[function] = contract_of(function, template, repo)
    return found


def _all_states(definition: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for state in definition.get("States", {}).values():
        yield state
        for branch in state.get("Branches", []):
            yield from _all_states(branch)
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from _all_states(processor)


def function_of(state: Mapping[str, Any]) -> str | None:
    """The logical id of the Lambda function a Task state invokes (its rendered ARN's function name)."""
    if state.get("Type") != "Task":
        return None
    resource = str(state.get("Resource", ""))
    name = resource
    if resource.startswith("arn:aws:states:::lambda:invoke"):
        name = str((state.get("Parameters") or {}).get("FunctionName", ""))
    if ":function:" not in name:
        return None
    return name.split(":function:", 1)[1].split(":", 1)[0]


# ---- the walk -----------------------------------------------------------------------------------------------


def context_shape(execution_input: Shape, item: Shape | None = None) -> Obj:
    """The context object (``$$``): ``Execution.Input`` per machine, ``Map.Item`` in a Map's ItemSelector."""
    execution = Obj(
        (
            ("Id", STRING),
            ("Input", execution_input),
            ("Name", STRING),
            ("RoleArn", STRING),
            ("StartTime", STRING),
            ("RedriveCount", NUMBER),
            ("RedriveTime", STRING),
        ),
        "$$.Execution",
    )
    fields: list[tuple[str, Shape]] = [
        ("Execution", execution),
        ("State", Obj((("EnteredTime", STRING), ("Name", STRING), ("RetryCount", NUMBER)), "$$.State")),
        ("StateMachine", Obj((("Id", STRING), ("Name", STRING)), "$$.StateMachine")),
        ("Task", Obj((("Token", STRING),), "$$.Task")),
    ]
    if item is not None:
        fields.append(("Map", Obj((("Item", Obj((("Index", NUMBER), ("Value", item)), "$$.Map.Item")),), "$$.Map")))
    return Obj(tuple(fields), "context object")


ERROR_OUTPUT = Obj((("Error", STRING), ("Cause", STRING)), "caught error")
LAMBDA_RESULT_FIELDS = (("StatusCode", NUMBER), ("ExecutedVersion", STRING), ("FunctionError", STRING))


@dataclass
class Checker:
    """Walks one state machine definition; ``problems`` collects what does not fit."""

    machine: str
    steps: Mapping[str, StepContract]
    execution_input: Shape = ANY
    problems: list[str] = field(default_factory=list)
    #: The Lambda Task states walked (their place in the definition).
    tasks: set[str] = field(default_factory=set)
    max_visits: int = 16
    #: The definition's QueryLanguage (a state may override it); JSONata states are followed, not checked.
    query_language: str = "JSONPath"

    def report(self, where: str, message: str) -> None:
        text = f"{self.machine}: {where}: {message}"
        if text not in self.problems:
            self.problems.append(text)

    # -- evaluating what a state reads

    def read(self, path: Any, data: Shape, context: Shape, where: str) -> Shape:
        """The shape a path (``$...`` over ``data``, ``$$...`` over ``context``) gives; reports a path that
        does not resolve."""
        if not isinstance(path, str):
            self.report(where, f"{path!r} is not a path")
            return ANY
        parsed = parse_path(path)
        if parsed is None:
            return ANY
        is_context, steps = parsed
        try:
            return resolve(context if is_context else data, steps, is_context)
        except PathError as exc:
            self.report(where, f"{path}: {exc}")
            return ANY

    def evaluate(self, template: Any, data: Shape, context: Shape, where: str, origin: str = "parameters") -> Shape:
        """The shape of a payload template (``Parameters``, ``ItemSelector``, ``ResultSelector``)."""
        if isinstance(template, Mapping):
            fields: list[tuple[str, Shape]] = []
            for key, value in template.items():
                if key.endswith(".$"):
                    fields.append((key[:-2], self.expression(value, data, context, f"{where}.{key}")))
                else:
                    fields.append((key, self.evaluate(value, data, context, f"{where}.{key}", "object")))
            return Obj(tuple(fields), origin)
        if isinstance(template, list):
            return Tup(tuple(self.evaluate(v, data, context, f"{where}[{i}]") for i, v in enumerate(template)))
        return literal(template)

    def expression(self, text: Any, data: Shape, context: Shape, where: str) -> Shape:
        if isinstance(text, str) and text.startswith("States."):
            try:
                call, _ = _parse_call(text, 0)
            except ValueError:
                self.report(where, f"cannot read the intrinsic function {text!r}")
                return ANY
            return self.intrinsic(call, data, context, where)
        return self.read(text, data, context, where)

    def intrinsic(self, call: Any, data: Shape, context: Shape, where: str) -> Shape:
        if isinstance(call, _Path):
            return self.read(call.text, data, context, where)
        if not isinstance(call, _Call):
            return literal(call)
        args = [self.intrinsic(a, data, context, where) for a in call.args]
        name = call.name
        if name == "States.StringToJson":
            raw = call.args[0] if call.args else None
            if isinstance(raw, str):
                try:
                    return literal(json.loads(raw), "StringToJson")
                except ValueError:
                    self.report(where, f"States.StringToJson of a string that is not JSON: {raw!r}")
            return ANY
        if name == "States.JsonMerge" and len(args) >= 2:
            left, right = args[0], args[1]
            if isinstance(left, Obj) and isinstance(right, Obj):
                merged = Obj(right.fields, right.origin, right.open or left.open)
                for key, shape in left.fields:
                    if merged.get(key) is None:
                        merged = merged.with_field(key, shape)
                return merged
            return ANY
        if name == "States.Array":
            return Tup(tuple(args))
        if name == "States.ArrayGetItem" and args:
            items = args[0]
            return items.item if isinstance(items, Arr) else one_of(items.items) if isinstance(items, Tup) else ANY
        if name in ("States.ArrayLength", "States.MathAdd", "States.MathRandom"):
            return NUMBER
        if name == "States.ArrayContains":
            return BOOLEAN
        if name in ("States.ArrayPartition", "States.ArrayRange", "States.ArrayUnique"):
            return Arr(ANY)
        if name in ("States.Format", "States.JsonToString", "States.UUID", "States.Hash"):
            return STRING
        if name.startswith("States.Base64"):
            return STRING
        return ANY

    def supplies(self, model: type[BaseModel], given: Shape, where: str) -> None:
        """Report each field ``model`` requires that ``given`` lacks, and values of the wrong kind."""
        if isinstance(given, AnyShape | DictOf):
            return
        if isinstance(given, OneOf):
            for option in given.options:
                self.supplies(model, option, where)
            return
        if not isinstance(given, Obj):
            self.report(where, f"{model.__name__} needs an object, the payload is {describe(given)}")
            return
        for name, info in model.model_fields.items():
            keys = input_keys(name, info, model)
            supplied = next((given.get(k) for k in keys if given.get(k) is not None), None)
            if supplied is None:
                if info.is_required() and not given.open:
                    self.report(where, f"{keys[0]} is required by {model.__name__} and not supplied")
                continue
            self.fits(info.annotation, supplied, f"{where}.{keys[0]}", model.__name__)

    def fits(self, annotation: Any, supplied: Shape, where: str, owner: str) -> None:
        options = _options(annotation)
        if isinstance(supplied, AnyShape | OneOf) or any(o is Any for o in options):
            return
        if supplied == NULL:
            if not _allows_none(annotation):
                self.report(where, f"null where {owner} wants {_name(annotation)}")
            return
        models = [o for o in options if is_model(o)]
        if models:
            if isinstance(supplied, Obj) and len(models) == 1:
                self.supplies(models[0], supplied, where)
            elif isinstance(supplied, Scalar) and not any(_is_scalar(o) for o in options):
                self.report(where, f"{describe(supplied)} where {owner} wants an object ({_name(annotation)})")
            return
        wanted = annotation_shape(annotation)
        if isinstance(wanted, Scalar) and isinstance(supplied, Obj | Arr | Tup | DictOf):
            self.report(where, f"{describe(supplied)} where {owner} wants {describe(wanted)}")
        elif isinstance(wanted, Arr) and isinstance(supplied, Obj | Scalar):
            self.report(where, f"{describe(supplied)} where {owner} wants an array")
        elif isinstance(wanted, Arr) and isinstance(supplied, Arr | Tup):
            args = typing.get_args(options[0])
            for shape in (supplied.item,) if isinstance(supplied, Arr) else supplied.items:
                self.fits(args[0] if args else Any, shape, f"{where}[*]", owner)

    # -- walking the states

    def run(self, states: Mapping[str, Any], start: str, data: Shape, scope: str, item: Shape | None = None) -> Shape:
        """Walk the states from ``start`` with ``data``; the shape of what the end states answer."""
        pending: list[tuple[str, Shape]] = [(start, data)]
        seen: set[tuple[str, Shape]] = set()
        visits: dict[str, int] = {}
        outputs: list[Shape] = []
        while pending:
            name, shape = pending.pop()
            if (name, shape) in seen or visits.get(name, 0) >= self.max_visits:
                continue
            seen.add((name, shape))
            visits[name] = visits.get(name, 0) + 1
            state = states.get(name)
            where = f"{scope}{name}"
            if state is None:
                self.report(where, "no such state")
                continue
            nexts, output = self.state(state, shape, where, item)
            pending.extend(nexts)
            if output is not None:
                outputs.append(output)
        return one_of(outputs)

    def state(
        self, state: Mapping[str, Any], raw: Shape, where: str, item: Shape | None
    ) -> tuple[list[tuple[str, Shape]], Shape | None]:
        """One state: (the states it may go to with their input, its output when it ends the scope)."""
        context = context_shape(self.execution_input, item)
        kind = state.get("Type")
        if state.get("QueryLanguage", self.query_language) == "JSONata":
            return self._jsonata(state)
        if kind == "Fail":
            for key in ("ErrorPath", "CausePath"):
                if key in state:
                    self.expression(state[key], raw, context, f"{where}.{key}")
            return [], None
        effective = self._path(state, "InputPath", raw, context, where)
        if kind == "Choice":
            return self._choice(state, effective, context, where), None
        if kind in ("Succeed", "Wait"):
            for key in ("SecondsPath", "TimestampPath"):
                if key in state:
                    self.read(state[key], effective, context, f"{where}.{key}")
            output = self._path(state, "OutputPath", effective, context, where)
            return ([], output) if kind == "Succeed" else self._follow(state, output)
        if kind not in ("Pass", "Task", "Parallel", "Map"):
            self.report(where, f"unknown state type {kind!r}")
            return [], None
        result = self._result(state, effective, context, where)
        combined = self._result_path(state.get("ResultPath", "$"), raw, result, where)
        output = self._path(state, "OutputPath", combined, context, where)
        nexts: list[tuple[str, Shape]] = []
        for i, catcher in enumerate(state.get("Catch", [])):
            caught = self._result_path(catcher.get("ResultPath", "$"), raw, ERROR_OUTPUT, f"{where}.Catch[{i}]")
            if "Next" in catcher:
                nexts.append((catcher["Next"], caught))
        follow, end = self._follow(state, output)
        return nexts + follow, end

    def _result(self, state: Mapping[str, Any], effective: Shape, context: Shape, where: str) -> Shape:
        """What a Pass, Task, Parallel or Map state produces, after its ResultSelector."""
        kind, short = state.get("Type"), where.rsplit("/", 1)[-1]
        if kind == "Pass":
            if "Parameters" in state:
                result = self.evaluate(state["Parameters"], effective, context, f"{where}.Parameters", "the state data")
            else:
                result = literal(state["Result"], f"{short}'s Result") if "Result" in state else effective
        elif kind == "Task":
            result = self._task(state, effective, context, where)
        elif kind == "Parallel":
            if "Parameters" in state:
                effective = self.evaluate(state["Parameters"], effective, context, f"{where}.Parameters")
            branches = state.get("Branches", [])
            result = Tup(
                tuple(
                    self.run(b.get("States", {}), b.get("StartAt", ""), effective, f"{where}[{i}]/")
                    for i, b in enumerate(branches)
                )
            )
        else:
            result = self._map(state, effective, context, where)
        if "ResultSelector" in state:
            selector = f"{short}'s ResultSelector"
            result = self.evaluate(state["ResultSelector"], result, context, f"{where}.ResultSelector", selector)
        return result

    def _choice(self, state: Mapping[str, Any], data: Shape, context: Shape, where: str) -> list[tuple[str, Shape]]:
        targets: list[str] = []
        for i, rule in enumerate(state.get("Choices", [])):
            self._rule(rule, data, context, f"{where}.Choices[{i}]")
            targets += [rule["Next"]] if "Next" in rule else []
        targets += [state["Default"]] if "Default" in state else []
        output = self._path(state, "OutputPath", data, context, where)
        return [(target, output) for target in targets]

    def _jsonata(self, state: Mapping[str, Any]) -> tuple[list[tuple[str, Shape]], Shape | None]:
        """A JSONata state is followed (Next, Choices, Default, Catch) with its data unknown, not checked."""
        targets = [r["Next"] for r in [*state.get("Choices", []), *state.get("Catch", [])] if "Next" in r]
        targets += [state["Default"]] if "Default" in state else []
        follow, end = self._follow(state, ANY)
        return [(t, ANY) for t in targets] + follow, (ANY if state.get("Type") == "Succeed" else end)

    def _follow(self, state: Mapping[str, Any], output: Shape) -> tuple[list[tuple[str, Shape]], Shape | None]:
        if state.get("End"):
            return [], output
        return ([(state["Next"], output)] if "Next" in state else []), None

    def _path(self, state: Mapping[str, Any], key: str, data: Shape, context: Shape, where: str) -> Shape:
        if key not in state:
            return data
        if state[key] is None:
            return EMPTY
        return self.read(state[key], data, context, f"{where}.{key}")

    def _result_path(self, path: Any, raw: Shape, result: Shape, where: str) -> Shape:
        if path is None:
            return raw
        parsed = parse_path(str(path))
        if parsed is None or parsed[0]:
            self.report(where, f"ResultPath {path!r} is not a reference path")
            return ANY
        try:
            return place(raw, parsed[1], result)
        except PathError as exc:
            self.report(where, f"ResultPath {path}: {exc}")
            return ANY

    def _rule(self, rule: Mapping[str, Any], data: Shape, context: Shape, where: str) -> None:
        for key in ("And", "Or"):
            for i, inner in enumerate(rule.get(key, [])):
                self._rule(inner, data, context, f"{where}.{key}[{i}]")
        if "Not" in rule:
            self._rule(rule["Not"], data, context, f"{where}.Not")
        if "Variable" in rule and "IsPresent" not in rule:  # IsPresent asks whether the path resolves
            self.read(rule["Variable"], data, context, f"{where}.Variable")
        for key, value in rule.items():
            if key.endswith("Path") and key != "Variable":
                self.read(value, data, context, f"{where}.{key}")

    def _task(self, state: Mapping[str, Any], data: Shape, context: Shape, where: str) -> Shape:
        parameters = (
            self.evaluate(state["Parameters"], data, context, f"{where}.Parameters") if "Parameters" in state else data
        )
        function = function_of(state)
        if function is None:
            return ANY
        self.tasks.add(where)
        contract = self.steps.get(function)
        if contract is None or contract.problem:
            self.report(where, contract.problem if contract else f"no contract for function {function}")
            return ANY
        invoke = str(state.get("Resource", "")).startswith("arn:aws:states:::lambda:invoke")
        payload = parameters
        if invoke:
            given = parameters.get("Payload") if isinstance(parameters, Obj) else ANY
            payload = EMPTY if given is None else given
        if contract.input_model is not None:
            self.supplies(contract.input_model, payload, f"{where}.Parameters.Payload" if invoke else where)
        answer: Shape = model_shape(contract.output_model) if contract.output_model else ANY
        if not invoke:
            return answer
        fields = (("Payload", answer), *LAMBDA_RESULT_FIELDS)
        return Obj((*fields, ("SdkHttpMetadata", ANY), ("SdkResponseMetadata", ANY)), f"{function} invoke result")

    def _map(self, state: Mapping[str, Any], data: Shape, context: Shape, where: str) -> Shape:
        items: Shape = ANY
        if "ItemReader" not in state:
            items = self.read(state.get("ItemsPath", "$"), data, context, f"{where}.ItemsPath")
        if isinstance(items, Arr):
            item = items.item
        elif isinstance(items, Tup):
            item = one_of(items.items)
        elif isinstance(items, AnyShape):
            item = ANY
        else:
            self.report(where, f"ItemsPath {state.get('ItemsPath', '$')}: {describe(items)}, not an array")
            item = ANY
        selector = state.get("ItemSelector", state.get("Parameters"))
        iteration = item
        if selector is not None:
            item_context = context_shape(self.execution_input, item)
            short = where.rsplit("/", 1)[-1]
            iteration = self.evaluate(selector, data, item_context, f"{where}.ItemSelector", f"{short}'s item")
        processor = state.get("ItemProcessor") or state.get("Iterator") or {}
        answer = self.run(processor.get("States", {}), processor.get("StartAt", ""), iteration, f"{where}/")
        return Arr(answer)


def check_definition(
    machine: str, definition: Mapping[str, Any], steps: Mapping[str, StepContract], execution_input: Shape = ANY
) -> Checker:
    """Walk one rendered definition; the checker holds ``problems`` and the ``tasks`` it walked."""
    checker = Checker(machine, steps, execution_input, query_language=definition.get("QueryLanguage", "JSONPath"))
    checker.run(definition.get("States", {}), definition.get("StartAt", ""), execution_input, "")
    return checker


def execution_input_of(properties: Mapping[str, Any], repo: Path = REPO) -> Shape:
    """The shape of a state machine's console input: ``schemas/<name>-input.schema.json`` for
    ``statemachine/<name>.asl.json``; anything when there is no such schema."""
    stem = Path(str(properties["DefinitionUri"])).name.removesuffix(".asl.json")
    schema = repo / "schemas" / f"{stem}-input.schema.json"
    if not schema.exists():
        return ANY
    return schema_shape(json.loads(schema.read_text(encoding="utf-8")), origin="execution input")


def check_all(repo: Path = REPO) -> list[str]:
    """The problems of every state machine of the template (empty when every contract holds)."""
    template = load_template(repo / "template.yaml")
    steps = contracts(template, repo)
    problems: list[str] = []
    for logical_id, properties in state_machines(template).items():
        definition = json.loads(render(logical_id, template, repo))
        checker = check_definition(logical_id, definition, steps, execution_input_of(properties, repo))
        problems.extend(checker.problems)
    return problems


# ---- intrinsic function parsing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Path:
    text: str


@dataclass(frozen=True)
class _Call:
    name: str
    args: tuple[Any, ...]


def _parse_call(text: str, position: int) -> tuple[_Call, int]:
    match = re.compile(r"\s*(States\.[A-Za-z0-9]+)\s*\(").match(text, position)
    if match is None:
        raise ValueError(text)
    name, position = match.group(1), match.end()
    args: list[Any] = []
    while True:
        position = _skip(text, position)
        if position >= len(text):
            raise ValueError(text)
        if text[position] == ")":
            return _Call(name, tuple(args)), position + 1
        arg, position = _parse_arg(text, position)
        args.append(arg)
        position = _skip(text, position)
        if position < len(text) and text[position] == ",":
            position += 1


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _parse_arg(text: str, position: int) -> tuple[Any, int]:
    if text.startswith("States.", position):
        return _parse_call(text, position)
    if text[position] == "'":
        out, position = [], position + 1
        while position < len(text) and text[position] != "'":
            if text[position] == "\\" and position + 1 < len(text):
                position += 1
            out.append(text[position])
            position += 1
        return "".join(out), position + 1
    if text[position] == "$":
        end, depth = position, 0
        while end < len(text) and (depth or text[end] not in ",)"):
            depth += {"[": 1, "]": -1}.get(text[end], 0)
            end += 1
        return _Path(text[position:end].strip()), end
    match = re.compile(r"-?\d+(\.\d+)?|true|false|null").match(text, position)
    if match is None:
        raise ValueError(text)
    return json.loads(match.group(0)), match.end()


# ---- small helpers ----------------------------------------------------------------------------------------


def _allows_none(annotation: Any) -> bool:
    annotation = _unwrap(annotation)
    if annotation is Any or annotation is None or annotation is type(None):
        return True
    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in typing.get_args(
        annotation
    )


def _is_scalar(annotation: Any) -> bool:
    return isinstance(_annotation_shape(annotation), Scalar)


def _name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation)


def main() -> int:
    problems = check_all()
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
