"""`[*]` inside an EXPRESSION mapping source: evaluated once per array element (aep_simulator/dataprep/mapping.py),
as the tables use it for currency codes, timestamps and references inside arrays of objects."""

from __future__ import annotations

from local.aep_simulator.dataprep import apply_mapping_set, validate_expression

RECORD = {
    "data": {
        "fee_details": [{"amount": 30, "currency": "usd"}, {"amount": 5, "currency": None}],
        "discounts": ["di_1", {"id": "di_2", "object": "discount"}],
        "items": {"data": [{"current_period_start": 1767225600}, {"current_period_start": None}]},
    }
}


def _map(*mappings: tuple[str, str, str]) -> dict[str, object]:
    body = {"mappings": [{"sourceType": t, "source": s, "destination": d} for t, s, d in mappings]}
    result = apply_mapping_set(body, RECORD)
    assert result.errors == []
    return result.row


def test_an_expression_over_an_array_yields_one_value_per_element_aligned_with_attribute_mappings() -> None:
    row = _map(
        ("ATTRIBUTE", "data.fee_details[*].amount", "fd[*].amount"),
        (
            "EXPRESSION",
            "iif(data.fee_details[*].currency != null, upper(data.fee_details[*].currency), null)",
            "fd[*].currency",
        ),
    )
    assert row == {"fd": [{"amount": 30, "currency": "USD"}, {"amount": 5}]}


def test_references_and_timestamps_per_element() -> None:
    fmt = "\"yyyy-MM-dd'T'HH:mm:ss.SSSX\""
    x = "data.items.data[*].current_period_start"
    row = _map(
        ("EXPRESSION", "coalesce(data.discounts[*].id, data.discounts[*])", "discounts[*]"),
        ("EXPRESSION", f"iif({x} != null, dformat({x} * 1000, {fmt}), null)", "items[*].start"),
    )
    assert row["discounts"] == ["di_1", "di_2"]
    assert row["items"] == [{"start": "2026-01-01T00:00:00.000Z"}, {}]  # a null timestamp stays absent


def test_missing_array_gives_nothing_and_two_arrays_in_one_expression_are_refused() -> None:
    assert _map(("EXPRESSION", "upper(data.nothing[*].currency)", "n[*].c")) == {}
    body = {
        "mappings": [
            {
                "sourceType": "EXPRESSION",
                "source": "concat(data.fee_details[*].currency, data.discounts[*])",
                "destination": "z[*]",
            }
        ]
    }
    result = apply_mapping_set(body, RECORD)
    assert result.row == {} and "more than one array" in result.errors[0].message


def test_validation_accepts_the_iterated_form() -> None:
    assert validate_expression("upper(data.fee_details[*].currency)") is None
    assert validate_expression("upper(data.fee_details[*].currency") is not None
