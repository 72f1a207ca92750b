"""The AEP simulator: an HTTP server on 127.0.0.1 playing Adobe IMS and four Platform APIs.

Routes (method, path pattern -> operation name -> handler) are listed in `ROUTES`; operation names are the
OpenAPI operationIds, plus "imsToken" for IMS's `POST /ims/token/v3` and "unknown" for unmatched paths.

Every call, in order: counted in `calls` -> `latency_s` sleep -> faults (latency, reset, throttle, 5xx, token
expiry) -> for Platform calls the rate cap (token bucket, 429 + Retry-After) -> gateway checks (Authorization,
x-api-key, x-gw-ims-org-id, x-sandbox-name, Content-Type) -> the handler, under the state lock -> the
answer, with
an `x-request-id` header. Sleeps happen outside the lock. Requests are recorded with the status answered
(0 when the connection was dropped).

Gateway checks (undocumented details chosen): missing/unknown/expired bearer token -> 401 `401013`; x-api-key
missing or not the token's client id -> 403 `403003`; x-gw-ims-org-id missing -> 400 `400003`, not the
token's org
-> 403 `403025`; x-sandbox-name missing -> 400 `400005`; a body without a JSON Content-Type -> 415 `415001`.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import json
import random
import re
import secrets
import shutil
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import dataprep_apis as dp
from . import flow_service as fs
from . import platform_apis as pa
from . import stripe_account
from .calls import Call, Reply
from .dataprep import ingest, xdm
from .faults import Fault, FaultSet, TokenBucket
from .io_events import IoEvents
from .runs import make_run, run_ended, scheduled_times_ms
from .state import ApiError, State, Token, new_hex

Handler = Callable[[State, Call], Reply]

FLOW = "/data/foundation/flowservice"
SCHEMAS = "/data/foundation/schemaregistry"
CATALOG = "/data/foundation/catalog"
CONVERSION = "/data/foundation/conversion"
_ID = r"(?P<id>[^/]+)"


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    operation: str
    family: str  # error body shape: flow, xdm, catalog, dataprep
    handler: Handler


def _route(method: str, path: str, operation: str, family: str, handler: Handler) -> Route:
    return Route(method, re.compile(f"^{path}/?$"), operation, family, handler)


ROUTES: tuple[Route, ...] = (
    # Flow Service
    _route("POST", f"{FLOW}/connections", "createConnection", "flow", fs.create_connection),
    _route("GET", f"{FLOW}/connections", "listConnections", "flow", fs.list_connections),
    _route("GET", f"{FLOW}/connections/{_ID}/explore", "getByConnectionId", "flow", fs.explore),
    _route("GET", f"{FLOW}/connections/{_ID}", "retrieveConnection", "flow", fs.get_connection),
    _route("PATCH", f"{FLOW}/connections/{_ID}", "patchConnection", "flow", fs.patch_connection),
    _route("DELETE", f"{FLOW}/connections/{_ID}", "deleteConnection", "flow", fs.delete_connection),
    _route("POST", f"{FLOW}/sourceConnections", "createSourceConnection", "flow", fs.create_source_connection),
    _route("GET", f"{FLOW}/sourceConnections", "getSourceConnections", "flow", fs.list_source_connections),
    _route("GET", f"{FLOW}/sourceConnections/{_ID}", "retrieveSourceConnection", "flow", fs.get_source_connection),
    _route(
        "PATCH",
        f"{FLOW}/sourceConnections/{_ID}",
        "patchSourceConnection",
        "flow",
        fs.patch_source_connection,
    ),
    _route(
        "DELETE",
        f"{FLOW}/sourceConnections/{_ID}",
        "deleteSourceConnection",
        "flow",
        fs.delete_source_connection,
    ),
    _route("POST", f"{FLOW}/targetConnections", "createTargetConnection", "flow", fs.create_target_connection),
    _route("GET", f"{FLOW}/targetConnections", "getTargetConnections", "flow", fs.list_target_connections),
    _route("GET", f"{FLOW}/targetConnections/{_ID}", "retrieveTargetConnection", "flow", fs.get_target_connection),
    _route(
        "PATCH",
        f"{FLOW}/targetConnections/{_ID}",
        "patchTargetConnection",
        "flow",
        fs.patch_target_connection,
    ),
    _route(
        "DELETE",
        f"{FLOW}/targetConnections/{_ID}",
        "deleteTargetConnection",
        "flow",
        fs.delete_target_connection,
    ),
    _route("POST", f"{FLOW}/flows", "createFlow", "flow", fs.create_flow),
    _route("GET", f"{FLOW}/flows", "listFlows", "flow", fs.list_flows),
    _route("POST", f"{FLOW}/flows/{_ID}/action", "postStateTransition", "flow", fs.flow_action),
    _route("GET", f"{FLOW}/flows/{_ID}", "retrieveFlow", "flow", fs.get_flow),
    _route("PATCH", f"{FLOW}/flows/{_ID}", "patchFlow", "flow", fs.patch_flow),
    _route("DELETE", f"{FLOW}/flows/{_ID}", "deleteByFlow", "flow", fs.delete_flow),
    _route("GET", f"{FLOW}/runs", "listFlowRuns", "flow", fs.list_runs),
    _route("POST", f"{FLOW}/runs", "createFlowRun", "flow", fs.create_run),
    # Schema Registry
    _route("GET", f"{SCHEMAS}/stats", "retrieveStats", "xdm", pa.stats),
    _route("POST", f"{SCHEMAS}/tenant/classes", "createClass", "xdm", pa.create_class),
    _route("GET", f"{SCHEMAS}/tenant/classes", "listClasses", "xdm", pa.list_classes),
    _route("GET", f"{SCHEMAS}/tenant/classes/{_ID}", "retrieveClass", "xdm", pa.get_class),
    _route("DELETE", f"{SCHEMAS}/tenant/classes/{_ID}", "removeClass", "xdm", pa.delete_class),
    _route("POST", f"{SCHEMAS}/tenant/fieldgroups", "createFieldGroup", "xdm", pa.create_field_group),
    _route("GET", f"{SCHEMAS}/tenant/fieldgroups", "listFieldGroups", "xdm", pa.list_field_groups),
    _route("GET", f"{SCHEMAS}/tenant/fieldgroups/{_ID}", "retrieveFieldGroup", "xdm", pa.get_field_group),
    _route("PATCH", f"{SCHEMAS}/tenant/fieldgroups/{_ID}", "patchFieldGroup", "xdm", pa.patch_field_group),
    _route("DELETE", f"{SCHEMAS}/tenant/fieldgroups/{_ID}", "removeFieldGroup", "xdm", pa.delete_field_group),
    _route("POST", f"{SCHEMAS}/tenant/schemas", "createSchema", "xdm", pa.create_schema),
    _route("GET", f"{SCHEMAS}/tenant/schemas", "listSchemas", "xdm", pa.list_schemas),
    _route("GET", f"{SCHEMAS}/tenant/schemas/{_ID}", "retrieveSchema", "xdm", pa.get_schema),
    _route("DELETE", f"{SCHEMAS}/tenant/schemas/{_ID}", "deleteSchema", "xdm", pa.delete_schema),
    # Catalog
    _route("POST", f"{CATALOG}/dataSets", "createDataset", "catalog", pa.create_dataset),
    _route("GET", f"{CATALOG}/dataSets", "listDatasets", "catalog", pa.list_datasets),
    _route("GET", f"{CATALOG}/dataSets/{_ID}", "retrieveDataset", "catalog", pa.get_dataset),
    _route("DELETE", f"{CATALOG}/dataSets/{_ID}", "deleteDataset", "catalog", pa.delete_dataset),
    # Data Prep
    _route(
        "POST",
        f"{CONVERSION}/mappingSets/validate",
        "validateMappingSet",
        "dataprep",
        pa.validate_mapping_set,
    ),
    _route("POST", f"{CONVERSION}/mappingSets/preview", "previewMappingSet", "dataprep", dp.preview_mapping_set),
    _route("POST", f"{CONVERSION}/languages/el/validate", "validateExpression", "dataprep", dp.validate_expression),
    _route("POST", f"{CONVERSION}/mappingSets", "createMappingSet", "dataprep", pa.create_mapping_set),
    _route("GET", f"{CONVERSION}/mappingSets", "listMappingSets", "dataprep", pa.list_mapping_sets),
    _route("GET", f"{CONVERSION}/mappingSets/{_ID}", "retrieveMappingSet", "dataprep", pa.get_mapping_set),
    _route("PUT", f"{CONVERSION}/mappingSets/{_ID}", "putMappingSet", "dataprep", pa.put_mapping_set),
)
IMS_TOKEN_PATH = "/ims/token/v3"  # noqa: S105 (a path, not a password)
IMS_OPERATION = "imsToken"


@dataclass(frozen=True)
class RecordedRequest:
    """One request received: path without the query, the raw (undecoded) query, the status answered (0:
    dropped)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    operation: str
    status: int


class _Drop(Exception):
    """Close the connection without answering."""


class AepSimulator:
    """A stateful stand-in for Adobe IMS, Flow Service, Schema Registry, Catalog and Data Prep on 127.0.0.1.

    `url` is the Platform base (paths /data/foundation/...); IMS's token endpoint is f"{url}/ims/token/v3".
    Times: `now_ms()` and all object/run timestamps are epoch milliseconds; `token_ttl_s`, `latency_s`,
    `advance(seconds)` and Retry-After are seconds. Usable as a context manager (start/stop).
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, seed: int = 0, state_dir: str | Path | None = None
    ) -> None:
        self._state_dir = Path(state_dir) if state_dir is not None else None
        self._own_state_dir = False
        self._host = host
        self._port = port
        self._state = State()
        self._rng = random.Random(seed)
        self._faults = FaultSet(self._rng)
        self._counter_lock = threading.Lock()
        self._calls: collections.Counter[str] = collections.Counter()
        self._requests: list[RecordedRequest] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._bucket: TokenBucket | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.latency_s: float = 0.0
        self.token_ttl_s: int = 86399
        self._io_events: IoEvents | None = None
        self._state.ingest = self._ingest  # on-demand runs (POST /runs) ingest through the Data Prep engine

    # --- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Listen on host:port (0 = an ephemeral port) and serve from a daemon thread."""
        if self._server is not None:
            return
        simulator = self

        class _Handler(_RequestHandler):
            sim = simulator

        server = _Server((self._host, self._port), _Handler)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="aep-simulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving; a state folder the simulator made itself (a temp dir) is removed."""
        if self._own_state_dir and self._state_dir is not None:
            shutil.rmtree(self._state_dir, ignore_errors=True)
            self._state_dir, self._own_state_dir = None, False
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        self._thread = None

    def __enter__(self) -> AepSimulator:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """ "http://127.0.0.1:PORT". Raises RuntimeError before start()."""
        if self._server is None:
            raise RuntimeError("the simulator is not started")
        return f"http://{self._host}:{self._server.server_address[1]}"

    # --- configuration --------------------------------------------------------------------------------------

    def register_client(self, client_id: str, client_secret: str, ims_org: str) -> None:
        """Credentials IMS accepts (an OAuth Server-to-Server credential of an IMS org)."""
        with self._state.lock:
            self._state.clients[client_id] = (client_secret, ims_org)

    def register_stripe_key(self, key: str) -> None:
        """A Stripe secret key "Stripe" accepts (checked by explore)."""
        with self._state.lock:
            self._state.stripe_keys.add(key)

    def revoke_stripe_key(self, key: str) -> None:
        with self._state.lock:
            self._state.stripe_keys.discard(key)

    @property
    def tenant_id(self) -> str:
        """The Schema Registry tenant id (custom fields live under `_{tenant_id}`)."""
        return self._state.tenant_id

    @tenant_id.setter
    def tenant_id(self, value: str) -> None:
        with self._state.lock:
            self._state.tenant_id = value

    @property
    def rate_limit_rps(self) -> float | None:
        """Throughput cap over all Platform calls (requests per second; None = no cap)."""
        return self._bucket.rate if self._bucket else None

    @rate_limit_rps.setter
    def rate_limit_rps(self, value: float | None) -> None:
        self._bucket = TokenBucket(value) if value else None

    def expire_tokens(self) -> None:
        """Every token issued so far becomes invalid (401013 on its next use)."""
        with self._state.lock:
            self._state.token_generation += 1

    def add_fault(self, fault: Fault) -> Fault:
        return self._faults.add(fault)

    def clear_faults(self) -> None:
        self._faults.clear()

    # --- observation ----------------------------------------------------------------------------------------

    def objects(self, kind: str, sandbox: str | None = None) -> list[dict[str, Any]]:
        """Deep copies of the stored objects of a kind (all sandboxes unless `sandbox` is given), as GET
        shows them.

        Kinds: connections, sourceConnections, targetConnections, flows, fieldgroups, schemas, dataSets,
        mappingSets. Raises ValueError for another kind.
        """
        with self._state.lock:
            return self._state.all_objects(kind, sandbox)

    def runs_of(self, flow_id: str) -> list[dict[str, Any]]:
        """Deep copies of the stored runs of a flow, oldest first (scheduled, added and on-demand runs; an
        on-demand run carries the ``params`` it was started with); empty for an unknown flow."""
        with self._state.lock:
            return copy.deepcopy(self._state.runs.get(flow_id, []))

    def stripe_key_of(self, base_connection_id: str) -> str | None:
        """The Stripe key a base connection holds (never returned over HTTP), or None."""
        with self._state.lock:
            return self._state.connection_secrets.get(base_connection_id)

    @property
    def calls(self) -> collections.Counter[str]:
        """A copy of the call counts by operation name (see ROUTES)."""
        with self._counter_lock:
            return collections.Counter(self._calls)

    def reset_calls(self) -> None:
        with self._counter_lock:
            self._calls.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in order (the live list: `clear()` is allowed)."""
        return self._requests

    @property
    def max_in_flight(self) -> int:
        """The most Platform requests handled at the same time since the last reset."""
        return self._max_in_flight

    def reset_max_in_flight(self) -> None:
        with self._counter_lock:
            self._max_in_flight = self._in_flight

    # --- simulated time and runs ----------------------------------------------------------------------------

    def now_ms(self) -> int:
        """The simulator's clock in epoch milliseconds (real time + the offset `advance` added)."""
        return self._state.now_ms()

    def advance(self, seconds: float) -> None:
        """Move the simulator's clock forward (tokens expire by it; runs are generated up to it)."""
        with self._state.lock:
            self._state.clock_offset_ms += int(seconds * 1000)

    def add_run(
        self,
        flow_id: str,
        status: str,
        *,
        started_at_ms: int | None = None,
        completed_at_ms: int | None = None,
        input_records: int = 100,
        failed_records: int = 0,
        errors: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Record a flow run (status success|failed|inProgress|partialSuccess); returns a copy of the run.

        Times are epoch ms (default: now, and completed one minute later unless inProgress).
        Raises KeyError for an unknown flow, ValueError for an unknown status.
        """
        with self._state.lock:
            found = self._state.find_flow(flow_id)
            if found is None:
                raise KeyError(f"no flow {flow_id}")
            started = started_at_ms if started_at_ms is not None else self._state.now_ms()
            completed = completed_at_ms
            if completed is None and status != "inProgress":
                completed = started + 60_000
            run = make_run(
                found[1],
                status,
                started_at_ms=started,
                completed_at_ms=completed,
                input_records=input_records,
                failed_records=failed_records,
                errors=errors,
            )
            self._state.runs.setdefault(flow_id, []).append(run)
            if status != "inProgress":
                run_ended(self._state, run)
            return copy.deepcopy(run)

    @property
    def io_events(self) -> IoEvents:
        """Adobe I/O Events (flow run notifications to a webhook; keys served under ``/prod/keys/``), created on
        first use and told of every run that ends. Set ``io_events.webhook_url`` to start deliveries."""
        with self._state.lock:
            if self._io_events is None:
                self._io_events = IoEvents()
                self._state.run_listeners.append(self._io_events.on_run_end)
            return self._io_events

    def add_run_listener(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """``listener(run)`` hears of every run that finishes (added, generated or on demand)."""
        with self._state.lock:
            self._state.run_listeners.append(listener)

    def generate_runs(
        self, flow_id: str | None = None, until_ms: int | None = None, status: str = "success", *, ingest: bool = False
    ) -> int:
        """Add the runs each enabled flow's schedule calls for up to `until_ms` (default now); returns how
        many. Scripted runs (100 records, `status`) unless `ingest`: then each run really ingests (`run_flow`)."""
        if ingest:
            return self._generate_ingesting_runs(flow_id, until_ms)
        created = 0
        with self._state.lock:
            until = until_ms if until_ms is not None else self._state.now_ms()
            for objects in self._state.sandboxes.values():
                for flow in list(objects["flows"].values()):
                    if (flow_id is not None and flow["id"] != flow_id) or flow.get("state") != "enabled":
                        continue
                    after = self._state.generated_until_ms.get(flow["id"])
                    for t in scheduled_times_ms(flow["scheduleParams"], after, until):
                        run = make_run(
                            flow,
                            status,
                            started_at_ms=t,
                            completed_at_ms=t + 60_000,
                            input_records=100,
                            failed_records=0 if status == "success" else 100,
                            errors=None,
                        )
                        self._state.runs.setdefault(flow["id"], []).append(run)
                        self._state.generated_until_ms[flow["id"]] = t
                        run_ended(self._state, run)
                        created += 1
        return created

    def _generate_ingesting_runs(self, flow_id: str | None, until_ms: int | None) -> int:
        due: list[tuple[str, int]] = []
        with self._state.lock:
            until = until_ms if until_ms is not None else self._state.now_ms()
            for objects in self._state.sandboxes.values():
                for flow in objects["flows"].values():
                    if (flow_id is not None and flow["id"] != flow_id) or flow.get("state") != "enabled":
                        continue
                    after = self._state.generated_until_ms.get(flow["id"])
                    due += [(flow["id"], t) for t in scheduled_times_ms(flow["scheduleParams"], after, until)]
                    if due and due[-1][0] == flow["id"]:
                        self._state.generated_until_ms[flow["id"]] = due[-1][1]
        for due_flow, t in due:
            self.run_flow(due_flow, started_at_ms=t)
        return len(due)

    # --- Stripe accounts, ingestion, datasets ---------------------------------------------------------------

    @property
    def state_dir(self) -> Path:
        """Where datasets' batches are written: the `state_dir` given, else a temp dir made on first use (and
        removed by stop())."""
        with self._state.lock:
            if self._state_dir is None:
                self._state_dir = Path(tempfile.mkdtemp(prefix="aep-simulator-"))
                self._own_state_dir = True
            return self._state_dir

    def seed_stripe_account(
        self, stripe_key: str, objects: dict[str, list[dict[str, Any]]], *, replace: bool = True
    ) -> None:
        """Give the Stripe account of `stripe_key` these objects, `{resource path: [Stripe object, ...]}` (each
        with a string `id`). `replace` (default) drops what those paths held, else objects are added (same id:
        replaced). Paths never seeded hold stripe_data's three samples. Raises ValueError, changing nothing, for
        an unknown path or an object without an id. The key is not registered: `register_stripe_key` does."""
        with self._state.lock:
            stripe_account.seed(self._state, stripe_key, objects, replace=replace)

    def seed_stripe_account_of(
        self, base_connection_id: str, objects: dict[str, list[dict[str, Any]]], *, replace: bool = True
    ) -> None:
        """`seed_stripe_account` for the key a base connection holds. Raises KeyError for an unknown one."""
        key = self.stripe_key_of(base_connection_id)
        if key is None:
            raise KeyError(f"no base connection {base_connection_id}")
        self.seed_stripe_account(key, objects, replace=replace)

    def stripe_list(
        self, stripe_key: str, path: str, *, limit: int = 10, starting_after: str | None = None
    ) -> dict[str, Any]:
        """`GET /v1/{path}` of that account: Stripe's list envelope `{object: "list", url, has_more, data}`,
        newest first. Raises ValueError for an unknown path, a bad limit or an unknown `starting_after`."""
        with self._state.lock:
            objects = stripe_account.account_objects(self._state, stripe_key, path)
            return stripe_account.list_page(objects, path, limit=limit, starting_after=starting_after)

    def run_flow(self, flow_id: str, *, started_at_ms: int | None = None) -> dict[str, Any]:
        """Run a flow now as Adobe's pipeline would (dataprep/ingest.py): read every record of its resource
        path from the Stripe account of its base connection (Stripe pages of 100), map, validate, write one
        batch to its dataset; returns a copy of the run (status success|partialSuccess|failed, real record
        counts and errors). Raises KeyError for an unknown flow."""
        with self._state.lock:
            found = self._state.find_flow(flow_id)
            if found is None:
                raise KeyError(f"no flow {flow_id}")
            started = started_at_ms if started_at_ms is not None else self._state.now_ms()
            run = self._ingest(self._state, found[1], None, None, started)
            run_ended(self._state, run)
            return copy.deepcopy(run)

    def _ingest(
        self,
        state: State,
        flow: dict[str, Any],
        window_start_s: int | None,
        window_end_s: int | None,
        started_at_ms: int,
    ) -> dict[str, Any]:
        """One flow run through the Data Prep engine (``State.ingest``; call with the lock held): the Stripe
        records of the flow's path (only those whose ``created``, epoch s, falls in ``[window_start_s,
        window_end_s)`` when a window is given: an on-demand run, POST /runs), mapped, validated and written as
        one batch of its dataset (none when no record was read). Records and returns the run itself."""
        found = state.find_flow(flow["id"])
        if found is None:
            raise KeyError(f"no flow {flow['id']}")
        sandbox_name = found[0]
        objects = state.sandbox(sandbox_name)
        started = started_at_ms
        source = objects["sourceConnections"][flow["sourceConnectionIds"][0]]
        target = objects["targetConnections"][flow["targetConnectionIds"][0]]
        path = source["params"]["resourcePath"]
        dataset_id = target["params"]["dataSetId"]
        key = state.connection_secrets.get(source["baseConnectionId"], "")
        if key not in state.stripe_keys:
            run = make_run(
                flow,
                "failed",
                started_at_ms=started,
                completed_at_ms=started + 1_000,
                input_records=0,
                failed_records=0,
                errors=[{"code": "CONNECTOR-1401-401", "message": "Stripe rejected the API key (401)"}],
            )
            state.runs.setdefault(flow["id"], []).append(run)
            return run
        began = time.perf_counter()
        account = stripe_account.account_objects(state, key, path)
        if window_start_s is not None and window_end_s is not None:
            account = [o for o in account if window_start_s <= int(o.get("created") or 0) < window_end_s]
        records, pages = stripe_account.read_all(account, path)
        json_schema = xdm.resolve_schema(objects, target["data"]["schema"]["id"])
        mapping_set = _flow_mapping_set(objects, flow)
        outcome = ingest.ingest_records(records, mapping_set, json_schema, flow.get("options"))
        run = make_run(
            flow,
            outcome.status,
            started_at_ms=started,
            completed_at_ms=started + max(1, int((time.perf_counter() - began) * 1000)),
            input_records=outcome.input_records,
            failed_records=outcome.failed_records,
            errors=outcome.errors,
        )
        state.runs.setdefault(flow["id"], []).append(run)
        if not records:
            return run
        batch_id = new_hex(16)
        ingest.write_batch(
            self.state_dir / "datasets" / dataset_id / batch_id, json_schema, outcome.rows, outcome.failed
        )
        state.batches.setdefault(dataset_id, []).append(
            {
                "id": batch_id,
                "runId": run["id"],
                "flowId": flow["id"],
                "status": outcome.status,
                "schemaId": target["data"]["schema"]["id"],
                "sandbox": sandbox_name,
                "recordsRead": outcome.input_records,
                "recordsWritten": len(outcome.rows),
                "recordsFailed": outcome.failed_records,
                "stripePages": pages,
                "createdAt": started,
            }
        )
        return run

    def dataset_batches(self, dataset_id: str) -> list[dict[str, Any]]:
        """The batches runs wrote to a dataset, oldest first: `{id, runId, flowId, status, recordsRead,
        recordsWritten, recordsFailed, stripePages, createdAt (epoch ms), ...}`."""
        with self._state.lock:
            return copy.deepcopy(self._state.batches.get(dataset_id, []))

    def dataset_rows(self, dataset_id: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """The XDM rows a dataset holds, read back from its Parquet files (batches oldest first, rows in
        ingestion order; date-times as ISO 8601 UTC strings; nulls left out). [] for a dataset without data."""
        rows: list[dict[str, Any]] = []
        for batch in self.dataset_batches(dataset_id):
            with self._state.lock:
                schema = xdm.resolve_schema(self._state.sandbox(batch["sandbox"]), batch["schemaId"])
            rows += ingest.read_batch_rows(self.state_dir / "datasets" / dataset_id / batch["id"], schema)
            if limit is not None and len(rows) >= limit:
                return rows[:limit]
        return rows

    def dataset_failed_rows(self, dataset_id: str) -> list[dict[str, Any]]:
        """The rejected rows of a dataset's batches: `{"record": Stripe object, "row": mapped row, "errors":
        [message]}`."""
        out: list[dict[str, Any]] = []
        for batch in self.dataset_batches(dataset_id):
            out += ingest.read_failed(self.state_dir / "datasets" / dataset_id / batch["id"])
        return out

    def remove_flow(self, flow_id: str) -> None:
        """The flow vanishes from AEP (no deletion rules applied). Raises KeyError for an unknown flow."""
        with self._state.lock:
            found = self._state.find_flow(flow_id)
            if found is None:
                raise KeyError(f"no flow {flow_id}")
            del self._state.sandboxes[found[0]]["flows"][flow_id]
            self._state.runs.pop(flow_id, None)

    def remove_object(self, kind: str, object_id: str) -> None:
        """An object of ``kind`` (see ``objects``) vanishes from AEP without the deletion rules (as when someone
        deletes it where the simulator does not look: another tool, a sandbox reset). ``object_id`` is its
        ``id``, or for XDM resources its ``$id`` or ``meta:altId``. Raises ValueError for an unknown kind,
        KeyError for an unknown object."""
        if kind == "flows":
            self.remove_flow(object_id)
            return
        with self._state.lock:
            self._state.all_objects(kind)  # ValueError for an unknown kind
            for objects in self._state.sandboxes.values():
                for key, obj in list(objects[kind].items()):
                    if object_id in (key, obj.get("id"), obj.get("$id"), obj.get("meta:altId")):
                        del objects[kind][key]
                        return
        raise KeyError(f"no {kind} object {object_id}")

    # --- request processing (called from the HTTP handler threads) ------------------------------------------

    def _count(self, operation: str, platform: bool) -> None:
        with self._counter_lock:
            self._calls[operation] += 1
            if platform:
                self._in_flight += 1
                self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _done(self, platform: bool) -> None:
        if platform:
            with self._counter_lock:
                self._in_flight -= 1

    def _record(self, request: RecordedRequest) -> None:
        with self._counter_lock:
            self._requests.append(request)

    def process(self, call: Call, operation: str, route: Route | None) -> Reply:
        """Answer one call (see the module docstring). Raises _Drop to close the connection unanswered."""
        platform = operation != IMS_OPERATION
        self._count(operation, platform)
        try:
            if self.latency_s > 0:
                time.sleep(self.latency_s)
            commit_then_drop = False
            fault_reply: Reply | None = None
            for fault in self._faults.firing(operation):
                if fault.latency_s > 0:
                    time.sleep(fault.latency_s)
                if fault.kind == "latency" or fault_reply is not None or commit_then_drop:
                    continue
                if fault.kind == "reset":
                    raise _Drop
                if fault.kind == "reset_after_commit":
                    commit_then_drop = True
                elif fault.kind == "commit_late":
                    self._commit_later(call, operation, route, fault.commit_delay_s)
                    raise _Drop
                else:
                    fault_reply = _fault_reply(fault, call)
            if fault_reply is not None:
                return fault_reply
            reply = self._answer(call, operation, route, platform)
            if commit_then_drop:
                raise _Drop
            return reply
        finally:
            self._done(platform)

    def _commit_later(self, call: Call, operation: str, route: Route | None, delay_s: float) -> None:
        """Handle ``call`` ``delay_s`` seconds from now on a timer thread (its answer goes nowhere)."""
        timer = threading.Timer(delay_s, self._answer, args=(call, operation, route, operation != IMS_OPERATION))
        timer.daemon = True
        timer.start()

    def _answer(self, call: Call, operation: str, route: Route | None, platform: bool) -> Reply:
        try:
            if operation == IMS_OPERATION:
                return self._ims_token(call)
            if route is None:
                raise ApiError(404, "gateway", "404050", f"no such resource: {call.method} {call.path}")
            if self._bucket is not None:
                wait = self._bucket.take()
                if wait is not None:
                    raise ApiError(429, "gateway", "429001", "Too many requests", headers={"Retry-After": str(wait)})
            self._authenticate(call)
            with self._state.lock:
                return route.handler(self._state, call)
        except ApiError as error:
            return Reply(error.status, error.body(call.request_id), dict(error.headers))

    def _ims_token(self, call: Call) -> Reply:
        """POST /ims/token/v3 (client_credentials) -> {access_token, token_type, expires_in (seconds)}."""
        form = parse_qs(call.body.decode("utf-8", "replace"))
        grant = (form.get("grant_type") or [""])[0]
        client_id = (form.get("client_id") or [""])[0]
        client_secret = (form.get("client_secret") or [""])[0]
        if grant != "client_credentials":
            raise ApiError(400, "ims", "unsupported_grant_type", "grant_type must be client_credentials")
        with self._state.lock:
            registered = self._state.clients.get(client_id)
            if registered is None:
                raise ApiError(400, "ims", "invalid_client", "invalid client_id parameter")
            if not secrets.compare_digest(registered[0], client_secret):
                raise ApiError(401, "ims", "invalid_client", "invalid client_secret parameter")
            token = "eyJ" + secrets.token_urlsafe(48)
            self._state.tokens[token] = Token(
                client_id=client_id,
                ims_org=registered[1],
                expires_at_ms=self._state.now_ms() + self.token_ttl_s * 1000,
                generation=self._state.token_generation,
            )
        return Reply(200, {"access_token": token, "token_type": "bearer", "expires_in": self.token_ttl_s})

    def _authenticate(self, call: Call) -> None:
        headers = call.headers
        authorization = headers.get("authorization", "")
        bearer = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
        with self._state.lock:
            token = self._state.tokens.get(bearer) if bearer else None
            valid = (
                token is not None
                and token.generation == self._state.token_generation
                and token.expires_at_ms > self._state.now_ms()
            )
        if token is None or not valid:
            raise ApiError(401, "gateway", "401013", "Oauth token is not valid")
        if headers.get("x-api-key") != token.client_id:
            raise ApiError(403, "gateway", "403003", "Api Key is invalid")
        org = headers.get("x-gw-ims-org-id")
        if not org:
            raise ApiError(400, "gateway", "400003", "Missing x-gw-ims-org-id header")
        if org != token.ims_org:
            raise ApiError(403, "gateway", "403025", "Profile is not valid for the x-gw-ims-org-id given")
        sandbox = headers.get("x-sandbox-name")
        if not sandbox:
            raise ApiError(400, "gateway", "400005", "Missing x-sandbox-name header")
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if call.body and not (media_type.startswith("application/") and media_type.endswith("json")):
            raise ApiError(415, "gateway", "415001", "Content-Type must be application/json")
        call.sandbox = sandbox
        call.client_id = token.client_id
        call.ims_org = token.ims_org

    def route(self, method: str, path: str) -> tuple[str, Route | None, dict[str, str]]:
        """(operation, route, path params) for a request; operation "unknown" when nothing matches."""
        if method == "POST" and path == IMS_TOKEN_PATH:
            return IMS_OPERATION, None, {}
        for candidate in ROUTES:
            if candidate.method == method:
                match = candidate.pattern.match(path)
                if match:
                    return candidate.operation, candidate, match.groupdict()
        return "unknown", None, {}


def _flow_mapping_set(objects: dict[str, dict[str, Any]], flow: dict[str, Any]) -> dict[str, Any]:
    for transformation in flow.get("transformations") or []:
        if isinstance(transformation, dict) and transformation.get("name") == "Mapping":
            params = transformation.get("params") or {}
            mapping_id = params.get("mappingId")
            if mapping_id in objects["mappingSets"]:
                return pa.mapping_set_version(objects["mappingSets"][mapping_id], params.get("mappingVersion"))
    raise KeyError(f"flow {flow['id']} has no Mapping transformation with a stored mapping set")


def _fault_reply(fault: Fault, call: Call) -> Reply:
    if fault.kind == "throttle":
        error = ApiError(
            429,
            "gateway",
            "429001",
            "Too many requests",
            headers={"Retry-After": str(fault.retry_after if fault.retry_after is not None else 1)},
        )
    elif fault.kind == "throttle_no_retry_after":
        error = ApiError(429, "gateway", "429001", "Too many requests")
    elif fault.kind == "token_expired":
        error = ApiError(401, "gateway", "401013", "Oauth token is not valid")
    else:
        status = int(fault.kind.removeprefix("error"))
        error = ApiError(status, "gateway", f"{status}000", "Injected upstream error")
    return Reply(error.status, error.body(call.request_id), dict(error.headers))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # listen() backlog: bursts of concurrent connections must not be dropped

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a caller that gave up (timeout) leaves a broken pipe behind: not the simulator's error
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    sim: AepSimulator
    protocol_version = "HTTP/1.1"
    server_version = "AepSimulator/1.0"

    def setup(self) -> None:
        super().setup()
        # one small answer = headers + body in two writes: without TCP_NODELAY, Nagle and delayed ACKs stall
        # it
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: no access log (it could carry secrets)
        return

    def _handle(self) -> None:
        split = urlsplit(self.path)
        if self.command == "GET" and split.path.startswith("/prod/keys/"):
            self._serve_key(split.path)
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        operation, route, params = self.sim.route(self.command, split.path)
        request_id = str(uuid.uuid4())
        call = Call(
            method=self.command,
            path=split.path,
            raw_query=split.query,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=headers,
            body=body,
            params=params,
            family=route.family if route else "gateway",
            request_id=request_id,
            base_url=self.sim.url,
        )
        try:
            reply = self.sim.process(call, operation, route)
        except _Drop:
            self._record(split.path, split.query, body, operation, 0)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        # recorded before answering, so that a caller who got its answer also finds it in `requests`
        self._record(split.path, split.query, body, operation, reply.status)
        self._send(reply, request_id)

    def _serve_key(self, path: str) -> None:
        """The I/O Events key host (static.adobeioevents.com): a PEM public key, or 404."""
        events = self.sim._io_events
        pem = events.public_key(path) if events is not None else None
        self.send_response(200 if pem else 404)
        self.send_header("Content-Type", "application/x-pem-file")
        self.send_header("Content-Length", str(len(pem or b"")))
        self.end_headers()
        self.wfile.write(pem or b"")

    def _record(self, path: str, query: str, body: bytes, operation: str, status: int) -> None:
        headers = dict(self.headers.items())
        self.sim._record(RecordedRequest(self.command, path, query, headers, body, operation, status))

    def _send(self, reply: Reply, request_id: str) -> None:
        payload = b"" if reply.body is None else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("x-request-id", request_id)
        if payload:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _handle
    do_POST = _handle
    do_PATCH = _handle
    do_DELETE = _handle
    do_PUT = _handle
