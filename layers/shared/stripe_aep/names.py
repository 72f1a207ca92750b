"""Deterministic AEP names: the same tenant and path always give the same name, so a step can find what an
interrupted attempt created (``stripe_aep.catalogue`` binds each rule to its kind).

Names are for people too: ``stripe-aep/<tenant>/<path>/<kind>``. The tenant id is validated before it gets here
(``stripe_aep.tenants.TenantId``). This module imports nothing, so any module may use it.
"""

from __future__ import annotations


def base_connection_name(tenant_id: str) -> str:
    """Name of the tenant's Stripe base connection."""
    return f"stripe-aep/{tenant_id}/base"


def rotation_check_name(tenant_id: str) -> str:
    """Name of the temporary base connection that verifies a new Stripe key."""
    return f"{base_connection_name(tenant_id)}/rotation-check"


def source_connection_name(tenant_id: str, resource_path: str) -> str:
    """Name of the source connection reading one Stripe resource path."""
    return f"stripe-aep/{tenant_id}/{resource_path}/source"


def target_connection_name(tenant_id: str, resource_path: str) -> str:
    """Name of the data lake target connection of one resource path."""
    return f"stripe-aep/{tenant_id}/{resource_path}/target"


def dataflow_name(tenant_id: str, resource_path: str) -> str:
    """Name of the dataflow of one resource path."""
    return f"stripe-aep/{tenant_id}/{resource_path}/flow"


def dataset_name(tenant_id: str, resource_path: str) -> str:
    """Name of the Catalog dataset that receives one resource path's records."""
    return f"stripe-aep {tenant_id} {resource_path}"


def mapping_set_name(tenant_id: str, resource_path: str) -> str:
    """Name of the Data Prep mapping set of one resource path (``GET /mappingSets?name=`` finds it again;
    Data Prep allows no ``/`` nor ``-`` in it)."""
    return f"stripe_aep_{tenant_id.replace('-', '_')}_{resource_path}"
