"""``watch --poll``: read the Events API instead of receiving webhooks, for networks Stripe cannot reach.

One cursor per account (the platform and each covered account, since an account's events are read with
its Stripe-Account header), set to its newest event before the start-up resync: every event after it is
read, oldest first, at each poll. Cursors live in memory; after a restart, the start-up resync covers
what happened meanwhile.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from reconcile.gateway import ApiFailure, Gateway
from reconcile.watch.events import WATCHED_TYPES, MalformedEvent, read_event
from reconcile.watch.loop import Watcher

log = logging.getLogger("reconcile.watch")


class Poller:
    def __init__(self, gateway: Gateway, watcher: Watcher, *, interval: float) -> None:
        self.gateway = gateway
        self.watcher = watcher
        self.interval = interval
        self._cursors: dict[str | None, str | None] = {}  # account -> the newest event read (None: none yet)
        self._stopping = threading.Event()

    def prime(self) -> None:
        """Set each account's cursor at its newest event (call before the start-up resync)."""
        for account in self.watcher.sources():
            self._prime(account)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="watch-poll", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stopping.set()

    def poll(self) -> None:
        """Read every account's new events once, oldest first, and hand them to the watcher."""
        for account in self.watcher.sources():
            if account not in self._cursors:
                self._prime(account)  # covered since a reload, whose resync read it whole
                continue
            try:
                self._poll(account)
            except ApiFailure as failure:
                log.error("watch: polling %s for events failed: %s", account or "the platform", failure)

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.poll()
            except Exception:
                log.exception("watch: polling failed unexpectedly; polling again in %gs", self.interval)

    def _prime(self, account: str | None) -> None:
        try:
            newest, _ = self.gateway.events_page(account, types=WATCHED_TYPES, limit=1)
        except ApiFailure as failure:
            log.error("watch: reading %s's newest event failed: %s", account or "the platform", failure)
            return
        self._cursors[account] = str(newest[0]["id"]) if newest else None

    def _poll(self, account: str | None) -> None:
        cursor = self._cursors[account]
        if cursor is None:
            # No event when the cursor was set: every event there is now is new; walk them back.
            events: list[Mapping[str, object]] = []
            more, after = True, None
            while more:
                page, more = self.gateway.events_page(account, types=WATCHED_TYPES, starting_after=after)
                events.extend(page)
                after = str(page[-1]["id"]) if page else None
                more = more and after is not None
            self._feed(account, list(reversed(events)))
            return
        more = True
        while more and not self._stopping.is_set():
            page, more = self.gateway.events_page(account, types=WATCHED_TYPES, ending_before=cursor)
            self._feed(account, list(reversed(page)))  # a page is newest first
            if not page:
                return
            cursor = str(page[0]["id"])

    def _feed(self, account: str | None, events: list[Mapping[str, object]]) -> None:
        for event in events:
            try:
                touch = read_event(event)
            except MalformedEvent as error:
                log.warning("watch: skipped an event that could not be read: %s", error)
                self.watcher.refused("malformed")
                continue
            self.watcher.receive(touch)
            self._cursors[account] = touch.event_id
