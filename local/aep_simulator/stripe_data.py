"""Stripe-shaped sample objects for the six resource paths the AEP Stripe source reads.

Written for the simulator (not copied from Stripe's fixtures): one object per resource carrying every
top-level
field of Stripe's API schema (API version 2026-07-29.dahlia). Nullable fields hold a value so that the explore
schema can type them. Timestamps are Unix seconds; amounts are integers in the currency's minor unit.

Explore on preview=false answers `{"format": "hierarchical", "schema": ...}` where every Stripe field sits
under
`data.` (aep-api-notes.md); its JSON Schema types are derived from these objects by `explore_schema`.
"""

from __future__ import annotations

import copy
from typing import Any

RESOURCE_PATHS: tuple[str, ...] = (
    "charges",
    "subscriptions",
    "refunds",
    "balance_transactions",
    "customers",
    "prices",
)

_ADDRESS = {
    "city": "Springfield",
    "country": "US",
    "line1": "1 Example Street",
    "line2": "Suite 2",
    "postal_code": "12345",
    "state": "IL",
}
_SHIPPING = {
    "address": _ADDRESS,
    "carrier": "UPS",
    "name": "Test Recipient",
    "phone": "+15555550100",
    "tracking_number": "1Z0000000000000000",
}

_CHARGE: dict[str, Any] = {
    "id": "ch_sim0000000000000001",
    "object": "charge",
    "amount": 2000,
    "amount_captured": 2000,
    "amount_refunded": 0,
    "application": "ca_sim0000000000000001",
    "application_fee": "fee_sim0000000000000001",
    "application_fee_amount": 100,
    "balance_transaction": "txn_sim0000000000000001",
    "billing_details": {
        "address": _ADDRESS,
        "email": "buyer@example.com",
        "name": "Test Buyer",
        "phone": "+15555550101",
        "tax_id": "000000000",
    },
    "calculated_statement_descriptor": "SIMSHOP",
    "captured": True,
    "created": 1767225600,
    "currency": "usd",
    "customer": "cus_sim0000000000000001",
    "description": "Order 1001",
    "disputed": False,
    "failure_balance_transaction": "txn_sim0000000000000009",
    "failure_code": "card_declined",
    "failure_message": "Your card was declined.",
    "fraud_details": {"stripe_report": "safe", "user_report": "safe"},
    "livemode": False,
    "metadata": {"order_id": "1001"},
    "on_behalf_of": "acct_sim0000000000001",
    "outcome": {
        "network_status": "approved_by_network",
        "reason": "none",
        "risk_level": "normal",
        "risk_score": 12,
        "seller_message": "Payment complete.",
        "type": "authorized",
    },
    "paid": True,
    "payment_intent": "pi_sim0000000000000001",
    "payment_method": "pm_sim0000000000000001",
    "payment_method_details": {
        "type": "card",
        "card": {
            "brand": "visa",
            "country": "US",
            "exp_month": 12,
            "exp_year": 2030,
            "funding": "credit",
            "last4": "4242",
            "network": "visa",
            "fingerprint": "SIMFINGERPRINT01",
        },
    },
    "presentment_details": {"presentment_amount": 1850, "presentment_currency": "eur"},
    "radar_options": {"session": "rse_sim0000000000000001"},
    "receipt_email": "buyer@example.com",
    "receipt_number": "1001-0001",
    "receipt_url": "https://pay.stripe.com/receipts/payment/SIMULATED",
    "refunded": False,
    "refunds": {"object": "list", "data": [], "has_more": False, "url": "/v1/charges/ch_sim/refunds"},
    "review": "prv_sim0000000000000001",
    "shipping": _SHIPPING,
    "source_transfer": "tr_sim0000000000000002",
    "statement_descriptor": "SIMSHOP",
    "statement_descriptor_suffix": "1001",
    "status": "succeeded",
    "transfer": "tr_sim0000000000000001",
    "transfer_data": {"amount": 1500, "destination": "acct_sim0000000000002"},
    "transfer_group": "group_1001",
}

_PRICE: dict[str, Any] = {
    "id": "price_sim000000000001",
    "object": "price",
    "active": True,
    "billing_scheme": "per_unit",
    "created": 1767225600,
    "currency": "usd",
    "currency_options": {"eur": {"unit_amount": 900, "tax_behavior": "exclusive"}},
    "custom_unit_amount": {"maximum": 10000, "minimum": 500, "preset": 1000},
    "livemode": False,
    "lookup_key": "standard_monthly",
    "metadata": {"tier": "standard"},
    "nickname": "Standard monthly",
    "product": "prod_sim000000000001",
    "recurring": {"interval": "month", "interval_count": 1, "meter": "mtr_sim0001", "usage_type": "licensed"},
    "tax_behavior": "exclusive",
    "tiers": [{"flat_amount": 0, "unit_amount": 1000, "up_to": 10}],
    "tiers_mode": "graduated",
    "transform_quantity": {"divide_by": 10, "round": "up"},
    "type": "recurring",
    "unit_amount": 1000,
    "unit_amount_decimal": "1000.5",
}

_SUBSCRIPTION: dict[str, Any] = {
    "id": "sub_sim0000000000000001",
    "object": "subscription",
    "application": "ca_sim0000000000000001",
    "application_fee_percent": 2.5,
    "automatic_tax": {"enabled": True, "liability": {"type": "self"}},
    "billing_cycle_anchor": 1767225600,
    "billing_cycle_anchor_config": {"day_of_month": 1, "hour": 0, "minute": 0, "month": 1, "second": 0},
    "billing_mode": {"type": "flexible"},
    "billing_schedules": [{"key": "default"}],
    "billing_thresholds": {"amount_gte": 50000, "reset_billing_cycle_anchor": False},
    "cancel_at": 1798761600,
    "cancel_at_period_end": False,
    "canceled_at": 1798761600,
    "cancellation_details": {"comment": "none", "feedback": "other", "reason": "cancellation_requested"},
    "collection_method": "charge_automatically",
    "created": 1767225600,
    "currency": "usd",
    "customer": "cus_sim0000000000000001",
    "customer_account": "acct_sim0000000000003",
    "days_until_due": 30,
    "default_payment_method": "pm_sim0000000000000001",
    "default_source": "src_sim0000000000000001",
    "default_tax_rates": [{"id": "txr_sim0001", "percentage": 8.5}],
    "description": "Standard plan",
    "discounts": ["di_sim0000000000000001"],
    "ended_at": 1798761600,
    "invoice_settings": {"account_tax_ids": ["txi_sim0001"], "issuer": {"type": "self"}},
    "items": {
        "object": "list",
        "data": [
            {
                "id": "si_sim0000000000000001",
                "object": "subscription_item",
                "billed_until": 1769904000,
                "billing_thresholds": {"usage_gte": 100},
                "created": 1767225600,
                "current_period_end": 1769904000,
                "current_period_start": 1767225600,
                "discounts": ["di_sim0000000000000001"],
                "metadata": {"seat": "1"},
                "price": _PRICE,
                "quantity": 1,
                "subscription": "sub_sim0000000000000001",
                "tax_rates": [{"id": "txr_sim0001", "percentage": 8.5}],
            }
        ],
        "has_more": False,
        "url": "/v1/subscription_items?subscription=sub_sim0000000000000001",
    },
    "latest_invoice": "in_sim0000000000000001",
    "livemode": False,
    "managed_payments": {"enabled": False},
    "metadata": {"plan": "standard"},
    "next_pending_invoice_item_invoice": 1769904000,
    "on_behalf_of": "acct_sim0000000000001",
    "pause_collection": {"behavior": "void", "resumes_at": 1772323200},
    "payment_settings": {"payment_method_types": ["card"], "save_default_payment_method": "on_subscription"},
    "pending_invoice_item_interval": {"interval": "month", "interval_count": 1},
    "pending_setup_intent": "seti_sim0000000000000001",
    "pending_update": {"expires_at": 1767312000, "trial_end": 1768435200},
    "presentment_details": {"presentment_currency": "eur"},
    "schedule": "sub_sched_sim000000001",
    "start_date": 1767225600,
    "status": "active",
    "test_clock": "clock_sim000000000001",
    "transfer_data": {"amount_percent": 50.0, "destination": "acct_sim0000000000002"},
    "trial_end": 1768435200,
    "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
    "trial_start": 1767225600,
}

_REFUND: dict[str, Any] = {
    "id": "re_sim0000000000000001",
    "object": "refund",
    "amount": 500,
    "balance_transaction": "txn_sim0000000000000002",
    "charge": "ch_sim0000000000000001",
    "created": 1767312000,
    "currency": "usd",
    "customer": "cus_sim0000000000000001",
    "customer_account": "acct_sim0000000000003",
    "description": "Partial refund",
    "destination_details": {
        "type": "card",
        "card": {
            "reference": "ref_0001",
            "reference_status": "available",
            "reference_type": "acquirer_reference_number",
            "type": "refund",
        },
    },
    "failure_balance_transaction": "txn_sim0000000000000003",
    "failure_reason": "expired_or_canceled_card",
    "instructions_email": "buyer@example.com",
    "metadata": {"reason_detail": "damaged"},
    "next_action": {"type": "display_details", "display_details": {"expires_at": 1767398400}},
    "payment_intent": "pi_sim0000000000000001",
    "payment_method": "pm_sim0000000000000001",
    "pending_reason": "processing",
    "presentment_details": {"presentment_amount": 460, "presentment_currency": "eur"},
    "reason": "requested_by_customer",
    "receipt_number": "1001-0002",
    "source_transfer_reversal": "trr_sim0000000000000001",
    "status": "succeeded",
    "transfer_reversal": "trr_sim0000000000000002",
}

_BALANCE_TRANSACTION: dict[str, Any] = {
    "id": "txn_sim0000000000000001",
    "object": "balance_transaction",
    "amount": 2000,
    "available_on": 1767830400,
    "balance_type": "payments",
    "created": 1767225600,
    "currency": "usd",
    "description": "Order 1001",
    "exchange_rate": 1.08,
    "fee": 88,
    "fee_details": [
        {
            "amount": 88,
            "application": None,
            "currency": "usd",
            "description": "Stripe processing fees",
            "type": "stripe_fee",
        }
    ],
    "net": 1912,
    "reporting_category": "charge",
    "source": "ch_sim0000000000000001",
    "status": "available",
    "type": "charge",
}

_CUSTOMER: dict[str, Any] = {
    "id": "cus_sim0000000000000001",
    "object": "customer",
    "address": _ADDRESS,
    "balance": 0,
    "business_name": "Example Co",
    "cash_balance": {
        "object": "cash_balance",
        "available": {"usd": 0},
        "customer": "cus_sim0000000000000001",
        "livemode": False,
        "settings": {"reconciliation_mode": "automatic"},
    },
    "created": 1767225600,
    "currency": "usd",
    "customer_account": "acct_sim0000000000003",
    "default_source": "card_sim0000000000000001",
    "delinquent": False,
    "description": "Simulated customer",
    "discount": {"id": "di_sim0000000000000001", "object": "discount", "start": 1767225600},
    "email": "buyer@example.com",
    "individual_name": "Test Buyer",
    "invoice_credit_balance": {"usd": 0},
    "invoice_prefix": "SIM0001",
    "invoice_settings": {
        "custom_fields": [{"name": "PO", "value": "42"}],
        "default_payment_method": "pm_sim0000000000000001",
        "footer": "Thanks",
    },
    "livemode": False,
    "metadata": {"crm_id": "42"},
    "name": "Test Buyer",
    "next_invoice_sequence": 2,
    "phone": "+15555550101",
    "preferred_locales": ["en"],
    "shipping": _SHIPPING,
    "sources": {"object": "list", "data": [], "has_more": False, "url": "/v1/customers/cus_sim/sources"},
    "subscriptions": {
        "object": "list",
        "data": [],
        "has_more": False,
        "url": "/v1/customers/cus_sim/subscriptions",
    },
    "tax": {
        "automatic_tax": "supported",
        "ip_address": "192.0.2.1",
        "location": {"country": "US", "source": "billing_address"},
    },
    "tax_exempt": "none",
    "tax_ids": {"object": "list", "data": [], "has_more": False, "url": "/v1/customers/cus_sim/tax_ids"},
    "test_clock": "clock_sim000000000001",
}

SAMPLES: dict[str, dict[str, Any]] = {
    "charges": _CHARGE,
    "subscriptions": _SUBSCRIPTION,
    "refunds": _REFUND,
    "balance_transactions": _BALANCE_TRANSACTION,
    "customers": _CUSTOMER,
    "prices": _PRICE,
}


def sample_rows(resource_path: str, count: int = 3) -> list[dict[str, Any]]:
    """`count` Stripe objects of one resource path (ids and `created` vary; deep copies).

    Raises KeyError for an unknown resource path.
    """
    base = SAMPLES[resource_path]
    rows = []
    for i in range(count):
        row = copy.deepcopy(base)
        row["id"] = f"{base['id'][:-3]}{i + 1:03d}"
        if "created" in row:
            row["created"] = base["created"] + 3600 * i
        rows.append(row)
    return rows


def _json_schema(value: Any) -> dict[str, Any]:
    """The JSON Schema type of one sample value (None reads as a string: nullable Stripe fields are mostly
    ids)."""
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, dict):
        return {"type": "object", "properties": {k: _json_schema(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"type": "array", "items": _json_schema(value[0]) if value else {"type": "string"}}
    return {"type": "string"}


def explore_schema(resource_path: str) -> dict[str, Any]:
    """The explore (preview=false) schema: `{"type":"object","properties":{"data":{"type":"object",...}}}`."""
    return {"type": "object", "properties": {"data": _json_schema(SAMPLES[resource_path])}}
