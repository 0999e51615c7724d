"""Apply a Plan: ordering, concurrency, retries, idempotency; the outcome is an ApplyReport.

Idempotency (README, "Why apply cannot duplicate"): every write carries a key derived from what
it does, followed by a generation number (``…:1``, ``…:2``, …). Stripe keeps the first answer
given under a key and replays it to every later request with that key, so the answer under a
key is one fact that every process reads alike. A write moves to the next generation only when
that fact says the key produced nothing usable: a replayed failure, a replayed create whose
object has since been deleted (or is no longer ours), a spent token. A fresh 5xx says nothing
(the write may have committed and only its answer been lost), so the same key is sent again
until Stripe's stored answer comes back; if it never does, the action fails and a re-run asks
again. Because every process walks the same keys on the same facts, concurrent applies, retries
and crash-and-rerun converge on one object per key sequence.

Creates need keys that are stable across runs and across versions of the file: the key names
the object's identity (owner, account, customer key, platform customer, source), not its fields,
so that two applies of different revisions meet on one key (Stripe then refuses the second's
parameters, and the copy the first made is looked up by its ownership metadata). An update, an
attach or a rotation is safe to send twice, and a replay of the same update from an earlier run
would stand in for one that is due again (drift that comes back), so their keys also name the
run: its start time.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar, assert_never

from reconcile.actions import (
    UNKNOWN,
    Action,
    Adopt,
    AttachSource,
    CreateCustomer,
    RotateSource,
    Share,
    Unshare,
    UpdateCustomer,
    UpdateShare,
)
from reconcile.gateway import ApiFailure, ApplyCalls, Written
from reconcile.model import (
    ADDRESS_PARTS,
    KEY_KEY,
    OWNER_KEY,
    PLATFORM_CUSTOMER_KEY,
    SOURCE_KEY,
    WHOLE_OBJECTS,
    DefaultPaymentMethod,
    DefaultSource,
    DetailField,
    FieldPath,
    MetadataKey,
    PlainField,
    Strategy,
    Value,
    field_path,
)
from reconcile.paging import customer_pages, pages
from reconcile.plan import Plan
from reconcile.report import ActionResult, ApplyReport, Outcome
from reconcile.retry import RetryPolicy, with_retries

T = TypeVar("T")

# The generations one write may walk through before it gives up.
GENERATIONS = range(1, 101)
# A 400 naming these, on a request carrying a token or clone we made, means it is spent or expired.
INSTRUMENT_PARAMS = frozenset({"source", "payment_method"})
# How far back (seconds) to look for the create behind a key another request used: Stripe keeps
# keys for 24 hours; an hour more covers clock skew.
KEY_LIFETIME = 25 * 3600
# How far back to look for a create that failed with a stored 500 but wrote part of its work anyway:
# it would have been made during that very request; ten minutes cover clock skew.
FAILED_WRITE_WINDOW = 600


class ActionFailed(Exception):
    """An action could not be done; the message is Stripe's (or ours), never the key."""

    def __init__(self, message: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


@dataclass
class _Context:
    """What earlier actions of this apply learned: ids that did not exist at plan time."""

    platform: dict[str, str] = field(default_factory=dict)  # customer key -> platform cus_ id
    source: dict[str, str] = field(default_factory=dict)  # customer key -> default source / PM
    attached_on_create: set[str] = field(default_factory=set)


class _Inline(Executor):
    """Runs each task on submit, in the calling thread (--concurrency 1); octoDNS's MainThreadExecutor."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # handed to the caller through the future, as a pool would
            future.set_exception(error)
        return future  # KeyboardInterrupt is not caught: it stops the submitting loop at once


class _Schedule:
    """Which actions may run: each waits for the actions in its ``after``; a failure skips its dependants."""

    def __init__(self, actions: Sequence[Action], *, on_result: Callable[[ActionResult], None]) -> None:
        self.by_id = {a.id: a for a in actions}
        self.waiting = {a.id: {d for d in a.after if d in self.by_id} for a in actions}
        self.dependents: dict[str, list[str]] = defaultdict(list)
        for action in actions:
            for dep in self.waiting[action.id]:
                self.dependents[dep].append(action.id)
        self.ready = deque(a.id for a in actions if not self.waiting[a.id])
        self.running: dict[Future[ActionResult], str] = {}
        self.results: dict[str, ActionResult] = {}
        self.on_result = on_result

    def run(self, pool: Executor, run: Callable[[Action], ActionResult], *, limit: int) -> None:
        """Keep up to ``limit`` actions in flight (waiting on thousands of futures costs as much each time)."""
        while self.ready or self.running:
            while self.ready and len(self.running) < limit:
                action_id = self.ready.popleft()
                self.running[pool.submit(run, self.by_id[action_id])] = action_id
            done, _ = wait(self.running, return_when=FIRST_COMPLETED)
            for future in done:
                del self.running[future]
                self._finished(future.result())

    def drain(self) -> None:
        """Wait for the actions in flight and record them, scheduling nothing new."""
        for future in list(self.running):
            if future.cancel():
                continue
            try:
                self._record(future.result())
            except BaseException:  # interrupted too: it is reported as skipped
                continue
        self.running.clear()

    def record(self, result: ActionResult) -> None:
        """Record an action settled outside the pool (its work was done by another's call)."""
        self._record(result)

    def skip_rest(self, reason: str) -> None:
        for action_id, action in self.by_id.items():
            if action_id not in self.results:
                self._record(ActionResult(action=action, outcome=Outcome.SKIPPED, error=reason))

    def results_in(self, actions: Sequence[Action]) -> tuple[ActionResult, ...]:
        return tuple(self.results[a.id] for a in actions)

    def _finished(self, result: ActionResult) -> None:
        self._record(result)
        for child in self.dependents[result.action.id]:
            if result.outcome is not Outcome.DONE:
                self._skip(self.by_id[child], because=result.action)
                continue
            self.waiting[child].discard(result.action.id)
            if not self.waiting[child] and child not in self.results:
                # Dependants go first: a customer's copies follow it at once, so pairs finish early.
                self.ready.appendleft(child)

    def _skip(self, action: Action, *, because: Action) -> None:
        if action.id in self.results:
            return
        self._record(ActionResult(action=action, outcome=Outcome.SKIPPED, error=f"{because.id} did not succeed"))
        for child in self.dependents.get(action.id, ()):
            self._skip(self.by_id[child], because=because)

    def _record(self, result: ActionResult) -> None:
        self.results[result.action.id] = result
        self.on_result(result)


class Applier:
    """Applies plans against one gateway; each ``apply`` is a run with state of its own."""

    def __init__(
        self,
        gateway: ApplyCalls,
        *,
        owner: str,
        concurrency: int = 16,
        policy: RetryPolicy | None = None,
        on_result: Callable[[ActionResult], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.gateway = gateway
        self.owner = owner
        self.concurrency = max(1, concurrency)
        self.policy = policy or RetryPolicy()
        self.on_result = on_result or (lambda _result: None)
        self.clock = clock

    def apply(self, plan: Plan) -> ApplyReport:
        """Run every action whose prerequisites succeeded, independent ones concurrently.

        Ctrl-C stops scheduling: actions in flight finish and are reported, the rest are skipped.
        """
        return _Run(self, plan).apply()


class _Run:
    """One apply of one plan: the calls each action makes, and what earlier actions learned."""

    def __init__(self, applier: Applier, plan: Plan) -> None:
        self.gateway = applier.gateway
        self.owner = applier.owner
        self.concurrency = applier.concurrency
        self.policy = applier.policy
        self.on_result = applier.on_result
        self.clock = applier.clock
        self.plan = plan
        self.context = _Context()
        # customer key -> its attach_source, whose token may ride on the create call
        self.attaches = {a.customer_key: a for a in plan.actions if isinstance(a, AttachSource)}
        self.run = str(time.time_ns())  # names this run in the keys of writes that are safe to repeat
        # The request id of the last write each worker made: the one a finished action reports.
        self._last_write = threading.local()

    # -- scheduling ------------------------------------------------------------------------------

    def apply(self) -> ApplyReport:
        plan = self.plan
        started, requests_before = time.monotonic(), self.gateway.request_count
        schedule = _Schedule(plan.actions, on_result=self.on_result)
        pool: Executor = _Inline() if self.concurrency == 1 else ThreadPoolExecutor(self.concurrency)
        interrupted = False
        with pool:
            try:
                schedule.run(pool, self._run, limit=self.concurrency)
            except KeyboardInterrupt:
                interrupted = True
                schedule.drain()
        self._record_folded_attaches(schedule)
        schedule.skip_rest("apply was interrupted")
        return ApplyReport(
            results=schedule.results_in(plan.actions),
            requests=self.gateway.request_count - requests_before,
            seconds=time.monotonic() - started,
            interrupted=interrupted,
        )

    def _record_folded_attaches(self, schedule: _Schedule) -> None:
        """A card that rode on its customer's create is attached, even if the run stopped before its turn."""
        for attach in self.attaches.values():
            if attach.customer_key in self.context.attached_on_create and attach.id not in schedule.results:
                customer_id = self.context.platform[attach.customer_key]
                schedule.record(ActionResult(action=attach, outcome=Outcome.DONE, object_id=customer_id))

    def _run(self, action: Action) -> ActionResult:
        self._last_write.request_id = None
        try:
            object_id = self._do(action)
        except ActionFailed as failure:
            return ActionResult(
                action=action, outcome=Outcome.FAILED, error=str(failure), request_id=failure.request_id
            )
        except ApiFailure as failure:
            return ActionResult(
                action=action, outcome=Outcome.FAILED, error=failure.message, request_id=failure.request_id
            )
        request_id = self._last_write.request_id
        return ActionResult(action=action, outcome=Outcome.DONE, object_id=object_id, request_id=request_id)

    def _do(self, action: Action) -> str:
        """Make the calls ``action`` needs; the id of the object it made or changed."""
        match action:
            case CreateCustomer():
                return self._create_customer(action)
            case UpdateCustomer() | UpdateShare() | Adopt():
                return self._update(action)
            case AttachSource():
                return self._attach_source(action)
            case Share():
                return self._share(action)
            case RotateSource():
                return self._rotate_source(action)
            case Unshare():
                return self._unshare(action)
            case _:
                assert_never(action)

    # -- platform customers ------------------------------------------------------------------------

    def _create_customer(self, action: CreateCustomer) -> str:
        params = payload(action)
        attach = self._folded_attach(action)
        if attach is not None:
            # One call instead of two: Stripe attaches a `source` given at creation as the default.
            params["source"] = attach.source
        made = self._create(None, action, params, match={OWNER_KEY: self.owner, KEY_KEY: action.customer_key})
        self.context.platform[action.customer_key] = made.id
        if attach is not None:
            self.context.attached_on_create.add(action.customer_key)
            if made.default_source:
                self.context.source[action.customer_key] = made.default_source
        return made.id

    def _folded_attach(self, create: CreateCustomer) -> AttachSource | None:
        """The attach_source that waits for this create: its source rides on the create call."""
        attach = self.attaches.get(create.customer_key)
        return attach if attach is not None and create.id in attach.after else None

    def _attach_source(self, action: AttachSource) -> str:
        customer_id = self._platform_id(action)
        if action.customer_key in self.context.attached_on_create:
            return customer_id
        params = {"source": action.source}
        walk = _Walk(self._run_base(action, params))
        for key in walk:
            try:
                written = self._write(partial(self.gateway.update_customer, None, customer_id, params), key)
            except _Stale as error:
                walk.failed(error)
                continue
            source = _source_id(written.data)
            if source:
                self.context.source[action.customer_key] = source
            return customer_id
        raise walk.exhausted(action)

    # -- copies ------------------------------------------------------------------------------------

    def _share(self, action: Share) -> str:
        account = action.account_id
        platform_id = self._platform_id(action)
        source = self._source(action)
        params = payload(action)
        params["metadata"][PLATFORM_CUSTOMER_KEY] = platform_id
        params["metadata"][SOURCE_KEY] = source
        match = {OWNER_KEY: self.owner, KEY_KEY: action.customer_key, PLATFORM_CUSTOMER_KEY: platform_id}
        walk = _Walk(idempotency_base(self.owner, action, {PLATFORM_CUSTOMER_KEY: platform_id, SOURCE_KEY: source}))
        for key in walk:
            try:
                instrument = self._instrument(action, account, platform_id, source, key)
                create = dict(params)
                if action.strategy == Strategy.PAYMENT_METHOD:
                    create["payment_method"] = instrument
                    create["invoice_settings"] = {"default_payment_method": instrument}
                else:
                    create["source"] = instrument
                made = self._create_once(account, create, key, match, instrument=True)
            except _Unusable as error:
                walk.failed(error)
                continue
            return made.id
        raise walk.exhausted(action)

    def _rotate_source(self, action: RotateSource) -> str:
        account, copy_id = action.account_id, action.copy
        platform_id = self._platform_id(action)
        source = self._source(action)
        walk = _Walk(self._run_base(action, {"source": source}))
        for key in walk:
            try:
                instrument = self._instrument(action, account, platform_id, source, key)
                params: dict[str, Any] = {"metadata": {SOURCE_KEY: source}}
                if action.strategy == Strategy.PAYMENT_METHOD:
                    # A customer update takes no payment_method: attach the clone, then make it the default.
                    attach = partial(self.gateway.attach_payment_method, account, instrument, copy_id)
                    self._write(attach, f"{key}:attach", instrument=True)
                    params["invoice_settings"] = {"default_payment_method": instrument}
                else:
                    params["source"] = instrument  # Stripe makes it the default and removes the old default
                update = partial(self.gateway.update_customer, account, copy_id, params, urgent=True)
                self._write(update, f"{key}:update", instrument=True)
            except _Unusable as error:
                walk.failed(error)
                continue  # a new card replacing this one is harmless; a lost one is not
            replaced = action.replaced
            if replaced and replaced != instrument:
                detach = partial(self.gateway.detach_payment_method, account, replaced, f"{key}:detach")
                with_retries(detach, self.policy)
            removed = action.removed_source
            if removed and action.strategy == Strategy.PAYMENT_METHOD:
                # token -> payment_method: the token's card goes once the clone is the default, so the
                # seller never holds a copy without a card, and ends with one card, as before.
                with_retries(partial(self.gateway.delete_source, account, copy_id, removed), self.policy)
            return copy_id
        raise walk.exhausted(action)

    def _instrument(self, action: Share | RotateSource, account: str, platform_id: str, source: str, key: str) -> str:
        """A fresh token (or cloned PaymentMethod) under one generation's key."""
        if action.strategy == Strategy.PAYMENT_METHOD:
            make = partial(self.gateway.clone_payment_method, account, platform_id, source)
        else:
            make = partial(self.gateway.create_customer_token, account, platform_id)
        # Tokens are single-use, so each is made right before the customer that consumes it.
        return self._write(make, f"{key}:instrument").id

    def _update(self, action: UpdateCustomer | UpdateShare | Adopt) -> str:
        account, object_id = action.account_id, action.object_id
        params = payload(action)
        walk = _Walk(self._run_base(action, params))
        for key in walk:
            try:
                self._write(partial(self.gateway.update_customer, account, object_id, params), key)
            except _Unusable as error:
                walk.failed(error)
                continue  # an update is safe to send again under a fresh key
            return object_id
        raise walk.exhausted(action)

    def _unshare(self, action: Unshare) -> str:
        account, copy_id = action.account_id, action.copy
        with_retries(lambda: self.gateway.delete_customer(account, copy_id), self.policy)
        return copy_id

    # -- the idempotent write ------------------------------------------------------------------------

    def _create(
        self, account: str | None, action: Action, params: Mapping[str, Any], match: Mapping[str, str]
    ) -> _Made:
        walk = _Walk(idempotency_base(self.owner, action, {}))
        for key in walk:
            try:
                return self._create_once(account, params, key, match, instrument=False)
            except _Unusable as error:
                walk.failed(error)
        raise walk.exhausted(action)

    def _create_once(
        self, account: str | None, params: Mapping[str, Any], key: str, match: Mapping[str, str], *, instrument: bool
    ) -> _Made:
        """Create a customer under one generation's key; _Unusable means: try the next generation."""
        create = partial(self.gateway.create_customer, account, params, urgent=instrument)
        try:
            written = self._write(create, f"{key}:customer", instrument=instrument)
        except _Mismatched:
            # Another request (an apply of another revision of the file) holds this key: the
            # customer it made, if it made one, is ours by its metadata.
            found = self._find_ours(account, match, since=int(self.clock()) - KEY_LIFETIME)
            if found is None:
                raise
            return found
        except _StoredFailure:
            # Stripe kept a 500 for this key: nothing should exist under it, but a write that failed
            # half-way is looked for before the next key makes another.
            found = self._find_ours(account, match, since=int(self.clock()) - FAILED_WRITE_WINDOW)
            if found is None:
                raise
            return found
        if written.replayed and not self._still_ours(account, written, match):
            raise _Stale(None)  # the customer this key made was deleted (or disowned) since: make a new one
        return _Made(written.id, _source_id(written.data))

    def _still_ours(self, account: str | None, written: Written, match: Mapping[str, str]) -> bool:
        """Whether the customer a replayed create made still exists and still carries our metadata."""
        live = self._read(partial(self.gateway.retrieve_customer, account, written.id))
        return live is not None and all(live.metadata.get(k) == v for k, v in match.items())

    def _find_ours(self, account: str | None, match: Mapping[str, str], *, since: int) -> _Made | None:
        """The oldest customer carrying ``match`` made at ``since`` or later."""
        for page, _ in pages(customer_pages(self.gateway, account, created_gte=since), self.policy):
            found = [c for c in page if all(c.metadata.get(k) == v for k, v in match.items())]
            if found:
                oldest = min(found, key=lambda c: (c.created, c.id))
                return _Made(oldest.id, oldest.default_source)
        return None

    def _write(self, send: Callable[[str], Written], key: str, *, instrument: bool = False) -> Written:
        """Send one write under ``key`` until Stripe's answer for that key is known.

        Transient failures (429, 409 in flight, connection errors, a fresh 5xx) are retried with the
        same key: a 5xx may hide a committed write whose answer was lost, and only the key's replay
        tells. Raises _StoredFailure when the key's stored answer is a failure (a replayed 5xx, or one
        Stripe says not to retry); _Stale when, for a request carrying a token or clone we made, Stripe
        says it is spent or gone; _Mismatched
        when another request's parameters are stored under it. ActionFailed when the answer stays
        unknown (retries ran out on fresh 5xx): moving to another key then could write twice.
        """
        try:
            written = with_retries(lambda: send(key), self.policy)
        except ApiFailure as failure:
            if failure.status is not None and failure.status >= 500:
                # Replayed, or flagged by Stripe as not worth retrying (its idempotency layer kept it).
                if failure.replayed or failure.should_retry is False:
                    raise _StoredFailure(failure) from None
                raise ActionFailed(
                    f"{failure.message} (the outcome is unknown after {self.policy.attempts} tries; "
                    "apply again to finish: the same idempotency key will tell)",
                    failure.request_id,
                ) from None
            if failure.type == "idempotency_error":
                raise _Mismatched(failure) from None
            if instrument and failure.status == 400 and failure.param in INSTRUMENT_PARAMS:
                raise _Stale(failure) from None
            raise
        self._last_write.request_id = written.request_id
        return written

    # -- helpers -----------------------------------------------------------------------------------

    def _run_base(self, action: Action, params: Mapping[str, Any]) -> str:
        """The key prefix of a write that is safe to repeat: what it does, and which run does it."""
        return f"{idempotency_base(self.owner, action, params)}:run{self.run}"

    def _read(self, read: Callable[[], T]) -> T:
        return with_retries(read, self.policy)

    def _platform_id(self, action: AttachSource | Share | RotateSource) -> str:
        planned = action.platform_customer
        found = self.context.platform.get(action.customer_key) if planned is UNKNOWN else planned
        if not found:
            raise ActionFailed(f"no platform customer for '{action.customer_key}'")
        return found

    def _source(self, action: Share | RotateSource) -> str:
        planned = action.source
        found = self.context.source.get(action.customer_key) if planned is UNKNOWN else planned
        if not found:
            raise ActionFailed(f"the platform customer of '{action.customer_key}' has no payment source to share")
        return found


class _Walk:
    """The keys one write walks through (base:1, base:2, …), and the last failure on the way."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.last: ApiFailure | None = None

    def __iter__(self) -> Iterator[str]:
        return (f"{self.base}:{generation}" for generation in GENERATIONS)

    def failed(self, error: _Unusable) -> None:
        self.last = error.failure or self.last

    def exhausted(self, action: Action) -> ActionFailed:
        """Stripe's last word (with its request id), or ours when there was none."""
        tries = f"still failing after {len(GENERATIONS)} idempotency keys"
        if self.last is None:
            return ActionFailed(f"{action.id}: {tries}")
        return ActionFailed(f"{self.last.message} ({tries})", self.last.request_id)


@dataclass(frozen=True, slots=True)
class _Made:
    """A customer a create made (or was found to have made)."""

    id: str
    default_source: str | None


def _source_id(customer: Mapping[str, Any]) -> str | None:
    source = customer.get("default_source")
    if isinstance(source, Mapping):
        source = source.get("id")
    return str(source) if source else None


class _Unusable(Exception):
    """This generation's key produced nothing usable; the next one may."""

    def __init__(self, failure: ApiFailure | None) -> None:
        super().__init__(str(failure) if failure else "unusable")
        self.failure = failure


class _Stale(_Unusable):
    """The key's stored answer cannot be used (a stored failure, a deleted object, a spent token)."""


class _StoredFailure(_Stale):
    """The key's stored answer is a failure (a 5xx Stripe kept): the write did not happen under it."""


class _Mismatched(_Stale):
    """Another request's parameters are stored under the key (Stripe's idempotency_error)."""


def payload(action: Action) -> dict[str, Any]:
    """Stripe parameters from an action's changes: "" unsets a field, a metadata key or a detail.

    A value known only at apply (UNKNOWN) is left out: the caller adds it once earlier actions made it.
    An address or shipping is sent whole (its changed parts, then the parts ``kept``), as Stripe
    replaces it whole; emptied, it is sent as "", which is how Stripe clears it.
    """
    params: dict[str, Any] = {"metadata": {}}
    whole: dict[str, dict[FieldPath, Value | None]] = {}
    for change in action.changes:
        if change.after is UNKNOWN:
            continue
        value = "" if change.after is None else change.after
        match change.path:
            case MetadataKey(key):
                params["metadata"][key] = value
            case PlainField(name):
                params[name] = value
            case DefaultPaymentMethod():
                params.setdefault("invoice_settings", {})["default_payment_method"] = value
            case DefaultSource():
                continue  # only a rotation changes it, by deleting the source (see _rotate_source)
            case DetailField() as leaf if leaf.detail in WHOLE_OBJECTS:
                whole.setdefault(leaf.detail, {})[leaf] = change.after
            case DetailField() as leaf:
                _set_detail(params, leaf, change.after)
            case _:
                assert_never(change.path)
    for kept in action.kept:
        if isinstance(kept.path, DetailField) and kept.path.detail in whole:
            whole[kept.path.detail][kept.path] = kept.value
    for detail, leaves in whole.items():
        params[detail] = _whole(detail, leaves)
    if not any(isinstance(change.path, MetadataKey) for change in action.changes):
        del params["metadata"]  # kept when only values known at apply are left: the caller adds them
    return params


def _set_detail(params: dict[str, Any], leaf: DetailField, value: Value | None) -> None:
    """One detail that Stripe takes as a value of its own: a list, the footer, tax_exempt; "" clears it."""
    sent: object = ""
    if isinstance(value, tuple):
        sent = [item if isinstance(item, str) else {"name": item.name, "value": item.value} for item in value] or ""
    elif value is not None:
        sent = value
    if leaf.parts[0] == "invoice_settings":
        params.setdefault("invoice_settings", {})[leaf.parts[1]] = sent
    else:
        params[leaf.text] = sent


def _whole(detail: str, leaves: Mapping[FieldPath, Value | None]) -> dict[str, Any] | str:
    """An address or shipping as Stripe takes it: every part ("" when unset), or "" when it is all unset."""

    def text(*parts: str) -> str:
        value = leaves.get(field_path(".".join(parts)))
        return value if isinstance(value, str) else ""

    def address(*prefix: str) -> dict[str, str]:
        return {part: text(*prefix, part) for part in ADDRESS_PARTS}

    sent: dict[str, Any] = address("address")
    if detail == "shipping":
        names = {"name": text("shipping", "name"), "phone": text("shipping", "phone")}
        sent = {**names, "address": address("shipping", "address")}
    return sent if any(_flatten_values(sent)) else ""


def _flatten_values(sent: Mapping[str, Any]) -> Iterator[str]:
    for value in sent.values():
        if isinstance(value, Mapping):
            yield from _flatten_values(value)
        else:
            yield value


def idempotency_base(owner: str, action: Action, params: Mapping[str, Any]) -> str:
    """A key prefix derived from what the write does: owner, account, customer key, kind, target, params."""
    intent = [
        owner,
        action.account_id or "platform",
        action.customer_key,
        action.kind.value,
        action.object_id,
        params,
    ]
    digest = hashlib.sha256(json.dumps(intent, sort_keys=True, default=str).encode()).hexdigest()[:32]
    return f"reconcile:{action.kind.value}:{digest}"
