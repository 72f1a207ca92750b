"""One flow run's ingestion: map each Stripe record, validate it as XDM, write the batch as Parquet.

What a run does (help/sources/tutorials/api/monitor.md for the run shape; help/ingestion/batch-ingestion/
partial.md and the flow's `options` (OptionSpecDTO in flow-service.yaml) for the error threshold):

- every record is `{"data": <Stripe object>}` (the Stripe source's explore schema puts every field under
  `data.`), mapped with the flow's mapping set; attribute conversion errors null the attribute;
- each output row is validated against the dataset's XDM schema; an invalid row is rejected, kept with its
  reasons in the batch's `failed.jsonl`;
- status: no rejected row -> `success`; rejected rows with `options.partialIngestionPercent` P set and a
  rejected share <= P% -> `partialSuccess`, the valid rows written; otherwise `failed`, nothing written
  (partial ingestion is off unless the flow enables it: the batch fails as a whole).

Error codes on the run (the simulator's choice where Adobe documents none): `INGEST-1212-400` rows failed XDM
validation; `INGEST-1213-400` the error threshold was exceeded / partial ingestion off; `MAPPER-2001-400`
attributes nulled by conversion errors (the row still counts as written); `CONNECTOR-1401-401` Stripe refused
the key.

Files: `<state_dir>/datasets/<dataset id>/<batch id>/part-00000.parquet` (accepted rows, Arrow types from the
XDM schema: strings, int64, float64, bool, UTC timestamps for date-time, structs for objects, maps, lists) and
`failed.jsonl` (`{"record", "errors"}` per rejected row).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .expressions import iso_date_time
from .mapping import apply_mapping_set
from .xdm import coercer, validate_row, validator

__all__ = ["Outcome", "arrow_schema", "ingest_records", "read_batch_rows", "write_batch"]

ROWS_INVALID = "INGEST-1212-400"
THRESHOLD_EXCEEDED = "INGEST-1213-400"
ATTRIBUTES_NULLED = "MAPPER-2001-400"
_SAMPLE = 3  # messages quoted in a run error


@dataclass
class Outcome:
    """What ingesting one run's records gave: rows to write, rejected rows with reasons, the run's verdict."""

    status: str = "success"
    input_records: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)  # {"record", "errors": [str]}
    errors: list[dict[str, Any]] = field(default_factory=list)  # run errors [{code, message}]

    @property
    def failed_records(self) -> int:
        return len(self.failed)


def ingest_records(
    records: list[dict[str, Any]], mapping_set: Mapping[str, Any], json_schema: Mapping[str, Any],
    options: Mapping[str, Any] | None = None,
) -> Outcome:  # fmt: skip
    """Map and validate `records` (Stripe objects); decide the run status (see the module docstring)."""
    outcome = Outcome(input_records=len(records))
    check = validator(json_schema)
    coerce = coercer(json_schema)
    nulled: list[str] = []
    for obj in records:
        mapped = apply_mapping_set(mapping_set, {"data": obj}, coerce)
        nulled += [f"{e.destination} <- {e.source}: {e.message}" for e in mapped.errors]
        problems = validate_row(check, mapped.row)
        if problems:
            outcome.failed.append({"record": obj, "row": mapped.row, "errors": problems})
        else:
            outcome.rows.append(mapped.row)
    failed = outcome.failed_records
    if failed:
        sample = "; ".join(f"{f['record'].get('id')}: {f['errors'][0]}" for f in outcome.failed[:_SAMPLE])
        outcome.errors.append(
            {
                "code": ROWS_INVALID,
                "message": f"{failed} of {len(records)} records failed XDM validation ({sample})",
            }
        )
        percent = (options or {}).get("partialIngestionPercent")
        threshold = float(percent) if isinstance(percent, int | float | str) and str(percent).strip() else None
        if threshold is not None and failed * 100 <= threshold * len(records):
            outcome.status = "partialSuccess"
        else:
            outcome.status = "failed"
            why = (
                "partial ingestion is not enabled on the flow"
                if threshold is None
                else f"the error threshold of {threshold:g}% was exceeded ({failed * 100 / len(records):.1f}%)"
            )
            outcome.errors.append(
                {"code": THRESHOLD_EXCEEDED, "message": f"The batch failed and nothing was written: {why}"}
            )
            outcome.rows = []
    if nulled:
        outcome.errors.append(
            {
                "code": ATTRIBUTES_NULLED,
                "message": f"{len(nulled)} attributes were set to null by conversion errors "
                f"({'; '.join(nulled[:_SAMPLE])})",
            }
        )
    return outcome


# --- Parquet ----------------------------------------------------------------------------------------------------


def _arrow_type(schema: Mapping[str, Any]) -> pa.DataType | None:
    kind = schema.get("type")
    if kind == "object":
        values = schema.get("additionalProperties")
        if isinstance(values, dict):
            value_type = _arrow_type(values) or pa.string()
            return pa.map_(pa.string(), value_type)
        fields = [
            pa.field(name, t)
            for name, spec in (schema.get("properties") or {}).items()
            if (t := _arrow_type(spec)) is not None
        ]
        return pa.struct(fields) if fields else None
    if kind == "array":
        items = _arrow_type(schema.get("items") or {"type": "string"})
        return pa.list_(items or pa.string())
    if kind == "integer":
        return pa.int64()
    if kind == "number":
        return pa.float64()
    if kind == "boolean":
        return pa.bool_()
    if kind == "string" and schema.get("format") == "date-time":
        return pa.timestamp("us", tz="UTC")
    if kind == "string":
        return pa.string()
    return pa.string() if not schema else None


def arrow_schema(json_schema: Mapping[str, Any]) -> pa.Schema:
    """The Arrow schema of a resolved XDM schema (objects without fields are left out: they hold no data)."""
    root = _arrow_type(json_schema)
    if not isinstance(root, pa.StructType):
        raise ValueError("an XDM schema resolves to an object")
    return pa.schema(list(root))


def _to_arrow(value: Any, schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    if value is None:
        return None
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return [(k, _to_arrow(v, schema["additionalProperties"])) for k, v in value.items()]
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: _to_arrow(value.get(k), spec) for k, spec in props.items()}
    if kind == "array":
        return [_to_arrow(v, schema.get("items") or {}) for v in value]
    if kind == "string" and schema.get("format") == "date-time":
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(dt.UTC)
    return value


def _from_arrow(value: Any, schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    if value is None:
        return None
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return {k: _from_arrow(v, schema["additionalProperties"]) for k, v in value}
    if kind == "object":
        props = schema.get("properties") or {}
        out = {k: _from_arrow(v, props.get(k) or {}) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None}
    if kind == "array":
        return [_from_arrow(v, schema.get("items") or {}) for v in value]
    if isinstance(value, dt.datetime):
        return iso_date_time(value)
    return value


def write_batch(
    directory: Path, json_schema: Mapping[str, Any], rows: list[dict[str, Any]], failed: list[dict[str, Any]]
) -> None:
    """Write one batch: `part-00000.parquet` (rows; none when empty) and `failed.jsonl`."""
    directory.mkdir(parents=True, exist_ok=True)
    if rows:
        schema = arrow_schema(json_schema)
        converted = [_to_arrow(row, json_schema) for row in rows]
        table = pa.Table.from_pylist(converted, schema=schema)
        pq.write_table(table, directory / "part-00000.parquet")
    with (directory / "failed.jsonl").open("w", encoding="utf-8") as out:
        for item in failed:
            out.write(json.dumps(item, sort_keys=True, default=str) + "\n")


def read_batch_rows(directory: Path, json_schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows of one batch as JSON values (timestamps as ISO 8601 UTC strings, nulls left out)."""
    path = directory / "part-00000.parquet"
    if not path.exists():
        return []
    return [_from_arrow(row, json_schema) for row in pq.read_table(path).to_pylist()]


def read_failed(directory: Path) -> list[dict[str, Any]]:
    path = directory / "failed.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
