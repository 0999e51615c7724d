"""Sandbox database: every write to an object is journaled, and the journal is shown only on commit."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from reconcile.sandbox.db import Change, Scope
from reconcile.sandbox.store import CustomerChanges, Store


class Recorder:
    """A change listener that keeps what it is shown."""

    def __init__(self) -> None:
        self.transactions: list[list[Change]] = []
        self.commits = 0

    def record(self, db: sqlite3.Connection, changes: list[Change]) -> bool:
        self.transactions.append(changes)
        return True

    def committed(self) -> None:
        self.commits += 1


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "journal.sqlite3")


@pytest.fixture
def recorder(store: Store) -> Recorder:
    listener = Recorder()
    store.database.listen(listener)
    return listener


def summary(changes: list[Change]) -> list[tuple[str, bool, bool]]:
    return [(change.kind, change.before is None, change.deleted) for change in changes]


def test_a_create_is_one_change_per_object_made_with_its_final_state(store: Store, recorder: Recorder) -> None:
    scope = Scope(store.platform_id, livemode=False)
    store.create_customer(scope, CustomerChanges(fields={"email": "a@example.com"}, source="tok_visa"))
    (changes,) = recorder.transactions
    assert summary(changes) == [("customer", True, False), ("card", True, False)]
    customer, card = changes
    assert customer.after["default_source"] == card.after["id"]  # saved after the insert: the last state counts
    assert (customer.account, customer.livemode) == (store.platform_id, False)
    assert recorder.commits == 1


def test_an_update_keeps_the_state_before_the_transaction(store: Store, recorder: Recorder) -> None:
    scope = Scope(store.platform_id, livemode=False)
    made = store.create_customer(scope, CustomerChanges(fields={"name": "A"}))
    customer_id = json.loads(made)["id"]
    store.update_customer(scope, customer_id, CustomerChanges(fields={"name": "B"}))
    (change,) = recorder.transactions[-1]
    assert change.before is not None
    assert (change.before["name"], change.after["name"], change.deleted) == ("A", "B", False)


def test_a_delete_is_journaled_for_the_customer_and_what_goes_with_it(store: Store, recorder: Recorder) -> None:
    scope = Scope(store.platform_id, livemode=False)
    made = store.create_customer(scope, CustomerChanges(source="tok_visa", payment_method="pm_card_visa"))
    customer_id = json.loads(made)["id"]
    store.delete_customer(scope, customer_id)
    assert summary(recorder.transactions[-1]) == [
        ("customer", False, True),
        ("card", False, True),
        ("payment_method", False, False),
    ]
    assert recorder.transactions[-1][2].after["customer"] is None


def test_a_refused_write_shows_nothing(store: Store, recorder: Recorder) -> None:
    scope = Scope(store.platform_id, livemode=False)
    with pytest.raises(Exception, match="No such token"):
        store.create_customer(scope, CustomerChanges(fields={"email": "a@example.com"}, source="tok_nothing"))
    assert (recorder.transactions, recorder.commits) == ([], 0)
