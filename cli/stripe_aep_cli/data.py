"""Rows of a dataset of the local stack, read back from the AEP simulator's Parquet batches.

The simulator writes each flow run's accepted rows to ``<stateDir>/datasets/<dataset id>/<batch id>/
part-00000.parquet`` (``local.aep_simulator.dataprep.ingest``); ``stripe-aep local up`` puts ``stateDir`` in the
stack file. Rows come back as JSON-ready dicts: XDM maps (Arrow ``map``) as objects, date-times as ISO 8601 UTC
strings, nulls left out. Batches are read oldest first.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


def _plain(value: Any, kind: pa.DataType) -> Any:
    if value is None:
        return None
    if pa.types.is_map(kind):
        return {k: _plain(v, kind.item_type) for k, v in value}
    if pa.types.is_struct(kind):
        fields = {kind.field(i).name: kind.field(i).type for i in range(kind.num_fields)}
        out = {k: _plain(v, fields[k]) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None}
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return [_plain(v, kind.value_type) for v in value]
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value


def dataset_rows(state_dir: Path, dataset_id: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Up to ``limit`` rows of ``dataset_id`` (all when None), oldest batch first. [] when it holds none."""
    folder = state_dir / "datasets" / dataset_id
    files = sorted(folder.glob("*/part-*.parquet"), key=lambda p: (p.stat().st_mtime_ns, str(p)))
    rows: list[dict[str, Any]] = []
    for file in files:
        table = pq.read_table(file)
        row_type = pa.struct(list(table.schema))
        rows += [_plain(row, row_type) for row in table.to_pylist()]
        if limit is not None and len(rows) >= limit:
            return rows[:limit]
    return rows
