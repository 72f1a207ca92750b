"""Small, valid Schema Registry / Data Prep bodies for the client tests (the real ones come from
stripe_aep.resources)."""

from __future__ import annotations

from typing import Any

EXPERIENCE_EVENT = "https://ns.adobe.com/xdm/context/experienceevent"


def field_group_body(tenant: str, title: str = "Stripe charges (test)") -> dict[str, Any]:
    return {
        "title": title,
        "description": "Stripe charge fields",
        "type": "object",
        "meta:intendedToExtend": [EXPERIENCE_EVENT],
        "definitions": {
            "charges": {
                "properties": {
                    f"_{tenant}": {
                        "type": "object",
                        "properties": {
                            "charges_data": {
                                "type": "object",
                                "properties": {"id": {"type": "string"}, "amount": {"type": "integer"}},
                            }
                        },
                    }
                }
            }
        },
        "allOf": [{"$ref": "#/definitions/charges"}],
    }


def schema_body(field_group_id: str, title: str = "Stripe charges schema (test)") -> dict[str, Any]:
    return {
        "title": title,
        "description": "Stripe charges as experience events",
        "type": "object",
        "allOf": [{"$ref": EXPERIENCE_EVENT}, {"$ref": field_group_id}],
    }


def mapping_set_body(tenant: str, schema_id: str) -> dict[str, Any]:
    return {
        "outputSchema": {
            "schemaRef": {"id": schema_id, "contentType": "application/vnd.adobe.xed-full+json;version=1"}
        },
        "mappings": [
            {"sourceType": "ATTRIBUTE", "source": "data.id", "destination": f"_{tenant}.charges_data.id"},
            {
                "sourceType": "ATTRIBUTE",
                "source": "data.amount",
                "destination": f"_{tenant}.charges_data.amount",
            },
        ],
    }
