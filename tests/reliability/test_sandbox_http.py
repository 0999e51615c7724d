"""Malformed HTTP gets a Stripe-shaped 4xx from the sandbox, never a hang, a dropped connection or a huge read."""

from __future__ import annotations

import http.client
import json
import socket
import tracemalloc
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest

from reconcile.sandbox import Sandbox

pytestmark = pytest.mark.reliability

AUTH = b"Authorization: Bearer sk_test_sandbox\r\n"

Exchange = Callable[..., tuple[int, dict[str, str], dict[str, dict[str, str]]]]


@pytest.fixture
def exchange(sandbox: Sandbox) -> Exchange:
    """Send raw bytes on a fresh connection; the answer's status, headers and JSON body."""
    address = urlsplit(sandbox.url)

    def send(
        head: bytes, body: bytes = b"", *, half_close: bool = False, interim: bool = False
    ) -> tuple[int, dict[str, str], dict]:
        with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
            if interim:
                # Expect: 100-continue: wait for the interim answer before sending the body.
                connection.sendall(head)
                assert connection.recv(65536).startswith(b"HTTP/1.1 100 ")
                head = b""
            connection.sendall(head + body)
            if half_close:
                connection.shutdown(socket.SHUT_WR)
            answer = b""
            while b"\r\n\r\n" not in answer:
                answer += connection.recv(65536)
            head_bytes, _, rest = answer.partition(b"\r\n\r\n")
            status_line, *header_lines = head_bytes.decode("latin-1").split("\r\n")
            headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
            while len(rest) < int(headers["content-length"]):
                rest += connection.recv(65536)
            return int(status_line.split()[1]), headers, json.loads(rest)

    return send


def assert_stripe_error(body: dict[str, dict[str, str]], *, says: str) -> None:
    assert body["error"]["type"] == "invalid_request_error"
    assert says in body["error"]["message"]


def test_unknown_method_is_an_unrecognized_request_url(exchange: Exchange) -> None:
    status, _, body = exchange(b"BREW /v1/customers HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Content-Length: 0\r\n\r\n")
    assert status == 404
    assert_stripe_error(body, says="Unrecognized request URL (BREW: /v1/customers)")


def test_non_numeric_content_length_is_a_400_that_closes_the_connection(exchange: Exchange) -> None:
    head = b"POST /v1/customers HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Content-Length: ten\r\n\r\n"
    status, headers, body = exchange(head)
    assert status == 400
    assert headers["connection"] == "close"
    assert_stripe_error(body, says="Invalid Content-Length")


def test_body_shorter_than_its_content_length_is_a_400(exchange: Exchange) -> None:
    head = b"POST /v1/customers HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Content-Length: 100\r\n\r\n"
    status, _, body = exchange(head, b"email=a", half_close=True)
    assert status == 400
    assert_stripe_error(body, says="ended before its Content-Length")


def test_malformed_chunked_body_is_a_400(exchange: Exchange) -> None:
    head = b"POST /v1/customers HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Transfer-Encoding: chunked\r\n\r\n"
    status, headers, body = exchange(head, b"zz\r\nemail=a\r\n0\r\n\r\n")
    assert status == 400
    assert headers["connection"] == "close"
    assert_stripe_error(body, says="Malformed chunked")


def test_well_formed_chunked_body_is_read(exchange: Exchange) -> None:
    head = b"POST /v1/customers HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Transfer-Encoding: chunked\r\n\r\n"
    status, _, body = exchange(head, b"7\r\nemail=a\r\n9\r\n@example.\r\n3\r\ncom\r\n0\r\n\r\n")
    assert status == 200
    assert body["email"] == "a@example.com"


def test_oversized_body_is_refused_from_its_headers_without_being_read(exchange: Exchange) -> None:
    # 300 MiB announced, none sent: the answer comes at once, so nothing was waited for or held.
    head = b"POST /v1/customers HTTP/1.1\r\nHost: x\r\n" + AUTH + f"Content-Length: {300 << 20}\r\n\r\n".encode()
    status, headers, body = exchange(head)
    assert status == 413
    assert headers["connection"] == "close"
    assert_stripe_error(body, says="too large")


def test_oversized_chunked_body_is_refused_once_it_passes_the_cap(exchange: Exchange) -> None:
    head = b"POST /v1/customers HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Transfer-Encoding: chunked\r\n\r\n"
    chunk = b"x" * 65536
    body = (b"10000\r\n" + chunk + b"\r\n") * 20  # 1.25 MiB of chunks, no terminator
    status, _, answer = exchange(head, body)
    assert status == 413
    assert_stripe_error(answer, says="too large")


def test_malformed_request_line_gets_a_json_400(exchange: Exchange) -> None:
    status, _, body = exchange(b"this is not http\r\n\r\n")
    assert status == 400
    assert body["error"]["type"] == "invalid_request_error"


def test_sandbox_still_answers_after_every_malformed_request(exchange: Exchange) -> None:
    exchange(b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n")
    exchange(b"POST /v1/customers HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n")
    status, _, body = exchange(b"GET /v1/customers?limit=1 HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n")
    assert status == 200
    assert body["object"] == "list"


def _pieces(total: int, size: int = 1 << 16) -> Iterator[bytes]:
    """A body of `total` bytes sent a piece at a time, so that the client never holds it whole."""
    piece = b"x" * size
    for _ in range(total // size):
        yield piece


def test_oversized_body_sent_in_full_gets_the_413_and_is_never_held(sandbox: Sandbox) -> None:
    # A client that writes its whole body before reading (http.client, the SDK's requests) must read the 413,
    # not a reset: the sandbox answers, then reads what still comes and drops it.
    address = urlsplit(sandbox.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    size = 64 << 20
    headers = {"Authorization": "Bearer sk_test_sandbox", "Content-Length": str(size)}
    tracemalloc.start()
    try:
        connection.request("POST", "/v1/customers", body=_pieces(size), headers=headers)
        answer = connection.getresponse()
        body = json.loads(answer.read())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        connection.close()
    assert answer.status == 413
    assert_stripe_error(body, says="too large")
    assert peak < 8 << 20  # the sandbox (this process) never held more than a few reads of the 64 MiB


def test_oversized_chunked_body_sent_in_full_gets_the_413(sandbox: Sandbox) -> None:
    address = urlsplit(sandbox.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    headers = {"Authorization": "Bearer sk_test_sandbox", "Transfer-Encoding": "chunked"}
    try:
        connection.request("POST", "/v1/customers", body=_pieces(16 << 20), headers=headers, encode_chunked=True)
        answer = connection.getresponse()
        body = json.loads(answer.read())
    finally:
        connection.close()
    assert answer.status == 413
    assert_stripe_error(body, says="too large")


def test_bad_content_length_followed_by_a_body_gets_the_400(exchange: Exchange) -> None:
    head = b"POST /v1/customers HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Content-Length: lots\r\n\r\n"
    status, _, body = exchange(head, b"x" * (8 << 20))
    assert status == 400
    assert_stripe_error(body, says="Invalid Content-Length")


def test_oversized_body_announced_with_expect_100_continue_is_refused_before_it_is_sent(exchange: Exchange) -> None:
    # curl asks first for large bodies: the answer is the 413 itself, not "100 Continue" then a 413.
    head = (
        b"POST /v1/customers HTTP/1.1\r\nHost: x\r\n"
        + AUTH
        + f"Content-Length: {300 << 20}\r\nExpect: 100-continue\r\n\r\n".encode()
    )
    status, headers, body = exchange(head)
    assert status == 413
    assert headers["connection"] == "close"
    assert_stripe_error(body, says="too large")


def test_body_under_the_cap_announced_with_expect_100_continue_is_read(exchange: Exchange) -> None:
    head = b"POST /v1/customers HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Content-Length: 15\r\nExpect: 100-continue\r\n\r\n"
    status, _, body = exchange(head, b"email=a%40b.com", interim=True)
    assert status == 200
    assert body["email"] == "a@b.com"
