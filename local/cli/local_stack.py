"""``stripe-aep local up|down``: the moto + AEP simulator stack in a long-lived process.

moto keeps its state in the process that runs it, and the Lambda handlers run inside that process too
(``local.stack.lambda_hook``), so ``local up`` keeps a ``LocalStack`` running and writes what other processes
need to reach it to the stack file (default ``.local/stack.json``)::

    {"awsEndpoint": "http://127.0.0.1:PORT", "region": "us-east-1", "simulatorUrl": "http://127.0.0.1:PORT",
     "stateDir": "/tmp/aep-simulator-…", "outputs": {...template Outputs...}, "pid": 1234,
     "startedAt": 1767225600, "seededTenants": ["acme"]}

``startedAt`` is epoch seconds. ``--local`` commands then talk to moto over HTTP with boto3. The file never
holds a secret (the fake Adobe credential and the demo Stripe keys stay in that process and in moto).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from local.cli.backend import BackendError, process_alive, read_stack_file

ROOT = Path(__file__).resolve().parents[2]
#: Tenants `--seed-demo` registers (the same as `make demo`), with their resource paths.
DEMO_TENANTS: dict[str, list[str]] = {
    "acme": ["charges", "subscriptions", "refunds", "balance_transactions", "customers", "prices"],
    "globex": ["charges", "refunds", "customers"],
}


def demo_stripe_key(tenant_id: str) -> str:
    """The fake Stripe secret key ``--seed-demo`` stores for a demo tenant (the simulator accepts it)."""
    return f"sk_test_demo_{tenant_id}_51NbX2fakefakefake"


def stack_document(stack: Any, seeded: list[str]) -> dict[str, Any]:
    """What the stack file holds for a started ``local.stack.LocalStack`` (see the module docstring)."""
    from local.stack import REGION

    return {
        "awsEndpoint": stack.aws_endpoint,
        "region": REGION,
        "simulatorUrl": str(stack.simulator.url),
        "stateDir": str(stack.simulator.state_dir),  # where flow runs write Parquet (`stripe-aep data`)
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


def seed_demo(stack: Any) -> list[str]:
    """Store each demo tenant's fake Stripe key in Secrets Manager and register it in the simulator."""
    for tenant_id in DEMO_TENANTS:
        key = demo_stripe_key(tenant_id)
        stack.put_tenant_secret(tenant_id, key)
        stack.simulator.register_stripe_key(key)
    return list(DEMO_TENANTS)


def run_foreground(stack_file: Path, seed: bool, announce: Any) -> None:
    """Start the stack, write ``stack_file``, block until SIGINT/SIGTERM, stop, remove the file.

    Raises ``BackendError`` when a live process already serves ``stack_file``.
    """
    _refuse_if_running(stack_file)
    from local.stack import LocalStack

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with LocalStack(project_root=ROOT) as stack:
            seeded = seed_demo(stack) if seed else []
            document = stack_document(stack, seeded)
            write_stack_file(stack_file, document)
            try:
                announce(document)
                while not stop.wait(1.0):
                    pass
            finally:
                stack_file.unlink(missing_ok=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def start_background(stack_file: Path, seed: bool, log_file: Path, timeout_s: float = 120) -> dict[str, Any]:
    """Run ``local up`` in a new session, its output in ``log_file``; return the stack file once written.

    Raises ``BackendError`` when one is already running, or the process exits or does not write the file in
    ``timeout_s`` seconds (the error carries the log's last lines).
    """
    _refuse_if_running(stack_file)
    stack_file.unlink(missing_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "local.cli", "--stack-file", str(stack_file.resolve()), "local", "up"]
    if seed:
        command.append("--seed-demo")
    with log_file.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
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
