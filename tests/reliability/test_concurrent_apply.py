"""Applies that race, crash and retry under injected faults end in exactly one copy per declared pair.

Every trial runs real `reconcile apply` processes against a sandbox that answers 500s (half of the
failed writes commit first: lost responses), 429s, 409s for keys in flight, and tokens that expire
in a second. Whatever happened, re-running apply finishes the job, and then every declared pair has
one copy, with its card and ownership metadata, and the drift check exits 0.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import stripe

from reconcile.sandbox import Sandbox, running_sandbox

pytestmark = pytest.mark.reliability

API_KEY = "sk_test_sandbox"
OWNER = "race"
ACCOUNTS = {
    "books": "acct_1RaceBooksAAAAAAAA",
    "coffee": "acct_1RaceCoffeeBBBBBBB",
    "bakery": "acct_1RaceBakeryCCCCCCC",
}
CUSTOMERS = ("ann", "ben", "cat", "dan")
CARDS = ("tok_visa", "tok_mastercard", "tok_amex")

STRIPE_YAML = "\n".join(
    [
        "version: 1",
        f"owner: {OWNER}",
        "mode: test",
        "accounts:",
        *(f"  {alias}: {account}" for alias, account in ACCOUNTS.items()),
        "customers:",
        *(
            f'  {key}: {{email: {key}@example.com, payment: {{source: {CARDS[i % 3]}}}, accounts: ["*"]}}'
            for i, key in enumerate(CUSTOMERS)
        ),
        "",
    ]
)


@dataclass(frozen=True)
class Faults:
    """One trial's weather: seeded 500s, a per-account rate limit, latency and short-lived tokens."""

    seed: int
    fail_rate: float = 0.2
    rate_limit: float = 0  # requests per second per account; 0: none
    latency_ms: float = 15
    token_ttl: float = 600


@contextmanager
def weather(tmp_path: Path, faults: Faults) -> Iterator[tuple[Sandbox, Path]]:
    """A sandbox with the trial's faults and the file's connected accounts, and the file."""
    folder = tmp_path / f"trial-{faults.seed}"
    folder.mkdir()
    stripe_yaml = folder / "stripe.yaml"
    stripe_yaml.write_text(STRIPE_YAML)
    with running_sandbox(
        folder / "sandbox.sqlite3",
        fail_rate=faults.fail_rate,
        fault_seed=faults.seed,
        rate_limit=faults.rate_limit,
        latency_ms=faults.latency_ms,
        token_ttl=faults.token_ttl,
    ) as sandbox:
        for account in ACCOUNTS.values():
            sandbox.add_account(account)
        yield sandbox, stripe_yaml


def cli(sandbox: Sandbox, *args: str | Path) -> subprocess.Popen[str]:
    """`reconcile ARGS…` in its own process, against the sandbox."""
    env = {**os.environ, "STRIPE_API_BASE": sandbox.url, "STRIPE_API_KEY": API_KEY, "NO_COLOR": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "reconcile", *map(str, args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def apply(sandbox: Sandbox, stripe_yaml: Path) -> subprocess.Popen[str]:
    # The pacer is not under test here: the sandbox's own rate limit, when set, is the weather.
    return cli(sandbox, "apply", stripe_yaml, "--auto-approve", "--max-rps", "200")


def finish(process: subprocess.Popen[str]) -> int:
    _, stderr = process.communicate(timeout=120)
    assert "Traceback" not in stderr, stderr
    return process.returncode


def apply_until_done(sandbox: Sandbox, stripe_yaml: Path, *, tries: int = 8) -> None:
    """Re-run apply as an operator would after a partial apply (exit 1), until it exits 0."""
    for _ in range(tries):
        if finish(apply(sandbox, stripe_yaml)) == 0:
            return
    raise AssertionError(f"apply did not finish in {tries} runs")


def assert_one_copy_per_pair(sandbox: Sandbox, stripe_yaml: Path) -> None:
    client = stripe.StripeClient(API_KEY, base_addresses={"api": sandbox.url}, max_network_retries=0)
    sandbox.configure(fail_rate=0, rate_limit=0, latency_ms=0)  # the checks themselves see no weather
    platform = ours(client, None)
    assert Counter(c["metadata"]["reconcile_key"] for c in platform) == Counter(CUSTOMERS), "platform"
    platform_ids = {c["metadata"]["reconcile_key"]: c["id"] for c in platform}
    for account in ACCOUNTS.values():
        copies = ours(client, account)
        assert Counter(c["metadata"]["reconcile_key"] for c in copies) == Counter(CUSTOMERS), account
        for copy in copies:
            assert copy["default_source"], f"copy {copy['id']} on {account} has no card"
            key = copy["metadata"]["reconcile_key"]
            assert copy["metadata"]["reconcile_platform_customer"] == platform_ids[key]
    assert finish(cli(sandbox, "plan", stripe_yaml, "--prune", "--detailed-exitcode")) == 0, "drift after apply"


def ours(client: stripe.StripeClient, account: str | None) -> list[dict[str, Any]]:
    options: Any = {"stripe_account": account} if account else {}
    listed = client.v1.customers.list({"limit": 100}, options).auto_paging_iter()
    customers = [c.to_dict() for c in listed]
    return [c for c in customers if (c.get("metadata") or {}).get("reconcile_owner") == OWNER]


def run_trials(trial: Callable[[Faults], None], weathers: Sequence[Faults], *, at_once: int = 4) -> None:
    """Run independent trials side by side (they mostly wait on the network); report every failing seed."""
    with ThreadPoolExecutor(at_once) as pool:
        outcomes = list(pool.map(lambda faults: _outcome(trial, faults), weathers))
    failures = [f"seed {faults.seed}: {error}" for faults, error in zip(weathers, outcomes, strict=True) if error]
    assert not failures, "\n".join(failures)


def _outcome(trial: Callable[[Faults], None], faults: Faults) -> str | None:
    try:
        trial(faults)
    except AssertionError as error:
        return str(error) or "assertion failed"
    return None


def test_concurrent_applies_under_server_errors_make_one_copy_per_pair(tmp_path: Path) -> None:
    # 20 trials, 2 or 3 applies at once: 500s before and after commit (lost responses), 409s for keys in flight.
    def trial(faults: Faults) -> None:
        with weather(tmp_path, faults) as (sandbox, stripe_yaml):
            racers = [apply(sandbox, stripe_yaml) for _ in range(2 + faults.seed % 2)]
            for racer in racers:
                finish(racer)
            apply_until_done(sandbox, stripe_yaml)
            assert_one_copy_per_pair(sandbox, stripe_yaml)

    run_trials(trial, [Faults(seed=seed) for seed in range(1, 21)])


def test_concurrent_applies_under_rate_limits_and_expiring_tokens_make_one_copy_per_pair(tmp_path: Path) -> None:
    # Rate limits slow token spending past a one-second token lifetime: 429s and expired tokens on top.
    def trial(faults: Faults) -> None:
        with weather(tmp_path, faults) as (sandbox, stripe_yaml):
            racers = [apply(sandbox, stripe_yaml) for _ in range(3)]
            for racer in racers:
                finish(racer)
            apply_until_done(sandbox, stripe_yaml)
            assert_one_copy_per_pair(sandbox, stripe_yaml)

    run_trials(trial, [Faults(seed=seed, rate_limit=8, token_ttl=1) for seed in range(21, 25)])


def test_apply_killed_mid_run_beside_another_is_finished_by_a_rerun(tmp_path: Path) -> None:
    # kill -9 at a random moment of a faulted apply, beside a concurrent one; then rerun.
    def trial(faults: Faults) -> None:
        with weather(tmp_path, faults) as (sandbox, stripe_yaml):
            victim, survivor = apply(sandbox, stripe_yaml), apply(sandbox, stripe_yaml)
            time.sleep(random.Random(faults.seed).uniform(0.8, 2.0))  # start-up takes ~0.7 s; then writes fly
            victim.send_signal(signal.SIGKILL)
            victim.communicate(timeout=30)
            finish(survivor)
            apply_until_done(sandbox, stripe_yaml)
            assert_one_copy_per_pair(sandbox, stripe_yaml)

    run_trials(trial, [Faults(seed=seed) for seed in range(31, 39)])
