"""The planner at scale: its shortcut for pairs already in step plans exactly what the full comparison
plans, and a converged snapshot is planned without making a single action or field change."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from reconcile import actions as plan_actions
from reconcile.actions import FieldChange
from reconcile.model import (
    KEY_KEY,
    NO_DETAILS,
    OWNER_KEY,
    PLATFORM_CUSTOMER_KEY,
    SOURCE_KEY,
    Address,
    AdoptBy,
    Customer,
    CustomerSpec,
    DesiredState,
    Details,
    Fields,
    Mode,
    ObservedState,
    ShareSpec,
    Strategy,
    frozen_map,
)
from reconcile.planner import _Planner, plan

OWNER = "acme"
ACCOUNTS = {"a": "acct_1AAAAAAAAAAAAAAAA", "b": "acct_1BBBBBBBBBBBBBBBB", "c": "acct_1CCCCCCCCCCCCCCCC"}
TEXT_FIELDS = ("email", "name", "phone", "description")


# -- a seeded world: mostly in step, with a little of every kind of drift ------------------------------


def _maybe(rng: random.Random, chance: float, value: Any, other: Any) -> Any:
    return value if rng.random() < chance else other


def _details(rng: random.Random) -> Details:
    return rng.choice(
        [
            NO_DETAILS,
            NO_DETAILS,
            Details(address=Address(city="Paris", country="FR")),
            Details(address=Address(), preferred_locales=("fr-FR",)),
            Details(tax_exempt="exempt", invoice_footer="Thanks"),
            Details(preferred_locales=(), tax_exempt="none"),
        ]
    )


def _declared(rng: random.Random) -> Fields:
    metadata = rng.choice([None, {}, {"tier": "gold"}, {"tier": "gold", "region": "eu"}])
    return Fields(
        email=rng.choice([None, "a@example.com"]),
        name=rng.choice([None, "Ann", "Bo"]),
        phone=rng.choice([None, "+15555550100"]),
        description=rng.choice([None, "vip"]),
        metadata=None if metadata is None else frozen_map(metadata),
        details=_details(rng),
    )


def _override(rng: random.Random) -> Fields:
    return rng.choice(
        [
            Fields(),
            Fields(),
            Fields(name="Ann (a)"),
            Fields(metadata=frozen_map({"shop": "x"})),
            Fields(details=Details(address=Address(city="Lyon", country="FR"))),
        ]
    )


def _spec(rng: random.Random, key: str) -> CustomerSpec:
    aliases = [alias for alias in ACCOUNTS if rng.random() < 0.8]
    return CustomerSpec(
        key=key,
        fields=_declared(rng),
        payment_source=rng.choice([None, "tok_visa", "tok_visa"]),
        strategy=rng.choice(list(Strategy)),
        ignore_changes=frozenset(rng.sample(["name", "metadata", "metadata.tier", "phone"], rng.choice([0, 0, 1]))),
        shares=tuple(ShareSpec(alias=a, account_id=ACCOUNTS[a], overrides=_override(rng)) for a in aliases),
    )


def _drifted(rng: random.Random, fields: Fields, ownership: dict[str, str]) -> Fields:
    """``fields`` as a live object holds them, now and then drifted, with ``ownership`` metadata."""
    values = {name: _maybe(rng, 0.9, getattr(fields, name), rng.choice([None, "drift"])) for name in TEXT_FIELDS}
    metadata = dict(fields.metadata or {})
    if rng.random() < 0.1:
        metadata["tier"] = "silver"
    if rng.random() < 0.05:
        metadata["extra"] = "x"
    details = _maybe(rng, 0.85, fields.details, _details(rng))
    return Fields(**values, metadata=frozen_map(metadata | ownership), details=details)


def _platform(rng: random.Random, spec: CustomerSpec, n: int) -> Customer:
    fields = Fields(
        **{name: getattr(spec.fields, name) or f"{name}{n}" for name in TEXT_FIELDS},
        metadata=frozen_map(dict(spec.fields.metadata or {"tier": "gold"})),
        details=spec.fields.details,
    )
    owner = _maybe(rng, 0.95, OWNER, "other")
    return Customer(
        id=f"cus_P{n:05d}",
        fields=_drifted(rng, fields, {OWNER_KEY: owner, KEY_KEY: spec.key}),
        default_source=_maybe(rng, 0.9, f"card_P{n}", None),
        default_payment_method=rng.choice([None, f"pm_P{n}"]),
        card_fingerprint=f"fp{n}",
    )


def _copies(rng: random.Random, spec: CustomerSpec, share: ShareSpec, platform: Customer | None) -> Iterator[Customer]:
    if platform is None:
        return
    for copy in range(rng.choice([0, 1, 1, 1, 1, 1, 2])):
        base = platform.fields
        fields = Fields(
            **{
                name: getattr(share.overrides, name) or getattr(spec.fields, name) or getattr(base, name)
                for name in TEXT_FIELDS
            },
            metadata=frozen_map(
                {k: v for k, v in (base.metadata or {}).items() if not k.startswith("reconcile_")}
                | dict(spec.fields.metadata or {})
                | dict(share.overrides.metadata or {})
            ),
            details=share.overrides.details.over(spec.fields.details),
        )
        source = _maybe(rng, 0.9, platform.default_source or platform.default_payment_method or "card_x", "card_old")
        ownership = {
            OWNER_KEY: _maybe(rng, 0.95, OWNER, "other"),
            KEY_KEY: spec.key,
            PLATFORM_CUSTOMER_KEY: _maybe(rng, 0.95, platform.id, "cus_Pelse"),
            SOURCE_KEY: source,
        }
        yield Customer(
            id=f"cus_{share.alias}{platform.id[5:]}{copy}",
            fields=_drifted(rng, fields, ownership),
            default_source=f"card_{share.alias}{copy}",
            default_payment_method=rng.choice([None, f"pm_{share.alias}{copy}"]),
            created=1_700_000_000 + copy,
            card_fingerprint=platform.card_fingerprint,
        )


def _world(seed: int) -> tuple[DesiredState, ObservedState]:
    rng = random.Random(seed)
    specs = tuple(_spec(rng, f"k{n}") for n in range(6))
    platforms = {spec.key: _maybe(rng, 0.85, _platform(rng, spec, n), None) for n, spec in enumerate(specs)}
    on: dict[str, list[Customer]] = {account: [] for account in ACCOUNTS.values()}
    for spec in specs:
        for share in spec.shares:
            on[share.account_id].extend(_copies(rng, spec, share, platforms[spec.key]))
    desired = DesiredState(owner=OWNER, mode=Mode.TEST, strategy=Strategy.TOKEN, accounts=ACCOUNTS, customers=specs)
    live = tuple(p for p in platforms.values() if p is not None)
    return desired, ObservedState(platform=live, accounts={a: tuple(c) for a, c in on.items()})


def _counting(monkeypatch: pytest.MonkeyPatch, method: str) -> list[bool]:
    """Record each answer ``_Planner.<method>`` gives."""
    answers: list[bool] = []
    original: Callable[..., bool] = getattr(_Planner, method)

    def recorded(*args: Any) -> bool:
        answers.append(original(*args))
        return answers[-1]

    monkeypatch.setattr(_Planner, method, recorded)
    return answers


@pytest.mark.parametrize("adopt_by", [None, AdoptBy.EMAIL, AdoptBy.FINGERPRINT])
def test_pairs_found_in_step_are_planned_as_the_full_comparison_plans_them(
    monkeypatch: pytest.MonkeyPatch, adopt_by: AdoptBy | None
) -> None:
    worlds = [_world(seed) for seed in range(300)]
    with monkeypatch.context() as patched:
        patched.setattr(_Planner, "_in_step", lambda *args: False)
        patched.setattr(_Planner, "_platform_in_step", lambda *args: False)
        expected = [plan(desired, observed, prune=True, adopt_by=adopt_by) for desired, observed in worlds]
    copies, platforms = _counting(monkeypatch, "_in_step"), _counting(monkeypatch, "_platform_in_step")

    planned = [plan(desired, observed, prune=True, adopt_by=adopt_by) for desired, observed in worlds]

    assert planned == expected
    # The seeded worlds exercise both answers of both shortcuts, so this test fails if either stops working.
    assert True in copies
    assert False in copies
    assert True in platforms
    assert False in platforms


# -- a converged snapshot --------------------------------------------------------------------------


def _converged(customers: int) -> tuple[DesiredState, ObservedState]:
    """``customers`` customers, each shared with every account, and live state that already matches."""
    shares = tuple(ShareSpec(alias=alias, account_id=account) for alias, account in ACCOUNTS.items())
    specs, platforms = [], []
    copies: dict[str, list[Customer]] = {account: [] for account in ACCOUNTS.values()}
    for n in range(customers):
        key, declared = f"c{n}", {"email": f"c{n}@example.com", "name": f"Customer {n}"}
        fields = Fields(**declared, metadata=frozen_map({"tier": "gold"}))
        specs.append(CustomerSpec(key=key, fields=fields, payment_source="tok_visa", shares=shares))
        ours = {OWNER_KEY: OWNER, KEY_KEY: key}
        platforms.append(
            Customer(
                id=f"cus_P{n}",
                fields=Fields(**declared, metadata=frozen_map({"tier": "gold", **ours})),
                default_source=f"card_P{n}",
            )
        )
        for account in ACCOUNTS.values():
            ownership = {**ours, PLATFORM_CUSTOMER_KEY: f"cus_P{n}", SOURCE_KEY: f"card_P{n}"}
            copies[account].append(
                Customer(
                    id=f"cus_{account[-4:]}{n}",
                    fields=Fields(**declared, metadata=frozen_map({"tier": "gold", **ownership})),
                )
            )
    desired = DesiredState(
        owner=OWNER, mode=Mode.TEST, strategy=Strategy.TOKEN, accounts=ACCOUNTS, customers=tuple(specs)
    )
    return desired, ObservedState(platform=tuple(platforms), accounts={a: tuple(c) for a, c in copies.items()})


def test_a_converged_snapshot_of_10k_pairs_is_planned_without_an_action_or_a_field_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    desired, observed = _converged(3_334)  # x 3 accounts: 10,002 pairs
    made: list[str] = []
    kinds = [getattr(plan_actions, name) for name in ("CreateCustomer", "UpdateCustomer", "AttachSource", "Share")]
    kinds += [getattr(plan_actions, name) for name in ("UpdateShare", "RotateSource", "Unshare", "Adopt")]
    for kind in (*kinds, FieldChange):
        original = kind.__init__

        def counted(self: object, *args: Any, __original: Any = original, **kwargs: Any) -> None:
            made.append(type(self).__name__)
            __original(self, *args, **kwargs)

        monkeypatch.setattr(kind, "__init__", counted)

    result = plan(desired, observed)

    assert result.actions == ()
    assert made == []
    assert result.copies_held == {"a": 3_334, "b": 3_334, "c": 3_334}


def test_the_counting_in_the_converged_test_sees_what_a_drifted_pair_makes(monkeypatch: pytest.MonkeyPatch) -> None:
    desired, observed = _converged(10)
    drifted = observed.accounts[ACCOUNTS["a"]][0]
    renamed = Customer(
        id=drifted.id, fields=Fields(**{**_text(drifted.fields), "name": "drift"}, metadata=drifted.fields.metadata)
    )
    observed = ObservedState(
        platform=observed.platform,
        accounts={**observed.accounts, ACCOUNTS["a"]: (renamed, *observed.accounts[ACCOUNTS["a"]][1:])},
    )
    made: list[str] = []
    original = FieldChange.__init__

    def counted(self: FieldChange, *args: Any, **kwargs: Any) -> None:
        made.append("FieldChange")
        original(self, *args, **kwargs)

    monkeypatch.setattr(FieldChange, "__init__", counted)

    result = plan(desired, observed)

    assert [a.kind.value for a in result.actions] == ["update_share"]
    assert made


def _text(fields: Fields) -> dict[str, str | None]:
    return {name: getattr(fields, name) for name in TEXT_FIELDS}
