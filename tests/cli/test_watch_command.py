"""reconcile watch refuses bad options and secrets with one line, before it serves or calls anything."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_commands import assert_one_line_error
from tests.support import Reconcile


def test_watch_needs_listen_or_poll(reconcile: Reconcile, marketplace: Path, sandbox: Any) -> None:
    result = reconcile("watch", marketplace, env={"STRIPE_WEBHOOK_SECRET": "whsec_x"})
    assert_one_line_error(result, "--listen HOST:PORT", "--poll")
    assert sandbox.stats()["total"] == 0


@pytest.mark.parametrize(
    ("secret", "expected"),
    [(None, "STRIPE_WEBHOOK_SECRET is not set"), (" , ", "is not set"), ("sk_test_oops", "whsec_")],
)
def test_webhooks_need_signing_secrets(
    reconcile: Reconcile, marketplace: Path, sandbox: Any, secret: str | None, expected: str
) -> None:
    result = reconcile("watch", marketplace, "--listen", "127.0.0.1:0", env={"STRIPE_WEBHOOK_SECRET": secret})
    assert_one_line_error(result, expected)
    assert "sk_test_oops" not in result.stderr
    assert sandbox.stats()["total"] == 0


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [("--listen", "8080", "--listen must be HOST:PORT"), ("--resync", "soon", "--resync must be a duration")],
)
def test_bad_option_values_are_one_line(
    reconcile: Reconcile, marketplace: Path, sandbox: Any, option: str, value: str, expected: str
) -> None:
    result = reconcile("watch", marketplace, "--poll", option, value)
    assert_one_line_error(result, expected)
    assert sandbox.stats()["total"] == 0


def test_a_port_in_use_is_one_line(reconcile: Reconcile, marketplace: Path, sandbox: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = reconcile("watch", marketplace, "--poll", "--listen", f"127.0.0.1:{port}")
    assert_one_line_error(result, f"--listen 127.0.0.1:{port}: cannot listen there")


def test_a_bad_file_is_refused_before_anything_runs(reconcile: Reconcile, tmp_path: Path, sandbox: Any) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nowner: acme\nmode: test\naccounts: {}\ncustomers:\n  alice: {email: 3}\n")
    result = reconcile("watch", bad, "--poll")
    assert result.exit_code == 1
    assert "bad.yaml:6:" in result.stderr
    assert sandbox.stats()["total"] == 0
