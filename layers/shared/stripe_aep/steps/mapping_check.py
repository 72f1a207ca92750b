"""Run a mapping set on the tenant's own Stripe records before the dataflow that would use it exists.

Data Prep's ``POST /conversion/mappingSets/preview`` (operationId ``previewMappingSet``, data-prep.yaml) maps
sample rows with a mapping set that is not saved; explore with ``preview=true`` (operationId
``getByConnectionId``) gives the rows. A mapping that errors on any sample row stops the provisioning with
``MappingRejectedError`` before the mapping set and the flow are created.

Cost: 2 Adobe calls (explore preview=true, previewMappingSet) per resource path, once per sandbox and mapping
version: the digest of the mapping set body is remembered on the sandbox's schema item in DynamoDB
(``mapping_checked``), so that the next tenants of the sandbox skip the check. A path whose Stripe account has
no record yet is not remembered (there was nothing to run the mapping on: the next tenant may have some).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from stripe_aep.aep import PlatformClient
from stripe_aep.errors import MappingRejectedError
from stripe_aep.runtime import Runtime
from stripe_aep.store import schema_key

#: Sample rows sent to previewMappingSet (explore preview=true answers a first page of records).
SAMPLE_ROWS = 10


def mapping_digest(body: Mapping[str, Any]) -> str:
    """A stable digest of a mapping set body's ``outputSchema`` and ``mappings`` (its "version" for the check)."""
    relevant = {"outputSchema": body.get("outputSchema"), "mappings": body.get("mappings")}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:32]


def check_mapping_on_samples(
    runtime: Runtime,
    client: PlatformClient,
    *,
    sandbox: str,
    resource_path: str,
    base_connection_id: str,
    body: Mapping[str, Any],
) -> dict[str, Any]:
    """Preview ``body`` (a createMappingSet body) on sample rows of ``resource_path``; raise on any error.

    Out: ``{checked: bool, rows: int, digest}`` (``checked`` false when this sandbox already checked this
    mapping version: no Adobe call). Raises ``MappingRejectedError`` naming the resource path and, per error,
    the XDM field (``destination``), the source attribute (``source``) and Adobe's message (``exception``);
    the client's ``AepError``s propagate (throttling and 5xx are retried by the state machine).
    """
    digest = mapping_digest(body)
    key = schema_key(sandbox, resource_path)
    if (runtime.store.get(key) or {}).get("mapping_checked") == digest:
        return {"checked": False, "rows": 0, "digest": digest}
    sample = client.explore(base_connection_id, resource_path, preview=True).data[:SAMPLE_ROWS]
    rows = [row for row in sample if isinstance(row, dict)]
    if not rows:
        return {"checked": True, "rows": 0, "digest": digest}
    preview = client.preview_mapping_set(body, rows)
    if preview.errors:
        problems = "; ".join(
            f"XDM field {e.destination or '?'} (source {e.source or e.columnName or '?'}){_record(rows, e.row)}: "
            f"{e.exception or 'error'}"
            for e in preview.errors[:10]
        )
        more = f" (+{len(preview.errors) - 10} more)" if len(preview.errors) > 10 else ""
        raise MappingRejectedError(
            f"mapping of resource path {resource_path} fails on {len(rows)} sample rows: {problems}{more}"
        )
    runtime.store.update(key, {"mapping_checked": digest})
    return {"checked": True, "rows": len(rows), "digest": digest}


def _record(rows: list[dict[str, Any]], index: int | None) -> str:
    """`` on record <Stripe id>`` when the error names its input row."""
    if index is None or not 0 <= index < len(rows):
        return ""
    data = rows[index].get("data")
    return f" on record {data.get('id')}" if isinstance(data, dict) and data.get("id") else f" on sample row {index}"
