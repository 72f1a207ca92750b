"""The corpus (tools/stripe_corpus.py) goes through real flows and lands field by field as expected.

A tenant's Stripe account in the simulator is seeded with the 31 corpus objects; the tenant is provisioned by
the real state machine on the local stack (so the mapping check on sample rows runs too); each flow runs once
(the simulator reads the account, maps with the flow's mapping set, validates against the XDM schema, writes
Parquet); the rows read back from Parquet are compared leaf by leaf with ``tests.corpus.expected``. The test
prints rows expected / matched per path and the number of fields compared.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from local.stack import LocalStack
from stripe_aep.resources import RESOURCE_PATHS, RESOURCES
from tests.corpus.expected import expected_row, flatten
from tests.integration.conftest import DEFAULT_STRIPE_KEY, TenantFactory
from tests.integration.support import provision, store_of
from tools.stripe_corpus import corpus

FIELD_SUMMARY = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "stripe-fixtures" / "schema" / "field_summary.json"
)


def _comparable(value: Any) -> Any:
    """Date-times compare as instants (Parquet gives ISO 8601 strings, the expectation a datetime)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    if isinstance(value, str) and len(value) >= 20 and value[4] == "-" and value[10] == "T":
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)
        except ValueError:
            return value
    return value


@pytest.mark.skipif(not FIELD_SUMMARY.is_file(), reason=f"Stripe's field summary not found at {FIELD_SUMMARY}")
def test_the_corpus_covers_every_top_level_field_and_every_null_of_the_schema() -> None:
    summary = json.loads(FIELD_SUMMARY.read_text())
    objects = corpus()
    assert sum(len(v) for v in objects.values()) >= 30
    for path, items in objects.items():
        stripe_object = RESOURCES[path].stripe_object
        assert any(o.get("object") == stripe_object for o in items)
        for name, spec in summary[stripe_object].items():
            values = [o.get(name) for o in items if not o.get("deleted")]
            assert any(v is not None for v in values), f"{path}.{name} never has a value"
            if spec["nullable"]:
                assert any(v is None for v in values), f"{path}.{name} is nullable but never null"
        refs = [n for n, spec in summary[stripe_object].items() if spec["type"] == "string|object"]
        forms = {type(o.get(n)).__name__ for o in items for n in refs if o.get(n) is not None}
        assert forms == {"str", "dict"}, f"{path}: references only as {forms}"
    shapes = json.dumps(objects, ensure_ascii=False)
    for shape in (
        '"deleted": true',
        '"has_more": true',
        '"jpy"',
        '"kwd"',
        '"bhd"',
        '"clé ü"',
        "0.12345678901234567890",
    ):
        assert shape in shapes, shape


def test_corpus_rows_land_in_the_datasets_field_by_field(
    stack: LocalStack, tenant_factory: TenantFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = tenant_factory("corpus-tenant")
    objects = corpus()
    stack.simulator.seed_stripe_account(DEFAULT_STRIPE_KEY, objects)

    described = provision(stack, {"tenantId": tenant}, "provision-corpus-tenant-1")
    assert described["status"] == "SUCCEEDED", described.get("cause")

    sim = stack.simulator
    _, items = store_of(stack).tenant_items(tenant)
    xdm_tenant = sim.tenant_id
    by_path = {str(i["resource_path"]): i for i in items}
    assert sorted(by_path) == sorted(RESOURCE_PATHS)
    results = []
    mismatches: list[str] = []
    fields_compared = 0
    for path in RESOURCE_PATHS:
        item = by_path[path]
        run = sim.run_flow(str(item["flow_id"]))
        rows = sim.dataset_rows(str(item["dataset_id"]))
        failed = sim.dataset_failed_rows(str(item["dataset_id"]))
        resource = RESOURCES[path]
        group = rows and f"_{xdm_tenant}"
        actual_by_id = {r[f"_{xdm_tenant}"][resource.group]["id"]: r for r in rows if group}
        matched = 0
        for obj in objects[path]:
            expected = flatten(expected_row(resource, obj, xdm_tenant))
            actual = flatten(actual_by_id.get(obj["id"], {}))
            fields_compared += len(expected)
            wrong = [
                f"{path} {obj['id']} {name}: expected {expected.get(name, '-')!r}, got {actual.get(name, '-')!r}"
                for name in sorted(set(expected) | set(actual))
                if _comparable(expected.get(name)) != _comparable(actual.get(name))
            ]
            mismatches += wrong
            matched += not wrong
        metrics = run["metrics"]["recordSummary"]
        results.append((path, len(objects[path]), len(rows), matched, metrics, len(failed)))
    with capsys.disabled():
        print(f"\ncorpus results (tenant {tenant}, {fields_compared} expected fields compared):")
        print(f"  {'path':<22}{'objects':>8}{'rows':>6}{'matched':>8}  run read/written/failed")
        for path, expected_n, rows_n, matched, m, _ in results:
            counts = f"{m.get('inputRecordCount')}/{m.get('outputRecordCount')}/{m.get('failedRecordCount')}"
            print(f"  {path:<22}{expected_n:>8}{rows_n:>6}{matched:>8}  {counts}")
        for line in mismatches[:40]:
            print("  MISMATCH", line)
    assert mismatches == []
    for path, expected_n, rows_n, matched, m, failed_n in results:
        assert rows_n == matched == expected_n, path
        assert failed_n == 0 and m.get("failedRecordCount") == 0, path
        assert m.get("inputRecordCount") == m.get("outputRecordCount") == expected_n, path


def test_hand_checked_corpus_values(stack: LocalStack, tenant_factory: TenantFactory) -> None:
    """A few values checked by hand (not through tests.corpus.expected): the shapes users would notice."""
    tenant = tenant_factory("corpus-spot")
    stack.simulator.seed_stripe_account(DEFAULT_STRIPE_KEY, corpus())
    paths = ["charges", "customers", "prices", "subscriptions"]
    described = provision(stack, {"tenantId": tenant, "resourcePaths": paths}, "provision-corpus-spot-1")
    assert described["status"] == "SUCCEEDED", described.get("cause")
    sim = stack.simulator
    ns = f"_{sim.tenant_id}"
    rows: dict[str, dict[str, Any]] = {}
    for item in store_of(stack).tenant_items(tenant)[1]:
        sim.run_flow(str(item["flow_id"]))
        group = RESOURCES[str(item["resource_path"])].group
        rows |= {r[ns][group]["id"]: r[ns][group] for r in sim.dataset_rows(str(item["dataset_id"]))}

    jpy = rows["ch_corpus002"]
    assert (jpy["amount"], jpy["currency"]) == (5000, "JPY")  # zero-decimal: 5000 yen, not 50.00
    assert jpy["customer"] == "cus_corpus902"  # expanded customer object -> its id
    assert jpy["refunds_has_more"] is True and len(jpy["refunds"]) == 2  # the first page only, marked incomplete
    kwd = rows["ch_corpus003"]
    assert (kwd["amount"], kwd["currency"]) == (1250, "KWD")  # three decimals: 1.250 KWD
    assert (kwd["customer"], kwd["customer_deleted"]) == ("cus_corpusgone", True)  # tombstone
    assert "description" not in kwd and "shipping" not in kwd  # nulls are left out, not "" or "null"
    assert rows["ch_corpus001"]["metadata"] == {"order.id": "A-1", "spaced key": "v 1", "clé ü": "ß"}
    assert rows["ch_corpus001"]["customer"] == "cus_corpus001"  # an id string stays the id
    assert rows["cus_corpusgone"] == {"id": "cus_corpusgone", "object": "customer", "deleted": True}
    assert rows["price_corpus002"]["unit_amount_decimal"] == "0.12345678901234567890"  # exact decimal string
    assert "unit_amount" not in rows["price_corpus002"]
    assert [t.get("up_to") for t in rows["price_corpus003"]["tiers"]] == [10, None]
    sub = rows["sub_corpus002"]
    assert sub["items_has_more"] is True
    periods = [(i["current_period_start"], i["current_period_end"]) for i in sub["items"]]
    assert [tuple(_comparable(v) for v in p) for p in periods] == [
        (dt.datetime(2026, 1, 4, tzinfo=dt.UTC), dt.datetime(2026, 2, 3, tzinfo=dt.UTC)),
        (dt.datetime(2026, 1, 8, tzinfo=dt.UTC), dt.datetime(2026, 2, 7, tzinfo=dt.UTC)),
    ]
    assert "canceled_at" not in rows["sub_corpus001"]  # a null timestamp is absent, never 1970-01-01
    assert rows["sub_corpus001"]["discounts"] == ["di_corpus11", "di_corpus12"]  # ids from strings and objects
