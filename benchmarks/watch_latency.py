"""How soon `reconcile watch` carries a platform card change to every copy, and what it costs (not a test).

Starts a sandbox in its own process with a per-request latency (`--latency-ms`, 50 by default), a file of
C customers each shared with A accounts, the platform and Connect webhook endpoints pointing at a
`reconcile watch --listen` process, and a third (Connect) endpoint pointing at this script, which learns
from its events when a copy took a new card, without an API call of its own. Then, N times, one after the
other: replace a customer's card on the platform (`source=`) and wait for the copy on every account to
hold it. Prints the latency from sending that request to the last copy's change (p50, p99, max), and the
API calls `watch` made per change (its own /metrics) against the fewest that can carry a card to A
copies: a token and an update per copy (2A writes), and the reads it spends on top.

    python benchmarks/watch_latency.py [--changes 100] [--customers 10] [--accounts 3] [--latency-ms 50]
                                       [--coalesce 0.5] [--max-rps R]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

API_KEY = "sk_test_sandbox"
CARDS = ("tok_mastercard", "tok_visa", "tok_amex", "tok_discover")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_sandbox(latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "reconcile.sandbox", "serve", "--port", "0", "--db", ":memory:"]
    command += ["--latency-ms", str(latency_ms), "--webhook-retry-base-ms", "100"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    words = process.stdout.readline().split()
    return process, words[words.index("on") + 1]


def call(url: str, method: str, path: str, params: Mapping[str, str] | None = None, account: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    if account:
        headers["Stripe-Account"] = account
    data = urllib.parse.urlencode(params).encode() if params is not None else None
    request = urllib.request.Request(f"{url}{path}", data=data, headers=headers, method=method)
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read())


class CardWatcher:
    """A webhook receiver: the time each (account, copy) was seen taking each source."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], float] = {}  # (account, reconcile_source) -> when
        self.changed = threading.Condition()
        watcher = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                obj = event["data"]["object"]
                source = (obj.get("metadata") or {}).get("reconcile_source")
                if event["type"] in ("customer.updated", "customer.created") and source and event.get("account"):
                    with watcher.changed:
                        watcher.seen.setdefault((event["account"], source), time.monotonic())
                        watcher.changed.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, accounts: list[str], source: str, timeout: float = 60) -> float:
        """When the last of ``accounts`` took ``source``."""
        with self.changed:
            done = self.changed.wait_for(lambda: all((a, source) in self.seen for a in accounts), timeout)
            if not done:
                sys.exit(f"timed out: {source} did not reach every copy within {timeout:.0f}s")
            return max(self.seen[(a, source)] for a in accounts)


def desired_state(customers: int, accounts: list[str]) -> str:
    lines = ["version: 1", "owner: bench", "mode: test", "accounts:"]
    lines += [f"  a{i}: {account}" for i, account in enumerate(accounts)]
    lines.append("customers:")
    for n in range(customers):
        lines += [
            f"  c{n:03d}:",
            f"    email: c{n}@example.com",
            "    payment: {source: tok_visa}",
            '    accounts: ["*"]',
        ]
    return "\n".join(lines) + "\n"


def metrics(url: str) -> dict[str, float]:
    with urllib.request.urlopen(f"{url}/metrics") as answer:
        text = answer.read().decode()
    found = {}
    for match in re.finditer(r'^reconcile_watch_api_requests_total\{method="(\w+)"\} (\S+)$', text, re.M):
        found[match.group(1)] = float(match.group(2))
    events = sum(float(v) for v in re.findall(r"^reconcile_watch_events_total\{[^}]*\} (\S+)$", text, re.M))
    found["events"] = events
    return found


def wait_healthy(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit("reconcile watch exited before it was ready")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    sys.exit("reconcile watch did not finish its start-up resync")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--customers", type=int, default=10)
    parser.add_argument("--accounts", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--coalesce", type=float, default=0.5, help="watch --coalesce (seconds)")
    parser.add_argument(
        "--max-rps", type=float, default=None, help="watch --max-rps (default: watch's, 20 in test mode)"
    )
    args = parser.parse_args()

    sandbox, url = start_sandbox(args.latency_ms)
    receiver = CardWatcher()
    accounts = [f"acct_1Bench{i:010d}" for i in range(args.accounts)]
    watch: subprocess.Popen[str] | None = None
    try:
        for account in accounts:
            call(url, "POST", "/_sandbox/accounts", {"id": account})
        port = free_port()
        hook = f"http://127.0.0.1:{port}/webhook"
        secrets = [
            call(url, "POST", "/v1/webhook_endpoints", {"url": hook, "enabled_events[]": "*"})["secret"],
            call(url, "POST", "/v1/webhook_endpoints", {"url": hook, "enabled_events[]": "*", "connect": "true"})[
                "secret"
            ],
        ]
        call(url, "POST", "/v1/webhook_endpoints", {"url": receiver.url, "enabled_events[]": "*", "connect": "true"})
        folder = Path(tempfile.mkdtemp(prefix="watch-bench-"))
        file = folder / "stripe.yaml"
        file.write_text(desired_state(args.customers, accounts), encoding="utf-8")
        env = {
            **os.environ,
            "STRIPE_API_KEY": API_KEY,
            "STRIPE_API_BASE": url,
            "STRIPE_WEBHOOK_SECRET": ",".join(secrets),
        }
        command = [sys.executable, "-m", "reconcile", "watch", str(file), "--listen", f"127.0.0.1:{port}"]
        command += ["--coalesce", str(args.coalesce)]
        if args.max_rps is not None:
            command += ["--max-rps", str(args.max_rps)]
        watch = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL, text=True)
        watch_url = f"http://127.0.0.1:{port}"
        wait_healthy(watch_url, watch)
        platform = {
            c["metadata"]["reconcile_key"]: c["id"]
            for c in call(url, "GET", "/v1/customers?limit=100")["data"]
            if c["metadata"].get("reconcile_owner") == "bench"
        }
        keys = sorted(platform)
        time.sleep(1.0)  # the start-up resync's own events settle
        before = metrics(watch_url)
        latencies = []
        for change in range(args.changes):
            customer = platform[keys[change % len(keys)]]
            sent = time.monotonic()
            updated = call(url, "POST", f"/v1/customers/{customer}", {"source": CARDS[change % len(CARDS)]})
            latencies.append(receiver.wait(accounts, updated["default_source"]) - sent)
        time.sleep(1.0)  # calls still in flight are counted
        after = metrics(watch_url)
    finally:
        if watch is not None:
            watch.terminate()
            watch.wait(30)
        sandbox.terminate()
        sandbox.wait(30)

    n = args.changes
    gets = after.get("GET", 0) - before.get("GET", 0)
    posts = after.get("POST", 0) - before.get("POST", 0)
    deletes = after.get("DELETE", 0) - before.get("DELETE", 0)
    events = after["events"] - before["events"]
    minimum = 2 * args.accounts
    print(
        f"watch: {n} platform card changes, one at a time; {args.customers} customers shared with "
        f"{args.accounts} accounts; sandbox --latency-ms {args.latency_ms:g}; watch --coalesce {args.coalesce:g}"
        f"{f' --max-rps {args.max_rps:g}' if args.max_rps is not None else ''}"
    )
    print(
        f"latency, card change sent -> last copy holding the new card: p50 {percentile(latencies, 50):.3f}s, "
        f"p99 {percentile(latencies, 99):.3f}s, max {max(latencies):.3f}s, mean {statistics.fmean(latencies):.3f}s"
    )
    print(
        f"API calls per change: {(gets + posts + deletes) / n:.2f} ({posts / n:.2f} POST, {gets / n:.2f} GET, "
        f"{deletes / n:.2f} DELETE); minimum {minimum} (a token and an update for each of {args.accounts} copies); "
        f"writes {posts / minimum / n:.2f}x the minimum, all calls {(gets + posts + deletes) / minimum / n:.2f}x"
    )
    print(
        f"events received per change: {events / n:.1f} (the platform's, and the copies' own from watch's writes); "
        f"API calls per event received: {(gets + posts + deletes) / events:.2f}"
    )


if __name__ == "__main__":
    main()
