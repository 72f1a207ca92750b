"""The simulator's state and the error bodies of each Adobe service.

Objects live per sandbox (the `x-sandbox-name` header): `State.sandbox(name)[kind][id]`, kinds as in
`AepSimulator.objects`. Every mutation happens while the caller holds `State.lock`.

Error bodies (aep-api-notes.md "Errors"):
- gateway: `{"error_code": "401013", "message": ...}`;
- Flow Service: `{"type": "https://ns.adobe.com/aep/errors/FLOW-1439-404", "title", "status",
  "report": {"detailed-message", "request-id"}}`;
- Schema Registry: `{"type": ".../XDM-1012-404", "title", "status", "report": {"detailed-message",
  "request-id"},
  "detail"}`;
- Catalog: `{"code", "description", "rows", "request-id"}` (`rows` lists the ids involved, possibly empty);
- Data Prep (undocumented; chosen): the Flow Service shape with `MAPPER-...` codes and `report.details`;
- IMS: `{"error", "error_description"}`.
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

KINDS: tuple[str, ...] = (
    "connections",
    "sourceConnections",
    "targetConnections",
    "flows",
    "classes",
    "fieldgroups",
    "schemas",
    "dataSets",
    "mappingSets",
)

_ERROR_TYPE = "https://ns.adobe.com/aep/errors/"


class ApiError(Exception):
    """An error answer; `family` picks the body shape: gateway, flow, xdm, catalog, dataprep, ims."""

    def __init__(
        self,
        status: int,
        family: str,
        code: str,
        message: str,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.family = family
        self.code = code
        self.message = message
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self, request_id: str) -> dict[str, Any]:
        """The JSON body Adobe's service of this family would answer, carrying the request id."""
        if self.family == "gateway":
            return {"error_code": self.code, "message": self.message, "request-id": request_id}
        if self.family == "ims":
            return {"error": self.code, "error_description": self.message}
        if self.family == "catalog":
            return {
                "code": self.code,
                "description": self.message,
                "rows": self.extra.get("rows", []),
                "request-id": request_id,
            }
        report: dict[str, Any] = {"detailed-message": self.message, "request-id": request_id, **self.extra}
        body: dict[str, Any] = {
            "type": _ERROR_TYPE + self.code,
            "title": _TITLES.get(self.status, "Error"),
            "status": self.status,
            "report": report,
        }
        if self.family == "xdm":
            body["detail"] = self.message
        return body


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    412: "Precondition Failed",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


@dataclass
class Token:
    client_id: str
    ims_org: str
    expires_at_ms: int  # on the simulator's clock
    generation: int  # tokens older than State.token_generation are expired


@dataclass
class State:
    """Everything the simulated Adobe remembers. Guard reads and writes with `lock`."""

    tenant_id: str = "stripeaeptest"
    lock: threading.RLock = field(default_factory=threading.RLock)
    clients: dict[str, tuple[str, str]] = field(default_factory=dict)  # client id -> (secret, IMS org)
    tokens: dict[str, Token] = field(default_factory=dict)
    token_generation: int = 0
    stripe_keys: set[str] = field(default_factory=set)
    sandboxes: dict[str, dict[str, dict[str, dict[str, Any]]]] = field(default_factory=dict)
    connection_secrets: dict[str, str] = field(default_factory=dict)  # base connection id -> Stripe key
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # flow id -> runs
    generated_until_ms: dict[str, int] = field(default_factory=dict)  # flow id -> last scheduled run time
    # On-demand runs (runs.start_flow_run): how a window is ingested (runs.Ingestor), end-of-run listeners.
    ingest: Any = None
    run_listeners: list[Any] = field(default_factory=list)
    clock_offset_ms: int = 0
    # Stripe key -> resource path -> Stripe objects (insertion order); unseeded paths read stripe_data's samples
    stripe_accounts: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    batches: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # dataset id -> batch summaries

    def now_ms(self) -> int:
        """The simulator's clock: real time plus the offset `advance` added, in epoch milliseconds."""
        return int(time.time() * 1000) + self.clock_offset_ms

    def sandbox(self, name: str) -> dict[str, dict[str, dict[str, Any]]]:
        return self.sandboxes.setdefault(name, {kind: {} for kind in KINDS})

    def find_flow(self, flow_id: str) -> tuple[str, dict[str, Any]] | None:
        """(sandbox, flow) for a flow id in any sandbox."""
        for name, objects in self.sandboxes.items():
            if flow_id in objects["flows"]:
                return name, objects["flows"][flow_id]
        return None

    def all_objects(self, kind: str, sandbox: str | None = None) -> list[dict[str, Any]]:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
        out: list[dict[str, Any]] = []
        for name, objects in self.sandboxes.items():
            if sandbox is None or sandbox == name:
                out.extend(copy.deepcopy(list(objects[kind].values())))
        return out


def new_etag() -> str:
    """An etag as Flow Service writes it: a quoted opaque string (quotes are part of the value)."""
    return f'"{uuid.uuid4()}"'


def new_uuid() -> str:
    return str(uuid.uuid4())


def new_hex(n_bytes: int) -> str:
    return secrets.token_hex(n_bytes)
