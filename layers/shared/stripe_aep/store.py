"""DynamoDB data access: one table, items per tenant, per (tenant, resource path) and per (sandbox, resource path).

Key design (docs/architecture.md):

| item | pk | sk |
| --- | --- | --- |
| tenant | ``TENANT#{tenant_id}`` | ``TENANT`` |
| dataflow | ``TENANT#{tenant_id}`` | ``PATH#{resource_path}`` |
| XDM schema of a sandbox | ``SANDBOX#{sandbox}`` | ``SCHEMA#{resource_path}`` |

Each Adobe object is an attribute group ``<kind>_id``, ``<kind>_etag`` plus ``<kind>_intent`` (epoch seconds)
and ``<kind>_intent_owner`` (execution name) written before the create call (see ``claim_intent``), and
``<kind>_uncertain_at`` (epoch seconds) when that create got no answer (see ``mark_uncertain``).
ACTIVE dataflow items carry ``gsi1pk = "DATAFLOW#ACTIVE"`` and ``gsi1sk = "{tenant}#{path}"``: the sparse
index ``gsi1`` that health checks page through without reading unrelated items. DISABLED dataflows are out of
it; the item ``("HEALTH", "DISABLED")`` lists them (``dataflows``: a string set of ``{tenant}#{path}``, added to
when a dataflow is disabled and pruned by the health sweep), so the sweep notices one deleted in AEP.
All timestamps here are epoch **seconds**. No item ever holds a credential.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from stripe_aep.clock import now_s
from stripe_aep.errors import ConcurrentModificationError, InputValidationError, LeaseHeldError

ItemKey = tuple[str, str]
#: What deprovisioning leaves on items; a new provisioning of the tenant clears it.
_DEPROVISIONING_MARKS = ("deprovisioned_at", "purged", "dataset_purged_at")
ACTIVE_INDEX = "gsi1"
ACTIVE_PARTITION = "DATAFLOW#ACTIVE"
#: The item listing the DISABLED dataflows (``dataflows``, a string set of ``{tenant}#{path}``; see the module
#: docstring). An entry may outlive the status (pruned by the health sweep): read each item before trusting it.
DISABLED_KEY: tuple[str, str] = ("HEALTH", "DISABLED")
#: Seconds another owner's create intent holds a create off (``Store.claim_intent``).
INTENT_LEASE_S = 120

# Provisioning status of a tenant or dataflow item.
PROVISIONING, ACTIVE, FAILED = "PROVISIONING", "ACTIVE", "FAILED"
DEPROVISIONING, DEPROVISIONED = "DEPROVISIONING", "DEPROVISIONED"
#: A dataflow the tenant disabled (out of the health-check index); a tenant all of whose dataflows are disabled.
DISABLED = "DISABLED"
#: What the health check wrote on a dataflow item (removed when the dataflow is deprovisioned).
HEALTH_ATTRIBUTES = ("health_status", "health_reason", "health_errors", "health_check_error", "health_checked_at")


def tenant_key(tenant_id: str) -> ItemKey:
    """Key of the tenant item."""
    return (f"TENANT#{tenant_id}", "TENANT")


def dataflow_key(tenant_id: str, resource_path: str) -> ItemKey:
    """Key of the item of one (tenant, resource path) dataflow."""
    return (f"TENANT#{tenant_id}", f"PATH#{resource_path}")


def schema_key(sandbox: str, resource_path: str) -> ItemKey:
    """Key of the item holding a sandbox's XDM schema and field group for one resource path."""
    return (f"SANDBOX#{sandbox}", f"SCHEMA#{resource_path}")


def sandbox_key(sandbox: str) -> ItemKey:
    """Key of the item holding a sandbox's Schema Registry tenant id."""
    return (f"SANDBOX#{sandbox}", "SANDBOX")


def record_class_key(sandbox: str) -> ItemKey:
    """Key of the item holding a sandbox's custom XDM record class."""
    return (f"SANDBOX#{sandbox}", "CLASS#record")


def flow_run_key(flow_id: str, window: tuple[int, int] | None) -> ItemKey:
    """Key of the item remembering the on-demand run of ``flow_id`` over ``window`` (``(windowStartTime,
    windowEndTime)``, epoch s; ``None``: the provisioning's first run, whose window its first attempt fixed)."""
    return (f"FLOWRUN#{flow_id}", "FIRST" if window is None else f"WINDOW#{window[0]}#{window[1]}")


def has_intent(item: Mapping[str, Any], kind: str) -> bool:
    """Whether a create of ``kind`` was started on the item and not finished: its intent is recorded (an expired
    intent, time 0, still counts: the object may exist in AEP and must be looked up by name)."""
    return f"{kind}_intent" in item


def lease_held(item: Mapping[str, Any], kind: str, owner: str, lease_s: int = INTENT_LEASE_S) -> bool:
    """Whether another owner than ``owner`` holds a fresh intent on ``kind`` (younger than ``lease_s`` seconds):
    its create may be under way, so ``claim_intent`` would refuse. An expired intent (time 0) holds nothing."""
    intent = item.get(f"{kind}_intent") or 0
    return bool(intent) and item.get(f"{kind}_intent_owner") != owner and float(intent) >= now_s() - lease_s


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; give plain ints/floats back."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class Store:
    """The provisioner's DynamoDB table.

    Raises ``ConcurrentModificationError`` when a conditional write loses a race, and lets other
    ``botocore.exceptions.ClientError`` propagate (Lambda's retry block handles throttling).
    """

    def __init__(self, table_name: str, table: Any | None = None) -> None:
        self.table_name = table_name
        self._table = table if table is not None else boto3.resource("dynamodb").Table(table_name)

    @property
    def table(self) -> Any:
        """The boto3 ``Table`` (for ``stripe_aep.budget``, which keeps its own item in it)."""
        return self._table

    # ---- reads ---------------------------------------------------------------------------------------------
    def get(self, key: ItemKey) -> dict[str, Any] | None:
        """The item at ``key`` (strongly consistent read), or ``None``."""
        response = self._table.get_item(Key={"pk": key[0], "sk": key[1]}, ConsistentRead=True)
        item = response.get("Item")
        return _plain(item) if item else None

    def tenant_items(self, tenant_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The tenant item and its dataflow items (every status), sorted by resource path."""
        pk = tenant_key(tenant_id)[0]
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(pk), "ConsistentRead": True}
        while True:
            page = self._table.query(**kwargs)
            items.extend(_plain(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        tenant = next((i for i in items if i["sk"] == "TENANT"), None)
        dataflows = sorted((i for i in items if i["sk"].startswith("PATH#")), key=lambda i: i["sk"])
        return tenant, dataflows

    def tenants(self) -> Iterator[dict[str, Any]]:
        """Every tenant item (a scan filtered on the sort key: for the operator's ``status`` listing only)."""
        kwargs: dict[str, Any] = {
            "FilterExpression": Attr("sk").eq("TENANT"),
        }
        while True:
            page = self._table.scan(**kwargs)
            yield from (_plain(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def active_dataflows(self, start_after: str | None = None, page_size: int = 200) -> Iterator[dict[str, Any]]:
        """Every ACTIVE dataflow item, in ``gsi1sk`` order (``{tenant}#{path}``), via the sparse index.

        ``start_after`` resumes after that ``gsi1sk`` (a health-check cursor). Index reads are eventually
        consistent; health checks tolerate that.
        """
        kwargs: dict[str, Any] = {
            "IndexName": ACTIVE_INDEX,
            "KeyConditionExpression": (
                Key("gsi1pk").eq(ACTIVE_PARTITION) & Key("gsi1sk").gt(start_after)
                if start_after
                else Key("gsi1pk").eq(ACTIVE_PARTITION)
            ),
            "Limit": page_size,
        }
        while True:
            page = self._table.query(**kwargs)
            yield from (_plain(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # ---- writes --------------------------------------------------------------------------------------------
    def update(
        self,
        key: ItemKey,
        set_attrs: Mapping[str, Any] | None = None,
        remove: tuple[str, ...] = (),
        condition: str | None = None,
        condition_values: Mapping[str, Any] | None = None,
        condition_names: Mapping[str, str] | None = None,
        stamp: bool = True,
    ) -> dict[str, Any]:
        """Set and remove attributes of the item at ``key`` (creating it), stamping ``updated_at`` (unless not
        ``stamp``: a create lease is bookkeeping, not a change of the item's data).

        ``condition`` is a DynamoDB condition expression over ``#name``/``:value`` placeholders given in
        ``condition_names``/``condition_values``. Raises ``ConcurrentModificationError`` when it fails.
        Returns the item after the update.
        """
        attrs = {**(set_attrs or {}), **({"updated_at": now_s()} if stamp else {})}
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets: list[str] = []
        for i, (name, value) in enumerate(attrs.items()):
            names[f"#s{i}"] = name
            values[f":s{i}"] = value
            sets.append(f"#s{i} = :s{i}")
        removes: list[str] = []
        for i, name in enumerate(remove):
            names[f"#r{i}"] = name
            removes.append(f"#r{i}")
        expression = " ".join(
            f"{verb} {', '.join(parts)}" for verb, parts in (("SET", sets), ("REMOVE", removes)) if parts
        )
        kwargs: dict[str, Any] = {
            "Key": {"pk": key[0], "sk": key[1]},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": {**names, **(condition_names or {})},
            "ExpressionAttributeValues": {**values, **(condition_values or {})},
            "ReturnValues": "ALL_NEW",
        }
        if condition:
            kwargs["ConditionExpression"] = condition
        try:
            return _plain(self._table.update_item(**kwargs)["Attributes"])
        except ClientError as exc:
            if _conditional_failed(exc):
                raise ConcurrentModificationError(
                    f"conditional write on {key[0]}/{key[1]} lost a race: {condition}"
                ) from None
            raise

    def begin_provisioning(
        self,
        tenant_id: str,
        sandbox: str,
        resource_paths: list[str],
        schedule: Mapping[str, Any],
        execution: str,
    ) -> None:
        """Create or refresh the tenant item and one item per requested resource path (status PROVISIONING).

        A tenant is bound to the sandbox it was first provisioned in: asking for another sandbox raises
        ``InputValidationError``. Items already ACTIVE keep their status.
        """
        try:
            self.update(
                tenant_key(tenant_id),
                {
                    "tenant_id": tenant_id,
                    "sandbox": sandbox,
                    "status": PROVISIONING,
                    "execution": execution,
                    "started_at": now_s(),
                },
                remove=("last_error", *_DEPROVISIONING_MARKS),
                condition="attribute_not_exists(#sandbox) OR #sandbox = :sandbox",
                condition_names={"#sandbox": "sandbox"},
                condition_values={":sandbox": sandbox},
            )
        except ConcurrentModificationError:
            raise InputValidationError(
                f"sandbox: tenant {tenant_id} is provisioned in another sandbox; deprovision it first"
            ) from None
        for path in resource_paths:
            key = dataflow_key(tenant_id, path)
            attrs: dict[str, Any] = {
                "tenant_id": tenant_id,
                "resource_path": path,
                "sandbox": sandbox,
                "schedule": dict(schedule),
            }
            if (self.get(key) or {}).get("status") != ACTIVE:
                attrs["status"] = PROVISIONING
            self.update(key, attrs, remove=("last_error", *_DEPROVISIONING_MARKS))

    def claim_intent(self, key: ItemKey, kind: str, owner: str, lease_s: int = INTENT_LEASE_S) -> None:
        """Record the intent to create ``kind`` at ``key`` before calling Adobe.

        Succeeds when no intent is recorded, when ``owner`` (an execution name) already holds it (a retry of the
        same step), or when another owner's intent is older than ``lease_s`` seconds (that attempt crashed).
        Raises ``LeaseHeldError`` (a ``ConcurrentModificationError``) while another execution's fresh intent
        stands, and when the ID was stored since the caller read the item (another execution finished first: the
        retry reuses its ID).
        """
        now = now_s()
        try:
            self.update(
                key,
                {f"{kind}_intent": now, f"{kind}_intent_owner": owner},
                condition=(
                    "attribute_not_exists(#id) AND "
                    "(attribute_not_exists(#intent) OR #owner = :owner OR #intent < :stale)"
                ),
                condition_names={"#id": f"{kind}_id", "#intent": f"{kind}_intent", "#owner": f"{kind}_intent_owner"},
                condition_values={":owner": owner, ":stale": now - lease_s},
                stamp=False,
            )
        except ConcurrentModificationError:
            raise LeaseHeldError(f"{kind} at {key[0]}/{key[1]}: another execution holds its lease") from None

    def mark_uncertain(self, key: ItemKey, kind: str, owner: str) -> None:
        """Record when ``owner``'s create of ``kind`` got no answer (``<kind>_uncertain_at``, epoch seconds):
        it may still commit, so the retry looks for it for a while before creating again."""
        self._update_own_intent(key, kind, owner, {f"{kind}_uncertain_at": now_s()})

    def release_intent(self, key: ItemKey, kind: str, owner: str) -> None:
        """Remove ``owner``'s intent to create ``kind`` (Adobe refused the create: nothing exists to look up).

        Conditional on ``owner`` still holding it; another owner's intent is left alone.
        """
        self._update_own_intent(
            key, kind, owner, remove=(f"{kind}_intent", f"{kind}_intent_owner", f"{kind}_uncertain_at")
        )

    def _update_own_intent(
        self,
        key: ItemKey,
        kind: str,
        owner: str,
        set_attrs: Mapping[str, Any] | None = None,
        remove: tuple[str, ...] = (),
    ) -> None:
        """``update`` on condition that ``owner`` still holds ``kind``'s create intent; when another owner holds it
        (or none does) the item is left alone and nothing is raised."""
        try:
            self.update(
                key,
                set_attrs,
                remove=remove,
                condition="#owner = :owner",
                condition_names={"#owner": f"{kind}_intent_owner"},
                condition_values={":owner": owner},
                stamp=False,
            )
        except ConcurrentModificationError:
            return

    def replace_object(
        self,
        key: ItemKey,
        kind: str,
        old_id: str,
        object_id: str,
        etag: str | None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Point ``kind`` at another live object (adopted: the recorded one is gone from AEP).

        Conditional on ``<kind>_id`` still being ``old_id`` (``ConcurrentModificationError`` otherwise).
        """
        attrs: dict[str, Any] = {f"{kind}_id": object_id, **(extra or {})}
        if etag is not None:
            attrs[f"{kind}_etag"] = etag
        return self.update(
            key,
            attrs,
            remove=() if etag is not None else (f"{kind}_etag",),
            condition="#id = :old",
            condition_names={"#id": f"{kind}_id"},
            condition_values={":old": old_id},
        )

    def expire_intents(self, key: ItemKey, owner: str) -> list[str]:
        """Mark every create intent that ``owner`` (an execution name) left on the item as expired (time 0).

        Called when that execution failed: the next execution still looks each object up by name before creating
        it (the failed attempt may have created it), but is not held off by the lease. Returns the kinds expired.
        """
        item = self.get(key) or {}
        kinds = [
            attr.removesuffix("_intent_owner")
            for attr, value in item.items()
            if attr.endswith("_intent_owner") and value == owner
        ]
        for kind in kinds:
            self._update_own_intent(key, kind, owner, {f"{kind}_intent": 0})  # unless another execution claimed it
        return kinds

    def record_object(
        self,
        key: ItemKey,
        kind: str,
        object_id: str,
        etag: str | None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Store the ID (and etag, and ``extra`` attributes) of an object created or found in AEP.

        Conditional: never overwrites a different ID already stored (``ConcurrentModificationError``).
        Clears the intent. Returns the item after the write.
        """
        attrs: dict[str, Any] = {f"{kind}_id": object_id, **(extra or {})}
        if etag is not None:
            attrs[f"{kind}_etag"] = etag
        return self.update(
            key,
            attrs,
            remove=(f"{kind}_intent", f"{kind}_intent_owner", f"{kind}_uncertain_at"),
            condition="attribute_not_exists(#id) OR #id = :id",
            condition_names={"#id": f"{kind}_id"},
            condition_values={":id": object_id},
        )

    def forget_object(self, key: ItemKey, kind: str, extra: tuple[str, ...] = ()) -> None:
        """Remove ``kind``'s ID, etag and intent from the item (after the object was deleted in AEP)."""
        self.update(
            key,
            remove=(
                f"{kind}_id",
                f"{kind}_etag",
                f"{kind}_intent",
                f"{kind}_intent_owner",
                f"{kind}_uncertain_at",
                *extra,
            ),
        )

    def follow_dataflow_states(self, tenant_id: str) -> str | None:
        """Set an ACTIVE or DISABLED tenant's status from its dataflows: DISABLED when every live dataflow is
        DISABLED, else ACTIVE. Returns the status written (None: the tenant is in another status).

        Safe under concurrent calls (a Map of enable/disable steps): each caller first bumps the tenant's
        ``state_version`` (after its own dataflow write), reads the dataflows, and writes only when its version is
        the newest applied; the caller with the highest version read after every dataflow write.
        """
        key = tenant_key(tenant_id)
        bumped = self._table.update_item(
            Key={"pk": key[0], "sk": key[1]},
            UpdateExpression="ADD #v :one",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#v": "state_version"},
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        version = int(bumped["Attributes"]["state_version"])
        _, dataflows = self.tenant_items(tenant_id)
        live = [d for d in dataflows if d.get("status") not in (DEPROVISIONING, DEPROVISIONED)]
        status = DISABLED if live and all(d.get("status") == DISABLED for d in live) else ACTIVE
        try:
            self.update(
                key,
                {"status": status, "state_applied": version},
                condition="#status IN (:active, :disabled) AND (attribute_not_exists(#applied) OR #applied < :v)",
                condition_names={"#status": "status", "#applied": "state_applied"},
                condition_values={":active": ACTIVE, ":disabled": DISABLED, ":v": version},
            )
        except ConcurrentModificationError:
            return None
        return status

    def set_status(self, key: ItemKey, status: str, **attrs: Any) -> dict[str, Any]:
        """Set an item's provisioning ``status`` (and other attributes); dataflows join or leave ``gsi1``."""
        values: dict[str, Any] = {"status": status, **attrs}
        remove: tuple[str, ...] = ()
        if key[1].startswith("PATH#"):
            if status == ACTIVE:
                tenant = key[0].removeprefix("TENANT#")
                values |= {"gsi1pk": ACTIVE_PARTITION, "gsi1sk": f"{tenant}#{key[1].removeprefix('PATH#')}"}
            else:
                remove = ("gsi1pk", "gsi1sk")
        item = self.update(key, values, remove=remove)
        if key[1].startswith("PATH#") and status == DISABLED:
            self._disabled_set("ADD", [key])
        return item

    def disabled_dataflows(self) -> list[ItemKey]:
        """The keys of the dataflows listed as DISABLED (``DISABLED_KEY``), sorted; an entry may be stale (the
        item is since ACTIVE, deprovisioned or gone): ``forget_disabled`` it."""
        listed = (self.get(DISABLED_KEY) or {}).get("dataflows") or set()
        return [dataflow_key(*str(entry).split("#", 1)) for entry in sorted(listed)]

    def forget_disabled(self, keys: list[ItemKey]) -> None:
        """Take dataflow keys off the DISABLED list (nothing when none is given)."""
        if keys:
            self._disabled_set("DELETE", keys)

    def _disabled_set(self, action: str, keys: list[ItemKey]) -> None:
        entries = {f"{k[0].removeprefix('TENANT#')}#{k[1].removeprefix('PATH#')}" for k in keys}
        self._table.update_item(
            Key={"pk": DISABLED_KEY[0], "sk": DISABLED_KEY[1]},
            UpdateExpression=f"{action} #d :e",
            ExpressionAttributeNames={"#d": "dataflows"},
            ExpressionAttributeValues={":e": entries},
        )

    # ---- push health (flow run notifications) ----------------------------------------------------------------
    def dataflow_key_of_flow(self, flow_id: str, unknown_ttl_s: int = 600) -> ItemKey | None:
        """The key of the ACTIVE dataflow item holding ``flow_id``, or None (a flow of another product).

        A flow run notification names its flow, not its tenant: the item ``("FLOW#{flow_id}", "DATAFLOW")``
        maps one to the other. On a miss the map is rebuilt from the ACTIVE dataflows (index ``gsi1``), and a
        flow still unknown is remembered as such for ``unknown_ttl_s`` seconds (``expires_at`` TTL), so that
        notifications of other products' flows cost one read each.
        """
        key = (f"FLOW#{flow_id}", "DATAFLOW")
        found = self.get(key)
        if found is not None and found.get("unknown") and int(found.get("expires_at") or 0) < now_s():
            found = None  # TTL deletion is lazy: an expired "unknown" is a miss
        if found is None:
            for item in self.active_dataflows():
                if item.get("flow_id"):
                    self.update(
                        (f"FLOW#{item['flow_id']}", "DATAFLOW"),
                        {"tenant_id": item["tenant_id"], "resource_path": item["resource_path"]},
                        remove=("unknown", "expires_at"),
                    )
            found = self.get(key)
            if found is None:
                self.update(key, {"unknown": True, "expires_at": now_s() + unknown_ttl_s})
                return None
        if found.get("unknown"):
            return None
        return dataflow_key(str(found["tenant_id"]), str(found["resource_path"]))

    def delete(self, key: ItemKey) -> None:
        """Delete the item at ``key`` (nothing when absent)."""
        self._table.delete_item(Key={"pk": key[0], "sk": key[1]})
