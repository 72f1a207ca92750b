"""The benchmark's declared call graph: the chain lengths and minimum call counts the report divides by."""

from __future__ import annotations

from bench.graph import CREATE_OPERATIONS, provision_graph
from stripe_aep.resources import RESOURCE_PATHS


def test_first_tenant_of_a_sandbox_has_a_twelve_call_chain() -> None:
    """Ten calls, plus the mapping check on sample rows (explore preview=true, previewMappingSet) per path."""
    graph = provision_graph(RESOURCE_PATHS, fresh_sandbox=True, cold_token=True)

    chain = graph.longest_chain()

    assert len(chain) == 12, chain
    path = chain[-1].removeprefix("createFlow[").removesuffix("]")
    assert chain[-5:-1] == [
        f"validateMappingSet[{path}]",
        f"getByConnectionId[{path}:preview]",
        f"previewMappingSet[{path}]",
        f"createMappingSet[{path}]",
    ]
    assert chain[0] == "imsToken" and chain[-1].startswith("createFlow[")
    counts = graph.operation_counts()
    assert counts["createClass"] == 1
    assert counts["previewMappingSet"] == len(RESOURCE_PATHS)
    assert counts["getByConnectionId"] == 2 * len(RESOURCE_PATHS)
    assert sum(counts.values()) - counts["imsToken"] == 57 + 2 * len(RESOURCE_PATHS)


def test_warm_tenant_in_a_known_sandbox_has_a_five_call_chain() -> None:
    graph = provision_graph(RESOURCE_PATHS, fresh_sandbox=False, cold_token=False)

    chain = graph.longest_chain()

    assert len(chain) == 5, chain
    counts = graph.operation_counts()
    # 43 before the sandbox's validated mapping bodies were recorded: a warm tenant validates none again.
    assert sum(counts.values()) == 37
    assert "validateMappingSet" not in counts
    assert {"createClass", "createFieldGroup", "createSchema", "previewMappingSet"}.isdisjoint(counts)
    assert {op for op in counts if op in CREATE_OPERATIONS} == {
        "createConnection",
        "createSourceConnection",
        "createDataset",
        "createTargetConnection",
        "createMappingSet",
        "createFlow",
    }


def test_the_first_run_ends_each_path_after_its_flow() -> None:
    """StartFirstRun (on by default): one createFlowRun per path, after that path's createFlow, and no read."""
    without = provision_graph(RESOURCE_PATHS, fresh_sandbox=False, cold_token=False)
    graph = provision_graph(RESOURCE_PATHS, fresh_sandbox=False, cold_token=False, first_runs=True)

    assert graph.operation_counts() - without.operation_counts() == {"createFlowRun": len(RESOURCE_PATHS)}
    assert all(graph.needs[f"createFlowRun[{p}]"] == (f"createFlow[{p}]",) for p in RESOURCE_PATHS)
    assert len(graph.longest_chain()) == len(without.longest_chain()) + 1
