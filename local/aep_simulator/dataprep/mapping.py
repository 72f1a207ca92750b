"""Run a Data Prep mapping set on one source record (help/data-prep/mapping-set.md, "Configuring mapping
sources" and "Configuring mapping destinations").

Source types: `ATTRIBUTE` reads a dotted path (`data.outcome.type`; `\\.` escapes a dot in a name; `[n]` an
array index; `[*]` every element: "Iterative operations on arrays"); `EXPRESSION` evaluates the expression
(expressions.py); `STATIC` is the literal `source` text ("Constant value").

Destinations: dotted paths create the enclosing objects; `[n]` writes an index; `[*]` writes element i of an
iterated source into element i of the destination array. A source path with `[*]` mapped to a destination with
`[*]` keeps the elements aligned (`data.fee_details[*].amount` -> `...fee_details[*].amount`). Adobe's
example output for `customerInfo.emails[*].name` -> `pi[*].names` shows each value wrapped as
`{"names": {"name": ...}}`; the simulator writes the value itself (`{"names": "John Smith"}`), the reading
the rest of that page ("map the values to the target") describes. An array source without `[*]` is copied
whole ("Array to array or object to object").

Nulls: a null or missing value is not written, and null members of copied objects are dropped, unless the
mapping set has `allowNullValues: true` (MappingSet schema in data-prep.yaml). An expression or conversion
error nulls that one attribute and is reported in `MappingResult.errors`; the row goes on (Data Prep
overview).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .expressions import ConversionError, ExpressionError, evaluate, iso_date_time

__all__ = ["MappingError", "MappingResult", "apply_mapping_set", "split_path"]

WILDCARD = "*"
PathPart = str | int

#: Converts a value to the type of the destination field; raises ConversionError (xdm.coercer builds one).
Coercer = Callable[[str, Any], Any]


@dataclass(frozen=True)
class MappingError:
    """An attribute that could not be computed: it was nulled (the row itself may still be accepted)."""

    destination: str
    source: str
    source_type: str
    code: str
    message: str

    def as_transform_error(self) -> dict[str, str]:
        """The PreviewResponse `errors[]` item (TransformErrorInfo in data-prep.yaml)."""
        return {
            "destination": self.destination,
            "source": self.source,
            "sourceType": self.source_type,
            "exception": f"{self.code}: {self.message}",
        }


@dataclass
class MappingResult:
    row: dict[str, Any] = field(default_factory=dict)
    errors: list[MappingError] = field(default_factory=list)


class _Many(list[Any]):
    """The values of a `[*]` source, one per array element (None where the element lacks the field)."""


_SEGMENT = re.compile(r"((?:\\.|[^.\[\]\\])*)((?:\[(?:\*|-?\d+)\])*)")


def split_path(path: str) -> list[PathPart]:
    """`a.b[0].c[*]` -> ["a", "b", 0, "c", "*"]. Raises ValueError for an empty or malformed path."""
    if not isinstance(path, str) or not path:
        raise ValueError("empty path")
    parts: list[PathPart] = []
    segments = re.split(r"(?<!\\)\.", path)
    for segment in segments:
        match = _SEGMENT.fullmatch(segment)
        if match is None or (not match.group(1) and not match.group(2)):
            raise ValueError(f"malformed path {path!r}")
        if match.group(1):
            parts.append(match.group(1).replace("\\.", "."))
        for index in re.findall(r"\[(\*|-?\d+)\]", match.group(2)):
            parts.append(WILDCARD if index == WILDCARD else int(index))
    return parts


def _read(node: Any, parts: list[PathPart]) -> Any:
    for i, part in enumerate(parts):
        if part == WILDCARD:
            if not isinstance(node, list):
                return None
            return _Many(_read(element, parts[i + 1 :]) for element in node)
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and -len(node) <= part < len(node) else None
        else:
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is None:
            return None
    return node


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, _Many):
        return _Many(_prune(v) for v in value)
    if isinstance(value, list):
        return type(value)(_prune(v) for v in value)  # a _Many stays one (its destination iterates)
    return value


def _plain(value: Any) -> Any:
    """Dates become ISO 8601 strings; containers are copied."""
    if isinstance(value, dt.datetime):
        return iso_date_time(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class _WriteError(Exception):
    pass


def _put(container: Any, parts: list[PathPart], value: Any, keep_nulls: bool) -> None:
    part, rest = parts[0], parts[1:]
    if part == WILDCARD:
        if not isinstance(value, _Many):
            raise _WriteError("the destination iterates with [*] but the source is not an iterated array")
        for i, element in enumerate(value):
            while len(container) <= i:
                container.append({} if rest else None)
            if rest:
                if not isinstance(container[i], dict):
                    container[i] = {}
                if element is not None or keep_nulls:
                    _put(container[i], rest, element, keep_nulls)
            elif element is not None or keep_nulls:
                container[i] = element
        return
    if isinstance(part, int):
        if not isinstance(container, list):
            raise _WriteError("an index into something that is not an array")
        while len(container) <= part:
            container.append(None)
        if not rest:
            container[part] = value
            return
        if not isinstance(container[part], dict | list):
            container[part] = [] if rest[0] == WILDCARD or isinstance(rest[0], int) else {}
        _put(container[part], rest, value, keep_nulls)
        return
    if not isinstance(container, dict):
        raise _WriteError(f"'{part}' is written into something that is not an object")
    if not rest:
        container[part] = list(value) if isinstance(value, _Many) else value
        return
    child = container.get(part)
    if not isinstance(child, dict | list):
        child = [] if rest[0] == WILDCARD or isinstance(rest[0], int) else {}
        container[part] = child
    _put(child, rest, value, keep_nulls)


# An attribute path iterated with `[*]` inside an expression: `data.fee_details[*]` in
# `upper(data.fee_details[*].currency)`.
_ITERATED = re.compile(r"([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*|\[\d+\])*)\[\*\]")


def _evaluate(source: str, record: Mapping[str, Any]) -> Any:
    """An `EXPRESSION` source; one that reads `a[*]` is evaluated per element of `a` (`[*]` read as `[i]`), the
    way mapping-set.md's "Iterative operations on arrays" runs an `ATTRIBUTE` `[*]` source: the result is
    one value per element, written to the destination's `[*]`. All `[*]` of one expression must iterate the
    same array (else ConversionError); a missing or non-array `a` gives null."""
    arrays = {m.group(1) for m in _ITERATED.finditer(source)}
    if not arrays:
        return evaluate(source, record)
    if len(arrays) > 1:
        raise ConversionError(f"the expression iterates over more than one array: {sorted(arrays)}")
    (array_path,) = arrays
    array = _read(record, split_path(array_path))
    if not isinstance(array, list):
        return None
    iterated = f"{array_path}[*]"
    return _Many(evaluate(source.replace(iterated, f"{array_path}[{i}]"), record) for i in range(len(array)))


def _convert(value: Any, destination: str, coerce: Coercer | None) -> Any:
    if isinstance(value, _Many):
        return _Many(_convert(v, destination, coerce) for v in value)
    value = _plain(value)
    if coerce is None or value is None:
        return value
    return coerce(destination, value)


def apply_mapping_set(
    mapping_set: Mapping[str, Any], record: Mapping[str, Any], coerce: Coercer | None = None
) -> MappingResult:
    """Map one source record with a mapping set body (`mappings[{sourceType, source, destination}]`,
    optional `allowNullValues`). `coerce(destination, value)` converts to the destination's XDM type (raises
    ConversionError). Never raises for bad data: failures are `MappingResult.errors`."""
    result = MappingResult()
    keep_nulls = bool(mapping_set.get("allowNullValues"))
    for mapping in mapping_set.get("mappings") or []:
        source = str(mapping.get("source") or mapping.get("sourceAttribute") or "")
        destination = str(mapping.get("destination") or mapping.get("destinationXdmPath") or "")
        source_type = str(mapping.get("sourceType") or "ATTRIBUTE")
        try:
            if source_type == "EXPRESSION":
                value = _evaluate(source, record)
            elif source_type == "STATIC":
                value = source
            else:
                value = _read(record, split_path(source))
            value = _convert(value, destination, coerce)
            if not keep_nulls:
                value = _prune(value)
            if value is None and not keep_nulls:
                continue
            if isinstance(value, _Many) and not keep_nulls and all(v is None for v in value):
                continue
            target = split_path(destination)
            if WILDCARD in target and not isinstance(value, _Many):
                raise _WriteError("the destination iterates with [*] but the source is not an iterated array")
            _put(result.row, target, value, keep_nulls)
        except ExpressionError as exc:
            result.errors.append(MappingError(destination, source, source_type, exc.code, str(exc)))
        except (_WriteError, ValueError) as exc:
            error = ConversionError(str(exc))
            result.errors.append(MappingError(destination, source, source_type, error.code, str(exc)))
    return result
