"""The collector is held off while any pause is open, and runs again after the last, as it did before."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from reconcile.collector import collector_paused


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    (gc.enable if enabled else gc.disable)()


def test_overlapping_pauses_hold_the_collector_off_until_the_last_ends() -> None:
    gc.enable()
    loading, reading = collector_paused(), collector_paused()  # as a file loading beside its reads

    loading.__enter__()
    reading.__enter__()
    loading.__exit__(None, None, None)  # the file is in first
    held_while_reading = not gc.isenabled()
    reading.__exit__(None, None, None)

    assert held_while_reading
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()

    with collector_paused(), collector_paused():
        pass

    assert not gc.isenabled()
