"""The starter: drains the event queue and starts the state machine each event asks for.

EventBridge rules deliver to one SQS queue (moto's EventBridge cannot target Step Functions, and a queue keeps
bursts from flooding Adobe): ``saas.platform`` / ``Tenant Signed Up`` -> provision, ``saas.platform`` /
``Tenant Deleted`` -> deprovision, ``aws.secretsmanager`` changes of a tenant secret -> lifecycle ``rotate_key``.

Each record is processed with Powertools batch processing; a malformed record is reported as a partial batch
failure (it returns to the queue and, after the redrive count, rests in the dead-letter queue: nothing is lost).
Execution names are deterministic (``stripe_aep.tenants.execution_name``), so the same event delivered twice starts
one execution; ``ExecutionAlreadyExists`` counts as started.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, ValidationError

from stripe_aep.errors import InputValidationError
from stripe_aep.metrics import emit_metric
from stripe_aep.tenants import (
    DeprovisionInput,
    ProvisionInput,
    execution_name,
    parse_input,
    tenant_from_secret_name,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

PLATFORM_SOURCE = "saas.platform"
SIGNED_UP, DELETED = "Tenant Signed Up", "Tenant Deleted"
SECRETS_SOURCE = "aws.secretsmanager"
#: CloudTrail events of Secrets Manager that mean a tenant's Stripe key changed.
SECRET_CHANGES = ("PutSecretValue", "UpdateSecret", "RotationSucceeded")
#: Secrets Manager appends "-" and 6 random characters to a secret's ARN.
_ARN_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")

logger = Logger()


class TriggerSettings(BaseModel):
    """The starter's environment (template.yaml): the three state machines and the tenant secret prefix."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    provision_state_machine_arn: str
    deprovision_state_machine_arn: str
    lifecycle_state_machine_arn: str
    tenant_secret_prefix: str = "stripe-aep/tenants/"  # noqa: S105 (a name prefix, not a secret)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TriggerSettings:
        """Read the settings from ``env`` (default ``os.environ``); raises ``pydantic.ValidationError``."""
        source = os.environ if env is None else env
        return cls.model_validate({k.lower(): v for k, v in source.items()})


# Report every failed record, even when all of a batch fail, rather than failing the invocation as a whole.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def plan_start(event: EventBridgeModel, settings: TriggerSettings) -> tuple[str, str, dict[str, Any]]:
    """Which state machine an event starts, with which execution name and input.

    Returns ``(state_machine_arn, execution_name, input)``; the name is ``{operation}-{tenant}-{hash of the
    event id}``, so a redelivery of the same event (SQS delivers at least once) starts nothing new, while a new
    event for the same tenant (a signup sent again after a failure, a second key change) is a new request.
    Raises ``InputValidationError`` naming the field for an event of an unknown source or detail-type, an
    invalid tenant id, or a detail that carries anything the console input does not allow (a secret, say).
    """
    if event.source == PLATFORM_SOURCE and event.detail_type == SIGNED_UP:
        provision = parse_input(ProvisionInput, event.detail)
        arn, operation, tenant_id = settings.provision_state_machine_arn, "provision", provision.tenantId
        payload = provision.model_dump(exclude_none=True)
    elif event.source == PLATFORM_SOURCE and event.detail_type == DELETED:
        deprovision = parse_input(DeprovisionInput, event.detail)
        arn, operation, tenant_id = settings.deprovision_state_machine_arn, "deprovision", deprovision.tenantId
        payload = deprovision.model_dump()
    elif event.source == SECRETS_SOURCE:
        arn, operation = settings.lifecycle_state_machine_arn, "rotate-key"
        tenant_id = _changed_tenant_secret(event, settings.tenant_secret_prefix)
        payload = {"operation": "rotate_key", "tenantId": tenant_id}
    else:
        raise InputValidationError(f"detail-type: no state machine starts on {event.source}/{event.detail_type}")
    return arn, execution_name(operation, tenant_id, {"event": event.id}), payload


def _changed_tenant_secret(event: EventBridgeModel, prefix: str) -> str:
    """The tenant whose Stripe key secret a Secrets Manager (CloudTrail) event says was changed."""
    detail: dict[str, Any] = event.detail if isinstance(event.detail, dict) else {}
    params = detail.get("requestParameters") or {}
    if detail.get("eventName") not in SECRET_CHANGES:
        raise InputValidationError(f"detail.eventName: only {', '.join(SECRET_CHANGES)} start a key rotation")
    if any(field in params for field in ("secretString", "secretBinary")):
        raise InputValidationError("detail.requestParameters: an event must not carry a secret value")
    secret_id = str(params.get("secretId") or (detail.get("additionalEventData") or {}).get("SecretId", ""))
    tenant_id = tenant_from_secret_name(prefix, _ARN_SUFFIX.sub("", secret_id.split(":secret:", 1)[-1]))
    if tenant_id is None:
        raise InputValidationError("detail.requestParameters.secretId: not a tenant secret")
    return tenant_id


def start_handler(
    env: Mapping[str, str] | None = None,
) -> Callable[[dict[str, Any], LambdaContext], PartialItemFailureResponse]:
    """The SQS batch handler, with its settings read now from ``env`` (default ``os.environ``); the function
    builds it on its first event (``stripe_aep.handler.deferred_handler``)."""
    settings = TriggerSettings.from_env(env)

    def start(record: SQSRecord) -> None:
        _start(record, settings)

    @logger.inject_lambda_context(log_event=False, clear_state=True)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        """``{"batchItemFailures": [{"itemIdentifier": messageId}, ...]}`` for the records that failed."""
        return process_partial_response(event=event, record_handler=start, processor=processor, context=context)

    return lambda_handler


def _start(record: SQSRecord, settings: TriggerSettings) -> None:
    # The parser package builds all of Powertools' event models: imported on the first record, not at cold start.
    from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

    try:
        event = EventBridgeModel.model_validate(json.loads(record.body))
        arn, name, payload = plan_start(event, settings)
    except (ValueError, ValidationError, InputValidationError) as exc:
        reason = (
            str(exc) if isinstance(exc, InputValidationError) else f"not an EventBridge event ({type(exc).__name__})"
        )
        # The body is not logged (it may hold what it must not); the message stays on the queue, then the DLQ.
        logger.warning("event rejected", extra={"message_id": record.message_id, "reason": reason})
        emit_metric("EventsRejected", 1)
        raise InputValidationError(f"message {record.message_id}: {reason}") from None
    client = boto3.client("stepfunctions")
    try:
        client.start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload))
        logger.info("execution started", extra={"execution": name})
        emit_metric("ExecutionsStarted", 1)
    except client.exceptions.ExecutionAlreadyExists:
        logger.info("execution already started (a redelivered event)", extra={"execution": name})
