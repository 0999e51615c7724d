"""ApplyReport: what apply did, action by action; it owns the apply exit code."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reconcile.actions import Action
from reconcile.errors import ExitCode

REPORT_FORMAT_VERSION = 1


class Outcome(StrEnum):
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # a prerequisite did not succeed


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionResult:
    action: Action
    outcome: Outcome
    object_id: str | None = None
    error: str | None = None  # Stripe's message (or why it was skipped)
    request_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.action.id,
            "action": self.action.kind.value,
            "customer_key": self.action.customer_key,
            "account": self.action.account,
            "account_id": self.action.account_id,
            "outcome": self.outcome.value,
            "object_id": self.object_id,
            "error": self.error,
            "request_id": self.request_id,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyReport:
    results: tuple[ActionResult, ...]
    requests: int = 0  # HTTP requests apply made, retries included
    seconds: float = 0.0
    interrupted: bool = False  # Ctrl-C: what was in flight finished, the rest was skipped

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    @property
    def complete(self) -> bool:
        return all(r.outcome is Outcome.DONE for r in self.results)

    @property
    def return_code(self) -> ExitCode:
        return ExitCode.OK if self.complete else ExitCode.ERROR

    def totals(self) -> dict[str, Any]:
        """The outcome without its actions: what the report and the JSON log's last line say of the run."""
        return {
            "complete": self.complete,
            "counts": {outcome.value: self.count(outcome) for outcome in Outcome},
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "interrupted": self.interrupted,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": REPORT_FORMAT_VERSION,
            **self.totals(),
            "actions": [r.to_json() for r in self.results],
        }

    def json_text(self) -> Iterator[str]:
        """``json.dumps(to_json(), indent=2)`` and a newline, an action at a time: a report of a hundred
        thousand actions is not built whole beside the results it is made of."""
        head = json.dumps({"format_version": REPORT_FORMAT_VERSION, **self.totals(), "actions": []}, indent=2)
        opening = head.removesuffix("[]\n}")
        if not self.results:
            yield head + "\n"
            return
        yield opening + "["
        for index, result in enumerate(self.results):
            item = textwrap.indent(json.dumps(result.to_json(), indent=2), "    ")
            yield ("," if index else "") + "\n" + item
        yield "\n  ]\n}\n"
