"""gateway -> ObservedState: one snapshot of everything the plan depends on.

Observing costs the fewest calls that read it: the platform's customers and each named account's
customers, every page at Stripe's largest page size, and nothing per customer. The lists are
read concurrently, under the same pacer (--max-rps) as apply, and each page is parsed as it
arrives while the others are in flight.

Each list is read newest first, one page after another. While fewer lists are being read than
--max-rps needs in flight (at the answer times seen so far) and --concurrency allows, the rest of
a long list is split in two by creation time and the older part read beside it: one account
holding most of the customers then does not serialise the run. A split costs at most one page
more (the last page of each part may be short). A missing or unconnected account shows up as the
failure of its first list call.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from reconcile.collector import collector_paused
from reconcile.errors import ReconcileError, StripeApiError
from reconcile.gateway import PAGE_SIZE, ApiFailure, Gateway
from reconcile.model import Customer, ObservedState
from reconcile.paging import pages
from reconcile.retry import RetryPolicy

PLATFORM = "the platform account"
# A range is split only if about this many customers seem left in it: a split may cost a page more.
WORTH_A_READER = 4 * PAGE_SIZE
OPEN_CUT = 8


def snapshot(
    gateway: Gateway,
    *,
    owner: str,
    accounts: Mapping[str, str],
    adopted: Iterable[str] = (),
    concurrency: int = 8,
    policy: RetryPolicy | None = None,
    cards: bool = False,
) -> ObservedState:
    """Observe the platform (customers of ``owner``, or ``adopted``) and the accounts (alias -> id)."""
    lists = read_lists(gateway, accounts, concurrency=concurrency, policy=policy, cards=cards)
    return observed_state(lists, owner=owner, accounts=accounts, adopted=adopted)


Lists = dict[str | None, tuple[Customer, ...]]  # account id (None: the platform) -> its customers


def read_lists(
    gateway: Gateway,
    accounts: Mapping[str, str],
    *,
    concurrency: int = 8,
    policy: RetryPolicy | None = None,
    cards: bool = False,
    stopped: threading.Event | None = None,
) -> Lists:
    """The platform's customers and those of each account (alias -> id), all of them.

    ``stopped``: when set, every reader stops at its next page, and what was read so far is returned.
    """
    names = {None: PLATFORM} | {account: f"account '{alias}' ({account})" for alias, account in accounts.items()}
    return read_customers(gateway, names, concurrency=concurrency, policy=policy, cards=cards, stopped=stopped)


def observed_state(lists: Lists, *, owner: str, accounts: Mapping[str, str], adopted: Iterable[str]) -> ObservedState:
    """The snapshot in ``lists``: the platform's customers that are ``owner``'s or ``adopted``, and the accounts'."""
    adopted = set(adopted)
    relevant = tuple(c for c in lists[None] if c.owner == owner or c.id in adopted)
    return ObservedState(platform=relevant, accounts={account: lists[account] for account in accounts.values()})


def read_customers(
    gateway: Gateway,
    names: Mapping[str | None, str],
    *,
    concurrency: int,
    policy: RetryPolicy | None = None,
    cards: bool = False,
    stopped: threading.Event | None = None,
) -> Lists:
    """Every customer of each list in ``names`` (account id, None for the platform's -> how errors name it)."""
    reading = _Reading(gateway, policy or RetryPolicy(), concurrency=max(1, concurrency), cards=cards, stopped=stopped)
    with collector_paused():
        return reading.run(names)


@dataclass(eq=False)
class _Range:
    """A stretch of one list by creation time, ``gte`` <= created < ``lt`` (None: unbounded), and what it holds."""

    account: str | None
    gte: int | None = None
    lt: int | None = None
    customers: list[Customer] = field(default_factory=list)
    more: bool = True  # no page has ended it yet
    pages: Iterator[tuple[list[Customer], bool]] | None = None  # one reader at a time asks for the next

    def left(self) -> float:
        """About how many customers are left to read: for a bounded range, a guess from how many were
        created per second in what it read; for the oldest range of a list, unknown (infinite) once
        two full pages suggest a long list, none before."""
        if not self.more or not self.customers:
            return 0
        reached = self.customers[-1].created
        if self.gte is None:
            return math.inf if len(self.customers) >= 2 * PAGE_SIZE else 0
        per_second = len(self.customers) / max(1, self.customers[0].created - reached)
        return (reached - self.gte) * per_second


class _Reading:
    """The lists of one snapshot, read a page at a time by up to ``concurrency`` readers.

    Ranges take turns: a reader reads the next page of the range that has waited longest and puts
    it back in line, so every list advances alike and none is left to read alone at the end. A
    reader with no range waiting takes the older part of the range that seems to have the most
    left (``_cut``), if one more reader is wanted at all: while fewer read than --max-rps needs
    in flight, at the answer times seen so far, and --concurrency allows.
    """

    def __init__(
        self,
        gateway: Gateway,
        policy: RetryPolicy,
        *,
        concurrency: int,
        cards: bool,
        stopped: threading.Event | None = None,
    ) -> None:
        self.gateway = gateway
        self.policy = policy
        self.concurrency = concurrency
        self.cards = cards
        self.lock = threading.Lock()
        self.ranges: dict[str | None, list[_Range]] = {}  # each list's ranges, newest first
        self.ready: deque[_Range] = deque()  # ranges waiting for a reader to ask for their next page
        self.reading: list[_Range] = []  # ranges a reader is asking for a page of
        self.readers: list[Future[None]] = []
        self.alive = 0  # readers that have not returned
        self.stopped = threading.Event()  # a list failed (or Ctrl-C): every reader stops at its next page
        self.cancelled = stopped or threading.Event()  # the caller's: the same, without an error
        self.pool = ThreadPoolExecutor(max_workers=concurrency)

    def run(self, names: Mapping[str | None, str]) -> dict[str | None, tuple[Customer, ...]]:
        with self.lock:
            for account in names:
                self.ranges[account] = [self._range(account)]
                self.ready.append(self.ranges[account][0])
            for _ in range(min(self.concurrency, len(names))):
                self._add_reader()
        try:
            self._wait(names)
        finally:
            self.stopped.set()
            self.pool.shutdown(wait=True, cancel_futures=True)
        return {account: tuple(c for part in parts for c in part.customers) for account, parts in self.ranges.items()}

    def _range(self, account: str | None, *, gte: int | None = None, lt: int | None = None) -> _Range:
        part = _Range(account, gte=gte, lt=lt)

        def page(after: str | None) -> tuple[list[Customer], bool]:
            # The lower bound is read at each call: a cut may have moved it since the last page.
            return self.gateway.customers_page(
                account, starting_after=after, created_gte=part.gte, created_lt=lt, cards=self.cards
            )

        part.pages = pages(page, self.policy, stopped=self.stopped)
        return part

    def _add_reader(self) -> None:
        """Another reader (lock held)."""
        self.alive += 1
        self.readers.append(self.pool.submit(self._reader))

    def _wait(self, names: Mapping[str | None, str]) -> None:
        done: set[Future[None]] = set()
        while True:
            with self.lock:
                running = [reader for reader in self.readers if reader not in done]
            if not running:
                return
            finished, _ = wait(running, return_when=FIRST_EXCEPTION)
            for reader in finished:
                done.add(reader)
                failure = reader.exception()
                if isinstance(failure, _ListFailed):
                    raise describe_failure(failure.failure, names[failure.account]) from None
                if failure is not None:
                    raise failure

    def _reader(self) -> None:
        try:
            while not (self.stopped.is_set() or self.cancelled.is_set()):
                part = self._next()
                if part is None:
                    return
                assert part.pages is not None
                try:
                    page = next(part.pages, None)
                except ApiFailure as failure:
                    raise _ListFailed(part.account, failure) from None
                self._read(part, page)
        finally:
            with self.lock:
                self.alive -= 1

    def _next(self) -> _Range | None:
        """The range that has waited longest; else the older part of the one with the most left, if wanted."""
        with self.lock:
            if self.ready:
                part = self.ready.popleft()
            else:
                if not self._wanted(len(self.reading) + 1):
                    return None
                victim = max(self.reading, key=_Range.left, default=None)
                if victim is None or victim.left() < WORTH_A_READER:
                    return None
                part = self._cut(victim)
            self.reading.append(part)
            return part

    def _read(self, part: _Range, page: tuple[list[Customer], bool] | None) -> None:
        """Keep a page of ``part`` (None: stopped) and put the range back in line if more follow."""
        with self.lock:
            self.reading.remove(part)
            if page is None:
                part.more = False
                return
            customers, more = page
            # A page asked for before a cut may reach past it: what lies beyond is the other reader's.
            kept = [c for c in customers if part.gte is None or c.created >= part.gte]
            part.customers.extend(kept)
            part.more = more and len(kept) == len(customers)
            if not part.more:
                return
            self.ready.append(part)
            if self.alive < self.concurrency and self._wanted(self.alive + 1):
                self._add_reader()

    def _wanted(self, readers: int) -> bool:
        """Whether ``readers`` would read faster than one fewer: --max-rps is not reached (lock held)."""
        return readers <= min(self.concurrency, self.gateway.in_flight_for_ceiling())

    def _cut(self, part: _Range) -> _Range:
        """Split off the older part of what is left of ``part`` (lock held); ``part`` keeps the rest.

        A bounded range is cut in half. The oldest range of a list is not bounded: how far back the
        list goes is unknown, so the cut leaves ``part`` several times the seconds the whole list
        read so far covers; repeated, the pieces grow fast, and a long list is shared in a few cuts.
        """
        reached = part.customers[-1].created
        if part.gte is not None:
            cut = part.gte + (reached - part.gte + 1) // 2
        else:
            first = self.ranges[part.account][0].customers[0].created
            cut = reached - OPEN_CUT * max(1, first - reached)
        older = self._range(part.account, gte=part.gte, lt=cut)
        part.gte = cut  # customers created at `reached` or after stay with `part`
        parts = self.ranges[part.account]
        parts.insert(parts.index(part) + 1, older)
        return older


@dataclass(eq=False)
class _ListFailed(Exception):
    """A read of one list failed; which list, for the message."""

    account: str | None
    failure: ApiFailure


def describe_failure(failure: ApiFailure, where: str) -> ReconcileError:
    """A one-line error for a failed read, naming the account; never the key."""
    if failure.status == 401:
        return StripeApiError(
            "Stripe rejected the API key (401: invalid or revoked key)",
            request_id=failure.request_id,
            status=401,
        )
    if failure.status in (400, 403, 404) and where != PLATFORM:
        return StripeApiError(
            f"{where} is not reachable: it does not exist or is not connected to this platform "
            f"(Stripe said: {failure.message})",
            request_id=failure.request_id,
            status=failure.status,
        )
    status = f"HTTP {failure.status}" if failure.status else "no answer"
    return StripeApiError(
        f"reading {where} failed ({status}): {failure.message}",
        request_id=failure.request_id,
        status=failure.status,
    )
