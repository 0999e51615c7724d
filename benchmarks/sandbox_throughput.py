"""Throughput of the sandbox for `GET /v1/customers?limit=100` and `POST /v1/customers` (not a test).

Starts `python -m reconcile.sandbox serve` in its own process (on a SQLite file, `--rate-limit 0`),
then drives it from client threads, each with one keep-alive connection (http.client), and prints
requests per second for each operation:

    python benchmarks/sandbox_throughput.py [--seconds 5] [--clients 4] [--db PATH]
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

API_KEY = "sk_test_sandbox"
HEADERS = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/x-www-form-urlencoded"}


def start_sandbox(db: str) -> tuple[subprocess.Popen[str], str, int]:
    """The sandbox in a child process, and the host and port it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "reconcile.sandbox", "serve", "--port", "0", "--db", db, "--rate-limit", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    url = line.split()[line.split().index("on") + 1]
    parts = urlsplit(url)
    return process, parts.hostname or "127.0.0.1", parts.port or 0


def run(host: str, port: int, clients: int, seconds: float, request: tuple[str, str, str | None]) -> tuple[int, int]:
    """Send `request` from `clients` threads for `seconds`; the number of 200s and of other answers."""
    method, path, body = request
    deadline = time.monotonic() + seconds
    counts = [[0, 0] for _ in range(clients)]

    def client(slot: list[int]) -> None:
        connection = http.client.HTTPConnection(host, port)
        while time.monotonic() < deadline:
            headers = dict(HEADERS)
            if method == "POST":
                headers["Idempotency-Key"] = str(uuid.uuid4())  # as the SDK sends on every POST
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            slot[0 if response.status == 200 else 1] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(slot,)) for slot in counts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(slot[0] for slot in counts), sum(slot[1] for slot in counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each measurement")
    parser.add_argument("--clients", type=int, default=4, help="client threads, one connection each")
    parser.add_argument("--db", help="SQLite file for the sandbox (default: a fresh temporary file)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or str(Path(tmp) / "sandbox.sqlite3")
        process, host, port = start_sandbox(db)
        try:
            body = "email=bench%40example.com&name=Bench+Customer&metadata[reconcile_owner]=bench"
            create = ("POST", "/v1/customers", body)
            ok, other = run(host, port, args.clients, args.seconds, create)
            print(f"POST /v1/customers            {ok / args.seconds:8.0f} writes/s  ({ok} ok, {other} other)")
            connection = http.client.HTTPConnection(host, port)
            connection.request("GET", "/v1/customers?limit=100", headers=HEADERS)
            page = json.loads(connection.getresponse().read())
            connection.close()
            size = len(json.dumps(page))
            ok, other = run(host, port, args.clients, args.seconds, ("GET", "/v1/customers?limit=100", None))
            print(
                f"GET /v1/customers?limit=100   {ok / args.seconds:8.0f} reads/s   ({ok} ok, {other} other; "
                f"{len(page['data'])} customers, {size // 1024} KiB a page)"
            )
        finally:
            process.terminate()
            process.wait()


if __name__ == "__main__":
    main()
