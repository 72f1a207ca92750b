"""Request and response models of the Platform API client.

Request models are strict (``extra="forbid"``) and validated before anything is sent. Response models are
tolerant: unknown fields are ignored, only the fields the provisioner reads are typed; a missing ``id`` fails
validation (the client turns that into ``UnexpectedResponseError``).

Shapes follow Adobe's OpenAPI specs (``flow-service.yaml``, ``schema-registry.yaml``, ``catalog.yaml``,
``data-prep.yaml``) and the Stripe source tutorial (``stripe-source-flow-service-api.txt``); where they
disagree
the choice is noted on the field (see aep-api-notes.md, "Where Adobe's OpenAPI specs and the Stripe tutorial
disagree").
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from stripe_aep.schedule import Schedule

__all__ = [
    "DATA_LAKE_CONNECTION_SPEC_ID",
    "STRIPE_CONNECTION_SPEC_ID",
    "STRIPE_FLOW_SPEC_ID",
    "BaseConnectionRequest",
    "Connection",
    "Created",
    "Dataset",
    "DatasetRequest",
    "ExploreResult",
    "Flow",
    "FlowRequest",
    "FlowRun",
    "MappingSet",
    "PatchOperation",
    "Schedule",
    "SourceConnectionRequest",
    "SpecRef",
    "TargetConnectionRequest",
    "XdmResource",
]

# Fixed identifiers (tutorial; aep-api-notes.md "Fixed identifiers").
STRIPE_CONNECTION_SPEC_ID = "cc2c31d6-7b8c-4581-b49f-5c8698aa3ab3"
DATA_LAKE_CONNECTION_SPEC_ID = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
STRIPE_FLOW_SPEC_ID = "6499120c-0b15-42dc-936e-847ea3c24d72"
SPEC_VERSION = "1.0"
STRIPE_AUTH_SPEC_NAME = "OAuth2 Refresh Code"
XDM_FULL_CONTENT_TYPE = "application/vnd.adobe.xed-full+json;version=1"
XDM_CONTENT_TYPE = "application/vnd.adobe.xed+json;version=1"


_STRICT = ConfigDict(extra="forbid", frozen=True)
_TOLERANT = ConfigDict(extra="ignore", populate_by_name=True)


# ---- shared pieces -------------------------------------------------------------------------------


class SpecRef(BaseModel):
    """``{id, version}`` of a connection spec or flow spec."""

    model_config = _TOLERANT
    id: str
    version: str = SPEC_VERSION


def schedule_params(schedule: Schedule) -> dict[str, Any]:
    """``scheduleParams`` of POST /flows: ``startTime`` an integer (spec), ``interval`` an integer (tutorial; the
    spec types it as a string, a tolerated difference)."""
    params: dict[str, Any] = {"startTime": schedule.start_time, "frequency": schedule.frequency}
    if schedule.interval is not None:
        params["interval"] = schedule.interval
    return params


class PatchOperation(BaseModel):
    """One JSON Patch operation of a Flow Service PATCH (patchFlow, patchConnection): ``path`` is a JSON
    pointer such as ``/scheduleParams/frequency``."""

    model_config = _STRICT
    op: Literal["add", "replace", "remove"]
    path: str = Field(pattern=r"^/")
    value: Any = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"op": self.op, "path": self.path}
        if self.op != "remove":
            body["value"] = self.value
        return body

    def __repr__(self) -> str:
        # The value may be credentials (rotation: /auth/params); never show it.
        return f"PatchOperation(op={self.op!r}, path={self.path!r}, value=<hidden>)"

    __str__ = __repr__


# ---- requests ------------------------------------------------------------------------------------


class BaseConnectionRequest(BaseModel):
    """Body of createConnection for Stripe (tutorial "Create a base connection")."""

    model_config = _STRICT
    name: str = Field(min_length=1, max_length=256)
    description: str = ""
    stripe_key: SecretStr

    @field_validator("stripe_key")
    @classmethod
    def _key_present(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("stripe_key is empty")
        return value

    def to_body(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "connectionSpec": {"id": STRIPE_CONNECTION_SPEC_ID, "version": SPEC_VERSION},
            "auth": {
                "specName": STRIPE_AUTH_SPEC_NAME,
                "params": {"accessToken": self.stripe_key.get_secret_value()},
            },
        }


class SourceConnectionRequest(BaseModel):
    """Body of createSourceConnection (tutorial "Create a source connection")."""

    model_config = _STRICT
    name: str = Field(min_length=1, max_length=256)
    base_connection_id: str = Field(min_length=1)
    resource_path: str = Field(min_length=1, pattern=r"^[a-z_]+$")
    description: str = ""

    def to_body(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "baseConnectionId": self.base_connection_id,
            "connectionSpec": {"id": STRIPE_CONNECTION_SPEC_ID, "version": SPEC_VERSION},
            "data": {"format": "json"},
            "params": {"resourcePath": self.resource_path},
        }


class TargetConnectionRequest(BaseModel):
    """Body of createTargetConnection to the data lake (tutorial "Create a target connection")."""

    model_config = _STRICT
    name: str = Field(min_length=1, max_length=256)
    schema_id: str = Field(min_length=1)
    dataset_id: str = Field(min_length=1)
    description: str = ""

    def to_body(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "connectionSpec": {"id": DATA_LAKE_CONNECTION_SPEC_ID, "version": SPEC_VERSION},
            "data": {
                "format": "parquet_xdm",
                "schema": {"id": self.schema_id, "version": XDM_FULL_CONTENT_TYPE},
            },
            "params": {"dataSetId": self.dataset_id},
        }


class FlowRequest(BaseModel):
    """Body of createFlow (tutorial "Create a flow"). ``mapping_version`` is sent as an integer like the
    tutorial (the spec says string: a tolerated difference)."""

    model_config = _STRICT
    name: str = Field(min_length=1, max_length=256)
    source_connection_id: str = Field(min_length=1)
    target_connection_id: str = Field(min_length=1)
    mapping_id: str = Field(min_length=1)
    mapping_version: int = Field(ge=0)
    schedule: Schedule
    description: str = ""

    def to_body(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "flowSpec": {"id": STRIPE_FLOW_SPEC_ID, "version": SPEC_VERSION},
            "sourceConnectionIds": [self.source_connection_id],
            "targetConnectionIds": [self.target_connection_id],
            "transformations": [
                {
                    "name": "Mapping",
                    "params": {"mappingId": self.mapping_id, "mappingVersion": self.mapping_version},
                }
            ],
            "scheduleParams": schedule_params(self.schedule),
        }


class DatasetRequest(BaseModel):
    """Body of Catalog createDataset: ``{name, schemaRef{id, contentType}}``."""

    model_config = _STRICT
    name: str = Field(min_length=1, max_length=256)
    schema_id: str = Field(min_length=1)

    def to_body(self) -> dict[str, Any]:
        return {"name": self.name, "schemaRef": {"id": self.schema_id, "contentType": XDM_CONTENT_TYPE}}


class XdmBody(BaseModel):
    """Minimal check of a createFieldGroup/createSchema body before it is sent: a title and a type; everything
    else passes through unchanged."""

    model_config = ConfigDict(extra="allow")
    title: str = Field(min_length=1)
    type: Literal["object"] = "object"


class MappingSetBody(BaseModel):
    """Minimal check of a createMappingSet/validateMappingSet body: a non-empty ``mappings`` list."""

    model_config = ConfigDict(extra="allow")
    mappings: list[dict[str, Any]] = Field(min_length=1)


# ---- responses -----------------------------------------------------------------------------------


class Created(BaseModel):
    """``{id, etag}`` answered by Flow Service creates and PATCHes. ``etag`` is kept exactly as Adobe sent it
    (quotes included) for the next If-Match."""

    model_config = _TOLERANT
    id: str = Field(min_length=1)
    etag: str | None = None


class Connection(BaseModel):
    """A base, source or target connection (retrieveConnection, retrieveSourceConnection,
    retrieveTargetConnection). ``auth`` is deliberately not modelled: credentials never enter this object."""

    model_config = _TOLERANT
    id: str = Field(min_length=1)
    name: str | None = None
    etag: str | None = None
    state: str | None = None
    connection_spec: SpecRef | None = Field(default=None, alias="connectionSpec")
    base_connection_id: str | None = Field(default=None, alias="baseConnectionId")
    params: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: int | None = Field(default=None, alias="createdAt", description="epoch ms")
    updated_at: int | None = Field(default=None, alias="updatedAt", description="epoch ms")


class LastRunDetails(BaseModel):
    """``lastRunDetails`` of a flow (monitor.md); times are epoch milliseconds."""

    model_config = _TOLERANT
    id: str | None = None
    state: str | None = None
    started_at_utc: int | None = Field(default=None, alias="startedAtUTC")
    completed_at_utc: int | None = Field(default=None, alias="completedAtUTC")


class Flow(BaseModel):
    """A dataflow (retrieveFlow / listFlows item). ``state`` is ``enabled`` or ``disabled``;
    ``schedule_params`` keeps Adobe's raw ``scheduleParams`` (startTime/interval may come back as strings)."""

    model_config = _TOLERANT
    id: str = Field(min_length=1)
    name: str | None = None
    etag: str | None = None
    state: str | None = None
    flow_spec: SpecRef | None = Field(default=None, alias="flowSpec")
    source_connection_ids: list[str] = Field(default_factory=list, alias="sourceConnectionIds")
    target_connection_ids: list[str] = Field(default_factory=list, alias="targetConnectionIds")
    transformations: list[dict[str, Any]] = Field(default_factory=list)
    schedule_params: dict[str, Any] = Field(default_factory=dict, alias="scheduleParams")
    last_run_details: LastRunDetails | None = Field(default=None, alias="lastRunDetails")
    created_at: int | None = Field(default=None, alias="createdAt", description="epoch ms")
    updated_at: int | None = Field(default=None, alias="updatedAt", description="epoch ms")


class FlowRun(BaseModel):
    """A flow run (listFlowRuns item; monitor.md). ``created_at``/``updated_at`` are epoch milliseconds;
    ``metrics`` keeps durationSummary, recordSummary and statusSummary as Adobe sent them."""

    model_config = _TOLERANT
    id: str = Field(min_length=1)
    flow_id: str | None = Field(default=None, alias="flowId")
    created_at: int | None = Field(default=None, alias="createdAt", description="epoch ms")
    updated_at: int | None = Field(default=None, alias="updatedAt", description="epoch ms")
    metrics: dict[str, Any] = Field(default_factory=dict)
    activities: list[dict[str, Any]] = Field(default_factory=list)
    #: An on-demand run's ``{startTime, windowStartTime, windowEndTime}`` (epoch s; createFlowRun).
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def status(self) -> str | None:
        """``metrics.statusSummary.status`` (e.g. ``success``, ``failed``), or None."""
        summary = self.metrics.get("statusSummary")
        return summary.get("status") if isinstance(summary, dict) else None

    @property
    def errors(self) -> list[dict[str, Any]]:
        """``metrics.statusSummary.errors`` (``[{code, message}]``)."""
        summary = self.metrics.get("statusSummary")
        errors = summary.get("errors") if isinstance(summary, dict) else None
        return errors if isinstance(errors, list) else []


class XdmResource(BaseModel):
    """A Schema Registry resource (field group or schema): ``id`` is ``$id``, ``alt_id`` is ``meta:altId``."""

    model_config = _TOLERANT
    id: str = Field(alias="$id", min_length=1)
    alt_id: str = Field(alias="meta:altId", min_length=1)
    version: str | None = None
    title: str | None = None


class Dataset(BaseModel):
    """A Catalog dataset (the value of one key of listDatasets' answer, with the key as ``id``)."""

    model_config = _TOLERANT
    id: str = Field(min_length=1)
    name: str | None = None
    schema_ref: dict[str, Any] | None = Field(default=None, alias="schemaRef")
    state: str | None = None


class MappingSet(BaseModel):
    """A Data Prep mapping set (createMappingSet/retrieveMappingSet/listMappingSets item): ``version`` is an
    integer; ``output_schema`` is data-prep.yaml's ``outputSchema`` (``{schemaRef: {id, contentType}}``) when
    Adobe answers it."""

    model_config = _TOLERANT
    id: str = Field(min_length=1)
    version: int = 0
    output_schema: dict[str, Any] | None = Field(default=None, alias="outputSchema")


class TransformErrorInfo(BaseModel):
    """One error of a mapping preview (data-prep.yaml ``TransformErrorInfo``): the XDM ``destination``, the
    mapping's ``source`` (attribute or expression), its ``sourceType`` and Adobe's message in ``exception``."""

    model_config = _TOLERANT
    destination: str | None = None
    source: str | None = None
    sourceType: str | None = None
    columnName: str | None = None
    exception: str | None = None
    row: int | None = None  # index of the failing input row, when the answer names it (not in the spec)


class MappingPreview(BaseModel):
    """Answer of previewMappingSet (data-prep.yaml ``PreviewResponse``): ``data`` (the mapped rows; the spec
    types it as an object, one row) and ``errors`` (``TransformErrorInfo`` per failed mapping)."""

    model_config = _TOLERANT
    data: Any = None
    errors: list[TransformErrorInfo] = Field(default_factory=list)


class ExploreResult(BaseModel):
    """Answer of getByConnectionId (explore). ``preview=false``: ``format`` ``hierarchical`` and ``schema``
    (JSON
    Schema, every Stripe field under ``data.``); ``preview=true``: ``data`` holds sample records."""

    model_config = _TOLERANT
    format: str | None = None
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    data: list[Any] = Field(default_factory=list)

    def field_paths(self) -> list[str]:
        """Dotted paths of the leaf fields of ``schema`` (``data.amount``, ``data.outcome.type``...)."""
        paths: list[str] = []

        def walk(node: dict[str, Any], prefix: str) -> None:
            props = node.get("properties")
            if isinstance(props, dict) and props:
                for key, child in props.items():
                    walk(child if isinstance(child, dict) else {}, f"{prefix}{key}.")
            elif prefix:
                paths.append(prefix[:-1])

        walk(self.schema_, "")
        return paths
