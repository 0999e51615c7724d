"""The command line as a new user first meets it: --version, --help, shell completion."""

from __future__ import annotations

from importlib import metadata

import pytest
from typer.testing import CliRunner

from reconcile.cli import app

COMMANDS = [(), ("validate",), ("plan",), ("apply",), ("import",), ("sandbox",), ("sandbox", "serve")]


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "80", **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def test_version_names_the_distribution_and_its_installed_version() -> None:
    code, out, _ = invoke("--version")
    assert code == 0
    assert out == f"reconcile-stripe {metadata.version('reconcile-stripe')}\n"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "reconcile")
def test_help_fits_80_columns_without_a_type_after_every_flag(command: tuple[str, ...]) -> None:
    code, out, _ = invoke(*command, "--help")
    assert code == 0
    assert "Usage: reconcile" in out
    assert max(len(line) for line in out.splitlines()) <= 80, out
    assert "<bool>" not in out
    assert "<str>" not in out  # options say what they take (URL, NAME, ALIAS), not a Python type


def test_help_shows_the_choices_an_option_takes() -> None:
    _, out, _ = invoke("plan", "--help")
    assert "--format <text|json|markdown>" in out
    assert "--adopt-by <fingerprint|email>" in out


def test_a_value_outside_the_choices_is_a_usage_error_naming_them() -> None:
    code, _, err = invoke("plan", "stripe.yaml", "--format", "yaml")
    assert code == 1  # never the 2 of "changes pending"
    assert "'yaml'" in err
    assert "text" in err
    assert "markdown" in err


def test_shell_completion_is_offered_and_completes_commands_and_choices() -> None:
    _, out, _ = invoke("--help")
    assert "--install-completion" in out
    assert "--show-completion" in out

    def complete(words: str) -> list[str]:
        cword = str(len(words.split()) - (0 if words.endswith(" ") else 1))
        env = {"_RECONCILE_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
        code, out, _ = invoke(env=env)
        assert code == 0
        return out.split()

    assert complete("reconcile pl") == ["plan"]
    assert complete("reconcile plan stripe.yaml --format ") == ["text", "json", "markdown"]
    assert "--expect-digest" in complete("reconcile apply stripe.yaml --exp")
