"""``stripe-aep local up|down|add-tenant``: the moto + AEP simulator stack in a long-lived process.

moto keeps its state in the process that runs it, and the Lambda handlers run inside that process too
(``local.stack.lambda_hook``), so ``local up`` keeps a ``LocalStack`` running, with the event path live
(``local.stack.wiring``: SQS event source mapping, Secrets Manager change events, health schedule), and writes
what other processes need to reach it to the stack file (``backend.default_stack_file()``)::

    {"awsEndpoint": "http://127.0.0.1:PORT", "region": "us-east-1", "simulatorUrl": "http://127.0.0.1:PORT",
     "controlUrl": "http://127.0.0.1:PORT", "projectRoot": "/path/to/checkout", "wiring": {...},
     "outputs": {...template Outputs...}, "pid": 1234, "startedAt": 1767225600, "seededTenants": ["acme"]}

``startedAt`` is epoch seconds. ``--local`` commands then talk to moto over HTTP with boto3; ``controlUrl``
(loopback) is where ``local add-tenant`` registers a Stripe key with the simulator, which lives in that
process. The file never holds a secret (the fake Adobe credential and the Stripe keys stay in that process
and in moto).

The stack needs the project's checkout (template.yaml, functions/, statemachine/, local/): ``find_project``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from stripe_aep_cli.backend import BackendError, process_alive, read_stack_file

#: Tenants `--seed-demo` registers (the same as `make demo`), with their resource paths.
DEMO_TENANTS: dict[str, list[str]] = {
    "acme": ["charges", "subscriptions", "refunds", "balance_transactions", "customers", "prices"],
    "globex": ["charges", "refunds", "customers"],
}


def demo_stripe_key(tenant_id: str) -> str:
    """The fake Stripe secret key ``--seed-demo`` stores for a demo tenant (the simulator accepts it)."""
    return f"sk_test_demo_{tenant_id}_51NbX2fakefakefake"


#: What a Stripe secret key looks like (Stripe's format: sk_test_/sk_live_/rk_... then letters and digits).
STRIPE_KEY = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9_]{8,200}$")


def find_project(given: Path | None = None) -> Path:
    """The checkout ``local up`` runs: ``given``, else the one holding this package, else the working
    directory or a parent of it with template.yaml and local/aep_simulator. Raises ``BackendError``."""
    candidates = [given] if given else [Path(__file__).resolve().parents[2], Path.cwd(), *Path.cwd().parents]
    for candidate in candidates:
        if candidate and (candidate / "template.yaml").is_file() and (candidate / "local" / "aep_simulator").is_dir():
            return candidate.resolve()
    where = str(given) if given else "this folder or its parents"
    raise BackendError(f"no project checkout (template.yaml, local/aep_simulator) in {where}: pass --project DIR")


def stack_document(stack: Any, seeded: list[str], control_url: str, wiring: dict[str, Any]) -> dict[str, Any]:
    """What the stack file holds for a started ``local.stack.LocalStack`` (see the module docstring)."""
    from local.stack import REGION

    return {
        "awsEndpoint": stack.aws_endpoint,
        "region": REGION,
        "simulatorUrl": str(stack.simulator.url),
        "stateDir": str(stack.simulator.state_dir),  # where flow runs write Parquet (`stripe-aep data`)
        "controlUrl": control_url,
        "projectRoot": str(stack.project_root),
        "wiring": wiring,
        "outputs": {k: str(v) for k, v in stack.outputs.items()},
        "pid": os.getpid(),
        "startedAt": int(time.time()),
        "seededTenants": seeded,
    }


def write_stack_file(path: Path, document: dict[str, Any]) -> None:
    """Write the stack file atomically (readers never see half a file), readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(document, indent=2), encoding="utf-8")
    partial.chmod(0o600)
    partial.replace(path)


def add_tenant(stack: Any, tenant_id: str, stripe_key: str) -> tuple[str, bool]:
    """Register ``stripe_key`` with the simulator's Stripe, then write the tenant's secret.

    Returns (the secret's ARN, whether it existed). Writing an existing tenant's secret is a new version: the
    local Secrets Manager rule then starts rotate_key.
    """
    secrets = stack.client("secretsmanager")
    name = f"{stack.environment.get('TENANT_SECRET_PREFIX', 'stripe-aep/tenants/')}{tenant_id}"
    try:
        secrets.describe_secret(SecretId=name)
        existed = True
    except secrets.exceptions.ResourceNotFoundException:
        existed = False
    stack.simulator.register_stripe_key(stripe_key)
    return str(stack.put_tenant_secret(tenant_id, stripe_key)), existed


def seed_demo(stack: Any) -> list[str]:
    """Store each demo tenant's fake Stripe key in Secrets Manager and register it in the simulator."""
    for tenant_id in DEMO_TENANTS:
        add_tenant(stack, tenant_id, demo_stripe_key(tenant_id))
    return list(DEMO_TENANTS)


def _control_server(stack: Any) -> ThreadingHTTPServer:
    """Loopback HTTP on an ephemeral port: ``POST /tenants {"tenantId", "stripeKey"}`` -> ``add_tenant``.

    Answers 201 ``{"tenantId", "secretArn", "newVersion"}`` (newVersion: the secret existed), 400 ``{"error"}``
    for a bad id or key (the key is never echoed).
    """
    from stripe_aep.tenants import validate_tenant_id

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            if self.path != "/tenants":
                self._answer(404, {"error": f"no route {self.path}"})
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                tenant_id = validate_tenant_id(str(body.get("tenantId")))
            except ValueError as exc:
                self._answer(400, {"error": str(exc)})
                return
            key = str(body.get("stripeKey") or "")
            if not STRIPE_KEY.match(key):
                self._answer(400, {"error": "the Stripe key must look like sk_test_... or sk_live_..."})
                return
            arn, existed = add_tenant(stack, tenant_id, key)
            self._answer(201, {"tenantId": tenant_id, "secretArn": arn, "newVersion": existed})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.2,), name="local-control", daemon=True).start()
    return server


def run_foreground(
    stack_file: Path, seed: bool, announce: Any, project: Path | None = None, health_interval_s: float = 60
) -> None:
    """Start the stack and its event wiring, write ``stack_file``, block until SIGINT/SIGTERM, stop, remove it.

    Raises ``BackendError`` when a live process already serves ``stack_file`` or no checkout is found.
    """
    _refuse_if_running(stack_file)
    root = find_project(project)
    from local.stack import LocalStack
    from local.stack.wiring import EventWiring

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with LocalStack(project_root=root) as stack:
            seeded = seed_demo(stack) if seed else []
            control = _control_server(stack)
            wiring = EventWiring(stack, health_interval_s=health_interval_s).start()
            host, port = control.server_address[:2]
            document = stack_document(stack, seeded, f"http://{host!s}:{port}", wiring.describe())
            write_stack_file(stack_file, document)
            try:
                announce(document)
                while not stop.wait(1.0):
                    pass
            finally:
                stack_file.unlink(missing_ok=True)
                wiring.stop()
                control.shutdown()
                control.server_close()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def start_background(
    stack_file: Path,
    seed: bool,
    log_file: Path,
    project: Path | None = None,
    health_interval_s: float = 60,
    timeout_s: float = 120,
) -> dict[str, Any]:
    """Run ``local up`` in a new session, its output in ``log_file``; return the stack file once written.

    Raises ``BackendError`` when one is already running, or the process exits or does not write the file in
    ``timeout_s`` seconds (the error carries the log's last lines).
    """
    _refuse_if_running(stack_file)
    stack_file.unlink(missing_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    root = find_project(project)
    command = [sys.executable, "-m", "stripe_aep_cli", "--stack-file", str(stack_file.resolve()), "local", "up"]
    command += ["--project", str(root), "--health-every", str(health_interval_s)]
    if seed:
        command.append("--seed-demo")
    with log_file.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, cwd=root
        )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BackendError(f"local up exited with {process.returncode}:\n{_tail(log_file)}")
        if stack_file.exists():
            document = read_stack_file(stack_file)
            if document.get("pid") == process.pid:
                return document
        time.sleep(0.2)
    process.terminate()
    raise BackendError(f"local up did not start within {timeout_s:.0f} s:\n{_tail(log_file)}")


def stop(stack_file: Path, timeout_s: float = 30) -> int | None:
    """SIGTERM the process serving ``stack_file`` and wait for it to end; returns its pid (None: none ran).

    Raises ``BackendError`` when it is still alive after ``timeout_s`` seconds.
    """
    try:
        document = read_stack_file(stack_file)
    except BackendError:
        return None
    pid = document.get("pid")
    if not isinstance(pid, int) or not process_alive(pid):
        stack_file.unlink(missing_ok=True)
        return None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while process_alive(pid) and not _reaped(pid):
        if time.monotonic() > deadline:
            raise BackendError(f"local stack process {pid} still running {timeout_s:.0f} s after SIGTERM")
        time.sleep(0.1)
    stack_file.unlink(missing_ok=True)
    return pid


def _reaped(pid: int) -> bool:
    """Reap ``pid`` when it is our own exited child (a zombie still answers signal 0)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == pid


def _refuse_if_running(stack_file: Path) -> None:
    if not stack_file.exists():
        return
    try:
        pid = read_stack_file(stack_file).get("pid")
    except BackendError:
        return
    if isinstance(pid, int) and process_alive(pid):
        raise BackendError(f"a local stack (pid {pid}) already serves {stack_file}: `stripe-aep local down`")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
