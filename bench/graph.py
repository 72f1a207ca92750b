"""The provision state machine's Adobe calls as a dependency graph, read from the catalogue of AEP object kinds
(``stripe_aep.catalogue``: each kind's calls and what it needs).

A node is one Adobe call, named by its OpenAPI operationId (``imsToken`` for IMS's ``POST /ims/token/v3``)
and, for per-path calls, the resource path: ``"createFlow[charges]"``. An edge ``a -> b`` means that ``b``
cannot be sent before ``a`` answered (it needs its id, or the state that makes it comes after the state making
``a``).

Per-sandbox objects (the Schema Registry tenant id, the custom record class, one XDM field group and schema
per resource path) are created by the first tenant of a sandbox only; ``fresh_sandbox=False`` leaves them out.
So is the check of each mapping set on sample rows (``stripe_aep.steps.mapping_check``: explore with
preview=true, node ``getByConnectionId[<path>:preview]``, then ``previewMappingSet``), remembered per sandbox and
mapping version; the graph assumes the first tenant's account has records on every path.

With ``first_runs`` (template parameter ``StartFirstRun``, on by default) a provisioning ends with each
dataflow's first run (``catalogue.flow_run``: createFlowRun, after its createFlow).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stripe_aep.catalogue import CATALOGUE, KINDS, flow_run

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

#: The Adobe calls of a dataflow's first run (template parameter ``StartFirstRun``;
#: ``stripe_aep.steps.run_now.start_flow_run``): ``POST /runs``, the flow having just been converged.
FIRST_RUN_CALLS: tuple[str, ...] = flow_run("", (0, 0), first=True).operations

#: Operations that create an Adobe object (a second provisioning of a tenant should make none).
CREATE_OPERATIONS = frozenset(kind.operations[-1] for kind in KINDS)


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


def provision_graph(
    resource_paths: Sequence[str], *, fresh_sandbox: bool, cold_token: bool, first_runs: bool = False
) -> CallGraph:
    """The call graph of one provisioning of ``resource_paths`` (Map iterations all running at once), read from
    the catalogue: one node per call of each kind or check (per path for per-path ones), after the last call of
    each of its ``needs``.

    ``fresh_sandbox``: the sandbox has none of its shared XDM objects yet (first tenant); otherwise the shared
    kinds make no call and what needs them waits for what they need (the schema step only reads DynamoDB);
    ``cold_token``: the handlers hold no IMS access token yet (one ``imsToken`` call before the first);
    ``first_runs``: each path's first run is started after its flow (``FIRST_RUN_CALLS``; ``StartFirstRun``).
    """
    needs: dict[str, tuple[str, ...]] = {}

    def present(name: str, path: str | None) -> bool:
        entry = CATALOGUE[name]
        if entry.shared and not fresh_sandbox:
            return False
        if path is None:  # a per-tenant or per-sandbox node: made when any path needs it
            return any(entry.applies(p) for p in resource_paths)
        return entry.applies(path)

    def last_call(name: str, path: str | None) -> list[str]:
        """The calls a node waiting on ``name`` (at ``path``) waits for: its last call, or, when it makes none
        here, the last calls of what it needs."""
        entry = CATALOGUE[name]
        if present(name, path):
            return [_node(entry.operations[-1], entry.scope, path)]
        return [n for need in entry.needs for n in last_call(need, path)]

    for name, entry in CATALOGUE.items():
        paths: list[str | None] = [None] if entry.scope in ("tenant", "sandbox") else list(resource_paths)
        for path in paths:
            if not present(name, path):
                continue
            at = [path] if path is not None else list(resource_paths)
            before = [n for p in at for need in entry.needs for n in last_call(need, p)]
            if not entry.needs and cold_token:
                before = ["imsToken"]
            for operation in entry.operations:
                node = _node(operation, entry.scope, path)
                needs[node] = tuple(dict.fromkeys(before))
                before = [node]
    if first_runs:
        run = flow_run("", (0, 0), first=True)
        for path in resource_paths:
            before = [n for need in run.needs for n in last_call(need, path)]
            for operation in FIRST_RUN_CALLS:
                node = _node(operation, run.scope, path)
                needs[node] = tuple(before)
                before = [node]
    if cold_token:
        needs = {"imsToken": (), **needs}
    return CallGraph(_reduced(needs))


def _reduced(needs: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """``needs`` without the edges another need already implies (a -> c dropped when a -> b -> ... -> c)."""
    ancestors: dict[str, set[str]] = {}

    def above(node: str) -> set[str]:
        if node not in ancestors:
            ancestors[node] = {a for n in needs[node] for a in (n, *above(n))}
        return ancestors[node]

    return {node: tuple(n for n in before if not any(n in above(m) for m in before)) for node, before in needs.items()}


def _node(operation: str, scope: str, path: str | None) -> str:
    """``op``, ``op[path]``, or ``op[path:tag]`` for an ``op:tag`` operation (the same call at another place)."""
    name, _, tag = operation.partition(":")
    where = f"{path}:{tag}" if tag else path
    return f"{name}[{where}]" if scope in ("path", "sandbox_path") else name
