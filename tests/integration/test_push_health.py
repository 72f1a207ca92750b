"""Push health on the one-machine stack: the simulator plays Adobe I/O Events (its own key pairs, its key host),
delivering flow run notifications to `WebhookReceiverFunction`'s Function URL; accepted deliveries go through
the SQS queue to `FlowRunProcessorFunction`. Every test asserts DynamoDB, the alert topic and the delivery
answers afterwards. The rejection matrix: each forged, replayed or oversized request is refused with its
status and leaves nothing behind (no event item, no queued message, no health change, no alert).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from local.aep_simulator.io_events import Delivery
from local.stack import LocalStack
from stripe_aep.push import FlowRunProcessor
from stripe_aep.store import Store, dataflow_key
from tests.integration.conftest import REPO, TenantFactory, check_contract, require_app
from tests.integration.support import alert_queue, provision_tenant, table_store

TENANT = "pushy"


@dataclass
class Pushed:
    stack: LocalStack
    store: Store
    flow_id: str
    alerts: Callable[[], list[dict[str, Any]]]
    endpoint: Any

    @property
    def url(self) -> str:
        return self.stack.function_url("WebhookReceiverFunction")

    def item(self) -> dict[str, Any]:
        found = self.store.get(dataflow_key(TENANT, "charges"))
        assert found is not None
        return found

    def settle(self) -> None:
        """Wait for every delivery and the processing it started."""
        self.stack.simulator.io_events.wait_idle()
        self.endpoint.wait_idle()

    def event_items(self) -> list[dict[str, Any]]:
        table = self.store.table
        return [i for i in table.scan().get("Items", []) if str(i["pk"]).startswith("WEBHOOK#")]

    def queued(self) -> int:
        sqs = self.stack.client("sqs")
        url = self.stack.resources["FlowRunQueue"]
        attrs = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    """The one-machine stack with push health deployed (``PushHealth=true``, off by default: the webhook is
    registered with Adobe I/O first); requests checked against Adobe's specs on teardown as everywhere."""
    require_app()
    with LocalStack(project_root=REPO, parameter_overrides={"PushHealth": "true"}) as started:
        yield started
        check_contract(started.simulator)


def test_push_health_is_off_by_default() -> None:
    """Without ``PushHealth=true`` the template deploys no webhook: the scheduled sweep is the alerting path."""
    require_app()
    with LocalStack(project_root=REPO) as default:
        assert "WebhookReceiverFunction" not in default.functions
        assert "FlowRunQueue" not in default.resources
        assert "StartFlowRunFunction" in default.functions  # run now does not depend on push


@pytest.fixture
def pushed(stack: LocalStack, tenant_factory: TenantFactory) -> Iterator[Pushed]:
    tenant_factory(TENANT)
    provision_tenant(stack, TENANT, ["charges"])  # its first run ends before push is on: no delivery
    store = table_store(stack)
    item = store.get(dataflow_key(TENANT, "charges"))
    assert item is not None
    endpoint = stack.enable_push()
    yield Pushed(stack, store, str(item["flow_id"]), alert_queue(stack), endpoint)


def _fail(p: Pushed, **kw: Any) -> dict[str, Any]:
    now = p.stack.simulator.now_ms()  # later than the provisioning's first run
    kw.setdefault("started_at_ms", now)
    kw.setdefault("completed_at_ms", now + 1_000)
    return p.stack.simulator.add_run(p.flow_id, "failed", **kw)


def test_challenge_is_answered(pushed: Pushed) -> None:
    answer = requests.get(pushed.url, params={"challenge": "8ec8d794-e0ab-42df-9017-e3dada8e84f7"}, timeout=10)
    assert answer.status_code == 200
    assert answer.json() == {"challenge": "8ec8d794-e0ab-42df-9017-e3dada8e84f7"}
    assert requests.get(pushed.url, params={"challenge": "<script>"}, timeout=10).status_code == 400


def test_valid_delivery_updates_health_and_alerts_once(pushed: Pushed) -> None:
    run = _fail(pushed)
    pushed.settle()
    deliveries = pushed.stack.simulator.io_events.deliveries
    assert [d.status for d in deliveries] == [200]
    item = pushed.item()
    assert item["health_status"] == "FAILED"
    assert item["last_run_id"] == run["id"]
    assert item["health_errors"][0]["code"] == "CONNECTOR-2001-500"
    alerts = pushed.alerts()
    assert [(a["kind"], a["status"], a["lastRunId"]) for a in alerts] == [("ALERT", "FAILED", run["id"])]
    assert pushed.queued() == 0
    # The sweep afterwards sees the same run: no second alert, and nothing push missed.
    swept = pushed.stack.invoke("HealthCheckFunction", {"pushHealth": True})
    assert swept["missedByPush"] == 0, swept
    assert pushed.alerts() == []


def test_the_same_event_twice_is_one_update(pushed: Pushed) -> None:
    pushed.stack.simulator.io_events.plan(Delivery(copies=2))
    _fail(pushed)
    pushed.settle()
    answers = sorted(json.dumps(d.answer, sort_keys=True) for d in pushed.stack.simulator.io_events.deliveries)
    assert [d.status for d in pushed.stack.simulator.io_events.deliveries] == [200, 200]
    assert sum('"duplicate": true' in a for a in answers) == 1, answers
    assert len(pushed.event_items()) == 1
    assert len(pushed.alerts()) == 1
    # At least once from SQS too: the processor marks the event id, a second message changes nothing.
    item_before = pushed.item()
    pushed.stack.simulator.io_events.plan(Delivery(drop=True))
    body, event_id, _ = pushed.stack.simulator.io_events.notification(_fail(pushed))
    processor = FlowRunProcessor(pushed.store, None)
    assert processor.process(body.decode()) == "applied"
    assert processor.process(body.decode()) == "duplicates"
    assert pushed.item()["last_run_id"] != item_before["last_run_id"]
    assert event_id


def test_keys_are_fetched_once_and_cached(pushed: Pushed) -> None:
    for _ in range(3):
        _fail(pushed)
        pushed.settle()
    assert [d.status for d in pushed.stack.simulator.io_events.deliveries] == [200, 200, 200]
    # Signature 1 verifies each time: key 1 is fetched once and cached (key 2 is only fetched when needed).
    assert pushed.stack.simulator.io_events.key_fetches == 1


def _post(p: Pushed, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(p.url, data=body, headers=headers, timeout=30)


def _signed_failure(p: Pushed, plan: Delivery | None = None) -> tuple[bytes, dict[str, str]]:
    """A correctly signed notification (simulator keys) for a failed run that the simulator does not deliver."""
    p.stack.simulator.io_events.plan(Delivery(drop=True))
    run = _fail(p)
    raw, event_id, code = p.stack.simulator.io_events.notification(run)
    return p.stack.simulator.io_events.signed(raw, event_id, code, plan or Delivery())


def _tampered(p: Pushed) -> tuple[bytes, dict[str, str]]:
    return _signed_failure(p, Delivery(tamper=True))


def _wrong_key(p: Pushed) -> tuple[bytes, dict[str, str]]:
    return _signed_failure(p, Delivery(wrong_key=True))


def _key_path(path: str) -> Callable[[Pushed], tuple[bytes, dict[str, str]]]:
    def make(p: Pushed) -> tuple[bytes, dict[str, str]]:
        return _signed_failure(p, Delivery(key_path=path))

    return make


def _expired(p: Pushed) -> tuple[bytes, dict[str, str]]:
    p.stack.simulator.io_events.plan(Delivery(drop=True))
    now = p.stack.simulator.now_ms()
    run = _fail(p, started_at_ms=now - 3 * 3600_000, completed_at_ms=now - 2 * 3600_000)
    raw, event_id, code = p.stack.simulator.io_events.notification(run)
    return p.stack.simulator.io_events.signed(raw, event_id, code)


def _unsigned(p: Pushed) -> tuple[bytes, dict[str, str]]:
    body, headers = _signed_failure(p)
    del headers["x-adobe-digital-signature-1"]
    return body, headers


def _oversized(p: Pushed) -> tuple[bytes, dict[str, str]]:
    body, headers = _signed_failure(p)
    return body[:-1] + b', "padding": "' + b"x" * (1024 * 1024) + b'"}', headers


REJECTIONS: list[tuple[str, Callable[[Pushed], tuple[bytes, dict[str, str]]], int]] = [
    ("tampered body", _tampered, 401),
    ("wrong key", _wrong_key, 401),
    ("key path off the key host (absolute URL)", _key_path("https://evil.example/prod/keys/pub-key-x.pem"), 401),
    ("key path off the key host (//host)", _key_path("//evil.example/prod/keys/pub-key-x.pem"), 401),
    ("key path off the key host (traversal)", _key_path("/prod/keys/../../evil/pub-key-x.pem"), 401),
    ("expired timestamp", _expired, 400),
    ("missing signature header", _unsigned, 401),
    ("1 MB body", _oversized, 413),
]


@pytest.mark.parametrize(("case", "make", "status"), REJECTIONS, ids=[r[0] for r in REJECTIONS])
def test_rejection_matrix(pushed: Pushed, case: str, make: Callable[..., Any], status: int) -> None:
    before = pushed.item()
    body, headers = make(pushed)
    answer = _post(pushed, body, headers)
    pushed.settle()
    assert answer.status_code == status, (case, answer.text)
    assert pushed.event_items() == []  # nothing stored
    assert pushed.queued() == 0  # nothing queued
    after = pushed.item()
    assert after.get("health_status") == before.get("health_status")
    assert after.get("last_run_id") == before.get("last_run_id")
    assert pushed.alerts() == []
    assert pushed.stack.simulator.io_events.key_fetches <= 2  # never fetched from anywhere else


def test_lost_event_is_found_by_the_next_sweep(pushed: Pushed) -> None:
    pushed.stack.simulator.io_events.plan(Delivery(drop=True))
    run = _fail(pushed)
    pushed.settle()
    assert pushed.stack.simulator.io_events.deliveries == []
    assert pushed.item().get("last_run_id") != run["id"]
    swept = pushed.stack.invoke("HealthCheckFunction", {"pushHealth": True})
    assert swept["missedByPush"] == 1, swept
    assert pushed.item()["health_status"] == "FAILED"
    assert [a["status"] for a in pushed.alerts()] == ["FAILED"]


def test_out_of_order_and_late_deliveries(pushed: Pushed) -> None:
    io = pushed.stack.simulator.io_events
    now = pushed.stack.simulator.now_ms()
    io.plan(Delivery(hold=True), Delivery(hold=True))
    _fail(pushed, started_at_ms=now + 1_000, completed_at_ms=now + 2_000)
    newer = pushed.stack.simulator.add_run(
        pushed.flow_id, "success", started_at_ms=now + 3_000, completed_at_ms=now + 4_000
    )
    io.release(reverse=True, gap_s=1.0)  # the newer success arrives (and is applied) first, the older after it
    pushed.settle()
    assert [d.status for d in io.deliveries] == [200, 200]
    item = pushed.item()
    assert item["last_run_id"] == newer["id"]
    assert item["health_status"] == "HEALTHY"
    assert pushed.alerts() == []
    io.plan(Delivery(delay_s=0.5))  # late, but within the replay window: accepted
    late = _fail(pushed, started_at_ms=now + 5_000, completed_at_ms=now + 6_000)
    time.sleep(0.1)
    assert pushed.item()["last_run_id"] == newer["id"]
    pushed.settle()
    assert pushed.item()["last_run_id"] == late["id"]
    assert [a["status"] for a in pushed.alerts()] == ["FAILED"]


def test_unknown_flow_is_counted_and_dropped(pushed: Pushed) -> None:
    body, _, _ = pushed.stack.simulator.io_events.notification(
        {"id": "run-1", "flowId": "not-ours", "updatedAt": pushed.stack.simulator.now_ms(), "metrics": {}}
    )
    processor = FlowRunProcessor(pushed.store, None)
    assert processor.process(body.decode()) == "unknownFlows"
    assert processor.counts["unknownFlows"] == 1
