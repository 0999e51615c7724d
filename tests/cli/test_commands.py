"""Commands as a user meets them: exit codes, one-line errors, nothing written on bad input, no key shown."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reconcile.cli import app
from reconcile.retry import RetryPolicy
from reconcile.sandbox.server import running_sandbox
from tests.support import BOOKSHOP, COFFEE, MARKETPLACE, Reconcile, lines, operations

WriteFile = Callable[..., Path]


def assert_one_line_error(result: Any, *fragments: str) -> None:
    assert result.exit_code == 1, result.stdout + result.stderr
    (line,) = lines(result.stderr)
    assert line.startswith("error: ") or ".yaml:" in line
    for fragment in fragments:
        assert fragment in line
    assert "Traceback" not in result.stderr + result.stdout


def test_validate_accepts_a_good_file(reconcile: Reconcile, marketplace: Path) -> None:
    result = reconcile("validate", marketplace)
    assert result.exit_code == 0
    assert "valid" in result.stdout


def test_validate_takes_many_files_reports_every_problem_of_each_and_fails_if_any_does(
    reconcile: Reconcile, write_file: WriteFile
) -> None:
    good = write_file(MARKETPLACE, "good.yaml")
    typo = write_file(MARKETPLACE.replace("accounts: [coffee]", "accounts: [cofee]"), "typo.yaml")
    two = write_file(
        MARKETPLACE.replace("bob@example.com", "bob-at-example").replace("name: Bob Builder", "nmae: Bob Builder"),
        "two.yaml",
    )

    result = reconcile("validate", typo, good, two)

    assert result.exit_code == 1
    assert result.stdout == f"{good}: valid (2 customers, 2 accounts, 3 shares)\n"
    *problems, last = lines(result.stderr)
    assert [problem.split(":")[0] for problem in problems] == [str(typo), str(two), str(two)]
    assert "unknown account alias 'cofee'" in problems[0]
    assert last == "error: 3 problems found in 2 of 3 files"
    assert reconcile("validate", good, good).exit_code == 0


BAD_INPUTS = {
    "unknown alias": (
        MARKETPLACE.replace("accounts: [coffee]", "accounts: [cofee]"),
        "customers.bob.accounts[0]: unknown account alias 'cofee' (declared: bookshop, coffee)",
    ),
    "duplicate customer key": (MARKETPLACE + "  alice:\n    email: a2@example.com\n", "alice"),
    "malformed account id": (MARKETPLACE.replace(COFFEE, "acc_oops"), "accounts.coffee"),
    "malformed customer id": (
        MARKETPLACE.replace("  bob:\n", "  bob:\n    id: cus-nope\n"),
        "customers.bob.id",
    ),
    "source in live mode": (MARKETPLACE.replace("mode: test", "mode: live"), "payment"),
    "unknown test token": (
        MARKETPLACE.replace("tok_mastercard", "tok_nope"),
        "customers.bob.payment.source: invalid test token 'tok_nope' (expected one of: tok_visa,",
    ),
    "bad e-mail": (MARKETPLACE.replace("bob@example.com", "bob-at-example"), "customers.bob.email"),
    "same account under two aliases": (
        MARKETPLACE.replace(f"coffee: {COFFEE}", f"coffee: {BOOKSHOP}"),
        "accounts",
    ),
    "too much metadata": (
        MARKETPLACE.replace("metadata: {tier: gold}", "metadata: {" + ", ".join(f"k{i}: v" for i in range(47)) + "}"),
        "metadata",
    ),
    "schema: unknown field": (MARKETPLACE.replace("    name: Bob Builder\n", "    nmae: Bob Builder\n"), "nmae"),
    "yaml syntax": (MARKETPLACE + "  carol: [unclosed\n", "stripe.yaml:"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
@pytest.mark.parametrize("command", ["validate", "plan", "apply"])
def test_bad_input_exits_1_naming_file_and_line_and_touches_nothing(
    case: str, command: str, reconcile: Reconcile, write_file: WriteFile, accounts: Any, sandbox: Any
) -> None:
    text, fragment = BAD_INPUTS[case]
    path = write_file(text)
    sandbox.reset_stats()

    args = [command, path] + (["--auto-approve"] if command == "apply" else [])
    result = reconcile(*args)

    assert result.exit_code == 1
    problems = [line for line in lines(result.stderr) if not line.startswith("error: ")]
    assert problems, result.stderr
    assert all(line.startswith(f"{path}:") for line in problems)
    assert any(fragment in line for line in problems), result.stderr
    assert lines(result.stderr)[-1].startswith("error: ")
    assert "Traceback" not in result.stderr
    assert operations(sandbox.stats()) == 0  # checked before any network call


def test_missing_key_is_one_line_and_calls_nothing(reconcile: Reconcile, marketplace: Path, sandbox: Any) -> None:
    sandbox.reset_stats()
    result = reconcile("plan", marketplace, env={"STRIPE_API_KEY": None})
    assert_one_line_error(result, "STRIPE_API_KEY is not set")
    assert operations(sandbox.stats()) == 0


def test_key_from_another_variable(reconcile: Reconcile, marketplace: Path, api_key: str) -> None:
    result = reconcile(
        "plan", marketplace, "--api-key-env", "SHOP_KEY", env={"STRIPE_API_KEY": None, "SHOP_KEY": api_key}
    )
    assert result.exit_code == 0, result.stderr


def test_wrong_key_is_one_line_and_writes_nothing(reconcile: Reconcile, marketplace: Path, sandbox: Any) -> None:
    wrong = "sk_test_WrongKeyDoNotPrint0000000000"
    sandbox.reset_stats()
    result = reconcile("apply", marketplace, "--auto-approve", env={"STRIPE_API_KEY": wrong})
    assert_one_line_error(result, "rejected the API key")
    assert wrong not in result.stdout + result.stderr
    assert operations(sandbox.stats(), "POST") == 0


def test_live_key_with_a_test_mode_file_runs_nothing(reconcile: Reconcile, marketplace: Path, sandbox: Any) -> None:
    sandbox.reset_stats()
    result = reconcile("plan", marketplace, env={"STRIPE_API_KEY": "sk_live_NotForTestMode000000000"})
    assert_one_line_error(result, "mode: test", "live-mode key")
    assert operations(sandbox.stats()) == 0


def test_unconnected_account_is_named_with_its_alias(reconcile: Reconcile, write_file: WriteFile, sandbox: Any) -> None:
    sandbox.add_account(BOOKSHOP)  # coffee is never connected
    path = write_file(MARKETPLACE)
    sandbox.reset_stats()
    result = reconcile("apply", path, "--auto-approve")
    assert_one_line_error(result, "account 'coffee'", COFFEE)
    assert operations(sandbox.stats(), "POST") == 0


def test_apply_without_a_terminal_refuses_unless_auto_approved(
    reconcile: Reconcile, marketplace: Path, sandbox: Any
) -> None:
    sandbox.reset_stats()
    result = reconcile("apply", marketplace)
    assert_one_line_error(result, "--auto-approve")
    assert operations(sandbox.stats(), "POST") == 0


def test_unknown_account_option_is_refused(reconcile: Reconcile, marketplace: Path) -> None:
    result = reconcile("plan", marketplace, "--account", "cofee")
    assert_one_line_error(result, "unknown account alias 'cofee' (declared: bookshop, coffee)")


def test_account_option_narrows_the_plan(reconcile: Reconcile, marketplace: Path) -> None:
    result = reconcile("plan", marketplace, "--account", "bookshop", "--format", "json")
    assert result.exit_code == 0
    shares = [(a["customer_key"], a["account"]) for a in json.loads(result.stdout)["actions"] if a["action"] == "share"]
    assert shares == [("alice", "bookshop")]


def test_detailed_exitcode(reconcile: Reconcile, marketplace: Path) -> None:
    assert reconcile("plan", marketplace).exit_code == 0
    assert reconcile("plan", marketplace, "--detailed-exitcode").exit_code == 2
    assert reconcile("apply", marketplace, "--auto-approve").exit_code == 0
    assert reconcile("plan", marketplace, "--detailed-exitcode").exit_code == 0


def test_plan_out_writes_the_json_plan(reconcile: Reconcile, marketplace: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = reconcile("plan", marketplace, "--out", out)
    assert result.exit_code == 0
    saved = json.loads(out.read_text())
    assert saved["format_version"] == 1
    assert saved["has_changes"] is True
    assert saved["digest"] in result.stdout


def test_markdown_masks_personal_data_unless_told_not_to(reconcile: Reconcile, marketplace: Path) -> None:
    masked = reconcile("plan", marketplace, "--format", "markdown")
    assert masked.exit_code == 0
    assert "alice@example.com" not in masked.stdout
    assert "+15555550100" not in masked.stdout
    plain = reconcile("plan", marketplace, "--format", "markdown", "--no-redact")
    assert "alice@example.com" in plain.stdout
    redacted_text = reconcile("plan", marketplace, "--redact")
    assert "alice@example.com" not in redacted_text.stdout


def test_key_never_appears_in_any_output(tmp_path: Path, write_file: WriteFile) -> None:
    secret = "sk_test_51SecretThatMustNeverBePrinted0000000000000000"
    runner = CliRunner()
    marketplace = write_file(MARKETPLACE)
    broken = write_file(MARKETPLACE.replace("coffee: acct", "tea: acct"), "broken.yaml")
    outputs = []
    with running_sandbox(tmp_path / "secret.sqlite3", api_keys=(secret,), accounts=(BOOKSHOP, COFFEE)) as sandbox:
        env = {"STRIPE_API_KEY": secret, "STRIPE_API_BASE": sandbox.url}
        for args in (
            ("validate", marketplace),
            ("plan", marketplace, "--format", "json", "--out", tmp_path / "plan.json"),
            ("plan", marketplace, "--format", "markdown"),
            ("apply", marketplace, "--auto-approve", "--report", tmp_path / "report.json"),
            ("plan", marketplace, "--debug"),
            ("plan", broken),
            ("plan", marketplace, "--account", "tea"),
        ):
            result = runner.invoke(app, [str(a) for a in args], env=env)
            outputs += [result.stdout, result.stderr]
        sandbox.configure(fail_rate=0.5, fault_seed=7)  # failures and their messages are printed too
        result = runner.invoke(app, ["apply", str(marketplace), "--auto-approve"], env=env)
        outputs += [result.stdout, result.stderr]
    outputs += [(tmp_path / "plan.json").read_text(), (tmp_path / "report.json").read_text()]
    assert all(secret not in text for text in outputs)
    assert all(secret[8:] not in text for text in outputs)


def test_unreachable_api_is_one_line(reconcile: Reconcile, marketplace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The retries back off for ~10 s in real life; the test skips the sleeping, not the retrying.
    monkeypatch.setattr("reconcile.observe.RetryPolicy", partial(RetryPolicy, sleep=lambda _seconds: None))
    result = reconcile("plan", marketplace, "--api-base", "http://127.0.0.1:9")
    assert_one_line_error(result, "cannot reach the API at http://127.0.0.1:9")


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "--bogus"),
        ("plan",),
        ("no-such-command",),
        ("plan", "stripe.yaml", "--adopt-by", "name", "--detailed-exitcode"),
        ("apply", "stripe.yaml", "--concurrency", "many"),
    ],
)
def test_usage_errors_exit_1_never_2(args: tuple[str, ...], reconcile: Reconcile) -> None:
    # With --detailed-exitcode, 2 means "the plan has changes": a typo must not read as drift.
    assert reconcile(*args).exit_code == 1


def test_unwritable_report_is_refused_before_anything_is_written(
    reconcile: Reconcile, marketplace: Path, sandbox: Any, tmp_path: Path
) -> None:
    sandbox.reset_stats()
    result = reconcile("apply", marketplace, "--auto-approve", "--report", tmp_path / "nowhere" / "r.json")
    assert_one_line_error(result, f"--report {tmp_path / 'nowhere' / 'r.json'}: the folder")
    assert operations(sandbox.stats()) == 0
    result = reconcile("plan", marketplace, "--out", tmp_path / "nowhere" / "plan.json")
    assert_one_line_error(result, "--out")


def test_report_is_written_when_there_is_nothing_to_do(reconcile: Reconcile, marketplace: Path, tmp_path: Path) -> None:
    assert reconcile("apply", marketplace, "--auto-approve").exit_code == 0
    report = tmp_path / "report.json"
    assert reconcile("apply", marketplace, "--auto-approve", "--report", report).exit_code == 0
    assert json.loads(report.read_text())["actions"] == []


def test_json_that_is_not_a_plan_is_one_line(reconcile: Reconcile, tmp_path: Path) -> None:
    listed = tmp_path / "list.json"
    listed.write_text("[]")
    assert_one_line_error(reconcile("apply", listed, "--auto-approve"), "expected a JSON object, found list")


def test_key_with_a_line_break_is_refused_offline(reconcile: Reconcile, marketplace: Path, api_key: str) -> None:
    result = reconcile("plan", marketplace, env={"STRIPE_API_KEY": api_key + "\nX"})
    assert_one_line_error(result, "does not hold a Stripe secret key")


def test_credentials_in_the_api_base_are_never_shown(
    reconcile: Reconcile, marketplace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("reconcile.observe.RetryPolicy", partial(RetryPolicy, sleep=lambda _seconds: None))
    result = reconcile("plan", marketplace, "--api-base", "http://admin:hunter2@127.0.0.1:9")
    assert_one_line_error(result, "cannot reach the API at http://127.0.0.1:9")
    assert "hunter2" not in result.stdout + result.stderr


def test_validate_counts_read_naturally(reconcile: Reconcile, write_file: WriteFile) -> None:
    path = write_file(
        "version: 1\nowner: acme\nmode: test\naccounts: {bookshop: acct_1Bookshop}\n"
        "customers:\n  alice: {email: a@example.com, payment: {source: tok_visa}, accounts: [bookshop]}\n"
    )
    assert reconcile("validate", path).stdout.strip() == f"{path}: valid (1 customer, 1 account, 1 share)"


def test_sandbox_state_is_kept_beside_the_file_whatever_the_working_folder(
    reconcile: Reconcile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, elsewhere = tmp_path / "repo", tmp_path / "elsewhere"
    repo.mkdir()
    elsewhere.mkdir()
    stripe_yaml = repo / "stripe.yaml"
    stripe_yaml.write_text(MARKETPLACE, encoding="utf-8")
    monkeypatch.chdir(elsewhere)

    assert reconcile("apply", stripe_yaml, "--sandbox", "--auto-approve").exit_code == 0

    assert (repo / ".reconcile" / "sandbox.sqlite3").exists()
    assert not (elsewhere / ".reconcile").exists()
    monkeypatch.chdir(repo)  # the same file by another path finds the same sandbox
    assert reconcile("plan", "stripe.yaml", "--sandbox").stdout.startswith("No changes.")
    saved = repo / "plan.json"
    assert reconcile("plan", stripe_yaml, "--sandbox", "--out", saved).exit_code == 0
    monkeypatch.chdir(elsewhere)
    applied = reconcile("apply", saved, "--sandbox", "--auto-approve")  # a saved plan: the sandbox beside it
    assert applied.exit_code == 0, applied.stderr
    assert "No changes." in applied.stdout
    imported = reconcile("import", "--sandbox", "--owner", "acme", "--out", repo / "imported.yaml")
    assert imported.exit_code == 0, imported.stderr
    assert "  alice:" in (repo / "imported.yaml").read_text()
    assert not (elsewhere / ".reconcile").exists()
