"""Adobe Data Prep's expression language: a lark grammar and an evaluator of the mapping functions.

Sources (AdobeDocs/experience-platform.en): "Data Prep mapping functions" (help/data-prep/functions.md, cited
below as *functions.md* with its section), "Mapping sets overview" (help/data-prep/mapping-set.md) and "Data
format handling" (help/data-prep/data-handling.md).

Syntax (functions.md "Fields"): field names are identifiers (letters, digits, `$`, `_`), dotted for sub-fields
(`data.outcome.type`), indexed with `[n]`; other names are wrapped `${First Name}`. The reserved words the guide
lists (`new, mod, or, ... ge, return`) are Apache Commons JEXL 3's, and the operator list of
`GET /languages/el/operators` (data-prep.yaml, listMappingSetOperators: `+ / ~ - !`, "the word not") is JEXL's:
so operators follow JEXL 3: `+ - * / %` (`mod`, `div`), `== != < <= > >=` (`eq ne lt le gt ge`), `&& || !`
(`and or not`), `? :`, unary `-`, string and number literals, `true false null`, array literals `[a, b]` and
method calls on strings (`"s".equals("S")`, `x.equalsIgnoreCase(y)`: functions.md "String functions").

Values: a missing field reads as null (JEXL's lenient mode). JEXL's lenient arithmetic treats a null operand
as 0, so `null * 1000` is 0 and `dformat(data.x * 1000, ...)` of a null `x` is 1970-01-01: the trap the
project's mappings must guard against (`iif(data.x == null, null, ...)`). `+` concatenates when an operand is
a string that is not a number. Integer `/` truncates (Java long division); `/ 0` is a conversion error.
Comparisons: numbers numerically, otherwise by equality; `<`-style ordering with null is false. `&&`, `||`,
`!`, `?:` take null as false.

Errors: `ExpressionSyntaxError` when the text does not parse or names an unknown function (the mapping set is
refused); `ConversionError` when a function gets an input it cannot convert (wrong type, object where a string
is needed, unparseable number or date): Data Prep nulls that attribute and the row goes on (Data Prep
overview). Unless a function's entry in `FUNCTIONS` says otherwise: a null argument gives null (Java's
commons-lang `StringUtils` convention the string functions follow); a number or boolean where a string is
expected is used in its string form (Java `toString`); an object or array where a string or number is expected
is a `ConversionError`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import uuid
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lark import Lark, Token, Tree
from lark.exceptions import LarkError

__all__ = [
    "FUNCTIONS",
    "ConversionError",
    "ExpressionError",
    "ExpressionSyntaxError",
    "FunctionSpec",
    "evaluate",
    "iso_date_time",
    "parse",
    "validate_expression",
]


class ExpressionError(Exception):
    """Base of the evaluator's errors; `code` is the Data Prep-style error code (simulator's choice)."""

    code = "MAPPER-1000-400"


class ExpressionSyntaxError(ExpressionError):
    """The expression does not parse, or calls a function Data Prep does not have."""

    code = "MAPPER-1001-400"


class ConversionError(ExpressionError):
    """A function or operator got an input it cannot convert; the attribute becomes null, the row goes on."""

    code = "MAPPER-2001-400"


_GRAMMAR = r"""
?start: ternary
?ternary: or_test
        | or_test "?" ternary ":" ternary      -> cond
?or_test: and_test
        | or_test _or and_test                 -> or_
?and_test: not_test
         | and_test _and not_test              -> and_
?not_test: comparison
         | _not not_test                       -> not_
?comparison: sum
           | sum comp_op sum                   -> compare
?sum: product
    | sum add_op product                       -> binop
?product: unary
        | product mul_op unary                 -> binop
?unary: postfix
      | "-" unary                              -> neg
      | "~" unary                              -> complement
?postfix: atom
        | postfix "." NAME "(" [args] ")"      -> method
        | postfix "." (NAME | WRAPPED)         -> attr
        | postfix "[" ternary "]"              -> index
?atom: NUMBER                                  -> number
     | STRING                                  -> string
     | "true"                                  -> true
     | "false"                                 -> false
     | "null"                                  -> null
     | NAME "(" [args] ")"                     -> call
     | NAME                                    -> var
     | WRAPPED                                 -> var
     | "[" [args] "]"                          -> array
     | "(" ternary ")"
args: ternary ("," ternary)*
_or: "||" | "or"
_and: "&&" | "and"
_not: "!" | "not"
!comp_op: "==" | "!=" | "<=" | ">=" | "<" | ">" | "eq" | "ne" | "lt" | "le" | "gt" | "ge"
!add_op: "+" | "-"
!mul_op: "*" | "/" | "%" | "mod" | "div"
NAME: /[A-Za-z_$][A-Za-z0-9_$]*/
WRAPPED.2: /\$\{[^}]*\}/
STRING: /"(\\.|[^"\\])*"/ | /'(\\.|[^'\\])*'/
NUMBER: /[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?[lLfFdD]?/
%ignore /\s+/
"""

_PARSER = Lark(_GRAMMAR, parser="lalr", maybe_placeholders=True)


@lru_cache(maxsize=4096)
def parse(expression: str) -> Tree[Token]:
    """The parse tree of an expression (cached). Raises `ExpressionSyntaxError` naming the position."""
    if not isinstance(expression, str) or not expression.strip():
        raise ExpressionSyntaxError("the expression is empty")
    try:
        tree = _PARSER.parse(expression)
    except LarkError as exc:
        raise ExpressionSyntaxError(f"cannot parse expression {expression!r}: {_short(exc)}") from None
    for call in tree.find_data("call"):
        name = str(call.children[0])
        if name not in FUNCTIONS:
            raise ExpressionSyntaxError(f"unknown function '{name}' in expression {expression!r}")
    for call in tree.find_data("method"):
        name = str(call.children[1])
        if name not in _METHODS:
            raise ExpressionSyntaxError(f"unknown method '{name}' in expression {expression!r}")
    return tree


def _short(exc: LarkError) -> str:
    return str(exc).strip().splitlines()[0][:200]


def validate_expression(expression: str) -> str | None:
    """None when `expression` parses and names only known functions, else the reason (validateExpression).
    A `[*]` index (an expression evaluated per array element: mapping.py) parses as an index."""
    try:
        parse(expression.replace("[*]", "[0]"))
    except ExpressionSyntaxError as exc:
        return str(exc)
    return None


def evaluate(expression: str, record: Mapping[str, Any]) -> Any:
    """Evaluate an `EXPRESSION` mapping source against one source record (fields are read from `record`).

    Returns a JSON value, or a timezone-aware `datetime` for the date functions. Raises
    `ExpressionSyntaxError` or `ConversionError` (see the module docstring).
    """
    return _Evaluator(record).eval(parse(expression))


# --- values ---------------------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _number_or_none(value: Any) -> int | float | None:
    """A number from a number or a numeric string (JEXL coercion); None when it is not one."""
    if _is_number(value):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                return None
            return number if math.isfinite(number) else None
    return None


def _arith(value: Any, op: str) -> int | float:
    if value is None:
        return 0  # JEXL lenient arithmetic: null is 0
    if isinstance(value, bool):
        raise ConversionError(f"'{op}' cannot take a boolean ({value!r})")
    number = _number_or_none(value)
    if number is None:
        raise ConversionError(f"'{op}' needs numbers, got {_describe(value)}")
    return number


def _truthy(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if _is_number(value):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return f"{type(value).__name__} {value!r}"[:80]


def _text(value: Any, what: str) -> str | None:
    """A string argument: None stays None, numbers and booleans in their Java string form."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_number(value):
        return str(value)
    if isinstance(value, dt.datetime):
        return iso_date_time(value)
    raise ConversionError(f"{what} needs a string, got {_describe(value)}")


def _int(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ConversionError(f"{what} needs an integer, got {value!r}")
    number = _number_or_none(value)
    if number is None or (isinstance(number, float) and not number.is_integer()):
        raise ConversionError(f"{what} needs an integer, got {_describe(value)}")
    return int(number)


def iso_date_time(value: dt.datetime) -> str:
    """ISO 8601 in UTC with milliseconds and `Z` (the form Data Prep writes dates in: data-handling.md)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    utc = value.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    na, nb = _number_or_none(a), _number_or_none(b)
    if (_is_number(a) or _is_number(b)) and na is not None and nb is not None:
        return na == nb
    return bool(a == b)


def _order(a: Any, b: Any, op: str) -> bool:
    if a is None or b is None:
        return False
    na, nb = _number_or_none(a), _number_or_none(b)
    if na is not None and nb is not None and not isinstance(a, bool) and not isinstance(b, bool):
        left, right = na, nb
    elif isinstance(a, str) and isinstance(b, str):
        left, right = a, b  # type: ignore[assignment]
    elif isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        left, right = a.timestamp(), b.timestamp()
    else:
        raise ConversionError(f"'{op}' cannot compare {_describe(a)} with {_describe(b)}")
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


_WORD_OPS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "mod": "%", "div": "/"}


def _unescape(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(
        r"\\(u[0-9a-fA-F]{4}|.)",
        lambda m: (
            chr(int(m.group(1)[1:], 16))
            if m.group(1).startswith("u") and len(m.group(1)) == 5
            else {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}.get(m.group(1), m.group(1))
        ),
        body,
    )


class _Evaluator:
    def __init__(self, record: Mapping[str, Any]) -> None:
        self.record = record

    def eval(self, node: Tree[Token] | Token) -> Any:
        if isinstance(node, Token):
            raise ExpressionSyntaxError(f"unexpected token {node!r}")
        handler: Callable[[Tree[Token]], Any] = getattr(self, "_" + str(node.data))
        return handler(node)

    # literals
    def _number(self, node: Tree[Token]) -> Any:
        text = str(node.children[0])
        suffix = text[-1].lower() if text[-1].isalpha() and text[-1].lower() in "lfd" else ""
        text = text.rstrip("lLfFdD") if suffix else text
        if suffix in ("f", "d") or any(c in text for c in ".eE"):
            return float(text)
        return int(text)

    def _string(self, node: Tree[Token]) -> str:
        return _unescape(str(node.children[0]))

    def _true(self, node: Tree[Token]) -> bool:
        return True

    def _false(self, node: Tree[Token]) -> bool:
        return False

    def _null(self, node: Tree[Token]) -> None:
        return None

    def _array(self, node: Tree[Token]) -> list[Any]:
        return self._args(node.children[0])

    def _args(self, args: Any) -> list[Any]:
        if args is None:
            return []
        return [self.eval(child) for child in args.children]

    # fields
    def _var(self, node: Tree[Token]) -> Any:
        return self.record.get(_field_name(node.children[0])) if isinstance(self.record, Mapping) else None

    def _attr(self, node: Tree[Token]) -> Any:
        owner = self.eval(node.children[0])
        name = _field_name(node.children[1])
        if isinstance(owner, Mapping):
            return owner.get(name)
        return None  # a field of null, of a missing field or of a scalar reads as null (JEXL lenient)

    def _index(self, node: Tree[Token]) -> Any:
        owner = self.eval(node.children[0])
        key = self.eval(node.children[1])
        if isinstance(owner, list) and _is_number(key) and not isinstance(key, bool):
            i = int(key)
            return owner[i] if -len(owner) <= i < len(owner) else None
        if isinstance(owner, Mapping) and isinstance(key, str):
            return owner.get(key)
        return None

    # operators
    def _neg(self, node: Tree[Token]) -> Any:
        return -_arith(self.eval(node.children[0]), "-")

    def _complement(self, node: Tree[Token]) -> Any:
        value = _arith(self.eval(node.children[0]), "~")
        if not isinstance(value, int):
            raise ConversionError("'~' needs an integer")
        return ~value

    def _not_(self, node: Tree[Token]) -> bool:
        return not _truthy(self.eval(node.children[0]))

    def _and_(self, node: Tree[Token]) -> bool:
        return _truthy(self.eval(node.children[0])) and _truthy(self.eval(node.children[1]))

    def _or_(self, node: Tree[Token]) -> bool:
        return _truthy(self.eval(node.children[0])) or _truthy(self.eval(node.children[1]))

    def _cond(self, node: Tree[Token]) -> Any:
        test, yes, no = node.children
        return self.eval(yes) if _truthy(self.eval(test)) else self.eval(no)

    def _compare(self, node: Tree[Token]) -> bool:
        left, op_node, right = node.children
        op = str(op_node.children[0])  # type: ignore[union-attr]
        op = _WORD_OPS.get(op, op)
        a, b = self.eval(left), self.eval(right)
        if op == "==":
            return _equal(a, b)
        if op == "!=":
            return not _equal(a, b)
        return _order(a, b, op)

    def _binop(self, node: Tree[Token]) -> Any:
        left, op_node, right = node.children
        op = str(op_node.children[0])  # type: ignore[union-attr]
        op = _WORD_OPS.get(op, op)
        a, b = self.eval(left), self.eval(right)
        if op == "+" and (isinstance(a, str) or isinstance(b, str)):
            na, nb = _number_or_none(a) if a is not None else 0, _number_or_none(b) if b is not None else 0
            if na is None or nb is None or isinstance(a, bool) or isinstance(b, bool):
                return f"{_text(a, '+') or ''}{_text(b, '+') or ''}"
            return na + nb
        x, y = _arith(a, op), _arith(b, op)
        if op == "+":
            return x + y
        if op == "-":
            return x - y
        if op == "*":
            return x * y
        if y == 0:
            raise ConversionError(f"division by zero in '{op}'")
        if op == "/":
            if isinstance(x, int) and isinstance(y, int):
                return int(x / y) if abs(x) < 2**52 else (abs(x) // abs(y)) * (1 if (x >= 0) == (y > 0) else -1)
            return x / y
        return math.fmod(x, y) if isinstance(x, float) or isinstance(y, float) else int(math.fmod(x, y))

    # calls
    def _call(self, node: Tree[Token]) -> Any:
        name = str(node.children[0])
        spec = FUNCTIONS[name]
        args = self._args(node.children[1])
        if not spec.min_args <= len(args) <= (spec.max_args if spec.max_args is not None else len(args)):
            raise ConversionError(f"{name} takes {spec.arity_text} arguments, got {len(args)}")
        if spec.needs_record:
            return spec.impl(self.record, *args)
        return spec.impl(*args)

    def _method(self, node: Tree[Token]) -> Any:
        receiver = self.eval(node.children[0])
        name = str(node.children[1])
        args = self._args(node.children[2])
        return _METHODS[name](receiver, *args)


def _field_name(token: Token | Tree[Token]) -> str:
    text = str(token)
    return text[2:-1] if text.startswith("${") else text


# --- functions ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionSpec:
    """One Data Prep function: guide section, argument counts, null/wrong-type rules, implementation."""

    name: str
    section: str  # the functions.md section that documents it
    nulls: str  # what null, missing, wrong-typed and object inputs give
    impl: Callable[..., Any]
    min_args: int
    max_args: int | None
    needs_record: bool = False

    @property
    def arity_text(self) -> str:
        if self.max_args == self.min_args:
            return str(self.min_args)
        return f"{self.min_args} to {self.max_args}" if self.max_args is not None else f"at least {self.min_args}"


FUNCTIONS: dict[str, FunctionSpec] = {}


def _fn(
    names: str, section: str, nulls: str, min_args: int, max_args: int | None, needs_record: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(impl: Callable[..., Any]) -> Callable[..., Any]:
        for name in names.split():
            FUNCTIONS[name] = FunctionSpec(name, section, nulls, impl, min_args, max_args, needs_record)
        return impl

    return register


_STR = "String functions"
_NULL_IN = "null input gives null; numbers/booleans are used as strings; an object or array is a conversion error"


@_fn("concat", _STR, "null arguments are skipped (never written as 'null'); all null gives null", 1, None)
def _concat(*values: Any) -> str | None:
    parts = [_text(v, "concat") for v in values]
    kept = [p for p in parts if p is not None]
    return "".join(kept) if kept else None


@_fn("explode", _STR, _NULL_IN + "; REGEX defaults to ','", 1, 2)
def _explode(value: Any, regex: Any = ",") -> list[str] | None:
    text = _text(value, "explode")
    if text is None:
        return None
    pattern = _text(regex, "explode REGEX") or ","
    try:
        return [part for part in re.split(pattern, text) if part != ""]
    except re.error as exc:
        raise ConversionError(f"explode: bad regular expression {pattern!r}: {exc}") from None


@_fn("instr", _STR, _NULL_IN + "; 0-based index as in the guide's example (6), -1 when absent", 2, 4)
def _instr(value: Any, sub: Any, start: Any = 0, occurrence: Any = 1) -> int | None:
    text, needle = _text(value, "instr"), _text(sub, "instr")
    if text is None or needle is None:
        return None
    position = (_int(start, "instr START_POSITION") or 0) - 1
    for _ in range(max(1, _int(occurrence, "instr OCCURRENCE") or 1)):
        position = text.find(needle, position + 1)
        if position < 0:
            return -1
    return position


@_fn("replacestr", _STR, _NULL_IN + "; a null TO_FIND or TO_REPLACE leaves the input unchanged", 3, 3)
def _replacestr(value: Any, find: Any, replace: Any) -> str | None:
    text = _text(value, "replacestr")
    needle, repl = _text(find, "replacestr"), _text(replace, "replacestr")
    if text is None or not needle or repl is None:
        return text
    return text.replace(needle, repl)


@_fn("substr", _STR, _NULL_IN + "; indexes past the end are clipped", 3, 3)
def _substr(value: Any, start: Any, length: Any) -> str | None:
    text = _text(value, "substr")
    begin, count = _int(start, "substr START_INDEX"), _int(length, "substr LENGTH")
    if text is None or begin is None or count is None:
        return None
    begin = max(0, begin)
    return text[begin : begin + max(0, count)]


@_fn("lower lcase", _STR, _NULL_IN, 1, 1)
def _lower(value: Any) -> str | None:
    text = _text(value, "lower")
    return None if text is None else text.lower()


@_fn("upper ucase", _STR, _NULL_IN, 1, 1)
def _upper(value: Any) -> str | None:
    text = _text(value, "upper")
    return None if text is None else text.upper()


@_fn("split", _STR, _NULL_IN + "; splits on any of SEPARATOR's characters, no empty parts", 2, 2)
def _split(value: Any, separator: Any) -> list[str] | None:
    text, sep = _text(value, "split"), _text(separator, "split SEPARATOR")
    if text is None:
        return None
    if not sep:
        return text.split()
    return [part for part in re.split("[" + re.escape(sep) + "]", text) if part != ""]


@_fn("join", _STR, "null SEPARATOR is ''; null elements are skipped; a non-array OBJECTS is one element", 2, None)
def _join(separator: Any, *objects: Any) -> str | None:
    sep = _text(separator, "join SEPARATOR") or ""
    items = objects[0] if len(objects) == 1 and isinstance(objects[0], list) else list(objects)
    if len(objects) == 1 and objects[0] is None:
        return None
    return sep.join(t for t in (_text(item, "join") for item in items) if t is not None)


def _pad(value: Any, count: Any, padding: Any, left: bool) -> str | None:
    text = _text(value, "pad")
    size = _int(count, "pad COUNT")
    if text is None or size is None:
        return text
    pad = _text(padding, "pad PADDING") or " "
    missing = size - len(text)
    if missing <= 0:
        return text
    fill = (pad * (missing // len(pad) + 1))[:missing]
    return fill + text if left else text + fill


@_fn("lpad", _STR, _NULL_IN + "; a null or empty PADDING is one space (guide)", 3, 3)
def _lpad(value: Any, count: Any, padding: Any) -> str | None:
    return _pad(value, count, padding, left=True)


@_fn("rpad", _STR, _NULL_IN + "; a null or empty PADDING is one space (guide)", 3, 3)
def _rpad(value: Any, count: Any, padding: Any) -> str | None:
    return _pad(value, count, padding, left=False)


@_fn("left", _STR, _NULL_IN + "; a negative COUNT gives ''", 2, 2)
def _left(value: Any, count: Any) -> str | None:
    text, n = _text(value, "left"), _int(count, "left COUNT")
    return None if text is None or n is None else text[: max(0, n)]


@_fn("right", _STR, _NULL_IN + "; a negative COUNT gives ''", 2, 2)
def _right(value: Any, count: Any) -> str | None:
    text, n = _text(value, "right"), _int(count, "right COUNT")
    if text is None or n is None:
        return None
    return text[len(text) - n :] if 0 < n <= len(text) else (text if n > len(text) else "")


@_fn("ltrim", _STR, _NULL_IN, 1, 1)
def _ltrim(value: Any) -> str | None:
    text = _text(value, "ltrim")
    return None if text is None else text.lstrip()


@_fn("rtrim", _STR, _NULL_IN, 1, 1)
def _rtrim(value: Any) -> str | None:
    text = _text(value, "rtrim")
    return None if text is None else text.rstrip()


@_fn("trim", _STR, _NULL_IN, 1, 1)
def _trim(value: Any) -> str | None:
    text = _text(value, "trim")
    return None if text is None else text.strip()


def _equals(receiver: Any, other: Any) -> bool | None:
    if receiver is None:
        return None  # a method of null is null (JEXL lenient)
    return _text(receiver, "equals") == _text(other, "equals")


def _equals_ignore_case(receiver: Any, other: Any) -> bool | None:
    if receiver is None:
        return None
    a, b = _text(receiver, "equalsIgnoreCase"), _text(other, "equalsIgnoreCase")
    return b is not None and a is not None and a.casefold() == b.casefold()


# Methods on a value (functions.md "String functions": STRING1.equals(STRING2), STRING1.equalsIgnoreCase(...)).
_METHODS: dict[str, Callable[..., Any]] = {"equals": _equals, "equalsIgnoreCase": _equals_ignore_case}

_RE = "Regular expression functions"


def _compile(regex: Any, what: str) -> re.Pattern[str]:
    pattern = _text(regex, what)
    if pattern is None:
        raise ConversionError(f"{what}: the regular expression is null")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConversionError(f"{what}: bad regular expression {pattern!r}: {exc}") from None


@_fn("extract_regex", _RE, _NULL_IN + "; no match gives null; the result is [whole match, group 1, ...]", 2, 2)
def _extract_regex(value: Any, regex: Any) -> list[str | None] | None:
    text = _text(value, "extract_regex")
    if text is None:
        return None
    match = _compile(regex, "extract_regex").search(text)
    return None if match is None else [match.group(0), *match.groups()]


@_fn("matches_regex", _RE, "null input gives false; the whole string must match (Java String.matches)", 2, 2)
def _matches_regex(value: Any, regex: Any) -> bool:
    text = _text(value, "matches_regex")
    return text is not None and _compile(regex, "matches_regex").fullmatch(text) is not None


_HASH = "Hashing functions"
_CHARSETS = {"UTF-8": "utf-8", "UTF-16": "utf-16", "ISO-8859-1": "latin-1", "US-ASCII": "ascii"}


def _digest_input(value: Any, charset: Any, what: str) -> bytes | None:
    text = _text(value, what)
    if text is None:
        return None
    name = _text(charset, what) or "UTF-8"
    encoding = _CHARSETS.get(name.upper())
    if encoding is None:
        raise ConversionError(f"{what}: unknown CHARSET {name!r}; one of {sorted(_CHARSETS)}")
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        raise ConversionError(f"{what}: the input cannot be encoded in {name}") from None


def _hasher(algorithm: str) -> Callable[..., str | None]:
    def digest(value: Any, charset: Any = "UTF-8") -> str | None:
        data = _digest_input(value, charset, algorithm)
        return None if data is None else hashlib.new(algorithm, data).hexdigest()

    return digest


for _algorithm in ("sha1", "sha256", "sha512", "md5"):
    _fn(_algorithm, _HASH, _NULL_IN + "; CHARSET defaults to UTF-8; lower-case hex", 1, 2)(_hasher(_algorithm))


@_fn("crc32", _HASH, _NULL_IN + "; CHARSET defaults to UTF-8; 8 hex digits", 1, 2)
def _crc32(value: Any, charset: Any = "UTF-8") -> str | None:
    data = _digest_input(value, charset, "crc32")
    return None if data is None else f"{zlib.crc32(data):08x}"


_URL = "URL functions"
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "sftp": 22, "ssh": 22}


def _url(value: Any, what: str) -> Any:
    text = _text(value, what)
    if not text:
        return None
    parts = urlsplit(text)
    return parts if parts.scheme and parts.netloc else None


@_fn("get_url_protocol", _URL, "null or invalid URL gives null (guide)", 1, 1)
def _get_url_protocol(value: Any) -> str | None:
    parts = _url(value, "get_url_protocol")
    return None if parts is None else parts.scheme


@_fn("get_url_host", _URL, "null or invalid URL gives null (guide)", 1, 1)
def _get_url_host(value: Any) -> str | None:
    parts = _url(value, "get_url_host")
    return None if parts is None else parts.hostname


@_fn("get_url_port", _URL, "null or invalid URL gives null (guide); the scheme's default port when absent", 1, 1)
def _get_url_port(value: Any) -> int | None:
    parts = _url(value, "get_url_port")
    if parts is None:
        return None
    try:
        return parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None


@_fn("get_url_path", _URL, "null or invalid URL gives null; FULL_PATH false gives the last segment", 1, 2)
def _get_url_path(value: Any, full_path: Any = True) -> str | None:
    parts = _url(value, "get_url_path")
    if parts is None:
        return None
    return parts.path if full_path is None or _truthy(full_path) else parts.path.rsplit("/", 1)[-1]


@_fn("get_url_query_str", _URL, "null or invalid URL gives null; ANCHOR retain|remove|append (guide)", 2, 2)
def _get_url_query_str(value: Any, anchor: Any) -> dict[str, str] | None:
    parts = _url(value, "get_url_query_str")
    if parts is None:
        return None
    mode = (_text(anchor, "get_url_query_str ANCHOR") or "").lower()
    if mode not in ("retain", "remove", "append"):
        raise ConversionError("get_url_query_str: ANCHOR must be retain, remove or append")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if parts.fragment and query and mode == "retain":
        last = list(query)[-1]
        query[last] = f"{query[last]}#{parts.fragment}"
    elif parts.fragment and mode == "append":
        query["_anchor_"] = parts.fragment
    return query


# --- dates ------------------------------------------------------------------------------------------------------

_DATE = "Date and time functions"
_PATTERN_TOKEN = re.compile(r"'(?:[^']|'')*'|([A-Za-z])\1*|.", re.S)


def _zone(value: Any) -> dt.tzinfo:
    name = _text(value, "timezone")
    if not name or name.upper() in ("UTC", "Z", "GMT"):
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConversionError(f"unknown timezone {name!r}") from None


def _offset_text(value: dt.datetime, colon: bool, z_for_zero: bool) -> str:
    offset = value.utcoffset() or dt.timedelta(0)
    if z_for_zero and offset == dt.timedelta(0):
        return "Z"
    total = int(offset.total_seconds() // 60)
    sign = "+" if total >= 0 else "-"
    hours, minutes = divmod(abs(total), 60)
    return f"{sign}{hours:02d}:{minutes:02d}" if colon else f"{sign}{hours:02d}{minutes:02d}"


def _quoted(token: str) -> str:
    """The text of a quoted pattern part (`'T'` -> T, `''` -> ')."""
    return "'" if token == "''" else token[1:-1].replace("''", "'")  # noqa: S105 (a date pattern, not a secret)


def java_format(value: dt.datetime, pattern: str) -> str:
    """Format like Java's DateTimeFormatter (the FORMAT of dformat/format: functions.md uses its patterns).

    Supported letters: y M d D H h m s S a E X x Z z u; quoted text and other characters are copied.
    Raises `ConversionError` for another letter.
    """
    out: list[str] = []
    for match in _PATTERN_TOKEN.finditer(pattern):
        token = match.group(0)
        if token.startswith("'"):
            out.append(_quoted(token))
            continue
        letter, n = token[0], len(token)
        if not letter.isalpha():
            out.append(token)
            continue
        if letter in "yu":
            out.append(f"{value.year % 100:02d}" if n == 2 else f"{value.year:0{n}d}")
        elif letter in "ML":
            out.append(value.strftime("%B" if n >= 4 else "%b") if n >= 3 else f"{value.month:0{n}d}")
        elif letter == "d":
            out.append(f"{value.day:0{n}d}")
        elif letter == "D":
            out.append(f"{value.timetuple().tm_yday:0{n}d}")
        elif letter == "H":
            out.append(f"{value.hour:0{n}d}")
        elif letter == "h":
            out.append(f"{(value.hour % 12) or 12:0{n}d}")
        elif letter == "m":
            out.append(f"{value.minute:0{n}d}")
        elif letter == "s":
            out.append(f"{value.second:0{n}d}")
        elif letter == "S":
            out.append(f"{value.microsecond:06d}000"[:n])
        elif letter == "a":
            out.append("AM" if value.hour < 12 else "PM")
        elif letter == "E":
            out.append(value.strftime("%A" if n >= 4 else "%a"))
        elif letter in "Xx":
            out.append(_offset_text(value, colon=n >= 3, z_for_zero=letter == "X"))
        elif letter == "Z":
            out.append(_offset_text(value, colon=n >= 5, z_for_zero=False))
        elif letter == "z":
            out.append(value.tzname() or "UTC")
        else:
            raise ConversionError(f"unsupported date pattern letter {letter!r} in {pattern!r}")
    return "".join(out)


_STRPTIME = {"yyyy": "%Y", "yy": "%y", "MM": "%m", "M": "%m", "MMM": "%b", "MMMM": "%B", "dd": "%d", "d": "%d",
             "HH": "%H", "H": "%H", "hh": "%I", "h": "%I", "mm": "%M", "m": "%M", "ss": "%S", "s": "%S",
             "a": "%p", "EEE": "%a", "EEEE": "%A", "X": "%z", "XX": "%z", "XXX": "%z", "Z": "%z", "x": "%z",
             "xxx": "%z", "D": "%j", "DDD": "%j"}  # fmt: skip


def _parse_with_pattern(text: str, pattern: str) -> dt.datetime:
    directives: list[str] = []
    for match in _PATTERN_TOKEN.finditer(pattern):
        token = match.group(0)
        if token.startswith("'"):
            directives.append(_quoted(token).replace("%", "%%"))
        elif token[0] == "S":
            directives.append("%f")
        elif token[0].isalpha():
            if token not in _STRPTIME:
                raise ConversionError(f"unsupported date pattern {token!r} in {pattern!r}")
            directives.append(_STRPTIME[token])
        else:
            directives.append(token.replace("%", "%%"))
    candidate = re.sub(r"Z$", "+0000", text) if "%z" in directives else text
    try:
        parsed = dt.datetime.strptime(candidate, "".join(directives))
    except ValueError:
        raise ConversionError(f"date {text!r} does not match the format {pattern!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


# Formats date(DATE) tries (data-handling.md "Dates": the ISO 8601 forms and the listed date formats).
_DEFAULT_FORMATS = ("yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd", "MM/dd/yyyy", "dd-MMM-yyyy",
                    "yyyy/MM/dd HH:mm:ss", "yyyy/MM/dd")  # fmt: skip


def _to_date(value: Any, fmt: Any = None, what: str = "date") -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value
    text = _text(value, what) or ""
    if fmt is not None:
        return _parse_with_pattern(text.strip(), _text(fmt, what + " FORMAT") or "")
    try:
        parsed = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    except ValueError:
        pass
    for pattern in _DEFAULT_FORMATS:
        try:
            return _parse_with_pattern(text.strip(), pattern)
        except ConversionError:
            continue
    raise ConversionError(f"{what}: {text!r} is not a date in a format Data Prep recognises")


@_fn("now", _DATE, "no arguments; the current time (UTC)", 0, 0)
def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@_fn("timestamp", _DATE, "no arguments; the current Unix time in milliseconds", 0, 0)
def _timestamp() -> int:
    return int(dt.datetime.now(dt.UTC).timestamp() * 1000)


@_fn("format", _DATE, "null DATE gives null; a string DATE is parsed as by date(); a bad FORMAT is an error", 2, 2)
def _format(value: Any, fmt: Any) -> str | None:
    date = _to_date(value, what="format")
    pattern = _text(fmt, "format FORMAT")
    if date is None or pattern is None:
        return None
    return java_format(date, pattern)


@_fn(
    "dformat",
    _DATE,
    "null TIMESTAMP gives null, but `null * 1000` is 0 (JEXL) so it formats 1970-01-01; a numeric string is "
    "accepted; a boolean, non-numeric string, object or array is a conversion error; UTC",
    2,
    2,
)
def _dformat(value: Any, fmt: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool | dict | list):
        raise ConversionError(f"dformat needs a timestamp in milliseconds, got {_describe(value)}")
    millis = _number_or_none(value)
    if millis is None:
        raise ConversionError(f"dformat needs a timestamp in milliseconds, got {_describe(value)}")
    pattern = _text(fmt, "dformat FORMAT")
    if pattern is None:
        return None
    try:
        moment = dt.datetime.fromtimestamp(millis / 1000, dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise ConversionError(f"dformat: {millis!r} ms is out of range") from None
    return java_format(moment, pattern)


@_fn("date", _DATE, "null DATE gives DEFAULT_DATE (or null); an unparseable DATE is a conversion error", 1, 3)
def _date(value: Any, fmt: Any = None, default: Any = None) -> dt.datetime | None:
    if value is None or value == "":
        return _to_date(default, what="date DEFAULT_DATE")
    return _to_date(value, fmt, "date")


_PARTS = {
    "year": "year", "yyyy": "year", "yy": "year", "quarter": "quarter", "qq": "quarter", "q": "quarter",
    "month": "month", "mm": "month", "m": "month", "dayofyear": "dayofyear", "dy": "dayofyear", "y": "dayofyear",
    "day": "day", "dd": "day", "d": "day", "week": "week", "ww": "week", "w": "week", "weekday": "weekday",
    "dw": "weekday", "hour": "hour", "hh": "hour", "hh24": "hour", "hh12": "hour12", "minute": "minute",
    "mi": "minute", "n": "minute", "second": "second", "ss": "second", "s": "second",
    "millisecond": "millisecond", "ms": "millisecond",
}  # fmt: skip


@_fn("date_part", _DATE, "null DATE gives null; an unknown COMPONENT is a conversion error", 2, 2)
def _date_part(component: Any, value: Any) -> int | None:
    date = _to_date(value, what="date_part")
    name = _text(component, "date_part COMPONENT")
    if date is None or name is None:
        return None
    part = _PARTS.get(name.lower())
    if part is None:
        raise ConversionError(f"date_part: unknown component {name!r}")
    return {
        "year": date.year,
        "quarter": (date.month - 1) // 3 + 1,
        "month": date.month,
        "dayofyear": date.timetuple().tm_yday,
        "day": date.day,
        "week": date.isocalendar().week,
        "weekday": date.isoweekday(),
        "hour": date.hour,
        "hour12": (date.hour % 12) or 12,
        "minute": date.minute,
        "second": date.second,
        "millisecond": date.microsecond // 1000,
    }[part]


@_fn("set_date_part", _DATE, "null DATE gives null; an impossible value is a conversion error", 3, 3)
def _set_date_part(component: Any, value: Any, date_value: Any) -> dt.datetime | None:
    date = _to_date(date_value, what="set_date_part")
    name, number = _text(component, "set_date_part COMPONENT"), _int(value, "set_date_part VALUE")
    if date is None or name is None or number is None:
        return None
    field = {"year": "year", "month": "month", "day": "day", "hour": "hour", "minute": "minute",
             "second": "second"}.get(_PARTS.get(name.lower(), ""))  # fmt: skip
    if field is None:
        raise ConversionError(f"set_date_part: unsupported component {name!r}")
    try:
        return date.replace(**{field: number})  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConversionError(f"set_date_part: {exc}") from None


@_fn("make_date_time make_timestamp", _DATE, "any null part gives null; out-of-range parts are an error", 8, 8)
def _make_date_time(*parts: Any) -> dt.datetime | None:
    *numbers, zone = parts
    values = [_int(n, "make_date_time") for n in numbers]
    if any(v is None for v in values):
        return None
    year, month, day, hour, minute, second, nano = (int(v) for v in values)  # type: ignore[arg-type]
    try:
        return dt.datetime(year, month, day, hour, minute, second, nano // 1000, tzinfo=_zone(zone))
    except ValueError as exc:
        raise ConversionError(f"make_date_time: {exc}") from None


@_fn("zone_date_to_utc", _DATE, "null gives null; a string is parsed as by date()", 1, 1)
def _zone_date_to_utc(value: Any) -> dt.datetime | None:
    date = _to_date(value, what="zone_date_to_utc")
    return None if date is None else date.astimezone(dt.UTC)


@_fn("zone_date_to_zone", _DATE, "null gives null; an unknown ZONE is a conversion error", 2, 2)
def _zone_date_to_zone(value: Any, zone: Any) -> dt.datetime | None:
    date = _to_date(value, what="zone_date_to_zone")
    return None if date is None else date.astimezone(_zone(zone))


# --- hierarchies ------------------------------------------------------------------------------------------------

_OBJ = "Hierarchies - Objects"
_ARR = "Hierarchies - Arrays"


@_fn("size_of", _OBJ, "null gives 0; a string gives its length; a number or boolean is a conversion error", 1, 1)
def _size_of(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, list | dict | str):
        return len(value)
    raise ConversionError(f"size_of needs an array, object or string, got {_describe(value)}")


@_fn("is_empty", _OBJ, "null and missing give true; '', [] and {} give true; other scalars give false", 1, 1)
def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, list | dict | str) and len(value) == 0)


@_fn(
    "arrays_to_object",
    _OBJ,
    "pairs of KEY, ARRAY -> one object per index; shorter or null arrays leave the key out; a non-array is an error",
    2,
    None,
)
def _arrays_to_object(*pairs: Any) -> list[dict[str, Any]]:
    if len(pairs) % 2:
        raise ConversionError("arrays_to_object takes KEY, ARRAY pairs")
    columns: list[tuple[str, list[Any]]] = []
    for key, values in zip(pairs[::2], pairs[1::2], strict=True):
        name = _text(key, "arrays_to_object KEY")
        if name is None:
            raise ConversionError("arrays_to_object: a KEY is null")
        if values is not None and not isinstance(values, list):
            raise ConversionError(f"arrays_to_object: '{name}' needs an array, got {_describe(values)}")
        columns.append((name, values or []))
    length = max((len(v) for _, v in columns), default=0)
    return [{k: v[i] for k, v in columns if i < len(v) and v[i] is not None} for i in range(length)]


@_fn("to_object", _OBJ, "KEY, VALUE pairs; a null value leaves the key out; an odd count or null KEY is an error",
     2, None)  # fmt: skip
def _to_object(*pairs: Any) -> dict[str, Any]:
    if len(pairs) % 2:
        raise ConversionError("to_object takes KEY, VALUE pairs")
    out: dict[str, Any] = {}
    for key, value in zip(pairs[::2], pairs[1::2], strict=True):
        name = _text(key, "to_object KEY")
        if name is None:
            raise ConversionError("to_object: a KEY is null")
        if value is not None:
            out[name] = value
    return out


@_fn("str_to_object", _OBJ, _NULL_IN + "; VALUE_DELIMITER ':' and FIELD_DELIMITER ',' by default", 1, 3)
def _str_to_object(value: Any, value_delimiter: Any = None, field_delimiter: Any = None) -> dict[str, str] | None:
    text = _text(value, "str_to_object")
    if text is None:
        return None
    vd = _text(value_delimiter, "str_to_object") or ":"
    fd = _text(field_delimiter, "str_to_object") or ","
    out: dict[str, str] = {}
    for item in text.split(fd):
        if vd in item:
            key, val = item.split(vd, 1)
            out[key.strip()] = val.strip()
    return out


@_fn("contains_key", _OBJ, "INPUT is a path string; true when it exists in the source record (even if null)", 1, 1,
     needs_record=True)  # fmt: skip
def _contains_key(record: Mapping[str, Any], path: Any) -> bool:
    text = _text(path, "contains_key")
    if not text:
        return False
    node: Any = record
    for part in text.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


@_fn("nullify", _OBJ, "no arguments; always null (the attribute is not written)", 0, 0)
def _nullify() -> None:
    return None


@_fn("get_keys", _OBJ, "null gives null; a non-object is a conversion error", 1, 1)
def _get_keys(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConversionError(f"get_keys needs an object, got {_describe(value)}")
    return list(value)


@_fn("get_values", _OBJ, _NULL_IN + "; null/empty delimiters default to ':' and ',' (guide); absent key: null",
     2, 4)  # fmt: skip
def _get_values(value: Any, key: Any, value_delimiter: Any = None, field_delimiter: Any = None) -> str | None:
    found = _str_to_object(value, value_delimiter, field_delimiter)
    name = _text(key, "get_values KEY")
    return None if found is None or name is None else found.get(name.strip())


def _varargs(values: tuple[Any, ...]) -> list[Any]:
    """One array argument stands for its elements (functions.md shows both `first("1","2")` and arrays)."""
    if len(values) == 1 and isinstance(values[0], list):
        return list(values[0])
    return list(values)


@_fn("coalesce", _ARR, "the first non-null argument (or element of one array argument); all null gives null", 1,
     None)  # fmt: skip
def _coalesce(*values: Any) -> Any:
    return next((v for v in _varargs(values) if v is not None), None)


@_fn("first", _ARR, "null or empty array gives null", 1, None)
def _first(*values: Any) -> Any:
    items = _varargs(values)
    return items[0] if items else None


@_fn("last", _ARR, "null or empty array gives null", 1, None)
def _last(*values: Any) -> Any:
    items = _varargs(values)
    return items[-1] if items else None


@_fn("add_to_array", _ARR, "a null ARRAY is []; a non-array ARRAY is a conversion error", 1, None)
def _add_to_array(array: Any, *values: Any) -> list[Any]:
    if array is not None and not isinstance(array, list):
        raise ConversionError(f"add_to_array needs an array, got {_describe(array)}")
    return [*(array or []), *values]


@_fn("join_arrays", _ARR, "null arrays are skipped; a non-array is a conversion error", 1, None)
def _join_arrays(*arrays: Any) -> list[Any]:
    out: list[Any] = []
    for array in arrays:
        if array is None:
            continue
        if not isinstance(array, list):
            raise ConversionError(f"join_arrays needs arrays, got {_describe(array)}")
        out.extend(array)
    return out


@_fn("to_array", _ARR, "INCLUDE_NULLS must be a boolean (else a conversion error); nulls kept only when true", 1,
     None)  # fmt: skip
def _to_array(include_nulls: Any, *values: Any) -> list[Any]:
    if not isinstance(include_nulls, bool):
        raise ConversionError(f"to_array: INCLUDE_NULLS must be a boolean, got {_describe(include_nulls)}")
    return [v for v in values if include_nulls or v is not None]


_LOGIC = "Logical operators"


@_fn("decode", _LOGIC, "KEY compared with == (null matches null); no match and no default gives null", 1, None)
def _decode(key: Any, *options: Any) -> Any:
    for i in range(0, len(options) - 1, 2):
        if _equal(key, options[i]):
            return options[i + 1]
    return options[-1] if len(options) % 2 else None


@_fn(
    "iif",
    _LOGIC,
    "EXPRESSION must be a boolean: null or another type is a conversion error; arguments are evaluated first "
    "(a Java call), so an error in the unused branch still nulls the attribute",
    3,
    3,
)
def _iif(condition: Any, when_true: Any, when_false: Any) -> Any:
    if not isinstance(condition, bool):
        raise ConversionError(f"iif: EXPRESSION must be a boolean, got {_describe(condition)}")
    return when_true if condition else when_false


_AGG = "Aggregation"


def _aggregate(values: tuple[Any, ...], pick: Callable[..., Any], name: str) -> Any:
    items = [v for v in _varargs(values) if v is not None]
    if not items:
        return None
    if all(_is_number(v) for v in items) or all(isinstance(v, str) for v in items):
        return pick(items)
    raise ConversionError(f"{name}: the arguments cannot be compared ({', '.join(_describe(v) for v in items)})")


@_fn("min", _AGG, "nulls are skipped; all null gives null; mixed types are a conversion error", 1, None)
def _min(*values: Any) -> Any:
    return _aggregate(values, min, "min")


@_fn("max", _AGG, "nulls are skipped; all null gives null; mixed types are a conversion error", 1, None)
def _max(*values: Any) -> Any:
    return _aggregate(values, max, "max")


_CONV = "Type conversions"


def _decimal(value: Any, what: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool | dict | list):
        raise ConversionError(f"{what} needs a number or numeric string, got {_describe(value)}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ConversionError(f"{what}: {value!r} is not a number") from None
    if not number.is_finite():
        raise ConversionError(f"{what}: {value!r} is not a finite number")
    return number


@_fn(
    "to_bigint",
    _CONV,
    "null gives null; a fraction is a conversion error (Java BigInteger; the guide's '1000000.34' sample "
    "contradicts the BigInteger it names)",
    1,
    1,
)
def _to_bigint(value: Any) -> int | None:
    number = _decimal(value, "to_bigint")
    if number is None:
        return None
    if number != number.to_integral_value():
        raise ConversionError(f"to_bigint: {value!r} is not an integer")
    return int(number)


@_fn("to_decimal", _CONV, "null gives null; a non-numeric string, boolean or object is a conversion error", 1, 1)
def _to_decimal(value: Any) -> float | None:
    number = _decimal(value, "to_decimal")
    return None if number is None else float(number)


@_fn("to_float", _CONV, "null gives null; a non-numeric string, boolean or object is a conversion error", 1, 1)
def _to_float(value: Any) -> float | None:
    number = _decimal(value, "to_float")
    return None if number is None else float(number)


@_fn("to_integer", _CONV, "null gives null; a fraction or a value outside 32 bits is a conversion error", 1, 1)
def _to_integer(value: Any) -> int | None:
    number = _to_bigint(value)
    if number is not None and not -(2**31) <= number < 2**31:
        raise ConversionError(f"to_integer: {value!r} is outside the 32-bit range")
    return number


@_fn("json_to_object", "JSON functions", "null gives null; an object/array is returned as is; bad JSON is an "
     "error", 1, 1)  # fmt: skip
def _json_to_object(value: Any) -> Any:
    if value is None or isinstance(value, dict | list):
        return value
    text = _text(value, "json_to_object")
    try:
        return json.loads(text or "")
    except ValueError as exc:
        raise ConversionError(f"json_to_object: not JSON: {exc}") from None


@_fn("uuid guid", "Special operations", "no arguments; a random UUID string", 0, 0)
def _uuid() -> str:
    return str(uuid.uuid4())
