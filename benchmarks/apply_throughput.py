"""How close `reconcile apply` and `plan` run to the request-rate ceiling (not a test).

Stripe's rate limit is the physical limit, so the figure that matters is how long a run takes
against the least time its requests could take at `--max-rps`: requests / max_rps. Starts a
sandbox in its own process with a per-request latency (Stripe answers in ~100-400 ms), writes a
desired-state file of N customers shared with A accounts each, runs the real CLI, and prints:

    python benchmarks/apply_throughput.py [--customers 100] [--accounts 3] [--latency-ms 150]
                                          [--max-rps 80] [--concurrency N]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

API_KEY = "sk_test_sandbox"


def start_sandbox(latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconcile.sandbox",
            "serve",
            "--port",
            "0",
            "--db",
            ":memory:",
            "--latency-ms",
            str(latency_ms),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    words = process.stdout.readline().split()
    return process, words[words.index("on") + 1]


def connect(url: str, account_id: str) -> None:
    request = urllib.request.Request(
        f"{url}/_sandbox/accounts",
        data=f"id={account_id}".encode(),
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    urllib.request.urlopen(request).read()


def desired_state(customers: int, accounts: int) -> str:
    lines = ["version: 1", "owner: bench", "mode: test", "accounts:"]
    lines += [f"  a{i}: acct_1Bench{i:010d}" for i in range(accounts)]
    lines.append("customers:")
    for n in range(customers):
        lines += [f"  c{n:05d}:", f"    email: c{n}@example.com", f"    name: Customer {n}"]
        lines += ["    payment: {source: tok_visa}", '    accounts: ["*"]']
    return "\n".join(lines) + "\n"


def reconcile(url: str, *args: str) -> tuple[float, str]:
    env = {**os.environ, "STRIPE_API_KEY": API_KEY, "STRIPE_API_BASE": url, "NO_COLOR": "1"}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "reconcile", *args], env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if done.returncode not in (0, 2):
        sys.exit(f"reconcile {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--accounts", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=150)
    parser.add_argument("--max-rps", type=float, default=80)
    parser.add_argument("--concurrency", type=int, help="default: the CLI's own")
    options = parser.parse_args()

    process, url = start_sandbox(options.latency_ms)
    try:
        for i in range(options.accounts):
            connect(url, f"acct_1Bench{i:010d}")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bench.yaml"
            path.write_text(desired_state(options.customers, options.accounts))
            rate = ["--max-rps", str(options.max_rps)]
            if options.concurrency:
                rate += ["--concurrency", str(options.concurrency)]
            elapsed, out = reconcile(url, "apply", str(path), "--auto-approve", *rate)
            found = re.search(r"\((\d+) API requests in ([\d.]+)s\)", out)
            assert found, out
            requests, seconds = int(found.group(1)), float(found.group(2))
            floor = requests / options.max_rps
            print(
                f"apply: {options.customers} customers x {options.accounts} accounts, "
                f"latency {options.latency_ms:.0f} ms, --max-rps {options.max_rps:g}, "
                f"--concurrency {options.concurrency or 'default'}"
            )
            print(f"  {requests} API requests in {seconds:.2f}s of applying ({elapsed:.2f}s for the whole command)")
            print(f"  floor at the rate ceiling: {floor:.2f}s -> {100 * floor / seconds:.0f}% of the ceiling used")
            elapsed, out = reconcile(url, "plan", str(path), "--detailed-exitcode")
            assert "No changes." in out, out
            pages = -(-options.customers // 100) * (options.accounts + 1)
            print(f"plan afterwards: No changes in {elapsed:.2f}s ({pages} list pages)")
    finally:
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
