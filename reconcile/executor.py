"""Apply a Plan: ordering, concurrency, retries, idempotency; the outcome is an ApplyReport.

Idempotency (DESIGN.md section 5): every write carries a key derived from what it does,
followed by a generation number (``…:1``, ``…:2``). Within a generation the same key is
retried, so a retry, a crash-and-rerun or a concurrent apply converges on one object. A
generation is abandoned, and the next key used, only once it is known to have produced
nothing usable: a replayed create whose object has since been deleted, a 5xx after which
the object is not found, a replayed update (it proves nothing about the object now), or a
spent token.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from reconcile.gateway import ApiFailure, Gateway, Written
from reconcile.model import KEY_KEY, OWNER_KEY, PLATFORM_CUSTOMER_KEY, SOURCE_KEY, Strategy
from reconcile.plan import KNOWN_AFTER_APPLY, Action, ActionKind, Plan
from reconcile.report import ActionResult, ApplyReport, Outcome
from reconcile.retry import RetryPolicy, with_retries

T = TypeVar("T")

# How many fresh keys one write may walk through before it gives up.
MAX_GENERATIONS = 10
# A 400 naming these means the token or clone is spent, expired or gone: make a fresh one.
INSTRUMENT_PARAMS = frozenset({"source", "payment_method"})
# How far back (seconds) to look for a create that a 5xx may have hidden; covers clock skew.
LOOKBACK = 600


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
    """Applies one plan's actions against one gateway."""

    def __init__(
        self,
        gateway: Gateway,
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
        self.context = _Context()
        self.attaches: dict[str, Action] = {}  # customer key -> its attach_source, in the plan being applied

    # -- scheduling ------------------------------------------------------------------------------

    def apply(self, plan: Plan) -> ApplyReport:
        """Run every action whose prerequisites succeeded, independent ones concurrently.

        Ctrl-C stops scheduling: actions in flight finish and are reported, the rest are skipped.
        """
        self.attaches = {a.customer_key: a for a in plan.actions if a.kind is ActionKind.ATTACH_SOURCE}
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
        schedule.skip_rest("apply was interrupted")
        return ApplyReport(
            results=schedule.results_in(plan.actions),
            requests=self.gateway.request_count - requests_before,
            seconds=time.monotonic() - started,
            interrupted=interrupted,
        )

    def _run(self, action: Action) -> ActionResult:
        runner = {
            ActionKind.CREATE_CUSTOMER: self._create_customer,
            ActionKind.UPDATE_CUSTOMER: self._update,
            ActionKind.ATTACH_SOURCE: self._attach_source,
            ActionKind.SHARE: self._share,
            ActionKind.UPDATE_SHARE: self._update,
            ActionKind.ROTATE_SOURCE: self._rotate_source,
            ActionKind.UNSHARE: self._unshare,
            ActionKind.ADOPT: self._update,
        }[action.kind]
        try:
            object_id = runner(action)
        except ActionFailed as failure:
            return ActionResult(
                action=action, outcome=Outcome.FAILED, error=str(failure), request_id=failure.request_id
            )
        except ApiFailure as failure:
            return ActionResult(
                action=action, outcome=Outcome.FAILED, error=failure.message, request_id=failure.request_id
            )
        return ActionResult(action=action, outcome=Outcome.DONE, object_id=object_id)

    # -- platform customers ------------------------------------------------------------------------

    def _create_customer(self, action: Action) -> str:
        params = payload(action)
        attach = self._folded_attach(action)
        if attach is not None and attach.source:
            # One call instead of two: Stripe attaches a `source` given at creation as the default.
            params["source"] = attach.source
        made = self._create(None, action, params, match={OWNER_KEY: self.owner, KEY_KEY: action.customer_key})
        self.context.platform[action.customer_key] = made.id
        if attach is not None:
            self.context.attached_on_create.add(action.customer_key)
            if made.default_source:
                self.context.source[action.customer_key] = made.default_source
        return made.id

    def _folded_attach(self, create: Action) -> Action | None:
        """The attach_source that waits for this create: its source rides on the create call."""
        attach = self.attaches.get(create.customer_key)
        return attach if attach is not None and create.id in attach.after else None

    def _attach_source(self, action: Action) -> str:
        customer_id = self._platform_id(action)
        if action.customer_key in self.context.attached_on_create:
            return customer_id
        params = {"source": action.source}
        base = idempotency_base(self.owner, action, params)
        for generation in range(1, MAX_GENERATIONS + 1):
            try:
                written = self._write(
                    lambda key: self.gateway.update_customer(None, customer_id, params, key), base, generation
                )
            except _ServerError:
                # Attaching twice would leave two cards: find out whether the first attempt landed.
                live = self._read(partial(self.gateway.retrieve_customer, None, customer_id))
                if live is not None and live.default_source:
                    self.context.source[action.customer_key] = live.default_source
                    return customer_id
                continue
            source = _source_id(written.data)
            if source:
                self.context.source[action.customer_key] = source
            return customer_id
        raise self._exhausted(action)

    # -- copies ------------------------------------------------------------------------------------

    def _share(self, action: Action) -> str:
        account = _account(action)
        platform_id = self._platform_id(action)
        source = self._source(action)
        params = payload(action)
        params["metadata"][PLATFORM_CUSTOMER_KEY] = platform_id
        params["metadata"][SOURCE_KEY] = source
        base = idempotency_base(self.owner, action, params)
        match = {OWNER_KEY: self.owner, KEY_KEY: action.customer_key, PLATFORM_CUSTOMER_KEY: platform_id}
        for generation in range(1, MAX_GENERATIONS + 1):
            instrument = self._instrument(action, account, platform_id, source, base, generation)
            if instrument is None:
                continue
            create = dict(params)
            if action.strategy == Strategy.PAYMENT_METHOD:
                create["payment_method"] = instrument
                create["invoice_settings"] = {"default_payment_method": instrument}
            else:
                create["source"] = instrument
            made = self._create_once(account, create, base, generation, match)
            if made is not None:
                return made.id
        raise self._exhausted(action)

    def _rotate_source(self, action: Action) -> str:
        account, copy_id = _account(action), _object(action)
        platform_id = self._platform_id(action)
        source = self._source(action)
        base = idempotency_base(self.owner, action, {"source": source})
        for generation in range(1, MAX_GENERATIONS + 1):
            instrument = self._instrument(action, account, platform_id, source, base, generation)
            if instrument is None:
                continue
            params: dict[str, Any] = {"metadata": {SOURCE_KEY: source}}
            if action.strategy == Strategy.PAYMENT_METHOD:
                # A customer update takes no payment_method: the clone is attached first, then made the default.
                try:
                    self._write(
                        partial(self.gateway.attach_payment_method, account, instrument, copy_id),
                        f"{base}:attach",
                        generation,
                        trust_replay=True,
                    )
                except (_ServerError, _Stale):
                    continue
                params["invoice_settings"] = {"default_payment_method": instrument}
            else:
                params["source"] = instrument  # Stripe makes it the default and removes the old default
            try:
                self._write(partial(self.gateway.update_customer, account, copy_id, params), base, generation)
            except (_ServerError, _Stale):
                continue  # a new card replacing this one is harmless; a lost one is not
            return copy_id
        raise self._exhausted(action)

    def _instrument(
        self, action: Action, account: str, platform_id: str, source: str, base: str, generation: int
    ) -> str | None:
        """A fresh token (or cloned PaymentMethod) for one generation; None: try the next one."""
        if action.strategy == Strategy.PAYMENT_METHOD:

            def make(key: str) -> Written:
                return self.gateway.clone_payment_method(account, platform_id, source, key)

        else:

            def make(key: str) -> Written:
                return self.gateway.create_customer_token(account, platform_id, key)

        try:
            # Tokens are single-use, so each is made right before the customer that consumes it.
            return self._write(make, f"{base}:instrument", generation, trust_replay=True).id
        except _ServerError:
            return None

    def _update(self, action: Action) -> str:
        account, object_id = action.account_id, _object(action)
        params = payload(action)
        base = idempotency_base(self.owner, action, params)
        for generation in range(1, MAX_GENERATIONS + 1):
            try:
                self._write(
                    lambda key: self.gateway.update_customer(account, object_id, params, key),
                    base,
                    generation,
                )
            except (_ServerError, _Stale):
                continue  # an update is safe to send again under a fresh key
            return object_id
        raise self._exhausted(action)

    def _unshare(self, action: Action) -> str:
        account, copy_id = _account(action), _object(action)
        with_retries(lambda: self.gateway.delete_customer(account, copy_id), self.policy)
        return copy_id

    # -- the idempotent write ------------------------------------------------------------------------

    def _create(
        self, account: str | None, action: Action, params: Mapping[str, Any], match: Mapping[str, str]
    ) -> _Made:
        base = idempotency_base(self.owner, action, params)
        for generation in range(1, MAX_GENERATIONS + 1):
            made = self._create_once(account, params, base, generation, match)
            if made is not None:
                return made
        raise self._exhausted(action)

    def _create_once(
        self,
        account: str | None,
        params: Mapping[str, Any],
        base: str,
        generation: int,
        match: Mapping[str, str],
    ) -> _Made | None:
        """Create a customer under one generation's key; None means: try the next generation."""
        since = int(self.clock()) - LOOKBACK
        try:
            written = self._write(
                lambda key: self.gateway.create_customer(account, params, key),
                f"{base}:customer",
                generation,
                trust_replay=True,
            )
        except _ServerError:
            return self._find_created(account, match, since)
        except _Stale:
            return None
        if written.replayed and self._read(partial(self.gateway.retrieve_customer, account, written.id)) is None:
            return None  # the customer this key made was deleted since: make a new one
        return _Made(written.id, _source_id(written.data))

    def _find_created(self, account: str | None, match: Mapping[str, str], since: int) -> _Made | None:
        """After a 5xx: the customer a lost create made, if it made one (recent customers only)."""
        after: str | None = None
        while True:
            page, more = with_retries(
                partial(self.gateway.customers_page, account, starting_after=after, created_gte=since),
                self.policy,
            )
            for customer in page:
                if all(customer.metadata.get(k) == v for k, v in match.items()):
                    return _Made(customer.id, customer.default_source)
            if not more or not page:
                return None
            after = page[-1].id

    def _write(
        self, send: Callable[[str], Written], base: str, generation: int, *, trust_replay: bool = False
    ) -> Written:
        """Send one write under ``base:generation``, retrying transient failures with the same key.

        Raises _ServerError on a 5xx (the caller decides how to check), _Stale when the key's stored
        answer cannot be used (replayed update, idempotency mismatch, spent token).
        """
        key = f"{base}:{generation}"
        try:
            written = with_retries(lambda: send(key), self.policy, server_errors=False)
        except ApiFailure as failure:
            if failure.status is not None and failure.status >= 500:
                raise _ServerError(failure) from None
            if failure.type == "idempotency_error" or (failure.status == 400 and failure.param in INSTRUMENT_PARAMS):
                raise _Stale from None
            raise
        if written.replayed and not trust_replay:
            raise _Stale
        return written

    # -- helpers -----------------------------------------------------------------------------------

    def _read(self, read: Callable[[], T]) -> T:
        return with_retries(read, self.policy)

    def _platform_id(self, action: Action) -> str:
        found = action.platform_customer or self.context.platform.get(action.customer_key)
        if not found:
            raise ActionFailed(f"no platform customer for '{action.customer_key}'")
        return found

    def _source(self, action: Action) -> str:
        found = action.source or self.context.source.get(action.customer_key)
        if not found or found == KNOWN_AFTER_APPLY:
            raise ActionFailed(f"the platform customer of '{action.customer_key}' has no payment source to share")
        return found

    def _exhausted(self, action: Action) -> ActionFailed:
        return ActionFailed(f"gave up after {MAX_GENERATIONS} idempotency keys; Stripe kept failing ({action.id})")


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


class _ServerError(Exception):
    def __init__(self, failure: ApiFailure) -> None:
        super().__init__(str(failure))
        self.failure = failure


class _Stale(Exception):
    """The stored answer under this key cannot be used; move to the next generation."""


def payload(action: Action) -> dict[str, Any]:
    """Stripe parameters from an action's changes: "" unsets a field or a metadata key."""
    params: dict[str, Any] = {"metadata": {}}
    for change in action.changes:
        value = "" if change.after is None else change.after
        if change.field.startswith("metadata."):
            params["metadata"][change.field.removeprefix("metadata.")] = value
        else:
            params[change.field] = value
    if not params["metadata"]:
        del params["metadata"]
    return params


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


def _account(action: Action) -> str:
    if not action.account_id:
        raise ActionFailed(f"{action.id} has no account id")
    return action.account_id


def _object(action: Action) -> str:
    if not action.object_id:
        raise ActionFailed(f"{action.id} has no object id")
    return action.object_id
