"""Stripe resource path -> XDM class, field group fields and Data Prep mapping (data, not code).

One table per Stripe resource path the AEP Stripe source reads (charges, subscriptions, refunds,
balance_transactions, customers, prices: the tutorial's list), and one small set of builders, shared by
all six, that turn a table into the request bodies the provisioning steps send:

- ``field_group_body``  -> ``POST /schemaregistry/tenant/fieldgroups`` (operationId ``createFieldGroup``)
- ``schema_body``       -> ``POST /schemaregistry/tenant/schemas`` (operationId ``createSchema``)
- ``mapping_set_body``  -> ``POST /conversion/mappingSets`` (operationId ``createMappingSet``; the same
  body goes to ``validateMappingSet``)
- ``record_class_body`` -> ``POST /schemaregistry/tenant/classes`` (operationId ``createClass``)

XDM classes (Adobe names no class for Stripe data: aep-api-notes.md):

- charges, refunds, balance_transactions are things that *happened* at a time: XDM ExperienceEvent
  (``https://ns.adobe.com/xdm/context/experienceevent``, time-series behaviour). Each record maps
  ``data.id`` to ``_id`` (the event's unique id) and ``data.created`` to ``timestamp``, the two fields
  ExperienceEvent requires.
- subscriptions, customers, prices are *states* of a thing, updated in place: record behaviour. Adobe's
  standard record classes each describe a specific subject (XDM Individual Profile: a person; XDM
  Business Account and the other B2B classes; Product: a retail product), and a Stripe customer may be a
  company, a price is not a product. Adobe's classes guide (experience-platform.en
  help/xdm/api/classes.md, "Create a class") says a class whose ``allOf`` references
  ``https://ns.adobe.com/xdm/data/record`` has record behaviour and that field groups become usable with
  it by naming its ``$id`` in ``meta:intendedToExtend``. So the project creates one custom class per
  sandbox, titled ``RECORD_CLASS_TITLE`` (body: ``record_class_body()``), and the three record resources'
  field groups and schemas extend it. Its ``$id`` is assigned by the Schema Registry, so the body
  builders of record resources take it as ``class_id`` (``StripeResource.needs_custom_class`` says which
  ones).

Field paths: every Stripe field lands under ``_{tenantId}.stripe_<path>`` (e.g.
``_acme.stripe_charges.amount``; the tutorial's ``_{TENANT}.charges_data.X`` is the same idea; the
``stripe_`` prefix keeps the group names apart from other sources' in the tenant namespace).
``tenant_id`` in this module is the AEP tenant id from ``GET /schemaregistry/stats`` (not the SaaS tenant
id).

Types (Stripe field summary -> XDM):

- amounts stay integers in the currency's minor unit (XDM integer with the Schema Registry's ``long``
  range) with ``currency`` (string) beside them; booleans stay booleans; ``unit_amount_decimal`` (a
  decimal *string*) stays a string.
- timestamps (integer Unix seconds) become XDM ``date-time`` through a calculated field: an
  ``EXPRESSION`` mapping ``dformat(data.X * 1000, "yyyy-MM-dd'T'HH:mm:ss.SSSX")``. Adobe's Data Prep
  mapping functions (experience-platform.en help/data-prep/functions.md, "Date and time functions")
  document ``dformat(TIMESTAMP, FORMAT)`` with TIMESTAMP "written in milliseconds", hence the ``* 1000``;
  the resulting ISO 8601 string is one of the formats Data Prep converts to a date field
  (help/data-prep/data-handling.md, "Dates").
- expandable references (``string|object``) map to the id string (the source never asks Stripe to
  expand).
- ``metadata`` becomes an XDM map of strings (``type: object`` + ``additionalProperties: {type:
  string}``); its keys are free text, so they are never turned into fixed field names.
- nested objects (``outcome``, ``payment_method_details.card``, ``recurring``...) become XDM objects: a
  dotted ``xdm_path`` creates the enclosing objects."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

__all__ = [
    "DATE_TIME_FORMAT",
    "EXPERIENCE_EVENT_CLASS",
    "FULL_SCHEMA_CONTENT_TYPE",
    "RECORD_BEHAVIOUR",
    "RECORD_CLASS_TITLE",
    "RESOURCES",
    "RESOURCE_PATHS",
    "MappedField",
    "StripeResource",
    "XdmType",
    "get_resource",
    "record_class_body",
]

EXPERIENCE_EVENT_CLASS = "https://ns.adobe.com/xdm/context/experienceevent"
RECORD_BEHAVIOUR = "https://ns.adobe.com/xdm/data/record"
# Deterministic title of the custom record class, shared by every tenant of a sandbox.
RECORD_CLASS_TITLE = "Stripe record (stripe-aep v1)"
# outputSchema.schemaRef.contentType of a mapping set (data-prep.yaml, MappingSet example).
FULL_SCHEMA_CONTENT_TYPE = "application/vnd.adobe.xed-full+json;version=1"
# ISO 8601 with milliseconds and zone; one of Data Prep's date conversion formats.
DATE_TIME_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSX"
_VERSION_TAG = "stripe-aep v1"

XdmType = Literal["string", "integer", "number", "boolean", "date-time", "map", "object"]

# XDM "long" range (Schema Registry field constraints): Stripe amounts and counts exceed 32 bits.
_LONG_MIN = -9007199254740991
_LONG_MAX = 9007199254740991
_XDM_TYPE_SCHEMAS: Mapping[str, Mapping[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer", "minimum": _LONG_MIN, "maximum": _LONG_MAX},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date-time": {"type": "string", "format": "date-time"},
    "map": {"type": "object", "additionalProperties": {"type": "string"}},
}
_TENANT_ID = re.compile(r"^_?([A-Za-z0-9][A-Za-z0-9_]*)$")


@dataclass(frozen=True)
class MappedField:
    """One Stripe field and where it lands in XDM.

    ``stripe_field``: dotted path in the Stripe object (``payment_method_details.card.brand``).
    ``xdm_path``: dotted path under the resource's group (``_{tenantId}.stripe_<path>``), or from the
    schema root for the class fields ``_id`` / ``timestamp``. ``xdm_type``: one of ``XdmType``;
    ``date-time`` fields hold Unix seconds in Stripe and are converted by an ``EXPRESSION`` mapping.
    """

    stripe_field: str
    xdm_path: str
    xdm_type: XdmType
    description: str = ""

    @property
    def source(self) -> str:
        """The source attribute as the Stripe source's explore schema names it: ``data.<stripe_field>``."""
        return f"data.{self.stripe_field}"

    @property
    def destination(self) -> str:
        """Alias of ``xdm_path`` (architecture.md's name)."""
        return self.xdm_path

    @property
    def source_type(self) -> Literal["ATTRIBUTE", "EXPRESSION"]:
        """Data Prep ``sourceType``: ``EXPRESSION`` for Unix seconds -> date-time, else ``ATTRIBUTE``."""
        return "EXPRESSION" if self.xdm_type == "date-time" else "ATTRIBUTE"

    @property
    def mapping_source(self) -> str:
        """Data Prep ``source``: the attribute path, or for date-times the ``dformat`` calculated field
        (TIMESTAMP in milliseconds, so seconds are multiplied by 1000: help/data-prep/functions.md)."""
        if self.source_type == "EXPRESSION":
            return f'dformat({self.source} * 1000, "{DATE_TIME_FORMAT}")'
        return self.source


@dataclass(frozen=True)
class StripeResource:
    """A Stripe resource path, its XDM class and the fields mapped into its field group.

    ``xdm_class``: the class ``$id`` the bodies extend: ExperienceEvent for time-series resources; for
    record resources ``RECORD_BEHAVIOUR``, the behaviour the project's custom class extends (the bodies
    then need that class's ``$id`` as ``class_id``). ``fields``: the group's fields; ``class_fields``:
    mappings to fields of the class itself (``_id``, ``timestamp`` for ExperienceEvent).
    """

    path: str
    stripe_object: str
    xdm_class: str
    behaviour: Literal["time-series", "record"]
    fields: tuple[MappedField, ...]
    field_group_title: str
    schema_title: str
    class_fields: tuple[MappedField, ...] = ()

    @property
    def group(self) -> str:
        """Name of the object under ``_{tenantId}`` holding the fields, e.g. ``stripe_charges``."""
        return f"stripe_{self.path}"

    @property
    def needs_custom_class(self) -> bool:
        """True for record resources: their bodies need the ``$id`` of the custom record class."""
        return self.behaviour == "record"

    def _class_id(self, class_id: str | None) -> str:
        if class_id:
            return class_id
        if self.needs_custom_class:
            raise ValueError(
                f"resource path {self.path!r} has record behaviour: pass class_id, the $id of the "
                f"custom class {RECORD_CLASS_TITLE!r} (created from record_class_body())"
            )
        return self.xdm_class

    def field_group_body(self, tenant_id: str, class_id: str | None = None) -> dict[str, Any]:
        """Body of ``POST /schemaregistry/tenant/fieldgroups`` (operationId ``createFieldGroup``).

        ``tenant_id``: the AEP tenant id (``GET /stats`` ``tenantId``, with or without the leading ``_``).
        ``class_id``: required for record resources (see ``needs_custom_class``). Raises ``ValueError`` on a
        malformed tenant id or a missing ``class_id``.
        """
        group_properties: dict[str, Any] = {}
        for field in self.fields:
            _insert(group_properties, field.xdm_path.split("."), field)
        return {
            "title": self.field_group_title,
            "description": f"Stripe {self.stripe_object} objects read from /v1/{self.path} ({_VERSION_TAG}).",
            "type": "object",
            "meta:intendedToExtend": [self._class_id(class_id)],
            "definitions": {
                self.group: {
                    "properties": {
                        _namespace(tenant_id): {
                            "type": "object",
                            "properties": {
                                self.group: {
                                    "title": f"Stripe {self.path}",
                                    "type": "object",
                                    "properties": group_properties,
                                }
                            },
                        }
                    }
                }
            },
            "allOf": [{"$ref": f"#/definitions/{self.group}"}],
        }

    def schema_body(self, field_group_id: str, class_id: str | None = None) -> dict[str, Any]:
        """Body of ``POST /schemaregistry/tenant/schemas`` (operationId ``createSchema``): title, description,
        ``type: object`` and ``allOf`` [class ``$ref``, field group ``$ref``].

        ``field_group_id`` is the field group's ``$id``; ``class_id`` as for ``field_group_body``.
        Raises ``ValueError`` on an empty field group id or a missing ``class_id``.
        """
        if not field_group_id:
            raise ValueError("schema_body needs the field group's $id")
        return {
            "type": "object",
            "title": self.schema_title,
            "description": f"Stripe {self.path} ingested by the Stripe source ({_VERSION_TAG}).",
            "allOf": [{"$ref": self._class_id(class_id)}, {"$ref": field_group_id}],
        }

    def mapping_set_body(self, tenant_id: str, schema_id: str) -> dict[str, Any]:
        """Body of ``POST /conversion/mappingSets`` (operationId ``createMappingSet``, schema ``MappingSet``):
        ``outputSchema.schemaRef{id, contentType}`` and ``mappings[{sourceType, source, destination}]``.

        ``schema_id``: the target XDM schema's ``$id``. Raises ``ValueError`` on a malformed tenant id.
        """
        prefix = f"{_namespace(tenant_id)}.{self.group}."
        mappings = [_mapping(field, field.xdm_path) for field in self.class_fields]
        mappings += [_mapping(field, prefix + field.xdm_path) for field in self.fields]
        return {
            "outputSchema": {"schemaRef": {"id": schema_id, "contentType": FULL_SCHEMA_CONTENT_TYPE}},
            "mappings": mappings,
        }

    def destinations(self, tenant_id: str) -> list[str]:
        """Every XDM destination path the mapping set writes, in mapping order (``_id``, ``timestamp``
        first for ExperienceEvent, then ``_{tenantId}.stripe_<path>.<field>``)."""
        return [m["destination"] for m in self.mapping_set_body(tenant_id, "")["mappings"]]


def record_class_body() -> dict[str, Any]:
    """Body of ``POST /schemaregistry/tenant/classes`` (operationId ``createClass``) for the custom record
    class of subscriptions, customers and prices: ``allOf`` the record behaviour, no fields of its own
    (the field groups bring them). Create once per sandbox, find it again by ``RECORD_CLASS_TITLE``."""
    return {
        "title": RECORD_CLASS_TITLE,
        "description": f"Stripe subscriptions, customers and prices: records ({_VERSION_TAG}).",
        "type": "object",
        "allOf": [{"$ref": RECORD_BEHAVIOUR}],
    }


def _namespace(tenant_id: str) -> str:
    match = _TENANT_ID.fullmatch(tenant_id or "")
    if match is None:
        raise ValueError(f"not an AEP tenant id: {tenant_id!r}")
    return f"_{match.group(1)}"


def _insert(properties: dict[str, Any], parts: list[str], field: MappedField) -> None:
    """Place ``field`` at ``parts`` in a JSON-schema ``properties`` tree, creating XDM objects on the way."""
    head, *rest = parts
    if not rest:
        if field.xdm_type == "object":
            raise ValueError(f"{field.stripe_field}: declare an object's sub-fields, not the object")
        properties[head] = {"title": head, **_XDM_TYPE_SCHEMAS[field.xdm_type]}
        if field.description:
            properties[head]["description"] = field.description
        return
    node = properties.setdefault(head, {"title": head, "type": "object", "properties": {}})
    _insert(node["properties"], rest, field)


def _mapping(field: MappedField, destination: str) -> dict[str, str]:
    return {"sourceType": field.source_type, "source": field.mapping_source, "destination": destination}


# --- tables -------------------------------------------------------------------------------------------------
# Short constructors keep the tables readable: the XDM path is the Stripe path unless given.


def _f(xdm_type: XdmType, stripe_field: str, description: str = "") -> MappedField:
    return MappedField(stripe_field=stripe_field, xdm_path=stripe_field, xdm_type=xdm_type, description=description)


def _s(name: str, description: str = "") -> MappedField:
    return _f("string", name, description)


def _ref(name: str) -> MappedField:
    return _f("string", name, "Expandable reference: the id of the referenced Stripe object.")


def _amount(name: str) -> MappedField:
    return _f("integer", name, "Amount in the currency's minor unit (cents for usd, yen for jpy).")


def _i(name: str, description: str = "") -> MappedField:
    return _f("integer", name, description)


def _n(name: str, description: str = "") -> MappedField:
    return _f("number", name, description)


def _b(name: str, description: str = "") -> MappedField:
    return _f("boolean", name, description)


def _t(name: str) -> MappedField:
    return _f("date-time", name, "Unix seconds in Stripe, converted to an ISO 8601 date-time.")


def _metadata() -> MappedField:
    return _f("map", "metadata", "Free-form string map set by the Stripe account.")


# refunds and balance transactions carry no livemode in Stripe's object model.
_BASE = (_s("id", "Stripe object id."), _s("object"), _t("created"))
_COMMON = (*_BASE, _b("livemode"))

_CHARGES = (
    *_COMMON,
    _amount("amount"),
    _amount("amount_captured"),
    _amount("amount_refunded"),
    _amount("application_fee_amount"),
    _s("currency", "Lowercase ISO 4217 code of the amounts."),
    _s("status"),
    _b("paid"),
    _b("captured"),
    _b("refunded"),
    _b("disputed"),
    _ref("customer"),
    _ref("payment_intent"),
    _s("payment_method"),
    _s("receipt_url"),
    _ref("balance_transaction"),
    _s("calculated_statement_descriptor"),
    _s("description"),
    _s("failure_code"),
    _s("failure_message"),
    _s("statement_descriptor"),
    _s("transfer_group"),
    _metadata(),
    _s("outcome.type"),
    _s("outcome.network_status"),
    _s("outcome.reason"),
    _s("outcome.seller_message"),
    _s("outcome.advice_code"),
    _s("outcome.network_decline_code"),
    _s("payment_method_details.type"),
    _s("payment_method_details.card.brand"),
    _s("payment_method_details.card.country"),
    _i("payment_method_details.card.exp_month"),
    _i("payment_method_details.card.exp_year"),
    _s("payment_method_details.card.fingerprint"),
    _s("payment_method_details.card.funding"),
    _s("payment_method_details.card.last4"),
    _s("payment_method_details.card.network"),
    _amount("payment_method_details.card.amount_authorized"),
    _s("payment_method_details.card.checks.cvc_check"),
    _s("payment_method_details.card.extended_authorization.status"),
    _s("payment_method_details.card.incremental_authorization.status"),
    _s("payment_method_details.card.multicapture.status"),
    _b("payment_method_details.card.network_token.used"),
    _amount("payment_method_details.card.overcapture.maximum_amount_capturable"),
    _s("payment_method_details.card.overcapture.status"),
)

_SUBSCRIPTIONS = (
    *_COMMON,
    _ref("customer"),
    _s("status"),
    _s("currency"),
    _s("collection_method"),
    _s("description"),
    _b("cancel_at_period_end"),
    _t("billing_cycle_anchor"),
    _t("cancel_at"),
    _t("canceled_at"),
    _t("ended_at"),
    _t("start_date"),
    _t("trial_start"),
    _t("trial_end"),
    _t("next_pending_invoice_item_invoice"),
    _i("days_until_due"),
    _n("application_fee_percent"),
    _ref("default_payment_method"),
    _ref("latest_invoice"),
    _ref("schedule"),
    _b("automatic_tax.enabled"),
    _s("cancellation_details.reason"),
    _s("cancellation_details.feedback"),
    _s("pause_collection.behavior"),
    _t("pause_collection.resumes_at"),
    _s("billing_mode.type"),
    _metadata(),
)

_REFUNDS = (
    *_BASE,
    _amount("amount"),
    _s("currency"),
    _s("status"),
    _s("reason"),
    _ref("charge"),
    _ref("payment_intent"),
    _ref("balance_transaction"),
    _ref("customer"),
    _ref("payment_method"),
    _s("receipt_number"),
    _s("destination_details.type"),
    _s("destination_details.card.type"),
    _metadata(),
)

_BALANCE_TRANSACTIONS = (
    *_BASE,
    _amount("amount"),
    _amount("fee"),
    _amount("net"),
    _s("currency", "Settlement currency of amount, fee and net."),
    _n("exchange_rate"),
    _t("available_on"),
    _s("balance_type"),
    _s("description"),
    _s("reporting_category"),
    _ref("source"),
    _s("status"),
    _s("type"),
)

_CUSTOMERS = (
    *_COMMON,
    _s("name"),
    _s("email"),
    _s("phone"),
    _s("description"),
    _amount("balance"),
    _s("currency"),
    _b("delinquent"),
    _s("invoice_prefix"),
    _i("next_invoice_sequence"),
    _s("tax_exempt"),
    _ref("default_source"),
    _ref("test_clock"),
    _s("address.city"),
    _s("address.country"),
    _s("address.line1"),
    _s("address.line2"),
    _s("address.postal_code"),
    _s("address.state"),
    _s("invoice_settings.default_payment_method"),
    _metadata(),
)

_PRICES = (
    *_COMMON,
    _b("active"),
    _s("billing_scheme"),
    _s("currency"),
    _s("lookup_key"),
    _s("nickname"),
    _ref("product"),
    _s("tax_behavior"),
    _s("tiers_mode"),
    _s("type"),
    _amount("unit_amount"),
    _s("unit_amount_decimal", "Decimal string of minor units; may hold fractions of a cent."),
    _s("recurring.interval"),
    _i("recurring.interval_count"),
    _s("recurring.usage_type"),
    _s("recurring.meter"),
    _i("transform_quantity.divide_by"),
    _s("transform_quantity.round"),
    _metadata(),
)

# data.id -> _id and data.created -> timestamp: the fields the ExperienceEvent class requires.
_EVENT_CLASS_FIELDS = (
    MappedField("id", "_id", "string", "Unique id of the event: the Stripe object id."),
    MappedField("created", "timestamp", "date-time", "When the Stripe object was created."),
)

# (path, Stripe object, behaviour, fields), in the tutorial's order.
_TABLES: tuple[tuple[str, str, Literal["time-series", "record"], tuple[MappedField, ...]], ...] = (
    ("charges", "charge", "time-series", _CHARGES),
    ("subscriptions", "subscription", "record", _SUBSCRIPTIONS),
    ("refunds", "refund", "time-series", _REFUNDS),
    ("balance_transactions", "balance_transaction", "time-series", _BALANCE_TRANSACTIONS),
    ("customers", "customer", "record", _CUSTOMERS),
    ("prices", "price", "record", _PRICES),
)


def _resource(
    path: str,
    stripe_object: str,
    behaviour: Literal["time-series", "record"],
    fields: tuple[MappedField, ...],
) -> StripeResource:
    label = path.replace("_", " ")
    return StripeResource(
        path=path,
        stripe_object=stripe_object,
        xdm_class=EXPERIENCE_EVENT_CLASS if behaviour == "time-series" else RECORD_BEHAVIOUR,
        behaviour=behaviour,
        fields=fields,
        field_group_title=f"Stripe {label} ({_VERSION_TAG})",
        schema_title=f"Stripe {label} schema ({_VERSION_TAG})",
        class_fields=_EVENT_CLASS_FIELDS if behaviour == "time-series" else (),
    )


RESOURCE_PATHS: tuple[str, ...] = tuple(path for path, *_ in _TABLES)
RESOURCES: Mapping[str, StripeResource] = MappingProxyType({t[0]: _resource(*t) for t in _TABLES})


def get_resource(path: str) -> StripeResource:
    """The resource for a Stripe resource path. Raises ``ValueError`` (not ``KeyError``) naming the allowed
    paths when ``path`` is not one of ``RESOURCE_PATHS``."""
    try:
        return RESOURCES[path]
    except (KeyError, TypeError):
        raise ValueError(f"unknown Stripe resource path {path!r}; allowed: {', '.join(RESOURCE_PATHS)}") from None
