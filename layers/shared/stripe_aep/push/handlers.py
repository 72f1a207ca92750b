"""The two push-health Lambdas' handlers, built on the first event (``stripe_aep.handler.deferred_handler``) from
the environment read at cold start.

``webhook_receiver`` (Function URL): ``TABLE_NAME``, ``WEBHOOK_QUEUE_URL``, ``WEBHOOK_KEY_HOST`` (fixed to
``https://static.adobeioevents.com`` in the template; the local stack points it at the simulator),
``WEBHOOK_MAX_BODY_BYTES`` (default 262144), ``WEBHOOK_MAX_EVENT_AGE_S`` (default 3600),
``WEBHOOK_RECIPIENT_CLIENT_ID`` (optional). The key cache lives as long as the process (at most 24 h a key).

``flow_run_processor`` (SQS, partial batch failures): ``TABLE_NAME``, ``HEALTH_TOPIC_ARN``, ``HEALTH_GRACE_S``.
Emits ``PushEvents`` (count, dimension ``outcome``: applied, unchanged, duplicates, unknownFlows, inactive,
outOfOrder) and ``HealthAlerts``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from stripe_aep.metrics import emit_metric
from stripe_aep.store import Store

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BatchProcessor
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from .receiver import WebhookReceiver

# Each factory imports what its own Lambda uses: the receiver neither the health sweep nor Powertools' batch
# utility, the processor neither requests nor cryptography (the signature check).
__all__ = ["flow_run_processor", "webhook_receiver"]

logger = Logger()
Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def _sender() -> Any:
    sqs = boto3.client("sqs")

    def send(queue_url: str, body: str, event_id: str) -> None:
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=body,
            MessageAttributes={"eventId": {"DataType": "String", "StringValue": event_id}},
        )

    return send


def _receiver(env: Mapping[str, str]) -> WebhookReceiver:
    from .receiver import ReceiverSettings, WebhookReceiver
    from .signature import ADOBE_KEY_HOST, KeyCache

    return WebhookReceiver(
        ReceiverSettings(
            queue_url=env["WEBHOOK_QUEUE_URL"],
            max_body_bytes=int(env.get("WEBHOOK_MAX_BODY_BYTES", "262144")),
            max_event_age_s=int(env.get("WEBHOOK_MAX_EVENT_AGE_S", "3600")),
            recipient_client_id=env.get("WEBHOOK_RECIPIENT_CLIENT_ID", ""),
        ),
        KeyCache(env.get("WEBHOOK_KEY_HOST", ADOBE_KEY_HOST)),
        Store(env["TABLE_NAME"]),
        _sender(),
    )


def webhook_receiver(env: Mapping[str, str]) -> Handler:
    """The receiver's handler, configured from ``env`` (the function's environment at cold start): Function
    URL request -> HTTP answer (``stripe_aep.push.receiver``). The request is never logged. The receiver and
    its key cache live as long as the process."""
    receiver = _receiver(env)

    @logger.inject_lambda_context(log_event=False, clear_state=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        answer = receiver.handle(event)
        emit_metric("WebhookRequests", 1, status=str(answer["statusCode"]))
        return answer

    return handler


def flow_run_processor(env: Mapping[str, str]) -> Handler:
    """The processor's handler, configured from ``env``: SQS batch of verified notifications -> health
    updates; answers ``{"batchItemFailures": [...]}``."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    batch = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    settings = dict(env)

    @logger.inject_lambda_context(log_event=False, clear_state=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return _process_batch(settings, batch, event, context)

    return handler


def _process_batch(
    env: Mapping[str, str], batch: BatchProcessor, event: dict[str, Any], context: LambdaContext
) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import process_partial_response

    from stripe_aep.health.classify import HealthPolicy
    from stripe_aep.health.sweep import SnsPublisher

    from .processor import FlowRunProcessor

    topic = env.get("HEALTH_TOPIC_ARN", "")
    processor = FlowRunProcessor(
        Store(env["TABLE_NAME"]),
        SnsPublisher(topic) if topic else None,
        policy=HealthPolicy(grace_s=int(env.get("HEALTH_GRACE_S", "900"))),
    )

    def handle(record: SQSRecord) -> str:
        attributes: Any = record.raw_event.get("messageAttributes") or {}
        event_id = (attributes.get("eventId") or {}).get("stringValue")
        return processor.process(record.body, event_id if isinstance(event_id, str) else None)

    answer = dict(process_partial_response(event=event, record_handler=handle, processor=batch, context=context))
    for outcome, count in processor.counts.items():
        if outcome == "alerts":
            emit_metric("HealthAlerts", count)
        else:
            emit_metric("PushEvents", count, outcome=outcome)
    logger.info("flow run notifications processed", extra={"counts": dict(processor.counts)})
    return answer
