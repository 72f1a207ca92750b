"""The local stack's only changes to moto 5.2.5's Step Functions interpreter: caches, no change of behaviour.

Profiling a provisioning at latency 0 (py-spy, GIL samples) showed that moto's ASL interpreter spends most of its
CPU time on work it repeats for every state. moto has no setting for either:

- **JSONPath parsing.** `extract_json` (`asl/utils/json_path.py`) and `ResultPath` (`asl/component/common/path/
  result_path.py`) call `jsonpath_ng.parse` on every evaluation; each call builds a new PLY parser (its LALR
  tables), about 0.35 ms of CPU, some 500 times per provisioning. The parsed expressions are cached here by their
  text (`find` and `update_or_create` do not change an expression).
- **A boto3 client per Lambda task.** `lambda_eval_utils` calls `boto_client_for` for every Task state, so every
  invoke built a new botocore client (about 4 ms of CPU: service model, endpoint rules) and a new connection to
  moto. Clients are cached here by (region, service, moto's port, stubber state) with the same configuration as
  moto's (no retries, its timeouts), and a connection pool large enough for Map x Parallel concurrency. Botocore
  clients are thread-safe. Lambda Tasks do not reach moto's server at all: `lambda_hook.LambdaRuntime.patched`,
  entered after this, wraps this cache and runs them in process (`StepFunctionsLambdaClient`).

- **Parsing the definition per execution.** `ExecutionWorker._get_evaluation_entrypoint` parses the state machine's
  definition with ANTLR for every execution: 100-150 ms of CPU for provision.asl.json, spent after the
  execution's startDate and before its first state. The parsed program is cached here by its definition text
  and each execution gets a deep copy of it (about 4 ms): the same fresh component tree a parse gives, so no
  state is shared between executions.

`installed()` applies all three and undoes them on exit (`LocalStack` enters it for the life of a stack).
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import jsonpath_ng
import jsonpath_ng.ext
from botocore.client import BaseClient
from botocore.config import Config
from moto.core.models import botocore_stubber
from moto.settings import moto_server_port
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.utils import json_path
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

__all__ = ["installed"]

#: Connections each cached client keeps to moto (Map MaxConcurrency x Parallel branches, many tenants).
POOL_CONNECTIONS = 64


def _cached_parse(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    return functools.lru_cache(maxsize=4096)(parse)


class _ClientCache:
    """`boto_client_for(region, service, state_credentials=None)` returning one client per key."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str, str, bool], BaseClient] = {}
        self._lock = threading.Lock()

    def __call__(self, region: str, service: str, state_credentials: Any = None) -> BaseClient:
        stubbed = bool(botocore_stubber.enabled)
        key = (region, service, str(moto_server_port()), stubbed)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self._create(region, service, stubbed)
            return client

    @staticmethod
    def _create(region: str, service: str, stubbed: bool) -> BaseClient:
        # As moto's boto_client_for (asl/utils/boto_client.py), plus the pool size.
        kwargs = {} if stubbed else {"endpoint_url": f"http://localhost:{moto_server_port()}"}
        client: BaseClient = boto3.client(
            aws_access_key_id="ak",
            region_name=region,
            service_name=service,
            aws_secret_access_key="sk",  # noqa: S106 - moto accepts any credentials
            config=Config(
                parameter_validation=False,
                retries={"max_attempts": 0, "total_max_attempts": 1},
                connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                max_pool_connections=POOL_CONNECTIONS,
            ),
            **kwargs,
        )
        return client

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()


@functools.lru_cache(maxsize=64)
def _parsed_program(definition: str) -> Any:
    return AmazonStateLanguageParser.parse(definition)[0]


def _evaluation_entrypoint(worker: ExecutionWorker) -> Any:
    """`ExecutionWorker._get_evaluation_entrypoint`: a fresh copy of the cached parse of the definition."""
    return copy.deepcopy(_parsed_program(worker._evaluation_details.state_machine_details.definition))


@contextmanager
def installed() -> Iterator[None]:
    """Cache moto's JSONPath parses and its Lambda clients for the duration of the block (undone on exit)."""
    saved = (json_path.parse, result_path.parse, lambda_eval_utils.boto_client_for)
    saved_entrypoint = ExecutionWorker._get_evaluation_entrypoint
    clients = _ClientCache()
    json_path.parse = _cached_parse(jsonpath_ng.ext.parse)  # type: ignore[assignment]
    result_path.parse = _cached_parse(jsonpath_ng.parse)  # type: ignore[assignment]
    lambda_eval_utils.boto_client_for = clients
    ExecutionWorker._get_evaluation_entrypoint = _evaluation_entrypoint  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        json_path.parse, result_path.parse, lambda_eval_utils.boto_client_for = saved
        ExecutionWorker._get_evaluation_entrypoint = saved_entrypoint  # type: ignore[method-assign]
        clients.close()
        _parsed_program.cache_clear()
