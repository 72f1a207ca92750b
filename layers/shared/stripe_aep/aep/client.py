"""``PlatformClient``: typed calls to Adobe Experience Platform's Flow Service, Schema Registry, Catalog and
Data Prep APIs, as the Stripe source tutorial (``stripe-source-flow-service-api.txt``) uses them.

Every request carries ``Authorization: Bearer``, ``x-api-key``, ``x-gw-ims-org-id``, ``x-sandbox-name`` (and
``Content-Type: application/json`` with a body), a connect and a read timeout, and verifies TLS. A 401
fetches a
new IMS token once and repeats the call once (any method: a 401 means nothing was done). GET/DELETE are
retried
by the HTTP layer (``http.py``); POST/PATCH are not. Errors are raised (``errors.py``), never returned.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar
from urllib.parse import urljoin, urlsplit

import requests
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from .auth import ImsCredential, ImsTokenProvider
from .errors import AepConnectionError, NotFoundError, ThrottledError, UnexpectedResponseError
from .http import RETRY_STATUSES, build_session, check_url, error_from_response, make_retry
from .models import (
    BaseConnectionRequest,
    Connection,
    Created,
    Dataset,
    DatasetRequest,
    ExploreResult,
    Flow,
    FlowRequest,
    FlowRun,
    MappingPreview,
    MappingSet,
    MappingSetBody,
    PatchOperation,
    Schedule,
    SourceConnectionRequest,
    TargetConnectionRequest,
    XdmBody,
    XdmResource,
)

__all__ = ["PlatformClient", "PlatformSettings"]

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

FLOW_SERVICE = "/data/foundation/flowservice"
SCHEMA_REGISTRY = "/data/foundation/schemaregistry"
CATALOG = "/data/foundation/catalog"
DATA_PREP = "/data/foundation/conversion"
XDM_ID_LIST = "application/vnd.adobe.xed-id+json"
XDM_FULL = "application/vnd.adobe.xed+json"


#: ``observer(operation, final HTTP status or 0, 429 answers met)``: see ``PlatformClient``.
CallObserver = Callable[[str, int, int], None]


class RateBudget(Protocol):
    """A limit on Adobe calls shared beyond this client (``stripe_aep.budget.AdobeBudget``)."""

    def acquire(self, operation: str | None = None) -> float:
        """Wait for one call's slot (seconds slept) or raise a ``ThrottledError`` (nothing sent)."""
        ...

    def throttled(self, retry_after_s: float | None) -> None:
        """Adobe answered 429 with ``Retry-After`` seconds (``None``: none given)."""
        ...


class PlatformSettings(BaseModel):
    """Where and how to call Adobe. Timeouts in seconds; ``retry_*`` apply to GET/DELETE only.

    ``platform_url``/``ims_url`` must be https, or http to a loopback host (the local simulator); anything
    else
    raises ``ValidationError``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    platform_url: str = "https://platform.adobe.io"
    ims_url: str = "https://ims-na1.adobelogin.com"
    sandbox: str = Field(default="prod", min_length=1)
    connect_timeout_s: float = Field(default=3.05, gt=0)
    read_timeout_s: float = Field(default=30.0, gt=0)
    retry_attempts: int = Field(default=5, ge=1, le=10, description="attempts including the first")
    retry_backoff_factor_s: float = Field(default=0.5, ge=0)
    retry_backoff_max_s: float = Field(default=8.0, ge=0, description="cap of one backoff wait")
    retry_backoff_jitter_s: float = Field(default=0.5, ge=0)
    retry_after_max_s: int = Field(default=20, ge=0, description="cap of one Retry-After wait")
    retry_total_wait_max_s: float = Field(default=30.0, ge=0, description="cap of all waits of one request")
    token_refresh_margin_s: float = Field(default=300.0, ge=0)
    create_settle_s: float = Field(
        default=10.0,
        ge=0,
        description="after a create's read timeout, how long its POST may take to be listed (uncertain creates)",
    )

    @field_validator("platform_url", "ims_url")
    @classmethod
    def _safe_url(cls, value: str) -> str:
        return check_url(value)

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout_s, self.read_timeout_s)


def _source_params(resource_path: str) -> str:
    """base64 of ``{"resourcePath": ...}`` (compact JSON), not URL-encoded: requests encodes it once."""
    raw = json.dumps({"resourcePath": resource_path}, separators=(",", ":")).encode()
    return base64.b64encode(raw).decode("ascii")


class PlatformClient:
    """Adobe Experience Platform API client (thread-safe; share one per process and credential).

    ``session`` defaults to one built with the retry policy of ``settings``; a caller-supplied session is used
    as is (mount your own adapters for retries). ``observer(operation, status, throttled)`` is told of every
    Platform call once it ended: the final HTTP status (0 when no answer came) and how many 429 answers it met,
    retries included (the Lambdas turn this into the AdobeCalls / AdobeThrottles metrics).
    ``reload_credential`` reads the credential again bypassing caches: called once when IMS answers
    ``invalid_client`` (a rotated client secret; see ``ImsTokenProvider``).
    ``budget`` (a ``RateBudget``): every Platform request first takes a slot from it (raising its
    ``BudgetExhaustedError`` when none is free soon, nothing sent); a 429 is reported to it and the request asks
    it for a slot again (a 429 is a refusal: nothing was done), at most ``THROTTLED_RESENDS`` times; the HTTP
    layer then retries only 5xx and connection errors.
    """

    THROTTLED_RESENDS = 2

    def __init__(
        self,
        settings: PlatformSettings,
        credential: ImsCredential,
        session: requests.Session | None = None,
        observer: CallObserver | None = None,
        reload_credential: Callable[[], ImsCredential] | None = None,
        budget: RateBudget | None = None,
    ) -> None:
        self.settings = settings
        self._observer = observer
        self._credential = credential
        self._budget = budget
        if session is None:
            retry = make_retry(
                attempts=settings.retry_attempts,
                backoff_factor=settings.retry_backoff_factor_s,
                backoff_max=settings.retry_backoff_max_s,
                backoff_jitter=settings.retry_backoff_jitter_s,
                retry_after_max=settings.retry_after_max_s,
                total_wait_max=settings.retry_total_wait_max_s,
                statuses=RETRY_STATUSES if budget is None else RETRY_STATUSES - {429},
            )
            session = build_session(retry)
        self._session = session
        self._tokens = ImsTokenProvider(
            credential,
            settings.ims_url,
            session,
            settings.timeout,
            settings.token_refresh_margin_s,
            reload_credential=reload_credential,
        )
        origin = urlsplit(settings.platform_url)
        self._origin = (origin.scheme, origin.netloc)
        self._tenant_id: str | None = None
        self._tenant_lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"PlatformClient(platform_url={self.settings.platform_url!r}, sandbox={self.settings.sandbox!r}, "
            f"client_id={self._credential.client_id!r})"
        )

    @property
    def credential(self) -> ImsCredential:
        """The Adobe credential the client authenticates with (the one read again after IMS answered
        ``invalid_client``, if that happened); its ``client_secret`` stays a ``SecretStr``."""
        return self._tokens.credential

    @property
    def tokens(self) -> ImsTokenProvider:
        """The client's IMS access-token provider (``token()`` gives the cached token or asks IMS for one)."""
        return self._tokens

    def close(self) -> None:
        self._session.close()

    # ---- transport -------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.settings.platform_url + path

    def _headers(self, token: str, extra: Mapping[str, str] | None, has_body: bool) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {token}",
            "x-api-key": self._tokens.credential.client_id,
            "x-gw-ims-org-id": self._tokens.credential.ims_org,
            "x-sandbox-name": self.settings.sandbox,
            "Accept": "application/json",
        }
        if has_body:
            headers["Content-Type"] = "application/json"
        if extra:
            headers.update(extra)
        return headers

    def _check_same_origin(self, url: str, operation: str) -> None:
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != self._origin:
            # Never send the token anywhere else (a _links.next pointing off-platform).
            raise UnexpectedResponseError(
                f"refusing to follow a link to another origin ({parts.scheme}://{parts.hostname})",
                operation=operation,
            )

    def _send(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
    ) -> requests.Response:
        """One Platform call with the 401 -> refresh -> repeat-once rule (and, with a budget, a slot before each
        request and a resend after a 429). Raises an ``AepError`` subclass."""
        self._check_same_origin(url, operation)
        data = None if json_body is None else json.dumps(json_body, separators=(",", ":"))
        response: requests.Response | None = None
        refreshed, resends = False, 0
        while True:
            token = self._tokens.token()
            if self._budget is not None:
                self._budget.acquire(operation)
            try:
                response = self._session.request(
                    method,
                    url,
                    params=params,
                    data=data,
                    headers=self._headers(token, headers, data is not None),
                    timeout=self.settings.timeout,
                )
            except requests.RequestException as exc:
                logger.debug("%s %s: %s", operation, method, type(exc).__name__)
                self._observe(operation, 0, None)
                raise AepConnectionError(
                    f"{method} {urlsplit(url).path}: {type(exc).__name__}", operation=operation
                ) from None
            logger.debug(
                "%s %s %s -> %s (request id %s)",
                operation,
                method,
                urlsplit(url).path,
                response.status_code,
                response.headers.get("x-request-id"),
            )
            if response.status_code == 401 and not refreshed:
                self._tokens.invalidate(token)
                refreshed = True
                continue
            if response.status_code == 429 and self._budget is not None:
                refusal = error_from_response(operation, response)
                self._budget.throttled(refusal.retry_after if isinstance(refusal, ThrottledError) else None)
                if resends < self.THROTTLED_RESENDS:
                    self._observe(operation, 429, response)
                    resends += 1
                    continue
            break
        self._observe(operation, response.status_code, response)
        if response.status_code not in ok:
            raise error_from_response(operation, response)
        return response

    def _observe(self, operation: str, status: int, response: requests.Response | None) -> None:
        if self._observer is None:
            return
        retries = getattr(getattr(response, "raw", None), "retries", None)
        history = getattr(retries, "history", ()) or ()
        throttled = sum(1 for attempt in history if attempt.status == 429) + (status == 429)
        self._observer(operation, status, throttled)

    def _json(self, operation: str, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise UnexpectedResponseError(
                "response is not JSON", status=response.status_code, operation=operation
            ) from None

    def _parse(self, model: type[M], data: Any, operation: str, status: int | None = None) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            fields = sorted({".".join(str(p) for p in err["loc"]) or "<root>" for err in exc.errors()})
            raise UnexpectedResponseError(
                f"response is not a {model.__name__}: bad or missing {', '.join(fields)}",
                status=status,
                operation=operation,
            ) from None

    def _get_model(self, model: type[M], operation: str, path: str, **kw: Any) -> M:
        response = self._send(operation, "GET", self._url(path), **kw)
        return self._parse(model, self._json(operation, response), operation, response.status_code)

    def _first_item(self, model: type[M], operation: str, path: str, **kw: Any) -> M:
        """Flow Service GET by id answers ``{"items": [...]}``; a bare object is accepted too."""
        response = self._send(operation, "GET", self._url(path), **kw)
        data = self._json(operation, response)
        if isinstance(data, dict) and isinstance(data.get("items"), list):
            if not data["items"]:
                raise NotFoundError("no item in the answer", status=response.status_code, operation=operation)
            data = data["items"][0]
        return self._parse(model, data, operation, response.status_code)

    def _pages(
        self,
        operation: str,
        path: str,
        params: Sequence[tuple[str, Any]] | None,
        headers: Mapping[str, str] | None = None,
        item_key: str = "items",
    ) -> Iterator[Any]:
        """Yield the items of a list, page by page, following ``_links.next.href`` (relative or absolute)
        lazily: the next page is requested only when the caller asks for more."""
        url: str | None = self._url(path)
        current_params: Sequence[tuple[str, Any]] | None = params
        while url is not None:
            response = self._send(operation, "GET", url, params=current_params, headers=headers)
            data = self._json(operation, response)
            items = data.get(item_key) if isinstance(data, dict) else None
            if not isinstance(items, list):
                raise UnexpectedResponseError(
                    f"list answer has no '{item_key}'", status=response.status_code, operation=operation
                )
            yield from items
            links = data.get("_links") if isinstance(data, dict) else None
            next_link = links.get("next") if isinstance(links, dict) else None
            href = next_link.get("href") if isinstance(next_link, dict) else None
            if not href:
                return
            url = urljoin(response.url, href)
            current_params = None  # the href carries the query (continuationToken...)

    def _create(self, operation: str, path: str, body: Any) -> Created:
        response = self._send(operation, "POST", self._url(path), json_body=body)
        return self._parse(Created, self._json(operation, response), operation, response.status_code)

    def _patch(self, operation: str, path: str, etag: str, ops: Sequence[PatchOperation]) -> Created:
        if not etag:
            raise ValueError("etag is required for a PATCH (If-Match)")
        if not ops:
            raise ValueError("ops must not be empty")
        body = [PatchOperation.model_validate(op).to_json() for op in ops]
        response = self._send(operation, "PATCH", self._url(path), json_body=body, headers={"If-Match": etag})
        return self._parse(Created, self._json(operation, response), operation, response.status_code)

    def _delete(self, operation: str, path: str) -> None:
        self._send(operation, "DELETE", self._url(path))

    def _find_by_name(self, model: type[M], operation: str, path: str, name: str) -> M | None:
        return next(self._named(model, operation, path, name), None)

    def _named(self, model: type[M], operation: str, path: str, name: str) -> Iterator[M]:
        """Every object with exactly this name (Adobe names are not unique), page by page, lazily."""
        for item in self._pages(operation, path, [("property", f"name=={name}")]):
            if isinstance(item, dict) and item.get("name") == name:
                yield self._parse(model, item, operation)

    # ---- Flow Service: base connections ----------------------------------------------------------

    def create_base_connection(self, name: str, stripe_key: SecretStr, description: str = "") -> Created:
        """Create the tenant's Stripe base connection.

        POST /flowservice/connections (operationId createConnection; tutorial "Create a base connection"):
        connectionSpec Stripe ``cc2c31d6-…`` 1.0, auth ``OAuth2 Refresh Code`` with ``accessToken`` = the
        Stripe
        secret key. Returns ``Created(id, etag)``. Raises ``ValidationError`` before sending on bad input,
        then
        ``AepValidationError``, ``AuthenticationError``, ``ThrottledError``, ``UpstreamError``...
        """
        req = BaseConnectionRequest(name=name, description=description, stripe_key=stripe_key)
        return self._create("createConnection", f"{FLOW_SERVICE}/connections", req.to_body())

    def get_base_connection(self, id: str) -> Connection:
        """GET /flowservice/connections/{id} (retrieveConnection). Raises ``NotFoundError`` when absent."""
        return self._connection("retrieveConnection", f"{FLOW_SERVICE}/connections/{_seg(id)}")

    def find_base_connection(self, name: str) -> Connection | None:
        """GET /flowservice/connections?property=name==X (listConnections; sort-and-filter.md): the connection
        with exactly this name, or ``None``."""
        return self._find_by_name(Connection, "listConnections", f"{FLOW_SERVICE}/connections", name)

    def find_base_connections(self, name: str) -> list[Connection]:
        """Every base connection with exactly this name (listConnections, all pages)."""
        return list(self._named(Connection, "listConnections", f"{FLOW_SERVICE}/connections", name))

    def patch_base_connection(self, id: str, etag: str, ops: list[PatchOperation]) -> Created:
        """PATCH /flowservice/connections/{id} with ``If-Match: etag`` exactly as returned (patchConnection;
        EN update.md), e.g. ``replace /auth/params`` for a key rotation. Returns the new ``Created(id,
        etag)``.
        Raises ``PreconditionFailedError`` (412, stale etag), ``NotFoundError``, ``AepValidationError``."""
        return self._patch("patchConnection", f"{FLOW_SERVICE}/connections/{_seg(id)}", etag, ops)

    def replace_stripe_key(self, id: str, etag: str, stripe_key: SecretStr) -> Created:
        """Give the base connection a new Stripe key: PATCH /flowservice/connections/{id} (patchConnection; EN
        update.md) with ``If-Match: etag`` and ``[{"op": "replace", "path": "/auth/params", "value":
        {"accessToken": <key>}}]``. The key is unwrapped only into this request body. Returns the new
        ``Created(id, etag)``; raises as ``patch_base_connection``."""
        op = PatchOperation(op="replace", path="/auth/params", value={"accessToken": stripe_key.get_secret_value()})
        return self._patch("patchConnection", f"{FLOW_SERVICE}/connections/{_seg(id)}", etag, [op])

    def delete_base_connection(self, id: str) -> None:
        """DELETE /flowservice/connections/{id} (deleteConnection; EN delete.md) -> 204. Raises
        ``ConflictError`` (400 ``FLOW-1418-400``) while flows still use it, ``NotFoundError`` when absent."""
        self._delete("deleteConnection", f"{FLOW_SERVICE}/connections/{_seg(id)}")

    def explore(self, base_connection_id: str, resource_path: str, preview: bool) -> ExploreResult:
        """Explore a Stripe resource path through the base connection.

        GET
        /flowservice/connections/{id}/explore?objectType=rest&object=json&fileType=json&preview=…&sourceParams=…
        (operationId getByConnectionId; tutorial "Explore your source"). ``sourceParams`` is base64 of
        ``{"resourcePath": …}``, URL-encoded exactly once (by requests). ``objectType=rest`` follows the
        tutorial (the spec's enum says ``REST``). preview=false answers the JSON Schema of the records.
        Raises ``AepValidationError``/``AuthenticationError`` when Stripe rejects the key,
        ``NotFoundError``...
        """
        params = [
            ("objectType", "rest"),
            ("object", "json"),
            ("fileType", "json"),
            ("preview", "true" if preview else "false"),
            ("sourceParams", _source_params(resource_path)),
        ]
        return self._get_model(
            ExploreResult,
            "getByConnectionId",
            f"{FLOW_SERVICE}/connections/{_seg(base_connection_id)}/explore",
            params=params,
        )

    # ---- Flow Service: source and target connections ---------------------------------------------

    def create_source_connection(self, name: str, base_connection_id: str, resource_path: str) -> Created:
        """POST /flowservice/sourceConnections (createSourceConnection; tutorial "Create a source
        connection"):
        data.format ``json``, params.resourcePath. Returns ``Created(id, etag)``."""
        req = SourceConnectionRequest(name=name, base_connection_id=base_connection_id, resource_path=resource_path)
        return self._create("createSourceConnection", f"{FLOW_SERVICE}/sourceConnections", req.to_body())

    def get_source_connection(self, id: str) -> Connection:
        """GET /flowservice/sourceConnections/{id} (retrieveSourceConnection). Raises ``NotFoundError``."""
        return self._connection("retrieveSourceConnection", f"{FLOW_SERVICE}/sourceConnections/{_seg(id)}")

    def find_source_connection(self, name: str) -> Connection | None:
        """GET /flowservice/sourceConnections?property=name==X (getSourceConnections), or ``None``."""
        return self._find_by_name(Connection, "getSourceConnections", f"{FLOW_SERVICE}/sourceConnections", name)

    def find_source_connections(self, name: str) -> list[Connection]:
        """Every source connection with exactly this name (getSourceConnections, all pages)."""
        return list(self._named(Connection, "getSourceConnections", f"{FLOW_SERVICE}/sourceConnections", name))

    def delete_source_connection(self, id: str) -> None:
        """DELETE /flowservice/sourceConnections/{id} (deleteSourceConnection) -> 204. Raises
        ``NotFoundError``."""
        self._delete("deleteSourceConnection", f"{FLOW_SERVICE}/sourceConnections/{_seg(id)}")

    def create_target_connection(self, name: str, schema_id: str, dataset_id: str) -> Created:
        """POST /flowservice/targetConnections (createTargetConnection; tutorial "Create a target
        connection"):
        data lake connection spec ``c604ff05-…``, data.format ``parquet_xdm``, data.schema{id: the schema's
        ``$id``, version ``application/vnd.adobe.xed-full+json;version=1``}, params.dataSetId."""
        req = TargetConnectionRequest(name=name, schema_id=schema_id, dataset_id=dataset_id)
        return self._create("createTargetConnection", f"{FLOW_SERVICE}/targetConnections", req.to_body())

    def get_target_connection(self, id: str) -> Connection:
        """GET /flowservice/targetConnections/{id} (retrieveTargetConnection). Raises ``NotFoundError``."""
        return self._connection("retrieveTargetConnection", f"{FLOW_SERVICE}/targetConnections/{_seg(id)}")

    def find_target_connection(self, name: str) -> Connection | None:
        """GET /flowservice/targetConnections?property=name==X (getTargetConnections), or ``None``."""
        return self._find_by_name(Connection, "getTargetConnections", f"{FLOW_SERVICE}/targetConnections", name)

    def find_target_connections(self, name: str) -> list[Connection]:
        """Every target connection with exactly this name (getTargetConnections, all pages)."""
        return list(self._named(Connection, "getTargetConnections", f"{FLOW_SERVICE}/targetConnections", name))

    def delete_target_connection(self, id: str) -> None:
        """DELETE /flowservice/targetConnections/{id} (deleteTargetConnection) -> 204. Raises
        ``NotFoundError``."""
        self._delete("deleteTargetConnection", f"{FLOW_SERVICE}/targetConnections/{_seg(id)}")

    def _connection(self, operation: str, path: str) -> Connection:
        return self._first_item(Connection, operation, path)

    # ---- Flow Service: flows and runs ------------------------------------------------------------

    def create_flow(
        self,
        name: str,
        source_connection_id: str,
        target_connection_id: str,
        mapping_id: str,
        mapping_version: int,
        schedule: Schedule,
    ) -> Created:
        """POST /flowservice/flows (createFlow; tutorial "Create a flow"): flow spec ``6499120c-…`` 1.0, one
        Mapping transformation, ``scheduleParams`` {startTime epoch seconds (int), frequency, interval (int)}.
        Returns ``Created(id, etag)`` (201)."""
        req = FlowRequest(
            name=name,
            source_connection_id=source_connection_id,
            target_connection_id=target_connection_id,
            mapping_id=mapping_id,
            mapping_version=mapping_version,
            schedule=schedule,
        )
        return self._create("createFlow", f"{FLOW_SERVICE}/flows", req.to_body())

    def get_flow(self, id: str) -> Flow:
        """GET /flowservice/flows/{id} (retrieveFlow): the flow with ``etag``, ``state``, ``lastRunDetails``.
        Raises ``NotFoundError``."""
        return self._first_item(Flow, "retrieveFlow", f"{FLOW_SERVICE}/flows/{_seg(id)}")

    def find_flow(self, name: str) -> Flow | None:
        """GET /flowservice/flows?property=name==X (listFlows), or ``None``."""
        return self._find_by_name(Flow, "listFlows", f"{FLOW_SERVICE}/flows", name)

    def find_flows(self, name: str) -> list[Flow]:
        """Every flow with exactly this name (listFlows, all pages)."""
        return list(self._named(Flow, "listFlows", f"{FLOW_SERVICE}/flows", name))

    def patch_flow(self, id: str, etag: str, ops: list[PatchOperation]) -> Created:
        """PATCH /flowservice/flows/{id} with ``If-Match: etag`` exactly as returned (patchFlow; EN
        update-dataflows.md), e.g. ``replace /scheduleParams/frequency``. Returns the new ``Created(id,
        etag)``.
        Raises ``PreconditionFailedError`` (412 ``FLOW-1404-412``: stale etag), ``AepValidationError``."""
        return self._patch("patchFlow", f"{FLOW_SERVICE}/flows/{_seg(id)}", etag, ops)

    def delete_flow(self, id: str) -> None:
        """DELETE /flowservice/flows/{id} (deleteByFlow; EN delete.md) -> 204. Raises ``NotFoundError``."""
        self._delete("deleteByFlow", f"{FLOW_SERVICE}/flows/{_seg(id)}")

    def enable_flow(self, id: str) -> None:
        """POST /flowservice/flows/{id}/action?op=ENABLE (postStateTransition). Not retried by the HTTP
        layer."""
        self._state_transition(id, "ENABLE")

    def disable_flow(self, id: str) -> None:
        """POST /flowservice/flows/{id}/action?op=DISABLE (postStateTransition). Not retried by the HTTP
        layer."""
        self._state_transition(id, "DISABLE")

    def _state_transition(self, id: str, op: str) -> None:
        self._send(
            "postStateTransition",
            "POST",
            self._url(f"{FLOW_SERVICE}/flows/{_seg(id)}/action"),
            params={"op": op},
        )

    def list_flows(
        self, properties: Sequence[str] = (), orderby: str | None = None, limit: int | None = None
    ) -> Iterator[Flow]:
        """GET /flowservice/flows (listFlows; EN sort-and-filter.md): ``properties`` are filters such as
        ``flowSpec.id==…`` (ANDed), ``orderby`` ``±field``, ``limit`` the page size. Lazily follows
        ``_links.next.href`` across pages."""
        params: list[tuple[str, Any]] = [("property", p) for p in properties]
        if orderby:
            params.append(("orderby", orderby))
        if limit is not None:
            params.append(("limit", limit))
        for item in self._pages("listFlows", f"{FLOW_SERVICE}/flows", params):
            yield self._parse(Flow, item, "listFlows")

    def list_flow_runs(self, flow_id: str, orderby: str = "-createdAt", limit: int | None = None) -> Iterator[FlowRun]:
        """GET /flowservice/runs?property=flowId==X (listFlowRuns; EN monitor.md), newest first by default;
        ``limit`` is the page size. Lazily follows ``_links.next.href``. Run times are epoch milliseconds."""
        params: list[tuple[str, Any]] = [("property", f"flowId=={flow_id}")]
        if orderby:
            params.append(("orderby", orderby))
        if limit is not None:
            params.append(("limit", limit))
        for item in self._pages("listFlowRuns", f"{FLOW_SERVICE}/runs", params):
            yield self._parse(FlowRun, item, "listFlowRuns")

    def create_flow_run(
        self, flow_id: str, window_start_s: int, window_end_s: int, start_time_s: int | None = None
    ) -> Created:
        """POST /flowservice/runs (createFlowRun; EN help/sources/tutorials/api/on-demand-ingestion.md): an
        on-demand run of a batch source's flow over ``[windowStartTime, windowEndTime]``.

        Body ``{"flowId", "params": {"startTime", "windowStartTime", "windowEndTime"}}``, all three as integers
        in epoch **seconds** ("unix time" in the guide, whose examples are 10-digit; the spec's
        CreateFlowRunRequest says "milliseconds" in its descriptions but gives 10-digit examples too: see
        tests/contract). ``start_time_s`` (when the run begins) defaults to ``window_end_s``. Returns
        ``Created(id, etag)``: the spec's CreateFlowRunResponse ``{id, etag}`` or the guide's
        ``{"items": [{id, etag}]}``. Never retried by the HTTP layer (a POST): callers re-run through
        ``catalogue.ensure``. Raises ``AepValidationError`` (Adobe refused the window or the flow),
        ``NotFoundError``, ``ThrottledError``, ``UpstreamError``.
        """
        body = {
            "flowId": flow_id,
            "params": {
                "startTime": int(window_end_s if start_time_s is None else start_time_s),
                "windowStartTime": int(window_start_s),
                "windowEndTime": int(window_end_s),
            },
        }
        response = self._send("createFlowRun", "POST", self._url(f"{FLOW_SERVICE}/runs"), json_body=body)
        data = self._json("createFlowRun", response)
        if isinstance(data, dict) and isinstance(data.get("items"), list) and data["items"]:
            data = data["items"][0]
        return self._parse(Created, data, "createFlowRun", response.status_code)

    # ---- Schema Registry -------------------------------------------------------------------------

    def get_tenant_id(self) -> str:
        """GET /schemaregistry/stats (retrieveStats) -> ``tenantId`` (cached for the client's life)."""
        with self._tenant_lock:
            if self._tenant_id is None:
                response = self._send("retrieveStats", "GET", self._url(f"{SCHEMA_REGISTRY}/stats"))
                data = self._json("retrieveStats", response)
                tenant = data.get("tenantId") if isinstance(data, dict) else None
                if not isinstance(tenant, str) or not tenant:
                    raise UnexpectedResponseError(
                        "stats answer has no tenantId", status=response.status_code, operation="retrieveStats"
                    )
                self._tenant_id = tenant
            return self._tenant_id

    def create_class(self, body: Mapping[str, Any]) -> XdmResource:
        """POST /schemaregistry/tenant/classes (createClass): a custom class extending a behaviour (``allOf``
        ``https://ns.adobe.com/xdm/data/record``) -> 201 with ``$id``, ``meta:altId``."""
        return self._create_xdm("createClass", "classes", body)

    def find_class(self, title: str) -> XdmResource | None:
        """GET /schemaregistry/tenant/classes?property=title==X (listClasses), or ``None``."""
        return self._find_xdm("listClasses", "classes", title)

    def delete_class(self, alt_id: str) -> None:
        """DELETE /schemaregistry/tenant/classes/{meta:altId} (removeClass) -> 204."""
        self._delete("removeClass", f"{SCHEMA_REGISTRY}/tenant/classes/{_seg(alt_id)}")

    def create_field_group(self, body: Mapping[str, Any]) -> XdmResource:
        """POST /schemaregistry/tenant/fieldgroups (createFieldGroup) -> 201 with ``$id``, ``meta:altId``."""
        return self._create_xdm("createFieldGroup", "fieldgroups", body)

    def find_field_group(self, title: str) -> XdmResource | None:
        """GET /schemaregistry/tenant/fieldgroups?property=title==X (listFieldGroups) with
        ``Accept: application/vnd.adobe.xed-id+json``, or ``None``."""
        return self._find_xdm("listFieldGroups", "fieldgroups", title)

    def get_field_group(self, alt_id: str) -> dict[str, Any]:
        """GET /schemaregistry/tenant/fieldgroups/{meta:altId} (retrieveFieldGroup) with ``Accept:
        application/vnd.adobe.xed+json``: the field group as stored (``definitions``, ``version``...).
        Raises ``NotFoundError``."""
        response = self._send(
            "retrieveFieldGroup",
            "GET",
            self._url(f"{SCHEMA_REGISTRY}/tenant/fieldgroups/{_seg(alt_id)}"),
            headers={"Accept": XDM_FULL},
        )
        data = self._json("retrieveFieldGroup", response)
        if not isinstance(data, dict):
            raise UnexpectedResponseError("retrieveFieldGroup answer is not an object", operation="retrieveFieldGroup")
        return data

    def patch_field_group(self, alt_id: str, ops: Sequence[Mapping[str, Any]]) -> XdmResource:
        """PATCH /schemaregistry/tenant/fieldgroups/{meta:altId} (patchFieldGroup) with a JSON Patch array
        (``[{op, path, value}]``, RFC 6902). The Schema Registry takes no If-Match: it answers the updated
        field group with its new ``version``; once a dataset uses the group, only additive changes are
        accepted (Adobe's "Basics of schema composition", schema evolution). Raises ``AepValidationError``."""
        if not ops:
            raise ValueError("ops must not be empty")
        body = [dict(op) for op in ops]
        response = self._send(
            "patchFieldGroup",
            "PATCH",
            self._url(f"{SCHEMA_REGISTRY}/tenant/fieldgroups/{_seg(alt_id)}"),
            json_body=body,
        )
        return self._parse(XdmResource, self._json("patchFieldGroup", response), "patchFieldGroup")

    def delete_field_group(self, alt_id: str) -> None:
        """DELETE /schemaregistry/tenant/fieldgroups/{meta:altId} (removeFieldGroup) -> 204."""
        self._delete("removeFieldGroup", f"{SCHEMA_REGISTRY}/tenant/fieldgroups/{_seg(alt_id)}")

    def create_schema(self, body: Mapping[str, Any]) -> XdmResource:
        """POST /schemaregistry/tenant/schemas (createSchema): ``allOf`` a class ``$ref`` and field group
        ``$ref``s -> 201 with ``$id``, ``meta:altId``."""
        return self._create_xdm("createSchema", "schemas", body)

    def find_schema(self, title: str) -> XdmResource | None:
        """GET /schemaregistry/tenant/schemas?property=title==X (listSchemas), or ``None``."""
        return self._find_xdm("listSchemas", "schemas", title)

    def delete_schema(self, alt_id: str) -> None:
        """DELETE /schemaregistry/tenant/schemas/{meta:altId} (deleteSchema) -> 204."""
        self._delete("deleteSchema", f"{SCHEMA_REGISTRY}/tenant/schemas/{_seg(alt_id)}")

    def _create_xdm(self, operation: str, kind: str, body: Mapping[str, Any]) -> XdmResource:
        checked = XdmBody.model_validate(dict(body)).model_dump(by_alias=True)
        response = self._send(operation, "POST", self._url(f"{SCHEMA_REGISTRY}/tenant/{kind}"), json_body=checked)
        return self._parse(XdmResource, self._json(operation, response), operation, response.status_code)

    def _find_xdm(self, operation: str, kind: str, title: str) -> XdmResource | None:
        return next(self._titled(operation, kind, title), None)

    def _titled(self, operation: str, kind: str, title: str) -> Iterator[XdmResource]:
        items = self._pages(
            operation,
            f"{SCHEMA_REGISTRY}/tenant/{kind}",
            [("property", f"title=={title}")],
            headers={"Accept": XDM_ID_LIST},
            item_key="results",
        )
        for item in items:
            if isinstance(item, dict) and item.get("title") == title:
                yield self._parse(XdmResource, item, operation)

    def get_xdm_resource(self, kind: str, alt_id: str) -> XdmResource:
        """GET /schemaregistry/tenant/{kind}/{meta:altId} (retrieveClass / retrieveFieldGroup / retrieveSchema,
        ``kind`` ``classes``, ``fieldgroups``, ``schemas``) with ``Accept: application/vnd.adobe.xed+json``: the
        resource's ``$id``, ``meta:altId``, ``title`` and ``version``. Raises ``NotFoundError``."""
        operation = {"classes": "retrieveClass", "fieldgroups": "retrieveFieldGroup", "schemas": "retrieveSchema"}[kind]
        response = self._send(
            operation,
            "GET",
            self._url(f"{SCHEMA_REGISTRY}/tenant/{kind}/{_seg(alt_id)}"),
            headers={"Accept": XDM_FULL},
        )
        return self._parse(XdmResource, self._json(operation, response), operation, response.status_code)

    def find_xdm_resources(self, kind: str, title: str) -> list[XdmResource]:
        """Every tenant XDM resource of ``kind`` (``classes``, ``fieldgroups``, ``schemas``) with exactly this
        title (listClasses / listFieldGroups / listSchemas, all pages)."""
        operation = {"classes": "listClasses", "fieldgroups": "listFieldGroups", "schemas": "listSchemas"}[kind]
        return list(self._titled(operation, kind, title))

    # ---- Catalog ---------------------------------------------------------------------------------

    def create_dataset(self, name: str, schema_id: str) -> str:
        """POST /catalog/dataSets (createDataset) with ``{name, schemaRef{id, contentType}}`` -> 201
        ``["@/dataSets/{id}"]``. Returns the dataset id."""
        req = DatasetRequest(name=name, schema_id=schema_id)
        response = self._send("createDataset", "POST", self._url(f"{CATALOG}/dataSets"), json_body=req.to_body())
        data = self._json("createDataset", response)
        ref = data[0] if isinstance(data, list) and data else None
        if not isinstance(ref, str) or not ref.startswith("@/dataSets/") or len(ref) <= len("@/dataSets/"):
            raise UnexpectedResponseError(
                "createDataset answer is not ['@/dataSets/{id}']",
                status=response.status_code,
                operation="createDataset",
            )
        return ref.removeprefix("@/dataSets/")

    def find_dataset(self, name: str) -> Dataset | None:
        """GET /catalog/dataSets?name=X (listDatasets) -> an object keyed by dataset id; the one with exactly
        this name, or ``None``."""
        return next(iter(self.find_datasets(name)), None)

    def find_datasets(self, name: str) -> list[Dataset]:
        """Every dataset with exactly this name (listDatasets ``?name=X``: an object keyed by dataset id)."""
        response = self._send("listDatasets", "GET", self._url(f"{CATALOG}/dataSets"), params={"name": name})
        data = self._json("listDatasets", response)
        if not isinstance(data, dict):
            raise UnexpectedResponseError("listDatasets answer is not an object", operation="listDatasets")
        return [
            self._parse(Dataset, {**value, "id": key}, "listDatasets")
            for key, value in data.items()
            if isinstance(value, dict) and value.get("name") == name
        ]

    def delete_dataset(self, id: str) -> None:
        """DELETE /catalog/dataSets/{id} (deleteDataset) -> 200. Raises ``NotFoundError``."""
        self._delete("deleteDataset", f"{CATALOG}/dataSets/{_seg(id)}")

    # ---- Data Prep -------------------------------------------------------------------------------

    def validate_mapping_set(self, body: Mapping[str, Any]) -> None:
        """POST /conversion/mappingSets/validate (validateMappingSet). Raises ``AepValidationError`` (with
        Adobe's message in ``detail``) when the mapping is invalid."""
        checked = MappingSetBody.model_validate(dict(body)).model_dump()
        self._send("validateMappingSet", "POST", self._url(f"{DATA_PREP}/mappingSets/validate"), json_body=checked)

    def create_mapping_set(self, body: Mapping[str, Any]) -> MappingSet:
        """POST /conversion/mappingSets (createMappingSet) -> ``{id, version, createdDate…}``."""
        checked = MappingSetBody.model_validate(dict(body)).model_dump()
        response = self._send("createMappingSet", "POST", self._url(f"{DATA_PREP}/mappingSets"), json_body=checked)
        return self._parse(MappingSet, self._json("createMappingSet", response), "createMappingSet")

    def preview_mapping_set(self, body: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> MappingPreview:
        """Run a mapping set on sample rows without creating anything.

        POST /conversion/mappingSets/preview (operationId ``previewMappingSet``; data-prep.yaml ``PreviewRequest``
        ``{data: [row...], mappingSet: <MappingSet>}``). ``body``: a createMappingSet body
        (``outputSchema``, ``mappings``); ``rows``: source records as explore with ``preview=true`` gives them
        (``{"data": <Stripe object>}``). Returns ``MappingPreview`` (``PreviewResponse``: mapped ``data`` and
        ``errors`` [TransformErrorInfo]). Raises ``AepValidationError`` when Adobe refuses the request itself.
        """
        checked = MappingSetBody.model_validate(dict(body)).model_dump()
        request = {"data": [dict(row) for row in rows], "mappingSet": checked}
        response = self._send(
            "previewMappingSet", "POST", self._url(f"{DATA_PREP}/mappingSets/preview"), json_body=request
        )
        return self._parse(MappingPreview, self._json("previewMappingSet", response), "previewMappingSet")

    def validate_expression(self, expression: str) -> bool:
        """Check one Data Prep expression's syntax and functions.

        POST /conversion/languages/el/validate (operationId ``validateExpression``; data-prep.yaml
        ``ValidationRequest`` ``{expression}``) -> 200 with a JSON boolean. Returns that boolean; Adobe answers
        400 for an invalid expression, raised as ``AepValidationError`` (Adobe's message in ``detail``).
        """
        response = self._send(
            "validateExpression",
            "POST",
            self._url(f"{DATA_PREP}/languages/el/validate"),
            json_body={"expression": expression},
        )
        answer = self._json("validateExpression", response)
        if not isinstance(answer, bool):
            raise UnexpectedResponseError("validateExpression answer is not a boolean", operation="validateExpression")
        return answer

    def find_mapping_set(self, name: str) -> MappingSet | None:
        """GET /conversion/mappingSets?name=X&start=0&limit=10 (listMappingSets) -> MapperSetPage ``{data: [...]}``;
        the newest mapping set with exactly this name, or ``None``."""
        return next(iter(self.find_mapping_sets(name)), None)

    def find_mapping_sets(self, name: str) -> list[MappingSet]:
        """Every mapping set with exactly this name, newest first (listMappingSets, first 10)."""
        response = self._send(
            "listMappingSets",
            "GET",
            self._url(f"{DATA_PREP}/mappingSets"),
            params=[("name", name), ("start", 0), ("limit", 10), ("orderBy", "-createdDate")],
        )
        data = self._json("listMappingSets", response)
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise UnexpectedResponseError("listMappingSets answer has no 'data'", operation="listMappingSets")
        return [
            self._parse(MappingSet, item, "listMappingSets")
            for item in items
            if isinstance(item, dict) and item.get("name") == name
        ]

    def put_mapping_set(self, id: str, body: Mapping[str, Any]) -> MappingSet:
        """PUT /conversion/mappingSets/{id} (putMappingSet, body ``MappingSet``): a new version of the mapping
        set (same id, ``version`` + 1); flows keep the version they name until patched. Raises
        ``AepValidationError``."""
        checked = MappingSetBody.model_validate(dict(body)).model_dump()
        response = self._send(
            "putMappingSet", "PUT", self._url(f"{DATA_PREP}/mappingSets/{_seg(id)}"), json_body=checked
        )
        return self._parse(MappingSet, self._json("putMappingSet", response), "putMappingSet")

    def get_mapping_set_body(self, id: str) -> dict[str, Any]:
        """GET /conversion/mappingSets/{id} (retrieveMappingSet): the stored mapping set (``version``,
        ``mappings``...). Raises ``NotFoundError``."""
        response = self._send("retrieveMappingSet", "GET", self._url(f"{DATA_PREP}/mappingSets/{_seg(id)}"))
        data = self._json("retrieveMappingSet", response)
        if not isinstance(data, dict):
            raise UnexpectedResponseError("retrieveMappingSet answer is not an object", operation="retrieveMappingSet")
        return data

    def get_mapping_set(self, id: str) -> MappingSet:
        """GET /conversion/mappingSets/{id} (retrieveMappingSet). Raises ``NotFoundError``."""
        return self._get_model(MappingSet, "retrieveMappingSet", f"{DATA_PREP}/mappingSets/{_seg(id)}")


def _seg(value: str) -> str:
    """A path segment: refuse empty values and characters that would change the path."""
    if not value or any(ch in value for ch in "/?#") or value in (".", ".."):
        raise ValueError(f"not a valid id: {value!r}")
    return value
