"""A Lambda Function URL on loopback: HTTP requests -> the function's payload format 2.0 event -> its answer.

The local stack starts one when the template's Outputs ask for ``<Function>Url.FunctionUrl`` (SAM's implicit
AWS::Lambda::Url of a function with ``FunctionUrlConfig``): `WebhookReceiverFunction`'s URL is then where
the simulator's I/O Events delivers. Each request is invoked through moto (so the in-process Lambda hook runs
the real handler); with ``after_accept`` set, an accepted delivery (200 with ``accepted``) is followed by
``after_accept()`` in the background, as the queue's event source mapping would hand the message to the
processor on AWS.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["FunctionUrlEndpoint"]

#: Lambda Function URLs accept request bodies up to 6 MB; bigger ones never reach the function.
_MAX_REQUEST_BYTES = 6 * 1024 * 1024


class FunctionUrlEndpoint:
    """``invoke(event) -> answer`` behind ``http://127.0.0.1:<ephemeral>/``; ``stop()`` closes it."""

    def __init__(self, invoke: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self._invoke = invoke
        self.after_accept: Callable[[], Any] | None = None
        self._after_lock = threading.Lock()
        self._pending_after = 0
        endpoint = self

        class _Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # no access log
                pass

            def _handle(self) -> None:
                endpoint._serve(self)

            do_GET = _handle
            do_POST = _handle
            do_PUT = _handle
            do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_idle(self, timeout_s: float = 30.0) -> None:
        """Wait until every ``after_accept`` started so far has returned."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._after_lock:
                if self._pending_after == 0:
                    return
            time.sleep(0.01)
        raise TimeoutError("after_accept still running")

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        split = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        if length > _MAX_REQUEST_BYTES:
            self._send(request, {"statusCode": 413, "body": '{"message": "Request Entity Too Large"}'})
            return
        body = request.rfile.read(length) if length else b""
        now = time.time()
        event = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": split.path,
            "rawQueryString": split.query,
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "queryStringParameters": dict(parse_qsl(split.query)) or None,
            "requestContext": {
                "http": {"method": request.command, "path": split.path, "protocol": "HTTP/1.1"},
                "requestId": str(uuid.uuid4()),
                "timeEpoch": int(now * 1000),
            },
            "body": base64.b64encode(body).decode() if body else None,
            "isBase64Encoded": bool(body),
        }
        answer = self._invoke(event)
        if "errorType" in answer:
            answer = {"statusCode": 502, "body": json.dumps({"message": "Internal Server Error"})}
        accepted = (
            self.after_accept is not None
            and answer.get("statusCode") == 200
            and '"accepted"' in str(answer.get("body"))
        )
        if accepted:  # counted before the answer goes out, so wait_idle never sees an answered, unstarted delivery
            with self._after_lock:
                self._pending_after += 1
        self._send(request, answer)
        if accepted:
            threading.Thread(target=self._after, daemon=True).start()

    def _after(self) -> None:
        try:
            if self.after_accept is not None:
                self.after_accept()
        finally:
            with self._after_lock:
                self._pending_after -= 1

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, answer: dict[str, Any]) -> None:
        payload = str(answer.get("body") or "").encode()
        request.send_response(int(answer.get("statusCode", 200)))
        for name, value in (answer.get("headers") or {}).items():
            request.send_header(str(name), str(value))
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)
