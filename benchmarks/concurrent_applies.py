"""Race applies of one file against a faulty sandbox and count what they leave behind.

The reproduction of the duplicate-copy bug, as a user would run it: `reconcile sandbox serve` with
40 ms latency and 20 % injected 500s (half of the failed writes commit first), then 2 or 3
`reconcile apply --auto-approve` at once on 5 customers x 3 accounts, once per seed. Prints one line
per trial and a closing tally: duplicate copies, copies without a card, the apply exit codes, and the
exit code of a final `plan --detailed-exitcode` (0: nothing left to do).

    python benchmarks/concurrent_applies.py [--seeds 20] [--processes 2 3] [--parallel 4]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import stripe

API_KEY = "sk_test_sandbox"
ACCOUNTS = ("acct_1RaceAAAAAAAAAAAAA", "acct_1RaceBBBBBBBBBBBBB", "acct_1RaceCCCCCCCCCCCCC")
CARDS = ("tok_visa", "tok_mastercard", "tok_amex", "tok_visa", "tok_visa")
STRIPE_YAML = "\n".join(
    [
        "version: 1",
        "owner: race-test",
        "mode: test",
        "accounts:",
        *(f"  {alias}: {account}" for alias, account in zip("abc", ACCOUNTS, strict=True)),
        "customers:",
        *(
            f'  c{i}: {{email: c{i}@example.com, payment: {{source: {card}}}, accounts: ["*"]}}'
            for i, card in enumerate(CARDS, 1)
        ),
        "",
    ]
)


def reconcile(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reconcile", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def trial(seed: int, processes: int, folder: Path) -> dict[str, object]:
    work = folder / f"seed{seed}-x{processes}"
    work.mkdir()
    stripe_yaml = work / "stripe.yaml"
    stripe_yaml.write_text(STRIPE_YAML)
    port = free_port()
    env = {**os.environ, "STRIPE_API_BASE": f"http://127.0.0.1:{port}", "STRIPE_API_KEY": API_KEY}
    serve = reconcile(
        *("sandbox", "serve", "--port", str(port), "--db", str(work / "sandbox.sqlite3"), "--seed", str(stripe_yaml)),
        *("--latency-ms", "40", "--fail-rate", "0.2", "--fault-seed", str(seed)),
        env=env,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        racers = [reconcile("apply", str(stripe_yaml), "--auto-approve", env=env) for _ in range(processes)]
        exits = [racer.wait(timeout=300) for racer in racers]
        final = reconcile("plan", str(stripe_yaml), "--detailed-exitcode", env=env).wait(timeout=120)
        pruned = reconcile("plan", str(stripe_yaml), "--prune", "--format", "json", env=env)
        out, _ = pruned.communicate(timeout=120)
        duplicates = sum(1 for a in json.loads(out)["actions"] if a["action"] == "unshare")
        client = stripe.StripeClient(API_KEY, base_addresses={"api": env["STRIPE_API_BASE"]}, max_network_retries=10)
        without_card = sum(
            1
            for account in ACCOUNTS
            for c in client.v1.customers.list({"limit": 100}, {"stripe_account": account}).auto_paging_iter()
            if not c.default_source
        )
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    return {
        "seed": seed,
        "processes": processes,
        "apply_exits": exits,
        "final_plan_exit": final,
        "duplicates": duplicates,
        "without_card": without_card,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--processes", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--parallel", type=int, default=4, help="trials run side by side")
    options = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch, ThreadPoolExecutor(options.parallel) as pool:
        runs = [(seed, n) for seed in range(1, options.seeds + 1) for n in options.processes]
        results = list(pool.map(lambda run: trial(*run, Path(scratch)), runs))
    for result in results:
        print(json.dumps(result))
    clean = [r for r in results if not r["duplicates"] and not r["without_card"] and r["final_plan_exit"] == 0]
    print(
        f"{len(results)} trials in {time.monotonic() - started:.0f} s: {len(clean)} clean; "
        f"{sum(int(str(r['duplicates'])) for r in results)} duplicate copies, "
        f"{sum(int(str(r['without_card'])) for r in results)} copies without a card, "
        f"{sum(1 for r in results if r['final_plan_exit'] != 0)} final plans with changes left"
    )


if __name__ == "__main__":
    main()
