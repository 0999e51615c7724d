"""One error hierarchy; cli.py alone turns it into a message and an exit code."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    CHANGES = 2  # only with --detailed-exitcode: success, and the plan has changes


class ReconcileError(Exception):
    """An error the user sees as one line, without a traceback."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in a desired-state file, at a 1-based line and column."""

    path: str  # the file
    line: int
    column: int
    where: str  # JSON-ish path in the document: customers.alice.accounts[1]
    message: str

    def __str__(self) -> str:
        where = f"{self.where}: " if self.where else ""
        return f"{self.path}:{self.line}:{self.column}: {where}{self.message}"


class ConfigError(ReconcileError):
    """Every problem found in a file, sorted by position; one line each."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.path, p.line, p.column, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))


class StripeApiError(ReconcileError):
    """A Stripe API call failed; carries Stripe's message and request id, never the key."""

    def __init__(self, message: str, *, request_id: str | None = None, status: int | None = None) -> None:
        self.request_id = request_id
        self.status = status
        suffix = f" (request {request_id})" if request_id else ""
        super().__init__(f"{message}{suffix}")


class UnsafePlanError(ReconcileError):
    """The plan changes more than the safety threshold allows without --force."""
