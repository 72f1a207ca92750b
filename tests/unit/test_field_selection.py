"""Per-tenant field selection (stripe_aep.selection): checked against the table and Stripe's field summary,
required fields kept, only the mapping set's mappings change."""

from __future__ import annotations

import pytest

from stripe_aep.errors import InputValidationError
from stripe_aep.resources import RESOURCES
from stripe_aep.selection import check_selection, mapping_set_body, selected_fields
from tests.conftest import STRIPE_FIXTURES as FIXTURES
from tests.conftest import stripe_field_summary as _field_summary

CHARGES = RESOURCES["charges"]


def test_exclude_drops_a_field_and_all_sub_fields_of_a_top_level_name() -> None:
    chosen = check_selection("charges", {"exclude": ["outcome", "amount"]})

    kept = {f.stripe_field for f in selected_fields(CHARGES, chosen)}

    assert chosen == {"exclude": ["amount", "outcome"]}
    assert "amount" not in kept and not any(f.startswith("outcome.") for f in kept)
    assert "currency" in kept and "id" in kept


def test_include_keeps_the_class_and_required_fields() -> None:
    body = mapping_set_body(CHARGES, "acme", "SCHEMA", check_selection("charges", {"include": ["amount"]}))

    destinations = [m["destination"] for m in body["mappings"]]

    assert destinations[:2] == ["_id", "timestamp"]
    assert set(destinations[2:]) == {
        "_acme.stripe_charges.id",
        "_acme.stripe_charges.created",
        "_acme.stripe_charges.amount",
    }


def test_no_selection_is_the_whole_table() -> None:
    assert mapping_set_body(CHARGES, "acme", "S", None) == CHARGES.mapping_set_body("acme", "S")
    assert check_selection("charges", None) is None


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        ({"exclude": ["amout"]}, "amout (not a field of Stripe charge in the table)"),
        ({"include": ["billing_schedules"]}, None),  # subscriptions only: unknown on charges
        ({"exclude": ["id"]}, "['id'] cannot be excluded"),
        ({"include": ["amount"], "exclude": ["currency"]}, "not both"),
        ({"exclude": []}, "non-empty list"),
        ({"only": ["amount"]}, "unknown keys ['only']"),
    ],
)
def test_bad_selections_are_refused_naming_the_field(selection: dict[str, list[str]], message: str | None) -> None:
    with pytest.raises(InputValidationError, match=r"fields\.charges") as refused:
        check_selection("charges", selection)
    if message:
        assert message in str(refused.value)


def test_a_stripe_field_the_table_leaves_out_is_refused_with_the_reason() -> None:
    with pytest.raises(
        InputValidationError, match=r"cash_balance \(not mapped by the table: returned only with expand"
    ):
        check_selection("customers", {"include": ["cash_balance"]})


@pytest.mark.parametrize("path", list(RESOURCES))
def test_every_selectable_top_level_name_is_a_field_of_stripe_s_summary(path: str) -> None:
    if not (FIXTURES / "schema" / "field_summary.json").exists():
        pytest.skip(f"Stripe's field summary is not in {FIXTURES}")
    resource = RESOURCES[path]
    summary = set(_field_summary()[resource.stripe_object]) | set(_field_summary().get("deleted_customer", {}))
    tops = {f.top_level for f in (*resource.class_fields, *resource.fields)}
    assert tops <= summary
    for top in tops:
        check_selection(path, {"include": [top]})
