"""The watch loop: a full resync at start and every ``resync_every``, and in between, a plan narrowed to
the customers recent events touched, made and applied by ``reconcile.session`` as ``apply`` makes them.

Events only say which customers to look at: those customers are read again, so an event that is late,
repeated or out of order costs reads, never a wrong write. The loop never acts on an unsafe plan, nor on
the actions of a customer with a conflict: it logs them and waits for the file or the live state to
change (the next event, reload or resync plans again).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reconcile import session
from reconcile.errors import ReconcileError
from reconcile.gateway import ApiFailure, Gateway
from reconcile.model import Customer, DesiredState, ObservedState
from reconcile.plan import Plan
from reconcile.report import Outcome
from reconcile.retry import RetryPolicy
from reconcile.scope import scope
from reconcile.watch.events import Touch
from reconcile.watch.inbox import Inbox, Pending
from reconcile.watch.index import ManagedIndex, Place
from reconcile.watch.metrics import Metrics
from reconcile.watch.narrow import read_places
from reconcile.watch.own import OwnWrites

log = logging.getLogger("reconcile.watch")

RESYNC_RETRY_SECONDS = 30.0  # after a resync that failed (Stripe unreachable, say)
FILE_CHECK_SECONDS = 1.0  # how often the file's modification time is compared


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchSettings:
    resync_every: float = 3600.0
    window: float = 0.5  # seconds to coalesce a customer's events
    prune: bool = False
    chosen: Sequence[str] | None = None  # --account
    shard: str | None = None  # --shard
    concurrency: int = 8
    policy: RetryPolicy | None = None


class Watcher:
    """Owns the desired state, the managed index and the inbox; ``run`` is the loop, on one thread."""

    def __init__(
        self,
        desired: DesiredState,
        gateway: Gateway,
        settings: WatchSettings,
        *,
        load: Callable[[], DesiredState],
        source: Path | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.gateway = gateway
        self.own = OwnWrites(gateway)
        self.settings = settings
        self.policy = settings.policy or RetryPolicy()
        self.metrics = metrics or Metrics(lambda: dict(gateway.requests))
        self.inbox = Inbox(settings.window)
        self._load = load
        self._source = source
        self._stamp = _stamp(source)
        self._lock = threading.Lock()  # the desired state and the index, shared with the receiving threads
        self._desired = desired
        self._aliases = self._covered(desired)
        self._index = ManagedIndex(desired.owner, self._accounts())
        self._stopping = threading.Event()
        self._reload_asked = threading.Event()
        self._synced = threading.Event()  # the first resync is done
        self._alive = True

    # -- from other threads ----------------------------------------------------------------------

    def receive(self, touch: Touch) -> str:
        """Take one event (webhook or poll); its outcome, also counted in the metrics."""
        outcome = self._receive(touch)
        self.metrics.events.labels(touch.type, outcome).inc()
        self.metrics.pending.set(self.inbox.waiting)
        return outcome

    def _receive(self, touch: Touch) -> str:
        if not touch.watched:
            return "ignored"
        if not self.inbox.first_sight(touch.event_id):
            return "duplicate"
        with self._lock:
            key = self._index.key_of(touch)
            if key is None:
                return "unmanaged"
            self._index.learn(touch, key)
        if self.own.made(touch.idempotency_key):
            return "own_change"
        self.inbox.put(key, touch.created)
        return "queued"

    def refused(self, outcome: str) -> None:
        """A webhook delivery refused before it could be read (bad signature, malformed body)."""
        self.metrics.events.labels("unknown", outcome).inc()

    def stop(self) -> None:
        """Finish what is in flight, then return from ``run``."""
        self._stopping.set()
        self.inbox.wake()

    def reload(self) -> None:
        """Read the file again and plan everything (SIGHUP)."""
        self._reload_asked.set()
        self.inbox.wake()

    def sources(self) -> list[str | None]:
        """Where events come from: the platform (None) and each covered account."""
        with self._lock:
            return [None, *self._accounts().values()]

    def health(self) -> tuple[bool, str]:
        if not self._alive:
            return False, "the watch loop has stopped"
        if not self._synced.is_set():
            return False, "starting: the first resync has not finished"
        return True, "ok"

    @property
    def synced(self) -> threading.Event:
        return self._synced

    # -- the loop ------------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self._loop()
        finally:
            self._alive = False

    def _loop(self) -> None:
        next_resync = 0.0
        next_file_check = time.monotonic() + FILE_CHECK_SECONDS
        while not self._stopping.is_set():
            now = time.monotonic()
            if now >= next_file_check:
                next_file_check = now + FILE_CHECK_SECONDS
                if self._file_changed():
                    log.info("watch: %s changed; reloading", self._source)
                    self._reload_asked.set()
            if self._reload_asked.is_set():
                self._reload_asked.clear()
                if self._reload_file():
                    next_resync = 0.0
            if now >= next_resync:
                try:
                    ok = self._resync()
                except Exception:
                    log.exception("watch: the resync failed unexpectedly; retrying in %.0fs", RESYNC_RETRY_SECONDS)
                    self.metrics.reconciles.labels("resync", "failed").inc()
                    ok = False
                next_resync = time.monotonic() + (self.settings.resync_every if ok else RESYNC_RETRY_SECONDS)
                continue
            batch = self.inbox.take(timeout=max(0.0, min(FILE_CHECK_SECONDS, next_resync - now)))
            self.metrics.pending.set(self.inbox.waiting)
            if batch:
                try:
                    self._reconcile(batch)
                except Exception:
                    # A bug must not stop a service that others rely on: log it whole; the resync retries.
                    log.exception("watch: reconciling %s failed unexpectedly", _keys(batch))
                    self.metrics.reconciles.labels("event", "failed").inc()

    def _covered(self, desired: DesiredState) -> list[str]:
        """The aliases this watch covers in ``desired``: --account, then --shard."""
        return list(scope(desired, list(self.settings.chosen or []) or None, self.settings.shard).accounts)

    def _reload_file(self) -> bool:
        self._stamp = _stamp(self._source)
        try:
            desired = self._load()
            aliases = self._covered(desired)
        except ReconcileError as error:
            log.error("watch: the file was not reloaded, the last good one stays in force: %s", error)
            return False
        with self._lock:
            self._desired, self._aliases = desired, aliases
        log.info("watch: reloaded %s (%d customers)", desired.path, len(desired.customers))
        return True

    def _file_changed(self) -> bool:
        return self._source is not None and _stamp(self._source) != self._stamp

    def _resync(self) -> bool:
        """Observe everything the file covers, plan it and apply what may be applied; False if it failed."""
        with self._lock:
            desired, options = self._desired, self._options()
            accounts = self._accounts()
        self.inbox.drop()  # what happened before this observation, it sees
        try:
            observed = session.observe_for(desired, self.gateway, options, concurrency=self.settings.concurrency)
        except ReconcileError as error:
            log.error("watch: resync failed, retrying in %.0fs: %s", RESYNC_RETRY_SECONDS, error)
            self.metrics.reconciles.labels("resync", "failed").inc()
            return False
        index = ManagedIndex.observed(desired, observed, accounts)
        with self._lock:
            self._index = index
        plan = session.plan_observed(desired, observed, options)
        self._act(plan, "resync", {})
        self.metrics.last_resync.set(time.time())
        self._synced.set()
        return True

    def _reconcile(self, batch: Mapping[str, Pending]) -> None:
        """Plan and apply the customers of ``batch`` from what they are now."""
        with self._lock:
            desired, options = self._desired, self._options()
            accounts = set(self._accounts().values())
            places = {key: self._index.places(key) for key in batch}
            held = self._index.copies_held()
        declared = {spec.key: spec for spec in desired.customers if spec.key in batch}
        for key, spec in declared.items():
            if spec.id:
                places[key].add((None, spec.id))
        try:
            read = self._read(places)
        except ApiFailure as failure:
            log.error("watch: reading %s failed; the next event or resync tries again: %s", _keys(batch), failure)
            self.metrics.reconciles.labels("event", "failed").inc()
            return
        with self._lock:
            for key, where in places.items():
                self._index.learn_read(key, {place: read.get(place) for place in where})
        keys = set(batch)
        for key in sorted(keys):
            if key in declared and not any(p[0] is None and read.get(p) for p in places[key]):
                # Creating a platform customer is left to the resync: an event never proves one is missing.
                log.warning("watch: no live platform customer for '%s'; the next resync plans it", key)
                keys.discard(key)
        narrowed = dataclasses.replace(desired, customers=tuple(s for key, s in declared.items() if key in keys))
        observed = ObservedState(
            platform=tuple(c for place, c in read.items() if c and place[0] is None and _key_in(place, places, keys)),
            accounts={
                account: tuple(
                    c for place, c in read.items() if c and place[0] == account and _key_in(place, places, keys)
                )
                for account in accounts
            },
        )
        plan = dataclasses.replace(session.plan_observed(narrowed, observed, options), copies_held=held)
        self._act(plan, "event", {key: batch[key] for key in keys})

    def _read(self, places: dict[str, set[Place]]) -> dict[Place, Customer | None]:
        """Each key's known customers, then the platform customers their copies name that were not known."""
        policy, concurrency = self.policy, self.settings.concurrency
        read = read_places(
            self.gateway, {p for where in places.values() for p in where}, concurrency=concurrency, policy=policy
        )
        more: dict[Place, str] = {}
        for key, where in places.items():
            if any(p[0] is None for p in where):
                continue
            for place in where:
                copy = read.get(place)
                if copy is not None and copy.platform_customer:
                    more[(None, copy.platform_customer)] = key
        read.update(read_places(self.gateway, more, concurrency=concurrency, policy=policy))
        for place, key in more.items():
            places[key].add(place)
        return read

    def _act(self, plan: Plan, trigger: str, batch: Mapping[str, Pending]) -> None:
        """Apply ``plan``, unless it is unsafe; never the actions of a customer with a conflict."""
        if plan.unsafe and plan.actions:
            log.warning("watch: not applying an unsafe plan (%s); waiting for a person", "; ".join(plan.unsafe))
            self.metrics.reconciles.labels(trigger, "held").inc()
            self.metrics.held.set(len({a.customer_key for a in plan.actions}))
            return
        conflicted = {conflict.customer_key for conflict in plan.conflicts}
        for conflict in plan.conflicts:
            where = f" on {conflict.account}" if conflict.account else ""
            log.warning("watch: conflict: %s%s: %s; not touched", conflict.customer_key, where, conflict.reason)
        self.metrics.held.set(len(conflicted))
        actions = tuple(a for a in plan.actions if a.customer_key not in conflicted)
        if not actions:
            self.metrics.reconciles.labels(trigger, "held" if conflicted else "in_step").inc()
            return
        report = session.apply(
            dataclasses.replace(plan, actions=actions, conflicts=()),
            self.own,
            session.ApplyOptions(concurrency=self.settings.concurrency, policy=self.settings.policy),
        )
        with self._lock:
            self._index.learn_applied(report.results)
        now = time.time()
        for result in report.results:
            self.metrics.actions.labels(result.action.kind.value, result.outcome.value).inc()
            if result.outcome is Outcome.FAILED:
                log.error("watch: failed: %s: %s", result.action.id, result.error)
        done = {r.action.customer_key for r in report.results if r.outcome is Outcome.DONE}
        for key in sorted(done & batch.keys()):
            self.metrics.lag.observe(max(0.0, now - batch[key].first_created))
        outcome = "applied" if report.complete else "failed"
        self.metrics.reconciles.labels(trigger, outcome).inc()
        log.info(
            "watch: %s: %d of %d changes applied for %s (%d API requests)",
            trigger,
            report.count(Outcome.DONE),
            len(actions),
            _keys({a.customer_key: None for a in actions}),
            report.requests,
        )

    def _options(self) -> session.PlanOptions:
        return session.PlanOptions(prune=self.settings.prune, accounts=self._aliases)

    def _accounts(self) -> dict[str, str]:
        return {alias: self._desired.accounts[alias] for alias in self._aliases}


def _key_in(place: Place, places: Mapping[str, set[Place]], keys: set[str]) -> bool:
    return any(place in places[key] for key in keys)


def _keys(keys: Mapping[str, object]) -> str:
    names = sorted(keys)
    shown = ", ".join(names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _stamp(path: Path | None) -> tuple[int, int] | None:
    try:
        stat = path.stat() if path is not None else None
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size) if stat else None
