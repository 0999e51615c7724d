"""reconcile import and --adopt-by as a user meets them: one-line errors, nothing written anywhere on bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support import BOOKSHOP, Reconcile, lines, operations


def assert_one_line_error(result: Any, *fragments: str) -> None:
    assert result.exit_code == 1, result.stdout + result.stderr
    (line,) = lines(result.stderr)
    assert line.startswith("error: ")
    for fragment in fragments:
        assert fragment in line
    assert "Traceback" not in result.stderr + result.stdout


def test_unknown_account_is_one_line_and_nothing_is_written(
    reconcile: Reconcile, accounts: Any, sandbox: Any, tmp_path: Path
) -> None:
    out = tmp_path / "imported.yaml"
    sandbox.reset_stats()

    result = reconcile("import", "--account", BOOKSHOP, "--account", "acct_1Unknown", "--out", out)

    assert_one_line_error(result, "account acct_1Unknown is not reachable", "not connected to this platform")
    assert not out.exists()
    assert result.stdout == ""
    assert operations(sandbox.stats(), "POST") == 0
    assert operations(sandbox.stats(), "GET /v1/customers") == 0  # refused before any customer is read


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--owner", "Acme Marketplace"), "--owner: invalid owner 'Acme Marketplace'"),
        (("--account", "bookshop"), "--account: expected acct_… or ALIAS=acct_…, got 'bookshop'"),
        (("--account", "bad alias=acct_1B"), "--account: invalid alias 'bad alias'"),
        (("--account", "a=acct_1B", "--account", "a=acct_1C"), "the alias 'a' is given twice"),
        (("--account", "a=acct_1B", "--account", "b=acct_1B"), "acct_1B is given two aliases, 'a' and 'b'"),
    ],
)
def test_bad_options_are_refused_before_any_request(
    args: tuple[str, ...], fragment: str, reconcile: Reconcile, sandbox: Any
) -> None:
    sandbox.reset_stats()
    result = reconcile("import", *args)
    assert_one_line_error(result, fragment)
    assert operations(sandbox.stats()) == 0


def test_missing_key_is_one_line(reconcile: Reconcile, sandbox: Any) -> None:
    result = reconcile("import", env={"STRIPE_API_KEY": None})
    assert_one_line_error(result, "STRIPE_API_KEY is not set")


def test_mode_comes_from_the_key(reconcile: Reconcile, accounts: Any, sandbox: Any) -> None:
    result = reconcile("import")
    assert result.exit_code == 0, result.stderr
    assert "\nmode: test\n" in result.stdout


def test_sandbox_import_needs_an_embedded_sandbox_to_read(
    reconcile: Reconcile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = reconcile("import", "--sandbox")
    assert_one_line_error(result, "no embedded sandbox in .reconcile/ yet")
    assert not (tmp_path / ".reconcile").exists()


def test_sandbox_import_reads_what_apply_sandbox_made(
    reconcile: Reconcile, marketplace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert reconcile("apply", marketplace, "--sandbox", "--auto-approve").exit_code == 0

    result = reconcile("import", "--sandbox", "--owner", "acme")

    assert result.exit_code == 0, result.stderr
    assert "  alice:" in result.stdout
    assert "already ours" in result.stdout
    assert lines(result.stderr)[-1] == "Next: reconcile plan FILE"


def test_adopt_by_accepts_only_fingerprint_or_email(reconcile: Reconcile, marketplace: Path) -> None:
    result = reconcile("plan", marketplace, "--adopt-by", "name")
    assert result.exit_code == 1  # a usage error: 1, never the 2 of "changes pending"
    assert "fingerprint" in result.stderr
    assert "email" in result.stderr


def test_adopt_by_is_refused_with_a_saved_plan(reconcile: Reconcile, marketplace: Path, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    assert reconcile("plan", marketplace, "--out", saved).exit_code == 0

    result = reconcile("apply", saved, "--adopt-by", "email", "--auto-approve")

    assert_one_line_error(result, "--adopt-by shape a plan when it is made: give them to plan --out, not apply")


def test_an_out_file_that_cannot_be_written_is_one_line(reconcile: Reconcile, accounts: Any, tmp_path: Path) -> None:
    result = reconcile("import", "--out", tmp_path / "missing" / "imported.yaml")
    assert_one_line_error(result, "imported.yaml: cannot write the file: No such file or directory")
