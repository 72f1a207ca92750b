"""The state machines' data paths against the step models (tools/step_contracts.py).

Every Task state's function is traced to its step (template.yaml CodeUri -> functions/<dir>/app.py ->
``step_handler(<step>)``), whose parameter and return annotations are its input and output models; every path
of every rendered definition must then resolve: ``$.Payload.X`` in a ResultSelector to a field of the output
model, what a later state reads to what an earlier state placed there, and the input model's required fields
to keys of the Task's Payload. The second half shows the check failing, on a copy of the ASL or of a model
with one name changed, at the exact path.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from pydantic import BaseModel, create_model

from stripe_aep.steps.common import StepInput, StepOutput
from tools.render_asl import load_template, render, state_machines
from tools.step_contracts import (
    Obj,
    Scalar,
    StepContract,
    check_definition,
    contracts,
    execution_input_of,
    function_of,
)

TEMPLATE = load_template()
MACHINES = state_machines(TEMPLATE)
STEPS = contracts(TEMPLATE)


def definition_of(machine: str) -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(render(machine, TEMPLATE))
    return definition


def states_of(definition: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, Parallel branches and Map item processors included."""
    for name, state in definition.get("States", {}).items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from states_of(branch)
        if "ItemProcessor" in state:
            yield from states_of(state["ItemProcessor"])


def state(definition: Mapping[str, Any], name: str) -> dict[str, Any]:
    return next(s for n, s in states_of(definition) if n == name)


def problems(machine: str, definition: Mapping[str, Any], steps: Mapping[str, StepContract] = STEPS) -> list[str]:
    checker = check_definition(machine, definition, steps, execution_input_of(MACHINES[machine]))
    return checker.problems


# ---- the contracts hold ------------------------------------------------------------------------------------


def test_every_function_a_state_machine_invokes_is_a_typed_step() -> None:
    assert len(STEPS) >= 24  # every Lambda Task of the three state machines
    for function, contract in STEPS.items():
        assert contract.problem == "", function
        assert contract.input_model is not None and issubclass(contract.input_model, StepInput), function
        assert contract.output_model is not None and issubclass(contract.output_model, StepOutput), function


@pytest.mark.parametrize("machine", sorted(MACHINES))
def test_every_path_of_the_state_machine_resolves(machine: str) -> None:
    definition = definition_of(machine)
    checker = check_definition(machine, definition, STEPS, execution_input_of(MACHINES[machine]))
    assert checker.problems == []
    # The walk reached every Lambda Task (none unchecked because no Next/Catch/branch led to it).
    tasks = {name for name, s in states_of(definition) if function_of(s)}
    assert {where.rsplit("/", 1)[-1] for where in checker.tasks} == tasks


def test_output_models_answer_the_keys_the_asl_reads() -> None:
    """The handler's serialisation (``model_dump(mode="json", by_alias=True, exclude_unset=True)``) gives the
    payloads the ASL was written against: the schedule under its camelCase alias, optional keys absent."""
    request = STEPS["ValidateInputFunction"].output_model
    lifecycle = STEPS["ValidateLifecycleInputFunction"].output_model
    assert request is not None and lifecycle is not None
    schedule = {"frequency": "hour", "interval": 1, "startTime": 1767225600}
    dumped = request.model_validate(
        {"tenantId": "acme", "sandbox": "prod", "resourcePaths": ["charges"], "schedule": schedule}
    ).model_dump(mode="json", by_alias=True, exclude_unset=True)
    assert dumped == {"tenantId": "acme", "sandbox": "prod", "resourcePaths": ["charges"], "schedule": schedule}
    enable = {"operation": "enable", "tenantId": "acme", "resourcePaths": ["charges"]}
    assert lifecycle.model_validate(enable).model_dump(mode="json", by_alias=True, exclude_unset=True) == enable


# ---- a renamed field fails the check, at its path --------------------------------------------------------


def _rename_payload_read(definition: dict[str, Any]) -> None:
    state(definition, "CreateDataset")["ResultSelector"] = {"datasetId.$": "$.Payload.datasetID"}


def _move_result(definition: dict[str, Any]) -> None:
    state(definition, "CreateDataset")["ResultPath"] = "$.datasets"


def _drop_required_payload_key(definition: dict[str, Any]) -> None:
    del state(definition, "CreateDataflow")["Parameters"]["Payload"]["mappingSetVersion.$"]


def _rename_choice_variable(definition: dict[str, Any]) -> None:
    state(definition, "PurgeRequested")["Choices"][0]["Variable"] = "$.purged"


def _rename_items_path(definition: dict[str, Any]) -> None:
    state(definition, "DeprovisionResourcePaths")["ItemsPath"] = "$.plan.resourcePath"


def _rename_item_selector_read(definition: dict[str, Any]) -> None:
    state(definition, "StartFlowRuns")["ItemSelector"]["windowEndTime.$"] = "$.request.window.windowEnd"


def _scalar_for_object(definition: dict[str, Any]) -> None:
    state(definition, "ProvisionResourcePaths")["ItemSelector"]["schedule.$"] = "$.request.tenantId"


MUTATIONS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "ProvisionStateMachine",
        _rename_payload_read,
        "ProvisionStateMachine: ProvisionResourcePaths/PrepareSourceAndTarget[1]/PrepareTargetAndMapping[0]/"
        "CreateDataset.ResultSelector.datasetId.$: $.Payload.datasetID: $.Payload has no field 'datasetID': "
        "it is DatasetOutput {datasetId}",
    ),
    (
        "ProvisionStateMachine",
        _move_result,
        "CreateTargetConnection.Parameters.Payload.datasetId.$: $.dataset.datasetId: $ has no field 'dataset'",
    ),
    (
        "ProvisionStateMachine",
        _drop_required_payload_key,
        "ProvisionResourcePaths/CreateDataflow.Parameters.Payload: mappingSetVersion is required by DataflowStep "
        "and not supplied",
    ),
    (
        "ProvisionStateMachine",
        _scalar_for_object,
        "ProvisionResourcePaths/CreateDataflow.Parameters.Payload.schedule: a string where DataflowStep wants an "
        "object (Schedule)",
    ),
    (
        "DeprovisionStateMachine",
        _rename_choice_variable,
        "DeprovisionResourcePaths/PurgeRequested.Choices[0].Variable: $.purged: $ has no field 'purged'",
    ),
    (
        "DeprovisionStateMachine",
        _rename_items_path,
        "DeprovisionResourcePaths.ItemsPath: $.plan.resourcePath: $.plan has no field 'resourcePath': it is "
        "PlanDeprovisioning's ResultSelector {tenantId, purge, resourcePaths}",
    ),
    (
        "LifecycleStateMachine",
        _rename_item_selector_read,
        "StartFlowRuns.ItemSelector.windowEndTime.$: $.request.window.windowEnd: $.request.window has no field "
        "'windowEnd': it is RunWindow {windowStartTime, windowEndTime}",
    ),
]


@pytest.mark.parametrize(
    ("machine", "mutate", "expected"), MUTATIONS, ids=[m.__name__.strip("_") for _, m, _ in MUTATIONS]
)
def test_a_changed_asl_path_is_reported(machine: str, mutate: Callable[[dict[str, Any]], None], expected: str) -> None:
    definition = definition_of(machine)
    assert problems(machine, definition) == []
    changed = copy.deepcopy(definition)
    mutate(changed)
    found = problems(machine, changed)
    assert any(expected in problem for problem in found), found


def _renamed(model: type[BaseModel], old: str, new: str) -> type[BaseModel]:
    """A copy of ``model`` with field ``old`` called ``new``."""
    fields: dict[str, Any] = {
        (new if name == old else name): (info.annotation, info) for name, info in model.model_fields.items()
    }
    renamed: type[BaseModel] = create_model(model.__name__, __base__=StepOutput, **fields)
    return renamed


@pytest.mark.parametrize(
    ("machine", "function", "old", "new", "expected"),
    [
        (
            "ProvisionStateMachine",
            "CreateDatasetFunction",
            "datasetId",
            "datasetUuid",
            "CreateDataset.ResultSelector.datasetId.$: $.Payload.datasetId: $.Payload has no field 'datasetId': "
            "it is DatasetOutput {datasetUuid}",
        ),
        (
            "LifecycleStateMachine",
            "ValidateLifecycleInputFunction",
            "window",
            "runWindow",
            "LifecycleStateMachine: StartFlowRuns.ItemSelector.windowStartTime.$: $.request.window.windowStartTime: "
            "$.request has no field 'window'",
        ),
    ],
)
def test_a_renamed_model_field_is_reported(machine: str, function: str, old: str, new: str, expected: str) -> None:
    contract = STEPS[function]
    assert contract.output_model is not None and old in contract.output_model.model_fields
    renamed = _renamed(contract.output_model, old, new)
    steps = {**STEPS, function: StepContract(function, contract.step, contract.input_model, renamed)}
    found = problems(machine, definition_of(machine), steps)
    assert any(expected in problem for problem in found), found


# ---- a loop (a page-by-page state machine) is walked until its shapes settle -------------------------------


class PageRequest(StepInput):
    tenantId: str
    cursor: str | None = None


class Page(StepOutput):
    items: list[str]
    nextCursor: str | None


PAGE_STEPS = {"PageFunction": StepContract("PageFunction", "test.page", PageRequest, Page)}


def paged_definition(cursor_read: str = "$.page.nextCursor") -> dict[str, Any]:
    return {
        "StartAt": "FirstPage",
        "States": {
            "FirstPage": {"Type": "Pass", "Result": {"nextCursor": None}, "ResultPath": "$.page", "Next": "ListPage"},
            "ListPage": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {
                    "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:PageFunction",
                    "Payload": {"tenantId.$": "$$.Execution.Input.tenantId", "cursor.$": cursor_read},
                },
                "ResultSelector": {"items.$": "$.Payload.items", "nextCursor.$": "$.Payload.nextCursor"},
                "ResultPath": "$.page",
                "Next": "MorePages",
            },
            "MorePages": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.page.nextCursor", "IsNull": False, "Next": "ListPage"}],
                "Default": "Done",
            },
            "Done": {"Type": "Pass", "OutputPath": "$.page.items", "End": True},
        },
    }


def test_a_loop_is_walked_until_it_settles() -> None:
    tenant_input = Obj((("tenantId", Scalar("string")),), "execution input")
    checker = check_definition("paged", paged_definition(), PAGE_STEPS, tenant_input)
    assert checker.problems == []
    assert checker.tasks == {"ListPage"}
    wrong = check_definition("paged", paged_definition("$.page.cursor"), PAGE_STEPS, tenant_input)
    # Reported for the first page (FirstPage's placeholder) and for the pages after (ListPage's own result).
    assert wrong.problems == [
        "paged: ListPage.Parameters.Payload.cursor.$: $.page.cursor: $.page has no field 'cursor': it is "
        "FirstPage's Result {nextCursor}",
        "paged: ListPage.Parameters.Payload.cursor.$: $.page.cursor: $.page has no field 'cursor': it is "
        "ListPage's ResultSelector {items, nextCursor}",
    ]
