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

Types (Stripe field summary -> XDM), each written so that a null or absent Stripe value is left out of the
row (never ``""``, ``"null"``, 0 or 1970-01-01):

- amounts stay integers in the currency's minor unit (XDM integer with the Schema Registry's ``long``
  range: 100 with ``JPY`` is 100 yen, with ``KWD`` 0.100 dinar) with ``currency`` beside them; booleans stay
  booleans; decimal strings (``unit_amount_decimal``) stay strings, digit for digit.
- currency codes: Stripe sends lower-case ISO 4217 codes, XDM's currency fields hold the upper-case code
  (XDM "Currency" data type, ``currencyCode`` pattern ``^[A-Z]{3}$``): ``upper(data.X)``, guarded by
  ``iif(data.X != null, ..., null)``.
- timestamps (integer Unix seconds) become XDM ``date-time`` through a calculated field:
  ``iif(data.X != null, dformat(data.X * 1000, "yyyy-MM-dd'T'HH:mm:ss.SSSX"), null)``. Adobe's Data Prep
  mapping functions (experience-platform.en help/data-prep/functions.md, "Date and time functions")
  document ``dformat(TIMESTAMP, FORMAT)`` with TIMESTAMP "written in milliseconds", hence the ``* 1000``;
  the guard keeps a null timestamp null (null times 1000 is 0, which formats as 1970-01-01).
- expandable references (``string|object``) yield the id whichever form Stripe sent:
  ``coalesce(data.X.id, data.X)`` (the expanded object's ``id``, else the id string; functions.md,
  "Hierarchies - Arrays": ``coalesce`` returns the first non-null argument). References that can expand to
  a tombstone (``deleted_customer``...) also map ``data.X.deleted`` to ``X_deleted``; a customers row that
  *is* a tombstone (``{"id", "object", "deleted": true}``) keeps ``id``, ``object`` and ``deleted: true``.
- ``metadata`` becomes an XDM map of strings: ``type: object``, ``meta:xdmType: map`` and
  ``additionalProperties: {type: string}`` (Schema Registry "Define custom XDM fields", map fields), mapped
  as one object-to-object ``ATTRIBUTE`` mapping, so that keys (dots, spaces, non-ASCII) reach AEP byte for
  byte and are never turned into field names.
- nested objects (``outcome``, ``payment_method_details.card``, ``billing_details.address``...) become XDM
  objects: a dotted ``xdm_path`` creates the enclosing objects.
- arrays of objects (``fee_details``, ``tiers``, ``discounts``, the ``data`` of embedded lists such as
  ``items`` and ``refunds``) become XDM arrays: a ``[*]`` segment in a path is the array, and each element
  field is its own mapping (Data Prep's mapping-set guide, help/data-prep/mapping-set.md, "Iterative
  operations on arrays": ``source: a[*].b`` -> ``destination: c[*].d``, evaluated per element). An
  embedded list's ``has_more`` lands beside it as ``<list>_has_more``: ``true`` marks the array as
  incomplete (Stripe sent only the first page; nothing in AEP may sum it as a total).
- every top-level Stripe field is either mapped or listed in ``StripeResource.left_out`` with the reason
  (``coverage()`` counts them against Stripe's field summary)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
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
    "TABLE_VERSIONS",
    "MappedField",
    "StripeResource",
    "XdmType",
    "get_resource",
    "record_class_body",
]

EXPERIENCE_EVENT_CLASS = "https://ns.adobe.com/xdm/context/experienceevent"
RECORD_BEHAVIOUR = "https://ns.adobe.com/xdm/data/record"
# Deterministic title of the custom record class, shared by every tenant of a sandbox.
RECORD_CLASS_TITLE = "Stripe record (stripe-aep v1)"  # the class has no fields: v1 stays valid
# outputSchema.schemaRef.contentType of a mapping set (data-prep.yaml, MappingSet example).
FULL_SCHEMA_CONTENT_TYPE = "application/vnd.adobe.xed-full+json;version=1"
# ISO 8601 with milliseconds and zone; one of Data Prep's date conversion formats.
DATE_TIME_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSX"
# Generation of the field groups, schemas and mappings: bumped only for a breaking table change (the Schema
# Registry refuses breaking changes to a field group in use, so a new generation is a new field group and
# schema). Additive changes bump a path's table version instead (TABLE_VERSIONS) and reach existing sandboxes
# through Schema Registry PATCH (stripe_aep.steps.upgrade).
_VERSION_TAG = "stripe-aep v2"
#: Each resource path's table version within the generation (the released ones are snapshotted in tables/).
TABLE_VERSIONS: Mapping[str, int] = MappingProxyType(
    {
        "charges": 1,
        "subscriptions": 1,
        "refunds": 1,
        "balance_transactions": 1,
        "customers": 1,
        "prices": 1,
    }
)

XdmType = Literal["string", "integer", "number", "boolean", "date-time", "map", "object"]
#: How a Stripe value becomes the XDM value (see the module docstring): copied, or through one expression.
Transform = Literal["attribute", "timestamp", "currency", "reference"]

# XDM "long" range (Schema Registry field constraints): Stripe amounts and counts exceed 32 bits.
_LONG_MIN = -9007199254740991
_LONG_MAX = 9007199254740991
_XDM_TYPE_SCHEMAS: Mapping[str, Mapping[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer", "minimum": _LONG_MIN, "maximum": _LONG_MAX},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date-time": {"type": "string", "format": "date-time"},
    "map": {"type": "object", "meta:xdmType": "map", "additionalProperties": {"type": "string"}},
}
_EACH = "[*]"
_TENANT_ID = re.compile(r"^_?([A-Za-z0-9][A-Za-z0-9_]*)$")


@dataclass(frozen=True)
class MappedField:
    """One Stripe field and where it lands in XDM.

    ``stripe_field``: dotted path in the Stripe object (``payment_method_details.card.brand``); a ``[*]``
    segment iterates an array (``fee_details[*].amount``, ``items.data[*].price.id``). ``xdm_path``: dotted
    path under the resource's group (``_{tenantId}.stripe_<path>``), with ``[*]`` where the XDM array is, or
    from the schema root for the class fields ``_id`` / ``timestamp``. ``xdm_type``: one of ``XdmType`` (of
    the elements when ``xdm_path`` ends in ``[*]``); ``transform``: how the value is converted (``Transform``).
    """

    stripe_field: str
    xdm_path: str
    xdm_type: XdmType
    description: str = ""
    transform: Transform = "attribute"

    @property
    def source(self) -> str:
        """The source attribute as the Stripe source's explore schema names it: ``data.<stripe_field>``."""
        return f"data.{self.stripe_field}"

    @property
    def top_level(self) -> str:
        """The top-level Stripe field this mapping reads (``fee_details`` for ``fee_details[*].amount``)."""
        return re.split(r"[.\[]", self.stripe_field, maxsplit=1)[0]

    @property
    def destination(self) -> str:
        """Alias of ``xdm_path`` (architecture.md's name)."""
        return self.xdm_path

    @property
    def source_type(self) -> Literal["ATTRIBUTE", "EXPRESSION"]:
        """Data Prep ``sourceType``: ``ATTRIBUTE`` for a plain copy, ``EXPRESSION`` for a calculated field."""
        return "ATTRIBUTE" if self.transform == "attribute" else "EXPRESSION"

    @property
    def mapping_source(self) -> str:
        """Data Prep ``source``: the attribute path, or the calculated field (help/data-prep/functions.md):

        - ``timestamp``: ``iif(X != null, dformat(X * 1000, "yyyy-MM-dd'T'HH:mm:ss.SSSX"), null)`` (TIMESTAMP
          in milliseconds; a null stays null instead of becoming 1970-01-01);
        - ``currency``: ``iif(X != null, upper(X), null)`` (ISO 4217 codes upper-case);
        - ``reference``: ``coalesce(X.id, X)`` (the id of an expanded object, else the id string).
        """
        x = self.source
        match self.transform:
            case "timestamp":
                return f'iif({x} != null, dformat({x} * 1000, "{DATE_TIME_FORMAT}"), null)'
            case "currency":
                return f"iif({x} != null, upper({x}), null)"
            case "reference":
                return f"coalesce({x}.id, {x})"
        return x


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
    left_out: Mapping[str, str] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    #: The table's version within its field group (``_VERSION_TAG``): bumped for each additive change, which
    #: ``stripe-aep upgrade`` brings to existing sandboxes (docs/operations.md, "Table versions").
    table_version: int = 1

    def coverage(self, stripe_fields: Sequence[str]) -> dict[str, Any]:
        """Coverage of the top-level fields of Stripe's schema for this object (``stripe_fields``, e.g. the keys
        of ``field_summary.json[<object>]``): ``{mapped, left_out, total, unaccounted: [...], both: [...]}``.

        ``unaccounted`` lists fields neither mapped nor left out, ``both`` fields listed as both: a complete
        table has both empty."""
        tops = {f.top_level for f in (*self.class_fields, *self.fields)}
        names = list(dict.fromkeys(stripe_fields))
        return {
            "mapped": sum(1 for n in names if n in tops),
            "left_out": sum(1 for n in names if n in self.left_out and n not in tops),
            "total": len(names),
            "unaccounted": [n for n in names if n not in tops and n not in self.left_out],
            "both": [n for n in names if n in tops and n in self.left_out],
        }

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
    """Place ``field`` at ``parts`` in a JSON-schema ``properties`` tree, creating XDM objects on the way and an
    XDM array (``type: array``, ``items``) for each segment ending in ``[*]``."""
    head, *rest = parts
    name, each = head.removesuffix(_EACH), head.endswith(_EACH)
    if not rest:
        if field.xdm_type == "object":
            raise ValueError(f"{field.stripe_field}: declare an object's sub-fields, not the object")
        leaf: dict[str, Any] = dict(_XDM_TYPE_SCHEMAS[field.xdm_type])
        if field.description:
            leaf["description"] = field.description
        properties[name] = {"title": name, "type": "array", "items": leaf} if each else {"title": name, **leaf}
        return
    if each:
        node = properties.setdefault(
            name, {"title": name, "type": "array", "items": {"type": "object", "properties": {}}}
        )
        _insert(node["items"]["properties"], rest, field)
        return
    node = properties.setdefault(name, {"title": name, "type": "object", "properties": {}})
    _insert(node["properties"], rest, field)


def _mapping(field: MappedField, destination: str) -> dict[str, str]:
    return {"sourceType": field.source_type, "source": field.mapping_source, "destination": destination}


# --- tables -------------------------------------------------------------------------------------------------
# Short constructors keep the tables readable: the XDM path is the Stripe path unless given.


def _f(
    xdm_type: XdmType,
    stripe_field: str,
    description: str = "",
    transform: Transform = "attribute",
    xdm_path: str | None = None,
) -> MappedField:
    return MappedField(
        stripe_field=stripe_field,
        xdm_path=xdm_path or stripe_field.replace(".data[*]", "[*]"),
        xdm_type=xdm_type,
        description=description,
        transform=transform,
    )


def _s(name: str, description: str = "") -> MappedField:
    return _f("string", name, description)


def _ref(name: str, deletable: bool = False) -> tuple[MappedField, ...]:
    """An expandable reference: its id; with ``deletable``, also ``<name>_deleted`` (true for a tombstone)."""
    ref = _f("string", name, "Expandable reference: the id of the referenced Stripe object.", "reference")
    if not deletable:
        return (ref,)
    deleted = _f("boolean", f"{name}.deleted", "True when the reference expanded to a deleted object's tombstone.")
    return ref, MappedField(deleted.stripe_field, f"{name}_deleted", "boolean", deleted.description)


def _amount(name: str) -> MappedField:
    return _f("integer", name, "Amount in the currency's minor unit (cents for USD, yen for JPY, fils/1000 for KWD).")


def _cur(name: str) -> MappedField:
    return _f("string", name, "ISO 4217 currency code, upper-case.", "currency")


def _dec(name: str) -> MappedField:
    return _f("string", name, "Decimal string of minor units, exact (may hold fractions of a cent).")


def _i(name: str, description: str = "") -> MappedField:
    return _f("integer", name, description)


def _n(name: str, description: str = "") -> MappedField:
    return _f("number", name, description)


def _b(name: str, description: str = "") -> MappedField:
    return _f("boolean", name, description)


def _t(name: str) -> MappedField:
    return _f("date-time", name, "Unix seconds in Stripe, converted to an ISO 8601 date-time.", "timestamp")


def _metadata(name: str = "metadata") -> MappedField:
    return _f("map", name, "Free-form string map set by the Stripe account; keys kept byte for byte.")


def _has_more(name: str) -> MappedField:
    return MappedField(
        f"{name}.has_more",
        f"{name}_has_more",
        "boolean",
        f"True when Stripe sent only the first page of {name}: the array is incomplete, never a total.",
    )


def _address(prefix: str) -> tuple[MappedField, ...]:
    return tuple(_s(f"{prefix}.{part}") for part in ("city", "country", "line1", "line2", "postal_code", "state"))


def _shipping(prefix: str = "shipping") -> tuple[MappedField, ...]:
    return (
        *_address(f"{prefix}.address"),
        _s(f"{prefix}.name"),
        _s(f"{prefix}.phone"),
        _s(f"{prefix}.carrier"),
        _s(f"{prefix}.tracking_number"),
    )


def _presentment(prefix: str = "presentment_details") -> tuple[MappedField, ...]:
    return (_amount(f"{prefix}.presentment_amount"), _cur(f"{prefix}.presentment_currency"))


# Reasons shared by several tables.
_EXPAND_ONLY = "returned only with expand[]; the Stripe source does not expand"
_OWN_PATH = "has its own resource path"

# refunds and balance transactions carry no livemode in Stripe's object model.
_BASE = (_s("id", "Stripe object id."), _s("object"), _t("created"))
_COMMON = (*_BASE, _b("livemode"))

_CHARGES = (
    *_COMMON,
    _amount("amount"),
    _amount("amount_captured"),
    _amount("amount_refunded"),
    _amount("application_fee_amount"),
    _cur("currency"),
    _s("status"),
    _b("paid"),
    _b("captured"),
    _b("refunded"),
    _b("disputed"),
    *_ref("customer", deletable=True),
    *_ref("payment_intent"),
    _s("payment_method"),
    _s("receipt_email"),
    _s("receipt_number"),
    _s("receipt_url"),
    *_ref("balance_transaction"),
    *_ref("failure_balance_transaction"),
    *_ref("review"),
    _s("calculated_statement_descriptor"),
    _s("description"),
    _s("failure_code"),
    _s("failure_message"),
    _s("statement_descriptor"),
    _s("statement_descriptor_suffix"),
    _s("transfer_group"),
    _metadata(),
    *_address("billing_details.address"),
    _s("billing_details.email"),
    _s("billing_details.name"),
    _s("billing_details.phone"),
    _s("billing_details.tax_id"),
    *_shipping(),
    _s("fraud_details.stripe_report"),
    _s("fraud_details.user_report"),
    _s("radar_options.session"),
    *_presentment(),
    _s("outcome.type"),
    _s("outcome.network_status"),
    _s("outcome.reason"),
    _s("outcome.risk_level"),
    _i("outcome.risk_score"),
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
    _s("payment_method_details.card.checks.address_line1_check"),
    _s("payment_method_details.card.checks.address_postal_code_check"),
    _s("payment_method_details.card.checks.cvc_check"),
    _s("payment_method_details.card.three_d_secure.result"),
    _s("payment_method_details.card.wallet.type"),
    _s("payment_method_details.card.extended_authorization.status"),
    _s("payment_method_details.card.incremental_authorization.status"),
    _s("payment_method_details.card.multicapture.status"),
    _b("payment_method_details.card.network_token.used"),
    _amount("payment_method_details.card.overcapture.maximum_amount_capturable"),
    _s("payment_method_details.card.overcapture.status"),
    # Stripe Connect: the platform's references.
    *_ref("application"),
    *_ref("application_fee"),
    *_ref("on_behalf_of"),
    *_ref("source_transfer"),
    *_ref("transfer"),
    _amount("transfer_data.amount"),
    _f("string", "transfer_data.destination", "Id of the connected account.", "reference"),
    # The embedded first page of the charge's refunds (the refunds path has every refund in full).
    _s("refunds.data[*].id"),
    _amount("refunds.data[*].amount"),
    _cur("refunds.data[*].currency"),
    _s("refunds.data[*].status"),
    _s("refunds.data[*].reason"),
    _t("refunds.data[*].created"),
    _has_more("refunds"),
)
_CHARGES_LEFT_OUT: dict[str, str] = {}

_SUBSCRIPTION_ITEMS = (
    _s("items.data[*].id"),
    _s("items.data[*].object"),
    _t("items.data[*].created"),
    _t("items.data[*].current_period_start"),
    _t("items.data[*].current_period_end"),
    _t("items.data[*].billed_until"),
    _i("items.data[*].quantity"),
    _s("items.data[*].subscription"),
    _s("items.data[*].price.id"),
    _s("items.data[*].price.type"),
    _cur("items.data[*].price.currency"),
    _amount("items.data[*].price.unit_amount"),
    _dec("items.data[*].price.unit_amount_decimal"),
    _s("items.data[*].price.recurring.interval"),
    _i("items.data[*].price.recurring.interval_count"),
    _f("string", "items.data[*].price.product", "Id of the price's product.", "reference"),
    _metadata("items.data[*].metadata"),
    _has_more("items"),
)

_SUBSCRIPTIONS = (
    *_COMMON,
    *_ref("customer", deletable=True),
    _s("customer_account"),
    _s("status"),
    _cur("currency"),
    _s("collection_method"),
    _s("description"),
    _b("cancel_at_period_end"),
    _t("billing_cycle_anchor"),
    _i("billing_cycle_anchor_config.day_of_month"),
    _i("billing_cycle_anchor_config.month"),
    _t("cancel_at"),
    _t("canceled_at"),
    _t("ended_at"),
    _t("start_date"),
    _t("trial_start"),
    _t("trial_end"),
    _s("trial_settings.end_behavior.missing_payment_method"),
    _t("next_pending_invoice_item_invoice"),
    _s("pending_invoice_item_interval.interval"),
    _i("pending_invoice_item_interval.interval_count"),
    _i("days_until_due"),
    _n("application_fee_percent"),
    *_ref("default_payment_method"),
    *_ref("default_source"),
    *_ref("latest_invoice"),
    *_ref("pending_setup_intent"),
    *_ref("schedule"),
    *_ref("test_clock"),
    _f("string", "default_tax_rates[*].id", "Ids of the default tax rates."),
    _f("string", "discounts[*]", "Ids of the discounts (expandable references).", "reference"),
    _b("automatic_tax.enabled"),
    _s("automatic_tax.disabled_reason"),
    _s("billing_mode.type"),
    _i("billing_thresholds.amount_gte"),
    _b("billing_thresholds.reset_billing_cycle_anchor"),
    _s("cancellation_details.reason"),
    _s("cancellation_details.feedback"),
    _s("cancellation_details.comment"),
    _s("invoice_settings.account_tax_ids[*]"),
    _s("pause_collection.behavior"),
    _t("pause_collection.resumes_at"),
    _s("payment_settings.save_default_payment_method"),
    _s("payment_settings.payment_method_types[*]"),
    _t("pending_update.expires_at"),
    _b("pending_update.trial_from_plan"),
    _t("pending_update.trial_end"),
    _t("pending_update.billing_cycle_anchor"),
    _cur("presentment_details.presentment_currency"),
    *_ref("application", deletable=True),
    *_ref("on_behalf_of"),
    _n("transfer_data.amount_percent"),
    _f("string", "transfer_data.destination", "Id of the connected account.", "reference"),
    _metadata(),
    *_SUBSCRIPTION_ITEMS,
)
_SUBSCRIPTIONS_LEFT_OUT = {
    "billing_schedules": "preview feature (billing schedules); its shape is not settled in Stripe's spec",
    "managed_payments": "preview feature (Stripe managed payments) with no stable fields",
}

_REFUNDS = (
    *_BASE,
    _amount("amount"),
    _cur("currency"),
    _s("status"),
    _s("reason"),
    _s("description"),
    _s("failure_reason"),
    _s("instructions_email"),
    _s("pending_reason"),
    *_ref("charge"),
    *_ref("payment_intent"),
    *_ref("balance_transaction"),
    *_ref("failure_balance_transaction"),
    *_ref("customer", deletable=True),
    _s("customer_account"),
    *_ref("payment_method"),
    _s("receipt_number"),
    _s("destination_details.type"),
    _s("destination_details.card.type"),
    _s("destination_details.card.reference"),
    _s("destination_details.card.reference_status"),
    _s("next_action.type"),
    _t("next_action.display_details.expires_at"),
    *_presentment(),
    *_ref("source_transfer_reversal"),
    *_ref("transfer_reversal"),
    _metadata(),
)
_REFUNDS_LEFT_OUT: dict[str, str] = {}

_BALANCE_TRANSACTIONS = (
    *_BASE,
    _amount("amount"),
    _amount("fee"),
    _amount("net"),
    _cur("currency"),
    _n("exchange_rate"),
    _t("available_on"),
    _s("balance_type"),
    _s("description"),
    _s("reporting_category"),
    *_ref("source"),
    _s("status"),
    _s("type"),
    _amount("fee_details[*].amount"),
    _cur("fee_details[*].currency"),
    _s("fee_details[*].description"),
    _s("fee_details[*].type"),
    _f("string", "fee_details[*].application", "Id of the Connect application that took the fee."),
)

_CUSTOMERS = (
    *_COMMON,
    _b("deleted", "True for a deleted customer's tombstone ({id, object, deleted}): the customer is gone."),
    _s("name"),
    _s("business_name"),
    _s("individual_name"),
    _s("email"),
    _s("phone"),
    _s("description"),
    _s("customer_account"),
    _amount("balance"),
    _cur("currency"),
    _b("delinquent"),
    _s("invoice_prefix"),
    _i("next_invoice_sequence"),
    _s("tax_exempt"),
    _s("preferred_locales[*]"),
    *_ref("default_source"),
    *_ref("test_clock"),
    *_address("address"),
    *_shipping(),
    _f("string", "invoice_settings.default_payment_method", "Id of the default payment method.", "reference"),
    _s("invoice_settings.footer"),
    _s("discount.id"),
    _s("discount.coupon.id"),
    _t("discount.start"),
    _t("discount.end"),
    _s("tax.automatic_tax"),
    _s("tax.ip_address"),
    _s("tax.location.country"),
    _s("tax.location.state"),
    _metadata(),
)
_CUSTOMERS_LEFT_OUT = {
    "cash_balance": _EXPAND_ONLY,
    "invoice_credit_balance": _EXPAND_ONLY,
    "sources": _EXPAND_ONLY,
    "tax_ids": _EXPAND_ONLY,
    "subscriptions": f"{_EXPAND_ONLY}; subscriptions {_OWN_PATH}",
}

_PRICES = (
    *_COMMON,
    _b("active"),
    _s("billing_scheme"),
    _cur("currency"),
    _s("lookup_key"),
    _s("nickname"),
    *_ref("product", deletable=True),
    _s("tax_behavior"),
    _s("tiers_mode"),
    _s("type"),
    _amount("unit_amount"),
    _dec("unit_amount_decimal"),
    _b("custom_unit_amount.enabled"),
    _amount("custom_unit_amount.maximum"),
    _amount("custom_unit_amount.minimum"),
    _amount("custom_unit_amount.preset"),
    _s("recurring.interval"),
    _i("recurring.interval_count"),
    _s("recurring.usage_type"),
    _s("recurring.meter"),
    _i("transform_quantity.divide_by"),
    _s("transform_quantity.round"),
    _amount("tiers[*].flat_amount"),
    _dec("tiers[*].flat_amount_decimal"),
    _amount("tiers[*].unit_amount"),
    _dec("tiers[*].unit_amount_decimal"),
    _i("tiers[*].up_to", "Upper bound of the tier; absent for the last tier (no bound)."),
    _metadata(),
)
_PRICES_LEFT_OUT = {
    "currency_options": f"{_EXPAND_ONLY}; a map of objects keyed by currency, not a map of strings",
}

# data.id -> _id and data.created -> timestamp: the fields the ExperienceEvent class requires.
_EVENT_CLASS_FIELDS = (
    MappedField("id", "_id", "string", "Unique id of the event: the Stripe object id."),
    MappedField("created", "timestamp", "date-time", "When the Stripe object was created.", "timestamp"),
)

# (path, Stripe object, behaviour, fields), in the tutorial's order.
_TABLES: tuple[tuple[str, str, Literal["time-series", "record"], tuple[MappedField, ...], Mapping[str, str]], ...] = (
    ("charges", "charge", "time-series", _CHARGES, _CHARGES_LEFT_OUT),
    ("subscriptions", "subscription", "record", _SUBSCRIPTIONS, _SUBSCRIPTIONS_LEFT_OUT),
    ("refunds", "refund", "time-series", _REFUNDS, _REFUNDS_LEFT_OUT),
    ("balance_transactions", "balance_transaction", "time-series", _BALANCE_TRANSACTIONS, {}),
    ("customers", "customer", "record", _CUSTOMERS, _CUSTOMERS_LEFT_OUT),
    ("prices", "price", "record", _PRICES, _PRICES_LEFT_OUT),
)


def _resource(
    path: str,
    stripe_object: str,
    behaviour: Literal["time-series", "record"],
    fields: tuple[MappedField, ...],
    left_out: Mapping[str, str],
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
        left_out=MappingProxyType(dict(left_out)),
        table_version=TABLE_VERSIONS[path],
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
