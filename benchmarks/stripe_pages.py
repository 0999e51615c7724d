"""A Stripe-shaped server of customer list pages, far faster than Stripe's rate limit (benchmarks only).

It serves the one call `reconcile plan` makes to observe, ``GET /v1/customers?limit=100[&starting_after=]``,
for the platform (no Stripe-Account header) and each connected account, over a converged platform of
``customers`` x ``accounts``: every platform customer has a card, and every account holds an owned copy
of each, with the ownership metadata apply writes. Objects have the fields and order the sandbox (and
Stripe) give a customer; lists run newest first, as Stripe's do. Nothing is stored: a page is rendered
from its index when asked, so a million copies cost no memory and no set-up. ``latency`` delays every
answer, as Stripe's own time to answer. Any other request is a 404 in Stripe's error shape.

``converged_file(customers, accounts)`` writes the desired-state file this platform is converged with.
Run as a script, it serves in a process of its own (so a client's CPU time is its own), printing its URL;
``GET /_stats`` answers the pages served and the page rate:

    python benchmarks/stripe_pages.py --customers 100000 --accounts 10 [--latency 0.2]
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

OWNER = "bench"
CREATED = 1_790_000_000
_CURSOR = re.compile(r"cus_(P|A\d{2})(\d{7})")


def account_ids(accounts: int) -> list[str]:
    return [f"acct_1Bench{j:012d}" for j in range(accounts)]


def converged_file(path: Path, customers: int, accounts: int) -> Path:
    """The desired-state file the served platform is converged with."""
    aliases = [f"a{j:02d}" for j in range(accounts)]
    lines = ["version: 1", f"owner: {OWNER}", "mode: test", "accounts:"]
    lines += [f"  {alias}: {account}" for alias, account in zip(aliases, account_ids(accounts), strict=True)]
    lines.append("customers:")
    shared = ", ".join(aliases)
    for i in range(customers):
        lines += [
            f"  c{i}:",
            f"    email: c{i}@example.com",
            f"    name: Customer {i}",
            "    metadata: {tier: gold}",
            "    payment: {source: tok_visa}",
            f"    accounts: [{shared}]",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _customer(prefix: str, i: int) -> str:
    """One customer object as JSON text: the platform's (P) or a copy on account A<j>."""
    platform = prefix == "P"
    card = f"card_{prefix}{i:07d}"
    ownership = f'"reconcile_owner":"{OWNER}","reconcile_key":"c{i}"'
    if not platform:
        ownership += f',"reconcile_platform_customer":"cus_P{i:07d}","reconcile_source":"card_P{i:07d}"'
    return (
        f'{{"id":"cus_{prefix}{i:07d}","object":"customer","address":null,"balance":0,"created":{CREATED + i},'
        f'"currency":null,"default_source":"{card}","delinquent":false,"description":null,"discount":null,'
        f'"email":"c{i}@example.com","invoice_prefix":"{prefix}{i:07d}","invoice_settings":{{"custom_fields":null,'
        '"default_payment_method":null,"footer":null,"rendering_options":null},"livemode":false,'
        f'"metadata":{{"tier":"gold",{ownership}}},"name":"Customer {i}","next_invoice_sequence":1,'
        '"phone":null,"preferred_locales":[],"shipping":null,"tax_exempt":"none","test_clock":null}'
    )


class PageServer:
    """Serves the pages on a loopback port for the duration of a ``with`` block."""

    def __init__(self, customers: int, accounts: int, latency: float = 0.0) -> None:
        self.customers = customers
        self.prefixes = {account: f"A{j:02d}" for j, account in enumerate(account_ids(accounts))}
        self.latency = latency
        self.pages = 0
        self.first: float | None = None  # when the first and the last page were answered (monotonic)
        self.last: float | None = None
        self._lock = threading.Lock()

    def served(self) -> None:
        """Count a page answered, and when."""
        with self._lock:
            self.pages += 1
            self.last = time.monotonic()
            self.first = self.first or self.last

    @property
    def page_rate(self) -> float:
        """Pages answered per second, from the first answer to the last."""
        if self.first is None or self.last is None or self.last <= self.first:
            return 0.0
        return (self.pages - 1) / (self.last - self.first)

    def page(self, account: str | None, query: dict[str, list[str]]) -> tuple[int, str]:
        prefix = "P" if account is None else self.prefixes.get(account)
        if prefix is None:
            return 403, _error("permission_error", f"The provided key does not have access to account '{account}'")
        limit = min(int(query.get("limit", ["10"])[0]), 100)
        # created[gte] / created[lt]: customer i was created at CREATED + i.
        low = max(0, int(query.get("created[gte]", [CREATED])[0]) - CREATED)
        top = min(self.customers, int(query.get("created[lt]", [CREATED + self.customers])[0]) - CREATED)
        after = query.get("starting_after", [None])[0]
        if after is not None:  # newest first: the highest index is the newest
            found = _CURSOR.fullmatch(after)
            if found is None or found.group(1) != prefix:
                return 400, _error("invalid_request_error", f"No such customer: '{after}'")
            top = min(top, int(found.group(2)))
        indices = range(top - 1, max(top - 1 - limit, low - 1), -1)
        data = ",".join(_customer(prefix, i) for i in indices)
        has_more = "true" if indices and indices[-1] > low else "false"
        return 200, f'{{"object":"list","data":[{data}],"has_more":{has_more},"url":"/v1/customers"}}'

    @contextmanager
    def running(self) -> Iterator[str]:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


def _error(kind: str, message: str) -> str:
    return json.dumps({"error": {"type": kind, "message": message}})


def _handler(pages: PageServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's HTTP client expects of Stripe

        def do_GET(self) -> None:
            started = time.monotonic()
            url = urlsplit(self.path)
            if url.path == "/_stats":
                status, body = 200, json.dumps({"pages": pages.pages, "page_rate": pages.page_rate})
            elif url.path == "/v1/customers":
                status, body = pages.page(self.headers.get("Stripe-Account"), parse_qs(url.query))
            else:
                status, body = 404, _error("invalid_request_error", f"Unrecognized request URL (GET: {url.path})")
            wait = pages.latency - (time.monotonic() - started)
            if wait > 0:
                time.sleep(wait)
            payload = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Request-Id", f"req_bench{pages.pages}")
            self.end_headers()
            self.wfile.write(payload)
            if status == 200:
                pages.served()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--accounts", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args()
    with PageServer(args.customers, args.accounts, args.latency).running() as url:
        print(f"serving on {url}", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
