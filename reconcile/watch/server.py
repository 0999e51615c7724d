"""The HTTP side of ``watch``: ``POST /webhook`` (Stripe's deliveries), ``GET /healthz`` and ``GET /metrics``.

The standard library's threading server, as the sandbox uses: a delivery is a few KiB, answered as soon
as it is verified and queued (Stripe wants a 2xx within seconds; the reconcile runs on the loop thread).
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

from reconcile.watch.events import MalformedEvent, read_event
from reconcile.watch.loop import Watcher
from reconcile.watch.metrics import CONTENT_TYPE
from reconcile.watch.signature import BadSignature, verify

log = logging.getLogger("reconcile.watch")

# Stripe's events are a few KiB; anything near this is not one of them, and is refused unread.
MAX_BODY = 256 * 1024
READ_TIMEOUT = 10.0  # seconds a client may take to send its request


class WatchServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], watcher: Watcher, secrets: tuple[str, ...]) -> None:
        super().__init__(address, _Handler)
        self.watcher = watcher
        self.secrets = secrets  # empty: no /webhook (poll mode)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="watch-http", daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: WatchServer
    protocol_version = "HTTP/1.1"
    timeout = READ_TIMEOUT
    server_version = "reconcile-watch"
    sys_version = ""
    _ROUTES: ClassVar[dict[tuple[str, str], str]] = {
        ("POST", "/webhook"): "_webhook",
        ("GET", "/healthz"): "_healthz",
        ("GET", "/metrics"): "_metrics",
    }

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        name = self._ROUTES.get((method, path))
        if name is None or (name == "_webhook" and not self.server.secrets):
            self._answer(404, {"error": f"no {method} {path} here"}, close=method == "POST")
            return
        getattr(self, name)()

    def _webhook(self) -> None:
        watcher = self.server.watcher
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.isdigit():
            self._answer(411, {"error": "a Content-Length is required"}, close=True)
            return
        length = int(length_text)
        if length > MAX_BODY:
            log.warning("watch: refused a %d-byte webhook body (the limit is %d)", length, MAX_BODY)
            watcher.refused("too_large")
            self._answer(413, {"error": f"the body is over {MAX_BODY} bytes"}, close=True)
            return
        body = self.rfile.read(length)
        try:
            verify(body, self.headers.get("Stripe-Signature"), self.server.secrets)
        except BadSignature as error:
            log.warning("watch: refused a webhook from %s: bad signature: %s", self.client_address[0], error)
            watcher.refused("bad_signature")
            self._answer(400, {"error": "bad signature"})
            return
        try:
            touch = read_event(json.loads(body))
        except (ValueError, MalformedEvent) as error:
            log.warning("watch: refused a signed webhook that is not an event: %s", error)
            watcher.refused("malformed")
            self._answer(400, {"error": "not a Stripe event"})
            return
        outcome = watcher.receive(touch)
        log.debug("watch: %s %s (%s): %s", touch.event_id, touch.type, touch.account or "platform", outcome)
        self._answer(200, {"received": True, "outcome": outcome})

    def _healthz(self) -> None:
        ok, status = self.server.watcher.health()
        self._answer(200 if ok else 503, {"status": status})

    def _metrics(self) -> None:
        self._send(200, self.server.watcher.metrics.text(), CONTENT_TYPE)

    def _answer(self, status: int, body: dict[str, object], *, close: bool = False) -> None:
        if close:
            self.close_connection = True
        self._send(status, json.dumps(body).encode() + b"\n", "application/json", close=close)

    def _send(self, status: int, body: bytes, content_type: str, *, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("watch: http: " + format, *args)
