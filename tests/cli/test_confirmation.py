"""apply's question, asked on a real terminal: it reaches the user even when stdout goes to a file."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.support import operations

QUESTION = "Only 'yes' is accepted: "


def apply_on_a_terminal(marketplace: Path, sandbox: Any, api_key: str, answer: str, log: Path) -> tuple[int, str]:
    """Run `reconcile apply FILE > log` with stdin and stderr on a pseudo-terminal; answer the question."""
    controller, terminal = pty.openpty()
    env = {**os.environ, "STRIPE_API_KEY": api_key, "STRIPE_API_BASE": sandbox.url, "NO_COLOR": "1"}
    with log.open("w") as stdout:
        process = subprocess.Popen(
            [sys.executable, "-m", "reconcile", "apply", str(marketplace)],
            stdin=terminal,
            stdout=stdout,
            stderr=terminal,
            env=env,
        )
    os.close(terminal)
    seen = read_until(controller, QUESTION)
    os.write(controller, f"{answer}\n".encode())
    code = process.wait(timeout=60)
    seen += read_until(controller, None)
    os.close(controller)
    return code, seen


def read_until(controller: int, wanted: str | None, timeout: float = 30) -> str:
    """What the terminal showed, until ``wanted`` appears (None: until the other side closes)."""
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (wanted is None or wanted not in seen):
        ready, _, _ = select.select([controller], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the process exited and closed its side (EIO on Linux)
            break
        if not chunk:
            break
        seen += chunk.decode(errors="replace")
    assert wanted is None or wanted in seen, f"never asked; the terminal showed: {seen!r}"
    return seen


def test_the_question_is_asked_on_the_terminal_when_stdout_goes_to_a_file(
    marketplace: Path, sandbox: Any, api_key: str, tmp_path: Path
) -> None:
    log = tmp_path / "apply.log"

    code, terminal = apply_on_a_terminal(marketplace, sandbox, api_key, "yes", log)

    assert code == 0, terminal
    assert QUESTION in terminal  # the question itself: its wording is apply's business
    written = log.read_text()
    assert "+ create_customer alice" in written  # the plan itself is output, in the log
    assert "Apply complete" in written
    assert QUESTION not in written


def test_any_answer_but_yes_cancels_and_writes_nothing(
    marketplace: Path, sandbox: Any, api_key: str, tmp_path: Path
) -> None:
    sandbox.reset_stats()

    code, terminal = apply_on_a_terminal(marketplace, sandbox, api_key, "y", tmp_path / "apply.log")

    assert code == 1
    assert "error: apply cancelled; nothing was changed" in terminal
    assert operations(sandbox.stats(), "POST") == 0
