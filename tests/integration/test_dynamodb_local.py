"""The local stack's DynamoDB is Amazon's DynamoDB Local: conditional writes have one winner under concurrency.

moto's DynamoDB (the stack before) evaluates a condition and writes without a lock: measured on moto 5 alone,
20 concurrent `Store.claim_intent` calls on one key had 2, 1, 1, 1, 2, 1, 1, 1, 2, 4 winners in 10 trials.
These tests send the writes through the stack's one
endpoint (moto passes DynamoDB through) exactly as the handlers do.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.stack import LocalStack
from local.stack.dynamodb_local import DynamoDBLocal
from stripe_aep.errors import ConcurrentModificationError
from stripe_aep.store import Store, dataflow_key

WRITERS = 20
TRIALS = 5


def _race(writers: int, write: Callable[[int], None]) -> list[str]:
    """Run `write(i)` in `writers` threads released at once; returns each one's outcome ("won" or the error)."""
    barrier = threading.Barrier(writers, timeout=60)
    outcomes: list[str] = [""] * writers

    def run(i: int) -> None:
        barrier.wait()
        try:
            write(i)
            outcomes[i] = "won"
        except ClientError as exc:
            outcomes[i] = exc.response["Error"]["Code"]
        except ConcurrentModificationError:
            outcomes[i] = "ConcurrentModificationError"

    threads = [threading.Thread(target=run, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def _clients(stack: LocalStack, n: int) -> list[Any]:
    """One DynamoDB client per writer, each with its own connection pool (as concurrent Lambdas have)."""
    return [
        boto3.client(
            "dynamodb",
            endpoint_url=stack.aws_endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}),
        )
        for _ in range(n)
    ]


def test_concurrent_conditional_puts_on_one_key_have_exactly_one_winner(stack: LocalStack) -> None:
    table = stack.outputs["TableName"]
    clients = _clients(stack, WRITERS)
    winners_per_trial = []
    for trial in range(TRIALS):
        key = {"pk": {"S": f"RACE#{trial}"}, "sk": {"S": "ONE"}}

        def put(i: int, key: dict[str, Any] = key) -> None:
            clients[i].put_item(
                TableName=table,
                Item={**key, "writer": {"N": str(i)}},
                ConditionExpression="attribute_not_exists(pk)",
            )

        outcomes = _race(WRITERS, put)
        assert set(outcomes) <= {"won", "ConditionalCheckFailedException"}, outcomes
        winners = [i for i, outcome in enumerate(outcomes) if outcome == "won"]
        winners_per_trial.append(len(winners))
        stored = clients[0].get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
        assert int(stored["writer"]["N"]) in winners
    assert winners_per_trial == [1] * TRIALS


def test_create_claim_has_exactly_one_winner_under_concurrency(stack: LocalStack) -> None:
    """`Store.claim_intent` (the product's conditional write before each Adobe create): one owner wins."""
    table = stack.outputs["TableName"]
    stores = [
        Store(table, table=boto3.resource("dynamodb", endpoint_url=stack.aws_endpoint).Table(table))
        for _ in range(WRITERS)
    ]
    for trial in range(2 * TRIALS):
        key = dataflow_key(f"race{trial}", "/v1/customers")

        def claim(i: int, key: tuple[str, str] = key) -> None:
            stores[i].claim_intent(key, "flow", owner=f"provision-{i}")

        outcomes = _race(WRITERS, claim)
        assert sorted(set(outcomes)) == ["ConcurrentModificationError", "won"], outcomes
        winner = outcomes.index("won")
        assert outcomes.count("won") == 1
        item = stores[0].get(key) or {}
        assert item["flow_intent_owner"] == f"provision-{winner}"


def test_dynamodb_local_refuses_what_the_service_refuses(stack: LocalStack) -> None:
    """A table name of 2 characters: moto created it, DynamoDB (3-255 characters) refuses it."""
    dynamodb = stack.client("dynamodb")
    with pytest.raises(ClientError) as refused:
        dynamodb.create_table(
            TableName="ab",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "ab" not in dynamodb.list_tables()["TableNames"]


def test_an_own_dynamodb_local_starts_empty_and_leaves_no_process() -> None:
    own = DynamoDBLocal().start()
    pid = own.pid
    assert pid is not None
    client = boto3.client(
        "dynamodb",
        endpoint_url=own.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert client.list_tables()["TableNames"] == []
    own.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
