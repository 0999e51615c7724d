"""Executor rules with a scripted fake gateway: retries, idempotency generations, skipping.

These check the executor's decisions only; that apply really works is shown against the
sandbox in tests/integration.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, get_args

import pytest

from reconcile.actions import UNKNOWN, Action, AttachSource, CreateCustomer, Share, UpdateShare
from reconcile.executor import Applier, idempotency_base, payload
from reconcile.gateway import ApiFailure, Written
from reconcile.model import Customer, Fields, Strategy, frozen_map
from reconcile.plan import Plan
from reconcile.planner import plan as make_plan
from reconcile.report import Outcome
from reconcile.retry import RetryPolicy
from tests.builders import change, desired, example, observed, one_of_each_kind, spec

NO_SLEEP = RetryPolicy(sleep=lambda _seconds: None, jitter=lambda: 0.0)
SERVER_ERROR = ApiFailure("An unknown error occurred", status=500, type="api_error", request_id="req_500")
RATE_LIMITED = ApiFailure("Too many requests", status=429, type="invalid_request_error", code="rate_limit")
STORED_SERVER_ERROR = ApiFailure(
    "An unknown error occurred", status=500, type="api_error", request_id="req_500", replayed=True
)
MISMATCHED = ApiFailure(
    "Keys for idempotent requests can only be used with the same parameters", status=400, type="idempotency_error"
)
OURS = {"reconcile_owner": "acme", "reconcile_key": "alice", "reconcile_platform_customer": "cus_platform"}
SPENT_TOKEN = ApiFailure("You cannot use a Stripe token more than once", status=400, param="source")


class FakeGateway:
    """Records calls; each write answers from a script of results (a Written, or an ApiFailure to raise)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.scripts: dict[str, list[Any]] = {}
        self.existing: set[str] = set()
        self.recent: list[Customer] = []
        self.retrieve_metadata: dict[str, str] = {}
        self.request_count = 0
        self.counter = 0

    def script(self, operation: str, *answers: Any) -> None:
        self.scripts.setdefault(operation, []).extend(answers)

    def _answer(self, operation: str, key: str | None, default: Callable[[], Written]) -> Written:
        self.calls.append((operation, key))
        self.request_count += 1
        queue = self.scripts.get(operation)
        answer = queue.pop(0) if queue else default()
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def _new(self, prefix: str, **data: Any) -> Written:
        self.counter += 1
        object_id = f"{prefix}_{self.counter}"
        self.existing.add(object_id)
        return Written(id=object_id, replayed=False, request_id=f"req_{self.counter}", data={"id": object_id, **data})

    def create_customer(self, account: str | None, params: Any, key: str, **_: Any) -> Written:
        source = "card_platform" if params.get("source") else None
        return self._answer("create_customer", key, lambda: self._new("cus", default_source=source))

    def update_customer(self, account: str | None, customer_id: str, params: Any, key: str, **_: Any) -> Written:
        return self._answer("update_customer", key, lambda: Written(customer_id, False, "req_u", {"id": customer_id}))

    def create_customer_token(self, account: str, platform_customer: str, key: str) -> Written:
        return self._answer("create_token", key, lambda: self._new("tok"))

    def clone_payment_method(self, account: str, platform_customer: str, payment_method: str, key: str) -> Written:
        return self._answer("clone_payment_method", key, lambda: self._new("pm"))

    def attach_payment_method(self, account: str, payment_method: str, customer: str, key: str) -> Written:
        return self._answer("attach_payment_method", key, lambda: Written(payment_method, False, None, {}))

    def detach_payment_method(self, account: str, payment_method: str, key: str) -> None:
        self._answer("detach_payment_method", key, lambda: Written(payment_method, False, None, {}))

    def delete_source(self, account: str, customer_id: str, source_id: str) -> None:
        self._answer("delete_source", None, lambda: Written(source_id, False, None, {}))

    def delete_customer(self, account: str, customer_id: str) -> None:
        self._answer("delete_customer", None, lambda: Written(customer_id, False, None, {}))

    def retrieve_customer(self, account: str | None, customer_id: str) -> Customer | None:
        self.calls.append(("retrieve_customer", customer_id))
        if customer_id not in self.existing:
            return None
        metadata = frozen_map(self.retrieve_metadata)
        return Customer(id=customer_id, fields=Fields(metadata=metadata), default_source="card_platform")

    def customers_page(self, account: str | None, **_: Any) -> tuple[list[Customer], bool]:
        self.calls.append(("list_customers", account))
        return list(self.recent), False

    def operations(self) -> list[str]:
        return [op for op, _ in self.calls]


def share(key: str = "alice", **overrides: Any) -> Share:
    fields = {
        "customer_key": key,
        "account": "bookshop",
        "account_id": "acct_1Bookshop",
        "platform_customer": "cus_platform",
        "source": "card_platform",
        "strategy": Strategy.TOKEN,
        "changes": (
            change("email", None, f"{key}@example.com"),
            change("metadata.reconcile_owner", None, "acme"),
        ),
    }
    return Share(**{**fields, **overrides})


def run(gateway: FakeGateway, *actions: Action, concurrency: int = 1) -> Any:
    applier = Applier(gateway, owner="acme", concurrency=concurrency, policy=NO_SLEEP)
    return applier.apply(Plan(owner="acme", mode="test", actions=actions))


def test_share_is_a_token_then_a_customer_made_from_it() -> None:
    gateway = FakeGateway()
    report = run(gateway, share())
    assert report.complete
    assert gateway.operations() == ["create_token", "create_customer"]
    token_key, customer_key = (key for _, key in gateway.calls)
    assert token_key.endswith(":1:instrument")
    assert customer_key.endswith(":1:customer")


def test_rate_limited_write_is_retried_with_the_same_key() -> None:
    gateway = FakeGateway()
    gateway.script("create_customer", RATE_LIMITED, RATE_LIMITED)
    report = run(gateway, share())
    assert report.complete
    keys = [key for op, key in gateway.calls if op == "create_customer"]
    assert len(keys) == 3
    assert len(set(keys)) == 1


def keys_of(gateway: FakeGateway) -> list[list[str]]:
    """The generation and step of every token and customer write, in order: [["1", "instrument"], …]."""
    writes = [key for op, key in gateway.calls if op in ("create_token", "create_customer")]
    return [key.rsplit(":", 2)[-2:] for key in writes]


def test_server_error_on_create_is_resolved_by_the_same_key_not_a_new_one() -> None:
    # A fresh 500 may hide a committed create whose answer was lost; the key's replay tells.
    gateway = FakeGateway()
    lost = Written("cus_lost_response", True, "req_r", {"id": "cus_lost_response"})
    gateway.existing.add("cus_lost_response")
    gateway.script("create_customer", SERVER_ERROR, lost)
    gateway.retrieve_metadata = OURS
    report = run(gateway, share())
    assert report.complete
    assert report.results[0].object_id == "cus_lost_response"
    assert keys_of(gateway) == [["1", "instrument"], ["1", "customer"], ["1", "customer"]]


def test_server_error_on_a_token_is_resolved_by_the_same_key_not_a_new_one() -> None:
    # The race that duplicated copies: one apply saw a 500 on a token and moved to generation 2
    # while another replayed generation 1's token and made a copy from it.
    gateway = FakeGateway()
    gateway.script("create_token", SERVER_ERROR)
    report = run(gateway, share())
    assert report.complete
    assert keys_of(gateway) == [["1", "instrument"], ["1", "instrument"], ["1", "customer"]]


@pytest.mark.parametrize(
    "stored",
    [STORED_SERVER_ERROR, replace(SERVER_ERROR, should_retry=False)],
    ids=["replayed", "stripe-should-retry-false"],
)
def test_stored_server_error_moves_to_the_next_key(stored: ApiFailure) -> None:
    # A 500 Stripe kept for the key is its answer for everyone: nothing was made under it. A copy it
    # made half-way would carry our metadata: it is looked for first (recent customers only).
    gateway = FakeGateway()
    gateway.script("create_customer", stored)
    report = run(gateway, share())
    assert report.complete
    assert keys_of(gateway) == [["1", "instrument"], ["1", "customer"], ["2", "instrument"], ["2", "customer"]]
    assert gateway.operations().count("list_customers") == 1


def test_a_create_that_failed_half_way_is_found_not_made_again() -> None:
    gateway = FakeGateway()
    gateway.script("create_customer", STORED_SERVER_ERROR)
    gateway.recent = [Customer(id="cus_half_written", fields=Fields(metadata=frozen_map(OURS)))]
    report = run(gateway, share())
    assert report.results[0].object_id == "cus_half_written"
    assert keys_of(gateway) == [["1", "instrument"], ["1", "customer"]]


def test_unknown_outcome_fails_the_action_rather_than_risk_a_second_copy() -> None:
    gateway = FakeGateway()
    gateway.script("create_customer", *[SERVER_ERROR] * NO_SLEEP.attempts)
    report = run(gateway, share())
    assert report.results[0].outcome is Outcome.FAILED
    assert "outcome is unknown" in (report.results[0].error or "")
    assert {generation for generation, _ in keys_of(gateway)} == {"1"}


def test_a_key_held_by_another_revision_of_the_file_finds_the_copy_it_made() -> None:
    # Two applies of different revisions (another e-mail) meet on one key: Stripe refuses the
    # second's parameters, and the copy the first made is found by its ownership metadata.
    gateway = FakeGateway()
    gateway.script("create_customer", MISMATCHED)
    gateway.recent = [Customer(id="cus_made_by_the_other_apply", fields=Fields(metadata=frozen_map(OURS)))]
    report = run(gateway, share())
    assert report.complete
    assert report.results[0].object_id == "cus_made_by_the_other_apply"
    assert gateway.operations() == ["create_token", "create_customer", "list_customers"]


def test_share_keys_name_the_pair_not_its_fields() -> None:
    gateway = FakeGateway()
    run(gateway, share())
    other_email = (change("email", None, "new@example.com"), change("metadata.reconcile_owner", None, "acme"))
    run(gateway, share(changes=other_email))
    customer_keys = [key for op, key in gateway.calls if op == "create_customer"]
    assert customer_keys[0] == customer_keys[1]


def test_replayed_create_of_a_deleted_copy_moves_to_the_next_key() -> None:
    gateway = FakeGateway()
    gateway.script("create_customer", Written("cus_deleted", True, "req_r", {"id": "cus_deleted"}))
    report = run(gateway, share())
    assert report.complete
    assert report.results[0].object_id != "cus_deleted"
    assert gateway.operations() == [
        "create_token",
        "create_customer",
        "retrieve_customer",
        "create_token",
        "create_customer",
    ]


def test_spent_token_moves_to_the_next_key() -> None:
    gateway = FakeGateway()
    gateway.script("create_customer", SPENT_TOKEN)
    report = run(gateway, share())
    assert report.complete
    assert gateway.operations().count("create_token") == 2


def test_the_same_update_in_a_later_run_is_sent_again_not_replayed() -> None:
    # Drift that comes back is fixed by the same update each time; an earlier run's stored answer
    # under the same key would be replayed instead of changing anything.
    gateway = FakeGateway()
    update = UpdateShare(
        customer_key="alice",
        account="bookshop",
        account_id="acct_1Bookshop",
        platform_customer="cus_platform",
        copy="cus_copy",
        changes=(change("email", "x@example.com", "alice@example.com"),),
    )
    assert run(gateway, update).complete
    assert run(gateway, update).complete
    first, second = (key for _, key in gateway.calls)
    assert first != second
    assert first.rsplit(":run", 1)[0] == second.rsplit(":run", 1)[0]  # the same intent


def test_permanent_error_on_a_declared_source_fails_once_with_stripes_message() -> None:
    gateway = FakeGateway()
    missing = ApiFailure("No such token: 'tok_nope'", status=400, param="source", request_id="req_nope")
    gateway.script("create_customer", missing)
    create = CreateCustomer(customer_key="alice", changes=(change("email", None, "a@x.io"),))
    attach = AttachSource(customer_key="alice", platform_customer=UNKNOWN, source="tok_nope", after=(create.id,))
    report = run(gateway, create, attach)
    assert gateway.operations() == ["create_customer"]
    assert (report.results[0].error, report.results[0].request_id) == ("No such token: 'tok_nope'", "req_nope")


def test_replay_of_a_copy_made_long_ago_is_trusted_only_after_a_read() -> None:
    gateway = FakeGateway()
    gateway.existing.add("cus_old")
    gateway.retrieve_metadata = OURS
    long_ago = Written("cus_old", True, "req_r", {"id": "cus_old", "created": 1_000_000_000})
    gateway.script("create_customer", long_ago)  # made by an apply whose plan ran before this one's
    report = run(gateway, share())
    assert report.results[0].object_id == "cus_old"
    assert gateway.operations() == ["create_token", "create_customer", "retrieve_customer"]


def test_replay_of_a_copy_no_longer_ours_makes_a_new_one() -> None:
    gateway = FakeGateway()
    gateway.existing.add("cus_disowned")  # exists, but FakeGateway.retrieve_customer returns no metadata
    gateway.script("create_customer", Written("cus_disowned", True, "req_r", {"id": "cus_disowned"}))
    report = run(gateway, share())
    assert report.complete
    assert report.results[0].object_id != "cus_disowned"


def test_a_failed_action_skips_its_dependants_and_not_the_others() -> None:
    gateway = FakeGateway()
    failure = ApiFailure("Invalid email address: nope", status=400, type="invalid_request_error", request_id="req_bad")
    gateway.script("create_customer", failure)
    create = CreateCustomer(customer_key="alice", changes=(change("email", None, "nope"),))
    dependant = share("alice", platform_customer=UNKNOWN, source=UNKNOWN, after=(create.id,))
    other = share("bob")
    report = run(gateway, create, dependant, other)
    outcomes = {r.action.id: (r.outcome, r.error, r.request_id) for r in report.results}
    assert outcomes[create.id] == (Outcome.FAILED, "Invalid email address: nope", "req_bad")
    assert outcomes[dependant.id][0] is Outcome.SKIPPED
    assert outcomes[other.id][0] is Outcome.DONE
    assert not report.complete
    assert report.return_code == 1


def test_create_with_a_declared_test_source_attaches_it_in_the_same_call() -> None:
    gateway = FakeGateway()
    create = CreateCustomer(customer_key="alice", changes=(change("email", None, "a@x.io"),))
    attach = AttachSource(customer_key="alice", platform_customer=UNKNOWN, source="tok_visa", after=(create.id,))
    shared = share("alice", platform_customer=UNKNOWN, source=UNKNOWN, after=(create.id, attach.id))
    report = run(gateway, create, attach, shared)
    assert report.complete
    assert gateway.operations() == ["create_customer", "create_token", "create_customer"]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_every_action_is_reported_once_in_plan_order(concurrency: int) -> None:
    gateway = FakeGateway()
    actions = [share(f"c{i}") for i in range(10)]
    report = run(gateway, *actions, concurrency=concurrency)
    assert [r.action.id for r in report.results] == [a.id for a in actions]
    assert report.requests == 20


def test_idempotency_key_depends_on_what_the_write_does() -> None:
    first = share()
    assert idempotency_base("acme", first, payload(first)) == idempotency_base("acme", share(), payload(share()))
    other_email = share(changes=(change("email", None, "new@example.com"),))
    assert idempotency_base("acme", first, payload(first)) != idempotency_base(
        "acme", other_email, payload(other_email)
    )
    assert idempotency_base("acme", first, payload(first)) != idempotency_base("other", first, payload(first))


def test_payload_unsets_removed_fields_with_empty_strings() -> None:
    update = UpdateShare(
        customer_key="alice",
        account="bookshop",
        account_id="acct_1Bookshop",
        platform_customer="cus_platform",
        copy="cus_copy",
        changes=(change("phone", "+1555", None), change("metadata.note", "x", None)),
    )
    assert payload(update) == {"phone": "", "metadata": {"note": ""}}


def test_interrupted_apply_reports_what_was_done_and_skips_the_rest() -> None:
    gateway = FakeGateway()
    gateway.script("create_token", gateway._new("tok"), KeyboardInterrupt())
    report = run(gateway, share("alice"), share("bob"), share("carol"))
    assert report.interrupted
    assert [r.outcome for r in report.results] == [Outcome.DONE, Outcome.SKIPPED, Outcome.SKIPPED]
    assert report.results[1].error == "apply was interrupted"


class InterruptedWhileCreating(FakeGateway):
    """Ctrl-C reaches apply while alice's create is in flight: bob's create raises it at once."""

    def create_customer(self, account: str | None, params: Any, key: str, **extra: Any) -> Written:
        if params["metadata"]["reconcile_key"] == "bob":
            raise KeyboardInterrupt
        time.sleep(0.2)  # still in flight when the interrupt is handled: drained, not scheduled on
        return super().create_customer(account, params, key, **extra)


def test_an_interrupted_apply_counts_a_card_that_rode_on_its_create_as_done() -> None:
    # alice's card rode on her create, so her attach_source is done, though its turn never came: the
    # skipped count is exactly what a re-run still has to do.
    first_apply = make_plan(desired(spec("alice"), spec("bob")), observed())

    report = run(InterruptedWhileCreating(), *first_apply.actions, concurrency=2)

    assert report.interrupted
    done = [(r.action.kind.value, r.action.customer_key) for r in report.results if r.outcome is Outcome.DONE]
    assert done == [("create_customer", "alice"), ("attach_source", "alice")]
    assert report.count(Outcome.SKIPPED) == 4  # alice's share; bob's create, attach and share


def test_each_apply_of_one_applier_starts_from_what_its_own_plan_says() -> None:
    gateway = FakeGateway()
    applier = Applier(gateway, owner="acme", concurrency=1, policy=NO_SLEEP)
    create = CreateCustomer(customer_key="alice", changes=(change("email", None, "a@x.io"),))
    assert applier.apply(Plan(owner="acme", mode="test", actions=(create,))).complete
    # A later plan whose share waits on a platform customer it does not create learns nothing from the first.
    report = applier.apply(Plan(owner="acme", mode="test", actions=(share(platform_customer=UNKNOWN),)))
    assert report.results[0].error == "no platform customer for 'alice'"


@pytest.mark.parametrize("kind", get_args(Action), ids=lambda kind: kind.KIND.value)
def test_every_action_kind_has_an_executor_path(kind: type[Action]) -> None:
    # A kind the executor does not dispatch fails assert_never inside apply, which raises here.
    report = run(FakeGateway(), *one_of_each_kind())
    outcome = {r.action.id: r for r in report.results}[example(kind).id]
    assert (outcome.outcome, outcome.error) == (Outcome.DONE, None)


def test_payload_leaves_values_known_only_at_apply_to_the_executor() -> None:
    pending = share(changes=(change("email", None, "a@x.io"), change("metadata.reconcile_source", None, UNKNOWN)))
    assert payload(pending) == {"email": "a@x.io", "metadata": {}}
    report = run(FakeGateway(), pending)
    assert report.complete
