"""A corpus of Stripe objects for the six resource paths, written by the project from Stripe's object model.

Every object is built here by hand after Stripe's schema (``../shared/stripe-fixtures/schema/field_summary.json``,
API 2026-07-29.dahlia): no value is copied from Stripe's example fixtures. Together the objects give every
top-level field of the six objects a value at least once, and every nullable field a null at least once
(tests/integration/test_corpus_ingestion.py checks this against the field summary), and they cover the shapes
the tables must handle:

- expandable references as an id string, as the expanded object and as a deleted object's tombstone;
- nested objects (``outcome``, ``billing_details``, ``payment_method_details.card``...) and nulls inside them;
- arrays of objects (``fee_details``, ``tiers``, ``discounts`` as ids and objects, subscription items with
  their billing periods) and embedded lists with ``has_more: true`` (only the first page embedded);
- ``metadata`` maps with keys holding dots, spaces and non-ASCII characters, and empty maps;
- decimal strings with more digits than a float holds; timestamps, null timestamps;
- amounts in minor units of a two-decimal (USD, EUR), zero-decimal (JPY) and three-decimal (KWD, BHD) currency;
- a customer tombstone (``{"id", "object": "customer", "deleted": true}``) in the customers list.

``corpus()`` returns ``{resource path: [Stripe object, ...]}`` newest first (``created`` descending), the order
Stripe's list endpoints answer. ``python -m tools.stripe_corpus`` prints it as JSON.
"""

from __future__ import annotations

import copy
import json
from typing import Any

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
DAY = 86_400


def _card(brand: str, last4: str, country: str, amount: int) -> dict[str, Any]:
    return {
        "type": "card",
        "card": {
            "amount_authorized": amount,
            "brand": brand,
            "checks": {"address_line1_check": None, "address_postal_code_check": "pass", "cvc_check": "pass"},
            "country": country,
            "exp_month": 12,
            "exp_year": 2031,
            "extended_authorization": {"status": "disabled"},
            "fingerprint": f"corpusfp{last4}",
            "funding": "credit",
            "incremental_authorization": {"status": "unavailable"},
            "last4": last4,
            "multicapture": {"status": "unavailable"},
            "network": brand,
            "network_token": {"used": False},
            "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
            "three_d_secure": None,
            "wallet": None,
        },
    }


def _address(city: str | None, country: str | None, line1: str | None = None) -> dict[str, Any]:
    return {"city": city, "country": country, "line1": line1, "line2": None, "postal_code": None, "state": None}


def _list(url: str, data: list[dict[str, Any]], has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "total_count": len(data), "url": url}


def _refund(
    n: int, charge: str | dict[str, Any] | None, amount: int, currency: str, created: int, **extra: Any
) -> dict[str, Any]:
    refund: dict[str, Any] = {
        "id": f"re_corpus{n:03d}",
        "object": "refund",
        "amount": amount,
        "balance_transaction": f"txn_corpusre{n:03d}",
        "charge": charge,
        "created": created,
        "currency": currency,
        "customer": None,
        "customer_account": None,
        "destination_details": {
            "type": "card",
            "card": {
                "reference": f"arn{n}",
                "reference_status": "available",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
        },
        "metadata": {},
        "payment_intent": f"pi_corpus{n:03d}",
        "payment_method": f"pm_corpus{n:03d}",
        "reason": "requested_by_customer",
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }
    refund.update(extra)
    return refund


def _charge(n: int, amount: int, currency: str, created: int, **extra: Any) -> dict[str, Any]:
    charge: dict[str, Any] = {
        "id": f"ch_corpus{n:03d}",
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": f"txn_corpusch{n:03d}",
        "billing_details": {
            "address": _address("Lisbon", "PT", "Rua Augusta 1"),
            "email": f"payer{n}@example.test",
            "name": f"Payer {n}",
            "phone": None,
            "tax_id": None,
        },
        "calculated_statement_descriptor": "CORPUS SHOP",
        "captured": True,
        "created": created,
        "currency": currency,
        "customer": f"cus_corpus{n:03d}",
        "description": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": False,
        "metadata": {},
        "on_behalf_of": None,
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": 12,
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": True,
        "payment_intent": f"pi_corpus{n:03d}",
        "payment_method": f"pm_corpus{n:03d}",
        "payment_method_details": _card("visa", f"{4242 + n}", "US", amount),
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": f"https://pay.stripe.test/receipts/corpus{n:03d}",
        "refunded": False,
        "refunds": _list(f"/v1/charges/ch_corpus{n:03d}/refunds", []),
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }
    charge.update(extra)
    return charge


def _charges() -> list[dict[str, Any]]:
    deleted_customer = {"id": "cus_corpusgone", "object": "customer", "deleted": True}
    expanded_customer = {"id": "cus_corpus902", "object": "customer", "email": "x@example.test", "metadata": {}}
    return [
        # USD, ids only, metadata with awkward keys.
        _charge(1, 2000, "usd", T0 + 10 * DAY, metadata={"order.id": "A-1", "spaced key": "v 1", "clé ü": "ß"}),
        # Zero-decimal JPY, customer expanded to an object, refunds embedded with has_more (incomplete list).
        _charge(
            2,
            5000,
            "jpy",
            T0 + 9 * DAY,
            customer=expanded_customer,
            amount_refunded=1500,
            refunded=False,
            refunds=_list(
                "/v1/charges/ch_corpus002/refunds",
                [
                    _refund(21, "ch_corpus002", 1000, "jpy", T0 + 9 * DAY + 60),
                    _refund(22, "ch_corpus002", 500, "jpy", T0 + 9 * DAY + 30, reason=None),
                ],
                has_more=True,
            ),
            shipping={
                "address": _address("Osaka", "JP"),
                "carrier": "Yamato",
                "name": "Receiver",
                "phone": "+81 6 0000 0000",
                "tracking_number": "YT-123",
            },
        ),
        # Three-decimal KWD, customer expanded to a tombstone, failed charge with nullable outcome fields.
        _charge(
            3,
            1250,
            "kwd",
            T0 + 8 * DAY,
            customer=deleted_customer,
            status="failed",
            paid=False,
            captured=False,
            amount_captured=0,
            balance_transaction=None,
            failure_code="card_declined",
            failure_message="Your card was declined.",
            failure_balance_transaction={"id": "txn_corpusfail3", "object": "balance_transaction"},
            outcome={
                "advice_code": "try_again_later",
                "network_advice_code": None,
                "network_decline_code": "05",
                "network_status": "declined_by_network",
                "reason": "generic_decline",
                "risk_level": "normal",
                "risk_score": 40,
                "seller_message": "The bank did not return any further details with this decline.",
                "type": "issuer_declined",
            },
            fraud_details={"stripe_report": None, "user_report": "safe"},
            review="prv_corpus3",
        ),
        # No customer, nulls everywhere a charge allows them.
        _charge(
            4,
            999,
            "eur",
            T0 + 7 * DAY,
            customer=None,
            balance_transaction=None,
            calculated_statement_descriptor=None,
            outcome=None,
            payment_intent=None,
            payment_method=None,
            payment_method_details=None,
            receipt_url=None,
            refunds=None,
            fraud_details=None,
            metadata={},
        ),
        # Connect platform charge: application and transfer references expanded and not.
        _charge(
            5,
            100_000,
            "usd",
            T0 + 6 * DAY,
            application={"id": "ca_corpus5", "object": "application", "name": "Platform"},
            application_fee="fee_corpus5",
            application_fee_amount=2500,
            on_behalf_of="acct_corpus5",
            source_transfer=None,
            transfer={"id": "tr_corpus5", "object": "transfer"},
            transfer_data={"amount": 97_500, "destination": "acct_corpus5"},
            transfer_group="group_corpus5",
            description="Order 5 on the platform",
            statement_descriptor="CORPUS 5",
            statement_descriptor_suffix="ORDER5",
            receipt_email="receipt5@example.test",
            receipt_number="1234-5678",
            radar_options={"session": "rs_corpus5"},
            presentment_details={"presentment_amount": 9100, "presentment_currency": "eur"},
        ),
        # Three-decimal BHD, fully refunded, complete refunds list.
        _charge(
            6,
            30_500,
            "bhd",
            T0 + 5 * DAY,
            amount_refunded=30_500,
            refunded=True,
            refunds=_list(
                "/v1/charges/ch_corpus006/refunds", [_refund(61, "ch_corpus006", 30_500, "bhd", T0 + 5 * DAY + 90)]
            ),
            disputed=True,
            source_transfer={"id": "tr_corpus6", "object": "transfer"},
        ),
    ]


def _balance_transaction(n: int, amount: int, fee: int, currency: str, created: int, **extra: Any) -> dict[str, Any]:
    bt: dict[str, Any] = {
        "id": f"txn_corpus{n:03d}",
        "object": "balance_transaction",
        "amount": amount,
        "available_on": created + 2 * DAY,
        "balance_type": "payments",
        "created": created,
        "currency": currency,
        "description": None,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": [
            {
                "amount": fee,
                "application": None,
                "currency": currency,
                "description": "Stripe processing fees",
                "type": "stripe_fee",
            }
        ]
        if fee
        else [],
        "net": amount - fee,
        "reporting_category": "charge",
        "source": f"ch_corpus{n:03d}",
        "status": "available",
        "type": "charge",
    }
    bt.update(extra)
    return bt


def _balance_transactions() -> list[dict[str, Any]]:
    return [
        _balance_transaction(1, 2000, 88, "usd", T0 + 10 * DAY, description="Charge 1"),
        # Settled in EUR from a USD charge: exchange_rate set; two fees, one from a Connect application.
        _balance_transaction(
            5,
            91_000,
            3200,
            "eur",
            T0 + 6 * DAY,
            exchange_rate=0.91,
            fee_details=[
                {
                    "amount": 2200,
                    "application": None,
                    "currency": "eur",
                    "description": "Stripe processing fees",
                    "type": "stripe_fee",
                },
                {
                    "amount": 1000,
                    "application": "ca_corpus5",
                    "currency": "eur",
                    "description": "Platform fee",
                    "type": "application_fee",
                },
            ],
            source={"id": "ch_corpus005", "object": "charge", "amount": 100_000},
            status="pending",
        ),
        _balance_transaction(2, 5000, 180, "jpy", T0 + 9 * DAY),
        # A refund: negative amount, no fee, empty fee_details.
        _balance_transaction(
            61, -30_500, 0, "bhd", T0 + 5 * DAY + 90, type="refund", reporting_category="refund", source="re_corpus061"
        ),
        # A payout: no source.
        _balance_transaction(
            90,
            -150_000,
            0,
            "kwd",
            T0 + 4 * DAY,
            type="payout",
            reporting_category="payout",
            source=None,
            balance_type="payments",
        ),
    ]


def _refunds() -> list[dict[str, Any]]:
    return [
        _refund(61, "ch_corpus006", 30_500, "bhd", T0 + 5 * DAY + 90, metadata={"ticket": "Z-9"}),
        _refund(
            21, "ch_corpus002", 1000, "jpy", T0 + 9 * DAY + 60, customer={"id": "cus_corpus902", "object": "customer"}
        ),
        _refund(22, "ch_corpus002", 500, "jpy", T0 + 9 * DAY + 30, reason=None, status=None, metadata=None),
        # A pending refund with the optional fields Stripe adds for bank refunds.
        _refund(
            70,
            {"id": "ch_corpus001", "object": "charge"},
            700,
            "usd",
            T0 + 11 * DAY,
            status="pending",
            pending_reason="processing",
            description="Partial refund",
            instructions_email="refunds@example.test",
            next_action={
                "type": "display_details",
                "display_details": {
                    "email_sent": {"email_sent_at": T0 + 11 * DAY, "email_sent_to": "x@example.test"},
                    "expires_at": T0 + 20 * DAY,
                },
            },
            presentment_details={"presentment_amount": 650, "presentment_currency": "eur"},
            customer="cus_corpus001",
            customer_account="acct_corpus70",
            destination_details={
                "type": "us_bank_transfer",
                "us_bank_transfer": {"reference": None, "reference_status": "pending"},
            },
        ),
        # A failed refund, Connect reversals, deleted customer.
        _refund(
            80,
            None,
            5000,
            "usd",
            T0 + 7 * DAY + 100,
            status="failed",
            failure_reason="expired_or_canceled_card",
            failure_balance_transaction="txn_corpusfail80",
            customer={"id": "cus_corpusgone", "object": "customer", "deleted": True},
            source_transfer_reversal="trr_corpus80",
            transfer_reversal={"id": "trr_corpus81", "object": "transfer_reversal"},
            receipt_number="8888-0000",
            destination_details=None,
            balance_transaction=None,
            payment_intent=None,
            payment_method=None,
        ),
    ]


def _price(n: int, currency: str, unit_amount: int | None, created: int, **extra: Any) -> dict[str, Any]:
    price: dict[str, Any] = {
        "id": f"price_corpus{n:03d}",
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": created,
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "product": f"prod_corpus{n:03d}",
        "recurring": {"interval": "month", "interval_count": 1, "meter": None, "usage_type": "licensed"},
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring",
        "unit_amount": unit_amount,
        "unit_amount_decimal": None if unit_amount is None else str(unit_amount),
    }
    price.update(extra)
    return price


def _prices() -> list[dict[str, Any]]:
    return [
        _price(1, "usd", 1500, T0 + 3 * DAY, lookup_key="basic_monthly", nickname="Basic", metadata={"tier": "basic"}),
        # Fractions of a cent: a decimal string with more digits than a double holds.
        _price(
            2,
            "usd",
            None,
            T0 + 2 * DAY + 5,
            unit_amount_decimal="0.12345678901234567890",
            recurring={"interval": "month", "interval_count": 1, "meter": "mtr_corpus2", "usage_type": "metered"},
        ),
        # Tiered, graduated: tiers (expanded), the last without an upper bound; product expanded.
        _price(
            3,
            "eur",
            None,
            T0 + 2 * DAY,
            billing_scheme="tiered",
            tiers_mode="graduated",
            unit_amount_decimal=None,
            tiers=[
                {
                    "flat_amount": None,
                    "flat_amount_decimal": None,
                    "unit_amount": 100,
                    "unit_amount_decimal": "100",
                    "up_to": 10,
                },
                {
                    "flat_amount": 500,
                    "flat_amount_decimal": "500",
                    "unit_amount": None,
                    "unit_amount_decimal": "85.5",
                    "up_to": None,
                },
            ],
            product={"id": "prod_corpus003", "object": "product", "name": "Seats"},
            currency_options={"usd": {"unit_amount": 110}},
            tax_behavior="exclusive",
        ),
        # One-time JPY price with a customer-chosen amount; product a deleted product's tombstone.
        _price(
            4,
            "jpy",
            None,
            T0 + DAY,
            type="one_time",
            recurring=None,
            unit_amount_decimal=None,
            custom_unit_amount={"maximum": 100_000, "minimum": 500, "preset": 3000, "enabled": True},
            product={"id": "prod_corpusgone", "object": "product", "deleted": True},
            tax_behavior=None,
            active=False,
        ),
        # KWD with transform_quantity.
        _price(
            5,
            "kwd",
            2750,
            T0,
            transform_quantity={"divide_by": 10, "round": "up"},
            recurring={"interval": "year", "interval_count": 2, "meter": None, "usage_type": "licensed"},
        ),
    ]


def _customer(n: int, created: int, **extra: Any) -> dict[str, Any]:
    customer: dict[str, Any] = {
        "id": f"cus_corpus{n:03d}",
        "object": "customer",
        "address": _address("Berlin", "DE", "Unter den Linden 1"),
        "balance": 0,
        "created": created,
        "currency": "eur",
        "customer_account": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": f"customer{n}@example.test",
        "invoice_prefix": f"CORP{n:04d}",
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": f"Customer {n}",
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }
    customer.update(extra)
    return customer


def _customers() -> list[dict[str, Any]]:
    return [
        _customer(
            1, T0 + 12 * DAY, metadata={"crm.id": "42", "Ünïcode key": "värde"}, preferred_locales=["de-DE", "en"]
        ),
        # A deleted customer: Stripe's tombstone.
        {"id": "cus_corpusgone", "object": "customer", "deleted": True},
        # A company with a balance (credit, negative) in JPY, a discount and the expand-only fields present.
        _customer(
            2,
            T0 + 11 * DAY,
            business_name="Corpus KK",
            individual_name=None,
            currency="jpy",
            balance=-3000,
            delinquent=True,
            discount={
                "id": "di_corpus2",
                "object": "discount",
                "coupon": {"id": "SUMMER", "object": "coupon"},
                "start": T0,
                "end": None,
            },
            default_source={"id": "card_corpus2", "object": "card"},
            invoice_settings={
                "custom_fields": None,
                "default_payment_method": {"id": "pm_corpus2", "object": "payment_method"},
                "footer": "Thanks",
                "rendering_options": None,
            },
            tax={
                "automatic_tax": "supported",
                "ip_address": "192.0.2.1",
                "location": {"country": "JP", "source": "ip_address", "state": None},
                "provider": "stripe",
            },
            invoice_credit_balance={"jpy": 3000},
            cash_balance=None,
            subscriptions=_list("/v1/customers/cus_corpus002/subscriptions", [], has_more=False),
            tax_ids=_list("/v1/customers/cus_corpus002/tax_ids", []),
            sources=_list("/v1/customers/cus_corpus002/sources", []),
        ),
        # Almost everything null.
        _customer(
            3,
            T0 + 10 * DAY,
            address=None,
            currency=None,
            delinquent=None,
            email=None,
            name=None,
            invoice_prefix=None,
            preferred_locales=None,
            tax_exempt=None,
            description=None,
        ),
        _customer(
            4,
            T0 + 9 * DAY,
            phone="+351 210 000 000",
            individual_name="Ana Silva",
            cash_balance={
                "object": "cash_balance",
                "available": {"kwd": 500},
                "customer": "cus_corpus004",
                "livemode": False,
            },
            description="VIP",
            customer_account="acct_corpus4",
            shipping={
                "address": _address("Porto", "PT"),
                "carrier": None,
                "name": "Dock 4",
                "phone": None,
                "tracking_number": None,
            },
            test_clock="clock_corpus4",
            next_invoice_sequence=17,
            tax_exempt="reverse",
            currency="kwd",
            balance=1250,
        ),
    ]


def _item(n: int, sub: str, price: dict[str, Any], start: int, end: int, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": f"si_corpus{n:03d}",
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": start,
        "current_period_end": end,
        "current_period_start": start,
        "discounts": [],
        "metadata": {},
        "price": price,
        "quantity": 1,
        "subscription": sub,
        "tax_rates": [],
    }
    item.update(extra)
    return item


def _subscription(
    n: int, created: int, items: list[dict[str, Any]], has_more_items: bool = False, **extra: Any
) -> dict[str, Any]:
    sub_id = f"sub_corpus{n:03d}"
    sub: dict[str, Any] = {
        "id": sub_id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": created,
        "billing_cycle_anchor_config": None,
        "billing_mode": {"type": "flexible"},
        "billing_schedules": [],
        "billing_thresholds": None,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": created,
        "currency": "usd",
        "customer": f"cus_corpus{n:03d}",
        "customer_account": None,
        "days_until_due": None,
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": _list(f"/v1/subscription_items?subscription={sub_id}", items, has_more=has_more_items),
        "latest_invoice": f"in_corpus{n:03d}",
        "livemode": False,
        "managed_payments": None,
        "metadata": {},
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": created,
        "status": "active",
        "test_clock": None,
        "transfer_data": None,
        "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
    }
    sub.update(extra)
    return sub


def _subscriptions() -> list[dict[str, Any]]:
    prices = {p["id"]: p for p in _prices()}
    p1, p3, p5 = (copy.deepcopy(prices[f"price_corpus00{i}"]) for i in (1, 3, 5))
    p3["product"] = "prod_corpus003"  # embedded prices carry the product id unless expanded
    del p3["tiers"], p3["currency_options"]  # expand[]-only fields
    start = T0 + 2 * DAY
    return [
        _subscription(
            1,
            start + 2 * DAY,
            [_item(11, "sub_corpus001", p1, start + 2 * DAY, start + 32 * DAY, metadata={"seat.kind": "main"})],
            metadata={"plan": "basic", "a.b": "c"},
            discounts=["di_corpus11", {"id": "di_corpus12", "object": "discount"}],
            default_tax_rates=[{"id": "txr_corpus1", "object": "tax_rate", "percentage": 19.0}],
            default_payment_method={"id": "pm_corpus1", "object": "payment_method"},
        ),
        # Two items shown of more (has_more true): the billing periods differ per item.
        _subscription(
            2,
            start + DAY,
            [
                _item(21, "sub_corpus002", p3, start + DAY, start + 31 * DAY, quantity=12),
                _item(22, "sub_corpus002", p1, start + 5 * DAY, start + 35 * DAY, billed_until=start + 35 * DAY),
            ],
            currency="eur",
            has_more_items=True,
            customer={"id": "cus_corpus002", "object": "customer", "name": "Corpus KK"},
            trial_start=start - 13 * DAY,
            trial_end=start + DAY,
            billing_cycle_anchor_config={
                "day_of_month": 15,
                "hour": None,
                "minute": None,
                "month": None,
                "second": None,
            },
        ),
        # Canceled, customer deleted, a pause and a pending update.
        _subscription(
            3,
            start,
            [_item(31, "sub_corpus003", p5, start, start + 365 * DAY)],
            currency="kwd",
            status="canceled",
            cancel_at=start + 100 * DAY,
            canceled_at=start + 90 * DAY,
            ended_at=start + 100 * DAY,
            cancel_at_period_end=True,
            cancellation_details={
                "comment": "Too pricey",
                "feedback": "too_expensive",
                "reason": "cancellation_requested",
            },
            customer={"id": "cus_corpusgone", "object": "customer", "deleted": True},
            pause_collection={"behavior": "void", "resumes_at": None},
            pending_update={
                "billing_cycle_anchor": None,
                "expires_at": start + 3 * DAY,
                "subscription_items": None,
                "trial_end": None,
                "trial_from_plan": False,
            },
        ),
        # Invoice billing with days_until_due; Connect fields; a schedule; empty metadata.
        _subscription(
            4,
            start - DAY,
            [_item(41, "sub_corpus004", p1, start - DAY, start + 29 * DAY)],
            collection_method="send_invoice",
            days_until_due=30,
            application="ca_corpus5",
            application_fee_percent=12.5,
            on_behalf_of="acct_corpus5",
            transfer_data={"amount_percent": 87.5, "destination": "acct_corpus5"},
            schedule={"id": "sub_sched_corpus4", "object": "subscription_schedule"},
            pending_setup_intent="seti_corpus4",
            default_source="card_corpus4",
            test_clock="clock_corpus4",
            customer_account="acct_corpus4",
            next_pending_invoice_item_invoice=start + 30 * DAY,
            pending_invoice_item_interval={"interval": "month", "interval_count": 1},
            billing_thresholds={"amount_gte": 50_000, "reset_billing_cycle_anchor": False},
            automatic_tax={"disabled_reason": None, "enabled": True, "liability": {"type": "self"}},
            invoice_settings={"account_tax_ids": ["atxi_corpus4"], "issuer": {"type": "self"}},
            payment_settings={
                "payment_method_options": None,
                "payment_method_types": ["card", "sepa_debit"],
                "save_default_payment_method": "on_subscription",
            },
            presentment_details={"presentment_currency": "eur"},
            managed_payments={"enabled": False},
            latest_invoice={"id": "in_corpus004", "object": "invoice"},
        ),
        # Trialing, no latest invoice yet, JPY.
        _subscription(
            5,
            start - 2 * DAY,
            [
                _item(
                    51,
                    "sub_corpus005",
                    copy.deepcopy(prices["price_corpus004"]) | {"product": "prod_corpus004"},
                    start - 2 * DAY,
                    start + 12 * DAY,
                )
            ],
            currency="jpy",
            status="trialing",
            trial_start=start - 2 * DAY,
            trial_end=start + 12 * DAY,
            latest_invoice=None,
            description="Trial",
            cancellation_details=None,
            default_tax_rates=None,
            payment_settings=None,
            trial_settings=None,
        ),
    ]


def corpus() -> dict[str, list[dict[str, Any]]]:
    """``{resource path: [Stripe object, ...]}``, each list newest first (``created`` descending)."""
    data = {
        "charges": _charges(),
        "subscriptions": _subscriptions(),
        "refunds": _refunds(),
        "balance_transactions": _balance_transactions(),
        "customers": _customers(),
        "prices": _prices(),
    }
    return {path: sorted(objects, key=lambda o: -int(o.get("created", 0))) for path, objects in data.items()}


if __name__ == "__main__":
    print(json.dumps(corpus(), indent=2, ensure_ascii=False))
