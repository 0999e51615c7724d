"""The --report file is the report's JSON, written an action at a time."""

from __future__ import annotations

import json

import pytest

from reconcile.report import ActionResult, ApplyReport, Outcome
from tests.builders import one_of_each_kind


def results(count: int) -> tuple[ActionResult, ...]:
    actions = one_of_each_kind()[:count]
    outcomes = [Outcome.DONE, Outcome.FAILED, Outcome.SKIPPED]
    return tuple(
        ActionResult(action=a, outcome=outcomes[i % 3], object_id=f"cus_{i}", error="é\n\"x\"" if i % 3 else None)
        for i, a in enumerate(actions)
    )


@pytest.mark.parametrize("count", [0, 1, 3])
def test_the_streamed_report_is_the_indented_json_of_the_whole(count: int) -> None:
    report = ApplyReport(results=results(count), requests=7, seconds=1.25)

    streamed = "".join(report.json_text())

    assert streamed == json.dumps(report.to_json(), indent=2) + "\n"
    assert len(json.loads(streamed)["actions"]) == count
