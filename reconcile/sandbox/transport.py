"""HTTP/1.1 in front of an `App`: keep-alive connections, request bodies read under a cap, and Stripe-shaped
answers to what cannot be read (unknown methods, malformed framing, oversized bodies)."""

from __future__ import annotations

import logging
import socket
import socketserver
import time
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
# After a refusal, how long the sandbox goes on reading (and dropping) what the client still sends, in all
# and without a byte arriving (nginx's lingering_time and lingering_timeout): a client that writes its whole
# body before reading the answer then reads the answer, where closing at once would reset the connection.
LINGER_SECONDS = 30.0
LINGER_IDLE_SECONDS = 2.0
_DRAIN_READ = 1 << 16

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
    """A request the transport refuses before the app sees it: malformed framing or an oversized body.

    `unread` is how many body bytes are still to come when that is known (a declared Content-Length), else
    None: the rest of the connection is read and dropped until the client stops sending.
    """

    def __init__(self, error: ApiError, unread: int | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.unread = unread


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

    def handle_expect_100(self) -> bool:
        # A client that asks before sending (curl does for large bodies) gets the refusal instead of
        # "100 Continue", and then need not send the body at all.
        try:
            self._declared_length()
        except _Framing as refused:
            self._refuse(refused)
            return False
        return super().handle_expect_100()

    def _handle(self) -> None:
        path, _, query = self.path.partition("?")
        try:
            body = self._body()
        except _Framing as refused:
            self._refuse(refused)
            return
        self._send(self.server.app.handle(Request(self.command, path, query, self.headers, body)))

    def _refuse(self, refused: _Framing) -> None:
        # The rest of the body is not read into the request, so the connection cannot carry another one.
        self.close_connection = True
        self._send(error_reply(refused.error))
        self._linger(refused.unread)

    def _linger(self, unread: int | None) -> None:
        """Read and drop what the client still sends, a buffer at a time, so that it gets to read the answer.

        Stops at `unread` bytes when that is known, at the end of the stream, after LINGER_IDLE_SECONDS
        without a byte, or after LINGER_SECONDS in all; closing with unread data would make the kernel
        reset the connection, and a client still writing its body would see that reset, not the answer.
        """
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)  # the answer is complete: the client may stop waiting
        except OSError:
            return
        deadline = time.monotonic() + LINGER_SECONDS
        self.connection.settimeout(LINGER_IDLE_SECONDS)
        while (unread is None or unread > 0) and time.monotonic() < deadline:
            try:
                dropped = self.rfile.read1(_DRAIN_READ if unread is None else min(_DRAIN_READ, unread))
            except OSError:  # idle too long (TimeoutError), or the client reset the connection
                return
            if not dropped:
                return
            if unread is not None:
                unread -= len(dropped)

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
        length = self._declared_length()
        if length is None:
            return self._chunked()
        body = self.rfile.read(length)
        if len(body) < length:
            raise _Framing(errors.malformed_request("The request body ended before its Content-Length."))
        return body

    def _declared_length(self) -> int | None:
        """The Content-Length, checked against MAX_BODY from the headers alone; None for a chunked body."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return None
        declared = self.headers.get("Content-Length")
        if declared is None:
            return 0
        if not declared.strip().isdigit():
            raise _Framing(errors.malformed_request(f"Invalid Content-Length header: {declared[:40]!r}."))
        length = int(declared)
        if length > MAX_BODY:
            raise _Framing(errors.body_too_large(MAX_BODY), unread=length)
        return length

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
