"""Data Prep's evaluation endpoints (data-prep.yaml), answered with the simulator's expression evaluator.

- `POST /conversion/mappingSets/preview` (previewMappingSet): body PreviewRequest `{"data": [record, ...],
  "mappingSet": MappingSet}`; each record is what the mapping reads (for the Stripe source, the explore
  preview's `{"data": <Stripe object>}` items). Answer 200 PreviewResponse `{"data": ..., "errors": [...]}`:
  `data` is the mapped row for a single record (the spec's example) and the list of rows, in input order, when
  `data` was an array (the spec types it as an object; the simulator's choice for many rows). `errors` are
  TransformErrorInfo `{destination, source, sourceType, exception}` plus `row` (0-based input index): attribute
  conversion errors, and, when `mappingSet.outputSchema.schemaRef.id` names a schema of the sandbox, XDM
  validation failures of the row (`source` is the mapping whose destination holds the bad value). A mapping
  whose expression does not parse answers 400 `MAPPER-1400-400` with `report.details` (TransformErrorInfo).
- `POST /conversion/languages/el/validate` (validateExpression): body ValidationRequest `{"expression",
  "sampleData"?}` (sampleData a JSON string). 200 `true` when the expression parses (and, with sampleData,
  evaluates without a conversion error; else `false`); 400 `MAPPER-1001-400` naming the syntax error.
"""

from __future__ import annotations

import json
from typing import Any

from .calls import Call, Reply
from .dataprep import ConversionError, apply_mapping_set, evaluate, xdm
from .dataprep import validate_expression as _syntax_problem
from .dataprep.mapping import split_path
from .state import ApiError, State

MAPPER_BAD = "MAPPER-1400-400"
SYNTAX = "MAPPER-1001-400"


def _syntax_errors(mappings: list[Any]) -> list[dict[str, str]]:
    details = []
    for mapping in mappings:
        if isinstance(mapping, dict) and mapping.get("sourceType") == "EXPRESSION":
            problem = _syntax_problem(str(mapping.get("source") or ""))
            if problem:
                details.append(
                    {
                        "destination": str(mapping.get("destination")),
                        "source": str(mapping.get("source")),
                        "sourceType": "EXPRESSION",
                        "exception": f"{SYNTAX}: {problem}",
                    }
                )
    return details


def _source_of(mappings: list[dict[str, Any]], json_path: str) -> dict[str, Any] | None:
    """The mapping whose destination is the failing path or encloses it (longest first)."""
    failing = [p for p in json_path.strip("/").split("/") if p]
    best: tuple[int, dict[str, Any]] | None = None
    for mapping in mappings:
        try:
            parts = [str(p) for p in split_path(str(mapping.get("destination") or ""))]
        except ValueError:
            continue
        n = len(parts)
        matches = len(failing) >= n and all(a == b or a == "*" for a, b in zip(parts, failing[:n], strict=False))
        if not matches:  # the failing path may enclose the destination (a required or extra field)
            matches = n > len(failing) and all(a == b or a == "*" for a, b in zip(parts, failing, strict=False))
        if matches and (best is None or n > best[0]):
            best = (n, mapping)
    return best[1] if best else None


def preview_mapping_set(state: State, call: Call) -> Reply:
    """POST /conversion/mappingSets/preview (previewMappingSet); see the module docstring."""
    body = call.json_object()
    mapping_set = body.get("mappingSet")
    if not isinstance(mapping_set, dict) or not isinstance(mapping_set.get("mappings"), list):
        raise ApiError(400, "dataprep", MAPPER_BAD, "mappingSet with a mappings list is required")
    mappings = [m for m in mapping_set["mappings"] if isinstance(m, dict)]
    syntax = _syntax_errors(mappings)
    if syntax:
        raise ApiError(
            400, "dataprep", MAPPER_BAD, "; ".join(d["exception"] for d in syntax), extra={"details": syntax}
        )
    data = body.get("data")
    many = isinstance(data, list)
    records: list[Any] = data if isinstance(data, list) else [data]
    if not all(isinstance(r, dict) for r in records):
        raise ApiError(400, "dataprep", MAPPER_BAD, "data must be a JSON object or an array of objects")
    schema_ref = (mapping_set.get("outputSchema") or {}).get("schemaRef") or {}
    json_schema = None
    if isinstance(schema_ref, dict) and schema_ref.get("id"):
        try:
            json_schema = xdm.resolve_schema(state.sandbox(call.sandbox), str(schema_ref["id"]))
        except KeyError as exc:
            raise ApiError(400, "dataprep", MAPPER_BAD, str(exc.args[0])) from None
    check = xdm.validator(json_schema) if json_schema is not None else None
    coerce = xdm.coercer(json_schema) if json_schema is not None else None
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        result = apply_mapping_set(mapping_set, record, coerce)
        rows.append(result.row)
        errors += [{**e.as_transform_error(), "row": index} for e in result.errors]
        if check is not None:
            for problem in xdm.validate_row(check, result.row):
                where, _, message = problem.partition(": ")
                mapping = _source_of(mappings, where) or {}
                errors.append(
                    {
                        "destination": ".".join(p for p in where.strip("/").split("/") if p) or "(row)",
                        "source": str(mapping.get("source") or ""),
                        "sourceType": str(mapping.get("sourceType") or "ATTRIBUTE"),
                        "exception": f"XDM validation: {message}",
                        "row": index,
                    }
                )
    return Reply(200, {"data": rows if many else rows[0], "errors": errors})


def validate_expression(state: State, call: Call) -> Reply:
    """POST /conversion/languages/el/validate (validateExpression) -> 200 true|false; 400 on a syntax error."""
    body = call.json_object()
    expression = body.get("expression")
    if isinstance(expression, dict):  # the spec's example nests it: {"expression": {"expression": "..."}}
        expression = expression.get("expression")
    if not isinstance(expression, str):
        raise ApiError(400, "dataprep", MAPPER_BAD, "expression must be a string")
    problem = _syntax_problem(expression)
    if problem:
        raise ApiError(400, "dataprep", SYNTAX, problem)
    sample = body.get("sampleData")
    if sample in (None, ""):
        return Reply(200, True)
    try:
        record = json.loads(sample) if isinstance(sample, str) else sample
    except ValueError:
        raise ApiError(400, "dataprep", MAPPER_BAD, "sampleData must be a JSON string") from None
    try:
        evaluate(expression, record if isinstance(record, dict) else {})
    except ConversionError:
        return Reply(200, False)
    return Reply(200, True)
