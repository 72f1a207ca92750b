"""The catalogue's per-kind operations on their own: ``ensure`` (the intent lease) and ``delete_recorded``.

A real ``Store`` over moto's DynamoDB and a real ``PlatformClient`` over the AEP simulator's HTTP; outcomes are
asserted in the simulator (objects by name, calls by operationId) and in DynamoDB.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from stripe_aep.aep import PlatformClient
from stripe_aep.catalogue import (
    BASE_CONNECTION,
    CATALOGUE,
    FLOW,
    KINDS,
    SOURCE_CONNECTION,
    Ref,
    delete_recorded,
    ensure,
)
from stripe_aep.clock import now_s
from stripe_aep.errors import ConcurrentModificationError
from stripe_aep.names import base_connection_name
from stripe_aep.store import Store, tenant_key
from tests.conftest import FAKE_STRIPE_KEY, SANDBOX
from tests.unit.step_support import TABLE_NAME, Aws

TENANT = "acme-co"
REF = Ref(SANDBOX, TENANT)


@pytest.fixture
def store(aws: Aws) -> Store:
    """A ``Store`` over template.yaml's table on moto (``aws``: tests/unit/conftest.py)."""
    return Store(TABLE_NAME, aws.table)


class KeyReader:
    """The ``stripe_key`` reader a base connection create is given; counts how often it is read."""

    def __init__(self) -> None:
        self.reads = 0

    def __call__(self) -> SecretStr:
        self.reads += 1
        return SecretStr(FAKE_STRIPE_KEY)


def connections(simulator: Any) -> list[str]:
    return [c["name"] for c in simulator.objects("connections")]


def test_ensure_creates_once_without_a_lookup_and_records_the_id(
    store: Store, platform_client: PlatformClient, simulator: Any
) -> None:
    reader = KeyReader()
    item = ensure(store, platform_client, BASE_CONNECTION, REF, "exec-1", {"stripe_key": reader})

    assert connections(simulator) == [base_connection_name(TENANT)]
    assert simulator.calls["createConnection"] == 1 and simulator.calls["listConnections"] == 0
    stored = store.get(tenant_key(TENANT)) or {}
    assert stored["base_connection_id"] == item["base_connection_id"] == simulator.objects("connections")[0]["id"]
    assert stored["base_connection_etag"]
    assert "base_connection_intent" not in stored and "base_connection_intent_owner" not in stored

    # Again (a re-run of the step): the stored ID answers, no Adobe call and no secret read.
    simulator.reset_calls()
    again = ensure(store, platform_client, BASE_CONNECTION, REF, "exec-2", {"stripe_key": reader})
    assert again["base_connection_id"] == item["base_connection_id"]
    assert sum(simulator.calls.values()) == 0 and reader.reads == 1
    assert len(connections(simulator)) == 1


def test_ensure_adopts_what_a_crashed_attempt_created(
    store: Store, platform_client: PlatformClient, simulator: Any
) -> None:
    # The attempt claimed the intent and created the connection, then died before storing its ID.
    store.claim_intent(tenant_key(TENANT), BASE_CONNECTION.attribute, "exec-crashed")
    orphan = platform_client.create_base_connection(base_connection_name(TENANT), SecretStr(FAKE_STRIPE_KEY))
    simulator.reset_calls()

    item = ensure(store, platform_client, BASE_CONNECTION, REF, "exec-crashed", {"stripe_key": KeyReader()})

    assert item["base_connection_id"] == orphan.id
    assert simulator.calls["listConnections"] == 1 and simulator.calls["createConnection"] == 0
    assert len(connections(simulator)) == 1


def test_a_fresh_lease_of_another_execution_holds_the_create_off(
    store: Store, platform_client: PlatformClient, simulator: Any
) -> None:
    store.claim_intent(tenant_key(TENANT), BASE_CONNECTION.attribute, "exec-other")
    simulator.reset_calls()

    with pytest.raises(ConcurrentModificationError):
        ensure(store, platform_client, BASE_CONNECTION, REF, "exec-mine", {"stripe_key": KeyReader()})

    # It looked up first (the other attempt may have created it), but created nothing.
    assert simulator.calls["createConnection"] == 0
    assert connections(simulator) == []
    assert (store.get(tenant_key(TENANT)) or {})["base_connection_intent_owner"] == "exec-other"


def test_a_stale_lease_is_taken_over(store: Store, platform_client: PlatformClient, simulator: Any) -> None:
    key = tenant_key(TENANT)
    store.claim_intent(key, BASE_CONNECTION.attribute, "exec-dead")
    store.update(key, {"base_connection_intent": now_s() - 121})  # older than the 120 s lease

    item = ensure(store, platform_client, BASE_CONNECTION, REF, "exec-next", {"stripe_key": KeyReader()})

    assert connections(simulator) == [base_connection_name(TENANT)]
    assert item["base_connection_id"] == simulator.objects("connections")[0]["id"]


def test_the_same_owner_may_retry_its_own_claim(store: Store) -> None:
    key = tenant_key(TENANT)
    store.claim_intent(key, "flow", "exec-1")
    store.claim_intent(key, "flow", "exec-1")  # a retry of the same step
    with pytest.raises(ConcurrentModificationError):
        store.claim_intent(key, "flow", "exec-2")
    store.record_object(key, "flow", "flow-1", None)
    with pytest.raises(ConcurrentModificationError):  # the ID is stored: nobody claims a create any more
        store.claim_intent(key, "flow", "exec-1")


def test_an_expired_intent_is_looked_up_but_does_not_hold_off(
    store: Store, platform_client: PlatformClient, simulator: Any
) -> None:
    key = tenant_key(TENANT)
    store.claim_intent(key, BASE_CONNECTION.attribute, "exec-failed")
    assert store.expire_intents(key, "exec-failed") == [BASE_CONNECTION.attribute]
    simulator.reset_calls()

    ensure(store, platform_client, BASE_CONNECTION, REF, "exec-next", {"stripe_key": KeyReader()})

    assert simulator.calls["listConnections"] == 1 and simulator.calls["createConnection"] == 1
    assert len(connections(simulator)) == 1


def test_delete_recorded_deletes_the_stored_id_then_nothing(
    store: Store, platform_client: PlatformClient, simulator: Any
) -> None:
    item = ensure(store, platform_client, BASE_CONNECTION, REF, "exec-1", {"stripe_key": KeyReader()})

    assert delete_recorded(store, platform_client, BASE_CONNECTION, REF) == [item["base_connection_id"]]
    assert connections(simulator) == []
    stored = store.get(tenant_key(TENANT)) or {}
    assert not any(a.startswith("base_connection_") for a in stored)

    simulator.reset_calls()
    assert delete_recorded(store, platform_client, BASE_CONNECTION, REF) == []
    assert sum(simulator.calls.values()) == 0


def test_delete_recorded_finds_what_an_unfinished_create_left(
    store: Store, platform_client: PlatformClient, simulator: Any
) -> None:
    store.claim_intent(tenant_key(TENANT), BASE_CONNECTION.attribute, "exec-crashed")
    left = platform_client.create_base_connection(base_connection_name(TENANT), SecretStr(FAKE_STRIPE_KEY))

    assert delete_recorded(store, platform_client, BASE_CONNECTION, REF) == [left.id]
    assert connections(simulator) == []
    assert "base_connection_intent" not in (store.get(tenant_key(TENANT)) or {})


def test_every_need_names_an_entry_and_comes_earlier() -> None:
    order = list(CATALOGUE)
    for name, entry in CATALOGUE.items():
        for need in entry.needs:
            assert need in CATALOGUE, f"{name} needs unknown {need}"
            assert order.index(need) < order.index(name), f"{name} is declared before its need {need}"
    attributes = [kind.attribute for kind in KINDS]
    assert len(set(attributes)) == len(attributes)
    assert FLOW.needs == ("source_connection", "target_connection", "mapping_set")


def test_names_are_deterministic_and_per_path() -> None:
    charges, refunds = Ref(SANDBOX, TENANT, "charges"), Ref(SANDBOX, TENANT, "refunds")
    for kind in (SOURCE_CONNECTION, FLOW):
        assert kind.name(charges) == kind.name(Ref(SANDBOX, TENANT, "charges"))
        assert kind.name(charges) != kind.name(refunds)
        assert kind.key(charges) != kind.key(refunds)
    assert BASE_CONNECTION.key(charges) == BASE_CONNECTION.key(refunds) == tenant_key(TENANT)


# ---- uncertain creates and converge ---------------------------------------------------------------------------


def test_a_retry_of_an_uncertain_create_keeps_one_of_its_twins_and_deletes_the_others(
    store: Store, platform_client: PlatformClient, simulator: Any
) -> None:
    """Two committed POSTs of the same name (the answer of each was lost): the retry records one, deletes one."""
    key = tenant_key(TENANT)
    store.claim_intent(key, BASE_CONNECTION.attribute, "exec-1")
    store.mark_uncertain(key, BASE_CONNECTION.attribute, "exec-1")
    settle_s = platform_client.settings.create_settle_s
    store.update(key, {"base_connection_uncertain_at": now_s() - int(settle_s) - 1})  # the settle wait is over
    twins = [
        platform_client.create_base_connection(base_connection_name(TENANT), SecretStr(FAKE_STRIPE_KEY)).id
        for _ in range(2)
    ]

    item = ensure(store, platform_client, BASE_CONNECTION, REF, "exec-1", {"stripe_key": KeyReader()})

    assert item["base_connection_id"] in twins
    assert [c["id"] for c in simulator.objects("connections")] == [item["base_connection_id"]]
    assert "base_connection_uncertain_at" not in item and "base_connection_intent" not in item


def test_a_refused_create_releases_its_intent_so_the_retry_makes_no_lookup(
    store: Store, platform_client: PlatformClient, simulator: Any
) -> None:
    from local.aep_simulator import Fault
    from stripe_aep.aep import ThrottledError

    simulator.add_fault(Fault(operation="createConnection", kind="throttle", times=1))
    with pytest.raises(ThrottledError):
        ensure(store, platform_client, BASE_CONNECTION, REF, "exec-1", {"stripe_key": KeyReader()})
    assert "base_connection_intent" not in (store.get(tenant_key(TENANT)) or {})

    ensure(store, platform_client, BASE_CONNECTION, REF, "exec-1", {"stripe_key": KeyReader()})

    assert simulator.calls["listConnections"] == 0 and simulator.calls["createConnection"] == 2
    assert len(simulator.objects("connections")) == 1


def test_plan_kind_adopts_a_namesake_of_a_vanished_object_and_converge_records_it(
    store: Store, platform_client: PlatformClient, simulator: Any
) -> None:
    from stripe_aep.catalogue import converge, plan_kind

    ensure(store, platform_client, BASE_CONNECTION, REF, "exec-1", {"stripe_key": KeyReader()})
    recorded = (store.get(tenant_key(TENANT)) or {})["base_connection_id"]
    platform_client.delete_base_connection(recorded)
    other = platform_client.create_base_connection(base_connection_name(TENANT), SecretStr(FAKE_STRIPE_KEY)).id

    planned = plan_kind(platform_client, BASE_CONNECTION, REF, store.get(tenant_key(TENANT)) or {})
    assert [(a.verb, a.object_id) for a in planned] == [("adopt", other)]

    item = converge(store, platform_client, BASE_CONNECTION, REF, "exec-2", {"stripe_key": KeyReader()})
    assert item["base_connection_id"] == other
    assert [a.verb for a in plan_kind(platform_client, BASE_CONNECTION, REF, item)] == ["keep"]
    assert simulator.calls["createConnection"] == 2, "adopting creates nothing"


def test_a_throttled_create_releases_its_intent_and_the_retry_makes_no_lookup(
    store: Store, platform_client: PlatformClient, simulator: Any
) -> None:
    """A 429 is a refusal: nothing was created, so the next attempt creates at once (no listConnections)."""
    from local.aep_simulator import Fault
    from stripe_aep.aep import ThrottledError

    simulator.add_fault(Fault(operation="createConnection", kind="throttle", nth=1, times=1, retry_after=1))
    with pytest.raises(ThrottledError):
        ensure(store, platform_client, BASE_CONNECTION, REF, "exec-1", {"stripe_key": KeyReader()})
    assert not any(k.startswith("base_connection_intent") for k in store.get(tenant_key(TENANT)) or {})

    ensure(store, platform_client, BASE_CONNECTION, REF, "exec-1", {"stripe_key": KeyReader()})

    assert connections(simulator) == [base_connection_name(TENANT)]
    assert simulator.calls["createConnection"] == 2 and simulator.calls["listConnections"] == 0


def test_a_sandbox_validates_a_mapping_body_once(store: Store, platform_client: PlatformClient, simulator: Any) -> None:
    """The second tenant of a sandbox sends no validateMappingSet for a body the sandbox already validated."""
    from stripe_aep.catalogue import validate_mapping
    from stripe_aep.resources import get_resource

    resource = get_resource("charges")
    xdm_tenant = platform_client.get_tenant_id()
    group = platform_client.create_field_group(resource.field_group_body(xdm_tenant))
    schema = platform_client.create_schema(resource.schema_body(group.id))
    given = {"xdm_tenant_id": xdm_tenant, "schema_id": schema.id}

    first = validate_mapping(store, platform_client, Ref(SANDBOX, "acme-co", "charges"), given)
    second = validate_mapping(store, platform_client, Ref(SANDBOX, "globex", "charges"), given)

    assert (first, second) == (True, False)
    assert simulator.calls["validateMappingSet"] == 1
    assert (store.get(("SANDBOX#" + SANDBOX, "SCHEMA#charges")) or {}).get("mapping_validated")


def test_an_object_wired_to_a_replaced_one_is_recreated_on_the_live_one(
    store: Store, platform_client: PlatformClient, simulator: Any
) -> None:
    """A source connection names its base connection for good (no PATCH re-points it): when the base connection
    it was made on is replaced, plan_kind says ``recreate`` and converge makes a new one and deletes the old."""
    from stripe_aep.catalogue import converge, plan_kind

    ref = Ref(SANDBOX, TENANT, "charges")
    old_base = ensure(store, platform_client, BASE_CONNECTION, REF, "exec-1", {"stripe_key": KeyReader()})
    first = ensure(
        store, platform_client, SOURCE_CONNECTION, ref, "exec-1", {"base_connection_id": old_base["base_connection_id"]}
    )
    new_base = platform_client.create_base_connection(base_connection_name(TENANT), SecretStr(FAKE_STRIPE_KEY)).id
    item = store.get(SOURCE_CONNECTION.key(ref)) or {}

    planned = plan_kind(platform_client, SOURCE_CONNECTION, ref, item, {"base_connection_id": new_base})
    assert [a.verb for a in planned] == ["recreate"]
    assert old_base["base_connection_id"] in planned[0].reason
    assert [a.verb for a in plan_kind(platform_client, SOURCE_CONNECTION, ref, item)] == ["keep"], "nothing wanted"

    after = converge(store, platform_client, SOURCE_CONNECTION, ref, "exec-2", {"base_connection_id": new_base})

    live = {c["id"]: c for c in simulator.objects("sourceConnections")}
    assert list(live) == [after["source_connection_id"]] and first["source_connection_id"] not in live
    assert live[after["source_connection_id"]]["baseConnectionId"] == new_base
    assert [
        a.verb for a in plan_kind(platform_client, SOURCE_CONNECTION, ref, after, {"base_connection_id": new_base})
    ] == ["keep"]


def test_a_shared_schema_under_another_title_is_kept_and_a_deleted_one_recreated(
    store: Store, platform_client: PlatformClient
) -> None:
    """Schemas are found by title, and an earlier generation's title differs: the recorded one is read by its
    meta:altId before it is called gone."""
    from stripe_aep.catalogue import SCHEMA, plan_kind
    from stripe_aep.resources import get_resource

    resource, ref = get_resource("charges"), Ref(SANDBOX, TENANT, "charges")
    group = platform_client.create_field_group(resource.field_group_body(platform_client.get_tenant_id()))
    earlier = platform_client.create_schema({**resource.schema_body(group.id), "title": "Stripe charges (earlier)"})
    item = {"schema_id": earlier.id, "schema_alt_id": earlier.alt_id}

    assert [(a.verb, a.object_id) for a in plan_kind(platform_client, SCHEMA, ref, item)] == [("keep", earlier.id)]

    platform_client.delete_schema(earlier.alt_id)
    assert [a.verb for a in plan_kind(platform_client, SCHEMA, ref, item)] == ["recreate"]


# ---- waits the state machine does: another owner's lease, an uncertain create settling -----------------------


def test_waiting_for_another_executions_lease_makes_no_adobe_call(
    store: Store, platform_client: PlatformClient, simulator: Any
) -> None:
    """While another execution's fresh intent stands, ``ensure`` raises ``LeaseHeldError`` before any call (no
    lookup, no create); once that execution stored its ID, the waiter reuses it, still without a call."""
    from stripe_aep.errors import LeaseHeldError

    key = tenant_key(TENANT)
    store.claim_intent(key, BASE_CONNECTION.attribute, "exec-other")
    simulator.reset_calls()

    with pytest.raises(LeaseHeldError):
        ensure(store, platform_client, BASE_CONNECTION, REF, "exec-mine", {"stripe_key": KeyReader()})
    assert sum(simulator.calls.values()) == 0, dict(simulator.calls)

    store.record_object(key, BASE_CONNECTION.attribute, "conn-of-other", None)
    item = ensure(store, platform_client, BASE_CONNECTION, REF, "exec-mine", {"stripe_key": KeyReader()})

    assert item["base_connection_id"] == "conn-of-other"
    assert sum(simulator.calls.values()) == 0, dict(simulator.calls)


def test_an_uncertain_create_is_looked_up_once_after_its_settle_deadline(
    store: Store, platform_client: PlatformClient, simulator: Any
) -> None:
    """Before the deadline the retry raises ``CreateSettlingError`` with no call (the state machine waits); after
    it, one listing finds the late-committed object and nothing is created again."""
    from stripe_aep.errors import CreateSettlingError

    key = tenant_key(TENANT)
    store.claim_intent(key, BASE_CONNECTION.attribute, "exec-1")
    store.mark_uncertain(key, BASE_CONNECTION.attribute, "exec-1")
    late = platform_client.create_base_connection(base_connection_name(TENANT), SecretStr(FAKE_STRIPE_KEY))
    simulator.reset_calls()

    with pytest.raises(CreateSettlingError):
        ensure(store, platform_client, BASE_CONNECTION, REF, "exec-1", {"stripe_key": KeyReader()})
    assert sum(simulator.calls.values()) == 0, dict(simulator.calls)

    settle_s = platform_client.settings.create_settle_s
    store.update(key, {"base_connection_uncertain_at": now_s() - int(settle_s) - 1})
    item = ensure(store, platform_client, BASE_CONNECTION, REF, "exec-1", {"stripe_key": KeyReader()})

    assert item["base_connection_id"] == late.id
    assert simulator.calls["listConnections"] == 1 and simulator.calls["createConnection"] == 0
    assert connections(simulator) == [base_connection_name(TENANT)]


@pytest.fixture
def charges_schema(platform_client: PlatformClient) -> dict[str, str]:
    """The sandbox's charges field group and schema, created directly: ``{xdm_tenant_id, schema_id}``."""
    from stripe_aep.resources import get_resource

    resource = get_resource("charges")
    xdm_tenant = platform_client.get_tenant_id()
    group = platform_client.create_field_group(resource.field_group_body(xdm_tenant))
    schema = platform_client.create_schema(resource.schema_body(group.id))
    return {"xdm_tenant_id": xdm_tenant, "schema_id": schema.id}


def test_a_mapping_body_being_validated_by_another_execution_is_awaited_not_validated_again(
    store: Store, platform_client: PlatformClient, simulator: Any, charges_schema: dict[str, str]
) -> None:
    from stripe_aep.catalogue import MAPPING_VALIDATION_LEASE, validate_mapping
    from stripe_aep.errors import LeaseHeldError
    from stripe_aep.store import schema_key

    given = dict(charges_schema)
    key = schema_key(SANDBOX, "charges")
    store.claim_intent(key, MAPPING_VALIDATION_LEASE, "exec-first")

    with pytest.raises(LeaseHeldError):
        validate_mapping(store, platform_client, Ref(SANDBOX, "globex", "charges"), given, owner="exec-second")
    assert simulator.calls["validateMappingSet"] == 0

    first = validate_mapping(store, platform_client, Ref(SANDBOX, "acme-co", "charges"), given, owner="exec-first")
    second = validate_mapping(store, platform_client, Ref(SANDBOX, "globex", "charges"), given, owner="exec-second")

    assert (first, second) == (True, False)
    assert simulator.calls["validateMappingSet"] == 1
    item = store.get(key) or {}
    assert item.get("mapping_validated") and not any(k.startswith(MAPPING_VALIDATION_LEASE) for k in item), item


def test_a_failed_validation_releases_the_lease_for_the_next_execution(
    store: Store, platform_client: PlatformClient, simulator: Any, charges_schema: dict[str, str]
) -> None:
    from local.aep_simulator import Fault
    from stripe_aep.aep import UpstreamError
    from stripe_aep.catalogue import MAPPING_VALIDATION_LEASE, validate_mapping
    from stripe_aep.store import schema_key

    given = dict(charges_schema)
    simulator.add_fault(Fault(operation="validateMappingSet", kind="error500", times=1))

    with pytest.raises(UpstreamError):
        validate_mapping(store, platform_client, Ref(SANDBOX, "acme-co", "charges"), given, owner="exec-first")
    item = store.get(schema_key(SANDBOX, "charges")) or {}
    assert "mapping_validated" not in item and not any(k.startswith(MAPPING_VALIDATION_LEASE) for k in item)

    assert validate_mapping(store, platform_client, Ref(SANDBOX, "globex", "charges"), given, owner="exec-second")
    assert simulator.calls["validateMappingSet"] == 2


def test_a_throttled_holder_keeps_the_validation_lease_so_no_waiter_checks_beside_it(
    store: Store, platform_client: PlatformClient, simulator: Any, charges_schema: dict[str, str]
) -> None:
    from stripe_aep.aep import ThrottledError
    from stripe_aep.catalogue import validate_mapping
    from stripe_aep.errors import LeaseHeldError

    checks: list[str] = []

    def check_on_samples(owner: str) -> Any:
        def check(body: Any) -> None:
            checks.append(owner)
            if len(checks) == 1:
                raise ThrottledError("previewMappingSet: HTTP 429", retry_after=1.0)

        return check

    def given(owner: str) -> dict[str, Any]:
        return {**charges_schema, "check_on_samples": check_on_samples(owner)}

    with pytest.raises(ThrottledError):
        validate_mapping(store, platform_client, Ref(SANDBOX, "acme-co", "charges"), given("first"), owner="first")
    with pytest.raises(LeaseHeldError):
        validate_mapping(store, platform_client, Ref(SANDBOX, "globex", "charges"), given("second"), owner="second")

    validate_mapping(store, platform_client, Ref(SANDBOX, "acme-co", "charges"), given("first"), owner="first")

    assert checks == ["first", "first"]
    assert simulator.calls["validateMappingSet"] == 1
    from stripe_aep.catalogue import MAPPING_VALIDATION_LEASE
    from stripe_aep.store import schema_key

    item = store.get(schema_key(SANDBOX, "charges")) or {}
    assert not any(k.startswith(MAPPING_VALIDATION_LEASE) for k in item), "the holder released its lease"
