"""A large file loads while its lists are read: the same plan as loading it first, and its problems first."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconcile import loading
from reconcile.model import Header
from tests.support import MARKETPLACE, Reconcile, writes

BAD_LAST_CUSTOMER = MARKETPLACE + "  zed:\n    emial: zed@example.com\n"


@pytest.fixture
def overlapping(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file loads beside its reads, however small."""
    monkeypatch.setattr(loading, "OVERLAP_FROM_BYTES", 0)


def large_file(customers: int) -> str:
    lines = [MARKETPLACE]
    for n in range(customers):
        lines.append(f"  c{n:05d}:\n    email: c{n}@example.com\n    name: Customer {n:05d}\n")
    return "".join(lines)


def test_a_file_over_the_threshold_loads_beside_its_reads_and_plans_the_same(
    reconcile: Reconcile, write_file: Callable[..., Path], accounts: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = large_file(5_000)
    assert len(text) > loading.OVERLAP_FROM_BYTES
    path = write_file(text)
    started: list[str] = []
    beside = loading.Loading.beside

    def spy(text: str, header: Header) -> loading.Loading:
        started.append(header.path)
        return beside(text, header)

    monkeypatch.setattr(loading.Loading, "beside", staticmethod(spy))

    overlapped = reconcile("plan", path, "--format", "json")
    monkeypatch.setattr(loading, "OVERLAP_FROM_BYTES", len(text) + 1)
    first = reconcile("plan", path, "--format", "json")

    assert started == [str(path)]  # the first run only
    assert overlapped.exit_code == first.exit_code == 0, overlapped.output
    assert json.loads(overlapped.stdout)["digest"] == json.loads(first.stdout)["digest"]
    assert len(json.loads(overlapped.stdout)["actions"]) == 5_000 + 7  # a create for each, and the marketplace's 7


@pytest.mark.usefixtures("overlapping")
def test_apply_of_a_file_loading_beside_its_reads_converges(reconcile: Reconcile, marketplace: Path) -> None:
    applied = reconcile("apply", marketplace, "--auto-approve")
    assert applied.exit_code == 0, applied.output

    again = reconcile("plan", marketplace, "--detailed-exitcode")

    assert again.exit_code == 0, again.output
    assert "No changes." in again.stdout


@pytest.mark.usefixtures("overlapping", "accounts")
@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_problem_below_the_header_stops_the_run_with_its_position_and_writes_nothing(
    reconcile: Reconcile, write_file: Callable[..., Path], sandbox: Any, command: str
) -> None:
    path = write_file(BAD_LAST_CUSTOMER)
    line = BAD_LAST_CUSTOMER.count("\n")

    result = reconcile(command, path, "--auto-approve") if command == "apply" else reconcile(command, path)

    assert result.exit_code == 1
    assert f"{path}:{line}:5: customers.zed: unknown field 'emial'" in result.stderr
    assert "Traceback" not in result.output
    assert writes(sandbox.stats()) == {}


@pytest.mark.usefixtures("overlapping", "accounts")
def test_the_file_s_problems_come_before_a_missing_api_key(
    reconcile: Reconcile, write_file: Callable[..., Path]
) -> None:
    path = write_file(BAD_LAST_CUSTOMER)

    result = reconcile("plan", path, env={"STRIPE_API_KEY": None})

    assert result.exit_code == 1
    assert "unknown field 'emial'" in result.stderr
    assert "STRIPE_API_KEY" not in result.stderr
