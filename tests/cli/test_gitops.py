"""Options for pipelines: --expect-digest (apply what was approved), --force (unsafe plans), --shard."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import stripe

from reconcile.scope import shard_of
from tests.support import BOOKSHOP, COFFEE, Reconcile, lines, operations


def digest_of(result: Any) -> str:
    found = re.search(r"^Digest: (sha256:[0-9a-f]{64})$", result.stdout, re.MULTILINE)
    assert found, result.stdout
    return found.group(1)


def test_apply_with_the_approved_digest_applies(reconcile: Reconcile, marketplace: Path) -> None:
    approved = digest_of(reconcile("plan", marketplace))
    result = reconcile("apply", marketplace, "--auto-approve", "--expect-digest", approved)
    assert result.exit_code == 0, result.stderr
    assert "Apply complete" in result.stdout


def test_apply_refuses_a_plan_that_is_not_the_approved_one(
    reconcile: Reconcile, marketplace: Path, write_file: Any, sandbox: Any
) -> None:
    approved = digest_of(reconcile("plan", marketplace))
    marketplace.write_text(marketplace.read_text().replace("Alice Liddell", "Alice L."))
    sandbox.reset_stats()

    result = reconcile("apply", marketplace, "--auto-approve", "--expect-digest", approved)

    assert result.exit_code == 1
    (line,) = lines(result.stderr)
    assert line.startswith("error: the plan's digest is sha256:")
    assert f"not the expected {approved}" in line
    assert line.endswith("nothing was applied")
    assert operations(sandbox.stats(), "POST") == 0


def test_plan_checks_the_digest_too_and_accepts_it_bare(reconcile: Reconcile, marketplace: Path) -> None:
    approved = digest_of(reconcile("plan", marketplace))
    assert reconcile("plan", marketplace, "--expect-digest", approved.removeprefix("sha256:")).exit_code == 0
    assert reconcile("plan", marketplace, "--expect-digest", "sha256:" + "0" * 64).exit_code == 1


def many_copies(write_file: Any, accounts: Any, name: str = "Shopper") -> Path:
    customers = "".join(
        f"  c{i:02}:\n    email: c{i}@example.com\n    name: {name if i < 4 else 'Shopper'}\n"
        f"    payment: {{source: tok_visa}}\n    accounts: [bookshop]\n"
        for i in range(10)
    )
    return write_file(
        f"version: 1\nowner: acme\nmode: test\naccounts:\n  bookshop: {BOOKSHOP}\ncustomers:\n{customers}"
    )


def test_unsafe_plan_is_refused_without_force(
    reconcile: Reconcile, write_file: Any, accounts: Any, sandbox: Any, stripe_client: stripe.StripeClient
) -> None:
    assert reconcile("apply", many_copies(write_file, accounts), "--auto-approve", "--max-rps", "500").exit_code == 0
    renamed = many_copies(write_file, accounts, name="Renamed")  # 4 of the 10 copies on bookshop change

    planned = reconcile("plan", renamed)
    assert planned.exit_code == 1  # the pull-request check fails ...
    assert "! unsafe: would update or unshare 4 of the 10 copies on 'bookshop' (40%" in planned.stdout  # ... shown
    assert lines(planned.stderr)[0].startswith("error: unsafe plan: would update or unshare 4 of the 10 copies")
    assert reconcile("plan", renamed, "--force").exit_code == 0
    sandbox.reset_stats()
    refused = reconcile("apply", renamed, "--auto-approve", "--max-rps", "500")
    assert refused.exit_code == 1
    (line,) = lines(refused.stderr)
    assert line.startswith("error: unsafe plan: would update or unshare 4 of the 10 copies on 'bookshop'")
    assert line.endswith("(use --force to apply it anyway)")
    assert operations(sandbox.stats(), "POST") == 0

    forced = reconcile("apply", renamed, "--auto-approve", "--force", "--max-rps", "500")
    assert forced.exit_code == 0, forced.stderr
    copies = stripe_client.v1.customers.list({"limit": 100}, {"stripe_account": BOOKSHOP}).data
    assert sum(1 for c in copies if c.name == "Renamed") == 4


@pytest.mark.parametrize("count", [2, 3, 5])
def test_shards_split_the_accounts_between_jobs_exactly_once(
    count: int, reconcile: Reconcile, write_file: Any, sandbox: Any
) -> None:
    ids = [f"acct_1Shard{i:011d}" for i in range(12)]
    for account_id in ids:
        sandbox.add_account(account_id)
    declared = "".join(f"  a{i:02}: {account_id}\n" for i, account_id in enumerate(ids))
    path = write_file(
        f"version: 1\nowner: acme\nmode: test\naccounts:\n{declared}customers:\n"
        "  alice:\n    email: alice@example.com\n    payment: {source: tok_visa}\n    accounts: ['*']\n"
    )
    shared: list[str] = []
    for index in range(1, count + 1):
        result = reconcile("plan", path, "--shard", f"{index}/{count}", "--format", "json")
        assert result.exit_code == 0, result.stderr
        mine = [a["account_id"] for a in json.loads(result.stdout)["actions"] if a["action"] == "share"]
        assert all(shard_of(account_id, count) == index for account_id in mine)
        shared += mine
    assert sorted(shared) == sorted(ids)


def test_bad_shard_is_one_line(reconcile: Reconcile, marketplace: Path) -> None:
    result = reconcile("plan", marketplace, "--shard", "3/2")
    assert result.exit_code == 1
    assert lines(result.stderr) == ["error: --shard must be K/N with 1 <= K <= N, such as 2/4, not '3/2'"]


def test_the_markdown_plan_of_a_1000_customer_first_apply_fits_a_pull_request_comment(
    reconcile: Reconcile, write_file: Any, sandbox: Any
) -> None:
    ids = [f"acct_1Comment{i:09d}" for i in range(3)]
    for account_id in ids:
        sandbox.add_account(account_id)
    declared = "".join(f"  seller{i}: {account_id}\n" for i, account_id in enumerate(ids))
    customers = "".join(
        f"  shopper{i:04}:\n    email: shopper{i}@example.com\n    name: Shopper {i}\n"
        f"    payment: {{source: tok_visa}}\n    accounts: ['*']\n"
        for i in range(1000)
    )
    path = write_file(f"version: 1\nowner: acme\nmode: test\naccounts:\n{declared}customers:\n{customers}")

    result = reconcile("plan", path, "--format", "markdown")

    assert result.exit_code == 0, result.stderr
    comment = result.stdout
    assert len(comment) <= 60_000  # a GitHub comment holds 65,536
    assert comment.splitlines()[:6] == [
        "<!-- reconcile plan -->",
        "## reconcile plan for `acme` (test mode)",
        "",
        "**Plan: 1000 to create, 3000 to share, 0 to update, 0 to unshare.**",
        "",
        "| account | create_customer | attach_source | share | total |",
    ]
    assert "actions of 5,000 not shown: this comment is limited to 60,000 characters" in comment
    smaller = reconcile("plan", path, "--format", "markdown", "--max-chars", "10000")
    assert len(smaller.stdout) <= 10_000


def test_a_plan_with_changes_a_conflict_or_an_unsafe_verdict_writes_everything_before_its_exit_code(
    reconcile: Reconcile, write_file: Any, accounts: Any, tmp_path: Path
) -> None:
    assert reconcile("apply", many_copies(write_file, accounts), "--auto-approve", "--max-rps", "500").exit_code == 0
    renamed = many_copies(write_file, accounts, name="Renamed")
    saved = tmp_path / "plan.json"

    for fmt in ("text", "json", "markdown"):
        saved.unlink(missing_ok=True)
        result = reconcile("plan", renamed, "--format", fmt, "--out", saved, "--detailed-exitcode")
        assert result.exit_code == 1, fmt  # unsafe wins over "has changes" (2)
        assert "4 of the 10 copies" in result.stdout
        assert json.loads(saved.read_text())["unsafe"]


def test_safety_thresholds_come_from_the_file_and_an_account_can_override_them(
    reconcile: Reconcile, write_file: Any, accounts: Any
) -> None:
    assert reconcile("apply", many_copies(write_file, accounts), "--auto-approve", "--max-rps", "500").exit_code == 0
    renamed = many_copies(write_file, accounts, name="Renamed")
    declared = renamed.read_text()

    renamed.write_text(declared + "safety: {max_change_percent: 50}\n")
    assert reconcile("plan", renamed).exit_code == 0  # 40% is within 50%

    renamed.write_text(
        declared
        + "safety:\n  max_change_percent: 50\n  accounts:\n    bookshop: {min_copies: 5, max_change_percent: 20}\n"
    )
    planned = reconcile("plan", renamed, "--format", "json")
    assert planned.exit_code == 1
    (reason,) = json.loads(planned.stdout)["unsafe"]
    assert reason.endswith("(40%; the limit is 20% on accounts with 5 or more copies)")

    renamed.write_text(declared + "safety:\n  accounts:\n    bookstore: {max_change_percent: 50}\n")
    result = reconcile("validate", renamed)
    assert result.exit_code == 1
    assert lines(result.stderr)[0].endswith(
        "safety.accounts.bookstore: safety override for unknown account alias 'bookstore' (declared: bookshop)"
    )


def test_narrowed_runs_record_their_scope_in_every_format(
    reconcile: Reconcile, marketplace: Path, tmp_path: Path
) -> None:
    text = reconcile("plan", marketplace, "--account", "coffee", "--prune")
    assert lines(text.stdout)[0] == "Scope: 1 of 2 accounts (--account coffee); --prune: undeclared copies are unshared"
    markdown = reconcile("plan", marketplace, "--account", "coffee", "--format", "markdown")
    assert "Scope: 1 of 2 accounts (--account coffee)" in markdown.stdout
    data = json.loads(reconcile("plan", marketplace, "--shard", "1/1", "--format", "json").stdout)
    assert data["scope"] == {
        "accounts": ["bookshop", "coffee"],
        "declared_accounts": 2,
        "narrowed": True,
        "account_filter": [],
        "shard": "1/1",
        "prune": False,
    }
    whole = reconcile("plan", marketplace)
    assert not whole.stdout.startswith("Scope:")


def test_a_shard_that_covers_no_account_is_a_warning_not_a_silent_no_changes(
    reconcile: Reconcile, marketplace: Path
) -> None:
    empty = next(k for k in range(1, 9) if all(shard_of(a, 8) != k for a in (BOOKSHOP, COFFEE)))
    result = reconcile("plan", marketplace, "--shard", f"{empty}/8", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["warnings"][-1] == (
        f"--shard {empty}/8 covers none of the 2 accounts the file declares: no copy is planned"
    )
