"""The provision state machine's Adobe calls as a dependency graph (declared here, read by hand from
``statemachine/provision.asl.json`` and ``stripe_aep/steps/provision.py``).

A node is one Adobe call, named by its OpenAPI operationId (``imsToken`` for IMS's ``POST /ims/token/v3``)
and, for per-path calls, the resource path: ``"createFlow[charges]"``. An edge ``a -> b`` means that ``b``
cannot be sent before ``a`` answered (it needs its id, or the state that makes it comes after the state making
``a``).

Per-sandbox objects (the Schema Registry tenant id, the custom record class, one XDM field group and schema
per resource path) are created by the first tenant of a sandbox only; ``fresh_sandbox=False`` leaves them out.
So is the check of each mapping set on sample rows (``stripe_aep.steps.mapping_check``: explore with
preview=true, node ``getByConnectionId[<path>:preview]``, then ``previewMappingSet``), remembered per sandbox and
mapping version; the graph assumes the first tenant's account has records on every path.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stripe_aep.resources import get_resource

#: Steps (state -> Lambda) and the Adobe calls each makes on the happy path, in order (see provision.py).
STEP_CALLS: Mapping[str, tuple[str, ...]] = {
    "CreateBaseConnection": ("createConnection",),
    "ExploreResourcePath": ("getByConnectionId",),
    "CreateSourceConnection": ("createSourceConnection",),
    "EnsureTargetSchema": ("retrieveStats", "createClass", "createFieldGroup", "createSchema"),
    "CreateDataset": ("createDataset",),
    "CreateTargetConnection": ("createTargetConnection",),
    "CreateMappingSet": ("validateMappingSet", "getByConnectionId", "previewMappingSet", "createMappingSet"),
    "CreateDataflow": ("createFlow",),
}

#: Operations that create an Adobe object (a second provisioning of a tenant should make none).
CREATE_OPERATIONS = frozenset(
    {
        "createConnection",
        "createSourceConnection",
        "createTargetConnection",
        "createFlow",
        "createClass",
        "createFieldGroup",
        "createSchema",
        "createDataset",
        "createMappingSet",
    }
)


@dataclass(frozen=True)
class CallGraph:
    """Adobe calls (nodes) and their prerequisites (``needs[node]``)."""

    needs: Mapping[str, tuple[str, ...]]

    def longest_chain(self) -> list[str]:
        """The longest chain of dependent calls, first call first (ties: the first found in sorted order)."""
        best: dict[str, list[str]] = {}

        def chain(node: str) -> list[str]:
            if node not in best:
                before = [chain(n) for n in sorted(self.needs[node])]
                best[node] = [*max(before, key=len, default=[]), node]
            return best[node]

        return max((chain(n) for n in sorted(self.needs)), key=len, default=[])

    def operation_counts(self) -> Counter[str]:
        """Calls per operationId: the minimum the graph needs."""
        return Counter(node.split("[", 1)[0] for node in self.needs)


def provision_graph(resource_paths: Sequence[str], *, fresh_sandbox: bool, cold_token: bool) -> CallGraph:
    """The call graph of one provisioning of ``resource_paths`` (Map iterations all running at once).

    ``fresh_sandbox``: the sandbox has none of its shared XDM objects yet (first tenant);
    ``cold_token``: the handlers hold no IMS access token yet (one ``imsToken`` call before the first).
    """
    needs: dict[str, tuple[str, ...]] = {}
    first: tuple[str, ...] = ()
    if cold_token:
        needs["imsToken"] = ()
        first = ("imsToken",)
    needs["createConnection"] = first
    custom_class = fresh_sandbox and any(get_resource(p).needs_custom_class for p in resource_paths)
    explores = tuple(f"getByConnectionId[{p}]" for p in resource_paths)
    if fresh_sandbox:
        # One EnsureTargetSchema per path; whichever runs first reads the Schema Registry tenant id and
        # creates the record class, the others wait for it in DynamoDB (the earliest explore starts it).
        needs["retrieveStats"] = explores
        if custom_class:
            needs["createClass"] = ("retrieveStats",)
    for p in resource_paths:
        explore = f"getByConnectionId[{p}]"
        needs[explore] = ("createConnection",)
        needs[f"createSourceConnection[{p}]"] = (explore,)
        if fresh_sandbox:
            before_group = "createClass" if get_resource(p).needs_custom_class else "retrieveStats"
            needs[f"createFieldGroup[{p}]"] = (before_group,)
            needs[f"createSchema[{p}]"] = (f"createFieldGroup[{p}]",)
            schema: tuple[str, ...] = (f"createSchema[{p}]",)
        else:
            schema = (explore,)  # the schema is already there: its step only reads DynamoDB
        needs[f"createDataset[{p}]"] = schema
        needs[f"createTargetConnection[{p}]"] = (f"createDataset[{p}]",)
        needs[f"validateMappingSet[{p}]"] = schema
        if fresh_sandbox:  # the mapping's first run on sample rows in this sandbox
            needs[f"getByConnectionId[{p}:preview]"] = (f"validateMappingSet[{p}]",)
            needs[f"previewMappingSet[{p}]"] = (f"getByConnectionId[{p}:preview]",)
            needs[f"createMappingSet[{p}]"] = (f"previewMappingSet[{p}]",)
        else:
            needs[f"createMappingSet[{p}]"] = (f"validateMappingSet[{p}]",)
        needs[f"createFlow[{p}]"] = (
            f"createSourceConnection[{p}]",
            f"createTargetConnection[{p}]",
            f"createMappingSet[{p}]",
        )
    return CallGraph(needs)
