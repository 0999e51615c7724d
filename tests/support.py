"""Shared test data, fixtures that drive the CLI against a sandbox, and readers of its stats."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from reconcile.cli import app

BOOKSHOP = "acct_1BookshopAAAAAAAA"
COFFEE = "acct_1CoffeeBBBBBBBBBB"

MARKETPLACE = f"""\
version: 1
owner: acme
mode: test
accounts:
  bookshop: {BOOKSHOP}
  coffee: {COFFEE}
customers:
  alice:
    email: alice@example.com
    name: Alice Liddell
    metadata: {{tier: gold}}
    payment: {{source: tok_visa}}
    accounts: ["*"]
  bob:
    email: bob@example.com
    name: Bob Builder
    phone: "+15555550100"
    payment: {{source: tok_mastercard}}
    accounts: [coffee]
"""

# Runs the `reconcile` CLI in-process: reconcile("plan", path, "--format", "json").
Reconcile = Callable[..., Result]


def writes(stats: dict[str, Any]) -> dict[str, int]:
    """Non-GET requests by operation, from the sandbox's /_sandbox/stats."""
    return {op: n for op, n in stats["requests"].items() if not op.startswith("GET ")}


def operations(stats: dict[str, Any], prefix: str = "") -> int:
    return sum(n for op, n in stats["requests"].items() if op.startswith(prefix))


def lines(text: str) -> Sequence[str]:
    return [line for line in text.splitlines() if line.strip()]


# -- fixtures (imported by the conftest of each test folder that drives the CLI) --


@pytest.fixture
def accounts(sandbox: Any) -> dict[str, str]:
    """The two connected accounts of MARKETPLACE, connected to the sandbox's platform."""
    for account_id in (BOOKSHOP, COFFEE):
        sandbox.add_account(account_id)
    return {"bookshop": BOOKSHOP, "coffee": COFFEE}


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(text: str, name: str = "stripe.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def marketplace(write_file: Callable[[str, str], Path], accounts: dict[str, str]) -> Path:
    return write_file(MARKETPLACE, "stripe.yaml")


@pytest.fixture
def reconcile(sandbox: Any, api_key: str) -> Reconcile:
    """Run the CLI in-process against the sandbox, with the key in STRIPE_API_KEY."""
    runner = CliRunner()

    def run(*args: str | Path, env: dict[str, str | None] | None = None, input: str | None = None) -> Result:
        environment: dict[str, str | None] = {
            "STRIPE_API_KEY": api_key,
            "STRIPE_API_BASE": sandbox.url,
            "NO_COLOR": "1",
        }
        environment.update(env or {})
        return runner.invoke(app, [str(a) for a in args], env=environment, input=input)

    return run
