"""Data Prep engine of the AEP simulator: expression language, mapping sets, XDM validation, ingestion.

Public API (stable; other modules and tests import from here):

- ``evaluate(expression: str, record: dict) -> Any``: evaluate one Data Prep expression (``EXPRESSION``
  mapping source) against a source record (the record as Data Prep sees it: ``{"data": <Stripe object>}`` for
  the Stripe source). Raises ``ExpressionSyntaxError`` (not parseable) or ``ConversionError`` (a function got
  an input it cannot convert). Dates come back as timezone-aware ``datetime``.
- ``validate_expression(expression: str) -> str | None``: None when it parses and names only known functions,
  else Adobe-style message (``POST /languages/el/validate``, operationId ``validateExpression``).
- ``FUNCTIONS: Mapping[str, FunctionSpec]``: every implemented function, its guide section and null rules.
- ``apply_mapping_set(mapping_set: dict, record: dict) -> MappingResult``: run a mapping set body
  (``{"mappings": [{sourceType, source, destination}], "allowNullValues"?}``) on one record.
  ``MappingResult.row`` is the XDM row (nulls omitted unless ``allowNullValues``), ``.errors`` a list of
  ``MappingError(destination, source, source_type, code, message)`` (the attribute was nulled, the row
  goes on).
- ``xdm.resolve_schema(sandbox_objects, schema_id) -> dict``: the JSON Schema (draft 2020-12) of an XDM
  schema stored in the simulator (class + field groups, Schema Registry rules). Raises ``KeyError``.
- ``xdm.validate_row(json_schema, row) -> list[str]``: messages (``"<path>: <reason>"``), empty when valid.
- ``ingest.ingest_records(records, mapping_set, json_schema, options) -> Outcome`` (status, rows, failed, errors)
  and ``ingest.write_batch`` / ``read_batch_rows`` (Parquet) are what ``AepSimulator.run_flow`` uses.
- On ``AepSimulator``: ``seed_stripe_account(stripe_key, {path: [obj]}, replace=True)``,
  ``seed_stripe_account_of(base_connection_id, ...)``, ``stripe_list(stripe_key, path, limit=10,
  starting_after=None) -> Stripe list envelope``, ``run_flow(flow_id, started_at_ms=None) -> run``,
  ``generate_runs(..., ingest=True)``, ``dataset_batches(dataset_id)``, ``dataset_rows(dataset_id, limit=None)``,
  ``dataset_failed_rows(dataset_id)``, ``state_dir``. Details: docs/data-prep-engine.md.
"""

from .expressions import (
    FUNCTIONS,
    ConversionError,
    ExpressionError,
    ExpressionSyntaxError,
    FunctionSpec,
    evaluate,
    validate_expression,
)
from .mapping import MappingError, MappingResult, apply_mapping_set

__all__ = [
    "FUNCTIONS",
    "ConversionError",
    "ExpressionError",
    "ExpressionSyntaxError",
    "FunctionSpec",
    "MappingError",
    "MappingResult",
    "apply_mapping_set",
    "evaluate",
    "validate_expression",
]
