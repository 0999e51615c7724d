"""HTTP/1.1 in front of an `App`: keep-alive connections, request bodies read under a cap, and Stripe-shaped
answers to what cannot be read (unknown methods, malformed framing, oversized bodies)."""

from __future__ import annotations

import logging
import socket
import socketserver
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import errors
from .app import App, Reply, Request, error_reply
from .errors import ApiError

log = logging.getLogger(__name__)

_JSON = "application/json"
# The largest request body the sandbox reads; a larger one is refused from its headers, unread.
MAX_BODY = 1024 * 1024

_REASONS = {status.value: status.phrase for status in HTTPStatus}


class SandboxServer(ThreadingHTTPServer):
    """A threaded HTTP/1.1 server in front of an `App`."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name, which is slow and pointless on loopback.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host if isinstance(host, str) else host.decode()
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The exception's type only: a message could quote request data, the Authorization header included.
        log.debug("sandbox: error serving a connection from %s", client_address[0], exc_info=False)


class _Framing(Exception):
    """A request the transport refuses before the app sees it: malformed framing or an oversized body."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every answer has a Content-Length
    server: SandboxServer
    # A client that stops sending mid-body frees its thread after this long, as a real server would.
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        return  # request lines are not logged: they are noise in test output

    def __getattr__(self, name: str) -> Any:
        # Every method reaches the app, which answers an unknown one as Stripe does (404, Unrecognized
        # request URL), where BaseHTTPRequestHandler would answer 501 with an HTML page.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # The base class's own refusals (a malformed request line, headers too long) get Stripe's body too.
        self.close_connection = True
        self._send(error_reply(errors.refused_by_transport(code, message or "Bad request.")))

    def _handle(self) -> None:
        path, _, query = self.path.partition("?")
        try:
            body = self._body()
        except _Framing as refused:
            # The rest of the body is not read, so the connection cannot carry another request.
            self.close_connection = True
            self._send(error_reply(refused.error))
            return
        self._send(self.server.app.handle(Request(self.command, path, query, self.headers, body)))

    def _send(self, reply: Reply) -> None:
        payload = reply.body.encode()
        lines = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Error')}", f"Content-Type: {_JSON}"]
        lines += [f"Content-Length: {len(payload)}", "Cache-Control: no-cache, no-store"]
        lines += [f"{name}: {value}" for name, value in reply.headers]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        # One write for head and body: no Nagle delay between them on keep-alive connections.
        self.wfile.write(head if self.command == "HEAD" else head + payload)

    def _body(self) -> bytes:
        """The request body, read no further than MAX_BODY bytes; _Framing when it cannot be read."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._chunked()
        declared = self.headers.get("Content-Length")
        if declared is None:
            return b""
        if not declared.strip().isdigit():
            raise _Framing(errors.malformed_request(f"Invalid Content-Length header: {declared[:40]!r}."))
        length = int(declared)
        if length > MAX_BODY:
            raise _Framing(errors.body_too_large(MAX_BODY))
        body = self.rfile.read(length)
        if len(body) < length:
            raise _Framing(errors.malformed_request("The request body ended before its Content-Length."))
        return body

    def _chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(65537)
            size_text = line.split(b";")[0].strip()
            if not size_text or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
                raise _Framing(errors.malformed_request("Malformed chunked request body."))
            size = int(size_text, 16)
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise _Framing(errors.body_too_large(MAX_BODY))
            chunk = self.rfile.read(size)
            if len(chunk) < size or self.rfile.readline(65537) not in (b"\r\n", b"\n"):
                raise _Framing(errors.malformed_request("Malformed chunked request body."))
            chunks.append(chunk)
