"""What apply prints while it runs in CI: plain progress lines without a terminal, and --log-format json."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path
from typing import Any

from reconcile.actions import ActionKind
from reconcile.planner import plan as make_plan
from reconcile.progress import ApplyProgress
from reconcile.report import ActionResult, Outcome
from tests.builders import desired, observed, spec
from tests.support import Reconcile, lines


def test_without_a_terminal_apply_prints_a_progress_line_every_interval(
    reconcile: Reconcile, marketplace: Path, sandbox: Any
) -> None:
    sandbox.configure(latency_ms=150)  # 7 actions, one after another: over a second

    result = reconcile(
        "apply", marketplace, "--auto-approve", "--concurrency", "1", env={"RECONCILE_PROGRESS_SECONDS": "0.2"}
    )

    assert result.exit_code == 0, result.stderr
    progress = [line for line in lines(result.stderr) if line.startswith("applying: ")]
    assert len(progress) >= 2
    assert "/7 done, " in progress[-1]
    assert "Apply complete: 7 done" in result.stdout


def test_the_progress_interval_must_be_a_number_of_seconds(reconcile: Reconcile, marketplace: Path) -> None:
    result = reconcile("apply", marketplace, "--auto-approve", env={"RECONCILE_PROGRESS_SECONDS": "soon"})
    assert result.exit_code == 1
    assert lines(result.stderr) == ["error: RECONCILE_PROGRESS_SECONDS must be a number of seconds, not 'soon'"]


def test_a_progress_line_says_done_of_total_rate_time_left_and_failures() -> None:
    first = make_plan(desired(spec("alice"), spec("bob")), observed())
    stream = io.StringIO()
    progress = ApplyProgress(total=len(first.actions), tty=False, interval=0.01, stream=stream)
    with progress:
        for action in first.actions[:2]:
            progress.advance(ActionResult(action=action, outcome=Outcome.DONE))
        progress.advance(ActionResult(action=first.actions[2], outcome=Outcome.FAILED, error="card declined"))
        deadline = time.monotonic() + 5
        while "1 not done" not in stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
    assert progress.line(elapsed=2.0) == f"applying: 3/{len(first.actions)} done, 1.5/s, about 2s left, 1 not done"
    assert stream.getvalue().splitlines()[-1].startswith(f"applying: 3/{len(first.actions)} done, ")
    assert all(t.name != "apply-progress" for t in threading.enumerate())  # stopped with the apply


def test_log_format_json_prints_one_object_per_line_plan_actions_outcome(
    reconcile: Reconcile, marketplace: Path
) -> None:
    result = reconcile("apply", marketplace, "--auto-approve", "--log-format", "json", "--account", "coffee")

    assert result.exit_code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    planned, *actions, applied = events
    assert planned["type"] == "planned"
    assert planned["digest"].startswith("sha256:")
    assert planned["summary"] == {"create": 2, "share": 2, "update": 0, "unshare": 0}
    assert planned["scope"]["account_filter"] == ["coffee"]
    assert {a["type"] for a in actions} == {"action"}
    assert len(actions) == planned["actions"]
    assert {a["action"] for a in actions} == {ActionKind.CREATE_CUSTOMER.value, "attach_source", "share"}
    share = next(a for a in actions if a["action"] == "share")
    assert share["outcome"] == "done"
    assert share["account"] == "coffee"
    assert share["object_id"].startswith("cus_")
    assert share["request_id"].startswith("req_")
    assert all(a["@timestamp"].endswith("Z") for a in events)
    assert applied["type"] == "applied"
    assert applied["complete"] is True
    assert applied["counts"] == {"done": len(actions), "failed": 0, "skipped": 0}


def test_log_format_json_with_nothing_to_do_still_says_planned_and_applied(
    reconcile: Reconcile, marketplace: Path
) -> None:
    assert reconcile("apply", marketplace, "--auto-approve").exit_code == 0
    result = reconcile("apply", marketplace, "--auto-approve", "--log-format", "json")
    assert [json.loads(line)["type"] for line in result.stdout.splitlines()] == ["planned", "applied"]
