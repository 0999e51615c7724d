"""Sandbox: `--seed FILE` with accounts and platform customers, or a desired-state file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import stripe

from reconcile.sandbox import running_sandbox
from reconcile.sandbox.seed import SeedError

SEED = """\
accounts:
  - acct_1BookshopAAAAAAAA
  - acct_1CoffeeBBBBBBBBBB
customers:
  - id: cus_PlatformBob0000
    email: bob@example.com
    name: Bob
    metadata: {tier: gold}
    source: tok_mastercard
  - email: carol@example.com
    phone: "+15555550100"
"""

DESIRED_STATE = """\
version: 1
owner: acme
mode: test
accounts:
  bookshop: acct_1BookshopAAAAAAAA
  coffee: acct_1CoffeeBBBBBBBBBB
customers:
  alice:
    email: alice@example.com
    accounts: ["*"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "seed.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def client(url: str) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_sandbox", base_addresses={"api": url}, max_network_retries=0)


def test_seed_creates_accounts_and_platform_customers(tmp_path: Path) -> None:
    with running_sandbox(seed=write(tmp_path, SEED)) as sandbox:
        api = client(sandbox.url)
        assert {a.id for a in api.v1.accounts.list().data} == {"acct_1BookshopAAAAAAAA", "acct_1CoffeeBBBBBBBBBB"}
        bob = api.v1.customers.retrieve("cus_PlatformBob0000", {"expand": ["default_source"]})
        assert (bob.email, bob.name, bob.metadata.to_dict()) == ("bob@example.com", "Bob", {"tier": "gold"})
        assert bob.default_source.brand == "MasterCard"
        carol = api.v1.customers.list({"email": "carol@example.com"}).data
        assert [c.phone for c in carol] == ["+15555550100"]


def test_seeding_the_same_database_twice_creates_nothing_new(tmp_path: Path) -> None:
    db, seed = tmp_path / "sandbox.sqlite3", write(tmp_path, SEED)
    with running_sandbox(db, seed=seed) as sandbox:
        first = [c.id for c in client(sandbox.url).v1.customers.list().data]
    with running_sandbox(db, seed=seed) as sandbox:
        assert [c.id for c in client(sandbox.url).v1.customers.list().data] == first
        assert len(first) == 2


def test_desired_state_file_seeds_its_accounts_only(tmp_path: Path) -> None:
    with running_sandbox(seed=write(tmp_path, DESIRED_STATE)) as sandbox:
        api = client(sandbox.url)
        assert {a.id for a in api.v1.accounts.list().data} == {"acct_1BookshopAAAAAAAA", "acct_1CoffeeBBBBBBBBBB"}
        assert api.v1.customers.list().data == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("accounts: [acct_ok, 12]\n", "12 is not an account id"),
        ("customers: [{id: bob, email: b@example.com}]\n", "customers[0].id must be a customer id"),
        ("customers: [{email: not-an-email}]\n", "customers[0]: Invalid email address: not-an-email"),
        ("customers: [{source: tok_nothing}]\n", "customers[0]: No such token: 'tok_nothing'"),
        ("acounts: []\n", "unknown keys acounts"),
        ("- just a list\n", "expected a mapping"),
    ],
)
def test_bad_seed_is_refused_with_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    with (
        pytest.raises(SeedError, match=message.replace("[", r"\[").replace("]", r"\]")),
        running_sandbox(seed=write(tmp_path, text)),
    ):
        pass
