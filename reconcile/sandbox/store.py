"""Stripe's rules for accounts, customers, sources, tokens and PaymentMethods, over the SQLite state (db.py).

Knows nothing about HTTP: callers pass a `Scope` (which account, which mode) and typed changes, and
get Stripe objects back as JSON text, which is what is stored, so that a list is string assembly.
Every rule Stripe enforces raises a `StoreError` (store_errors.py), which says what is wrong in Stripe's
terms but not which HTTP status answers it; each operation is one transaction, so a refused one leaves
nothing half-written (a token is not spent by a create that then fails). The SQL is in db.py.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import shapes
from .cards import TEST_PAYMENT_METHODS, TEST_TOKENS, KnownCard, expiry_of_test_cards, fingerprint
from .db import UNSET, Database, Listing, ObjectFilter, Page, SavedAnswer, Scope, Unset, dumps, load
from .events import EventLog
from .ids import base62, is_account_id, new_id
from .metadata import MetadataPatch
from .shapes import JSON, CardDetails
from .store_errors import AccountNotConnected, InvalidState, NoSuchObject
from .webhook_endpoints import WebhookEndpoints

DEFAULT_TOKEN_TTL = 600.0  # seconds a customer token stays usable (Stripe: "a few minutes")


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerChanges:
    """What a create or update asks for; absent fields stay as they are."""

    fields: Mapping[str, object] = field(default_factory=dict)  # stored as given; None unsets
    address: Mapping[str, str | None] | Unset | None = UNSET  # merged into the address; None clears it all
    invoice_settings: Mapping[str, object] = field(default_factory=dict)  # footer, custom_fields; None unsets
    metadata: MetadataPatch | None = None
    source: str | None = None  # a token (or test token) whose card becomes the default source
    payment_method: str | None = None  # create only: attach this PaymentMethod
    default_payment_method: str | Unset | None = UNSET  # invoice_settings[default_payment_method]
    default_source: str | None = None  # update only: an existing source to make the default


class Store:
    """The sandbox's state in one SQLite database; safe to call from many threads."""

    def __init__(self, path: str | Path = ":memory:", *, token_ttl: float = DEFAULT_TOKEN_TTL) -> None:
        self.path = str(path)
        self.token_ttl = token_ttl
        self._db = Database(path)
        self.platform_id = self._platform_id()
        self.events = EventLog(self._db, self.platform_id)  # records an event for every change below
        self.webhook_endpoints = WebhookEndpoints(self._db)
        self._connected = self._db.connected_account_ids()
        self._writes = 0

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    @property
    def database(self) -> Database:
        """The database, for what works beside the rules (the event log, the webhook worker)."""
        return self._db

    def _platform_id(self) -> str:
        with self._db.transaction() as db:
            known = self._db.platform_id(db)
            if known is not None:
                return known
            platform = shapes.account(new_id("acct"), int(time.time()), email="platform@example.com")
            self._db.insert_platform(db, platform)
            return str(platform["id"])

    # ------------------------------------------------------------------ accounts

    def is_connected(self, account_id: str) -> bool:
        """Whether the account is connected to this platform (and not deleted)."""
        return account_id in self._connected

    def add_account(self, account_id: str) -> None:
        """Connect an account with exactly this id; connecting one twice changes nothing."""
        if not is_account_id(account_id):
            raise ValueError(f"not an account id (acct_ then letters and digits): {account_id!r}")
        with self._db.transaction() as db:
            deleted = self._db.account_deleted(db, account_id)
            if deleted is None:
                self._db.insert_account(db, shapes.account(account_id, int(time.time())))
            elif deleted:
                self._db.undelete_account(db, account_id)
        if account_id != self.platform_id:
            self._connected.add(account_id)

    def create_account(self, fields: Mapping[str, Any]) -> str:
        """A new connected account (`POST /v1/accounts`)."""
        account_id = new_id("acct")
        obj = shapes.account(account_id, int(time.time()), **fields)
        with self._db.transaction() as db:
            self._db.insert_account(db, obj)
        self._connected.add(account_id)
        return dumps(obj)

    def get_account(self, account_id: str) -> str:
        """The account object; an unknown or deleted id raises AccountNotConnected."""
        with self._db.read() as db:
            text = self._db.account(db, account_id)
        if text is None:
            raise AccountNotConnected(account_id)
        return text

    def update_account(self, account_id: str, changes: Mapping[str, Any], metadata: MetadataPatch | None) -> str:
        """Change a connected account's fields and metadata."""
        with self._db.transaction() as db:
            text = self._db.account(db, account_id, connected_only=True)
            if text is None:
                raise AccountNotConnected(account_id)
            obj = json.loads(text)
            for name, value in changes.items():
                if name == "business_profile" and isinstance(value, Mapping):
                    obj["business_profile"].update(value)
                else:
                    obj[name] = value
            if metadata is not None:
                obj["metadata"] = metadata.apply(obj["metadata"])
            self._db.save_account(db, obj)
        return dumps(obj)

    def delete_account(self, account_id: str) -> str:
        """Disconnect and delete a connected account; its objects become unreachable."""
        with self._db.transaction() as db:
            if not self._db.delete_account(db, account_id):
                raise AccountNotConnected(account_id)
        self._connected.discard(account_id)
        return dumps(shapes.deleted(account_id, "account"))

    def list_accounts(self, page: Page, created: Mapping[str, int]) -> Listing:
        """Connected accounts, newest first."""
        return self._db.accounts_page(
            page, created, lambda cursor: NoSuchObject("account", cursor, None, referenced=True)
        )

    # ------------------------------------------------------------------ customers

    def create_customer(self, scope: Scope, changes: CustomerChanges, *, customer_id: str | None = None) -> str:
        """A new customer, with its source, PaymentMethod and default PaymentMethod if asked."""
        object_id = customer_id or new_id("cus")
        created = int(time.time())
        obj = shapes.customer(object_id, created, scope.livemode, _invoice_prefix(object_id))
        with self._db.transaction() as db:
            self._db.insert(db, scope, "customer", obj)
            self._apply_customer_changes(db, scope, obj, changes)
            self._db.save(db, obj)
        self._wrote()
        return dumps(obj)

    def get_customer(self, scope: Scope, customer_id: str) -> str:
        """The customer, or `{"id", "object": "customer", "deleted": true}` once deleted."""
        with self._db.read() as db:
            row = self._db.row(db, scope, "customer", customer_id)
        if row is None:
            raise self._missing(scope, "customer", customer_id)
        if row["deleted"]:
            return dumps(shapes.deleted(customer_id, "customer"))
        return str(row["json"])

    def update_customer(self, scope: Scope, customer_id: str, changes: CustomerChanges) -> str:
        """Apply an update; a deleted customer is gone for updates, as on Stripe."""
        with self._db.transaction() as db:
            obj = self._live_customer(db, scope, customer_id)
            self._apply_customer_changes(db, scope, obj, changes)
            self._db.save(db, obj)
        self._wrote()
        return dumps(obj)

    def delete_customer(self, scope: Scope, customer_id: str) -> str:
        """Delete a customer: its sources go with it and its PaymentMethods are detached."""
        with self._db.transaction() as db:
            self._live_customer(db, scope, customer_id)
            self._db.delete(db, customer_id)
            for card in self._db.children(db, customer_id, "card"):
                self._db.delete(db, card["id"])
            for payment_method in self._db.children(db, customer_id, "payment_method"):
                payment_method["customer"] = None
                self._db.save(db, payment_method, parent=None, spent=True)
        self._wrote()
        return dumps(shapes.deleted(customer_id, "customer"))

    def list_customers(self, scope: Scope, page: Page, *, email: str | None, created: Mapping[str, int]) -> Listing:
        """Live customers of the scope, newest first, filtered by exact email and creation time."""
        rows, has_more = self._db.objects_page(
            ObjectFilter(kinds=("customer",), scope=scope, email=email, created=created),
            ObjectFilter(kinds=("customer",), scope=scope),
            page,
            lambda cursor_id: self._missing(scope, "customer", cursor_id, None, referenced=True),
        )
        return Listing([row[0] for row in rows], has_more)

    def customer_object(self, scope: Scope, customer_id: str) -> JSON | None:
        """A live customer as a dict, for expansions (None when absent)."""
        with self._db.read() as db:
            row = self._db.row(db, scope, "customer", customer_id)
        return None if row is None or row["deleted"] else load(row)

    def _apply_customer_changes(
        self, db: sqlite3.Connection, scope: Scope, obj: JSON, changes: CustomerChanges
    ) -> None:
        customer_id = obj["id"]
        obj.update(changes.fields)
        if not isinstance(changes.address, Unset):
            # Stripe merges an address field by field: `address[line2]=` clears line2 and keeps the rest.
            obj["address"] = None if changes.address is None else {**shapes.address(obj["address"]), **changes.address}
        obj["invoice_settings"].update(changes.invoice_settings)
        if changes.metadata is not None:
            obj["metadata"] = changes.metadata.apply(obj["metadata"])
        if changes.default_source is not None:
            if self._source_row(db, customer_id, changes.default_source) is None:
                raise NoSuchObject("source", changes.default_source, "default_source", referenced=True)
            obj["default_source"] = changes.default_source
        if changes.source is not None:
            # Stripe: `source` makes a new card the default source and deletes the previous default.
            previous = obj["default_source"]
            card = self._new_card(db, scope, changes.source, "source", customer_id)
            if previous:
                self._delete_card(db, obj, previous)
            obj["default_source"] = card["id"]
        if changes.payment_method is not None:
            self._attach(db, scope, changes.payment_method, customer_id, "payment_method", referenced=True)
        if not isinstance(changes.default_payment_method, Unset):
            wanted = changes.default_payment_method
            if wanted is not None:
                self._require_attached(db, scope, wanted, customer_id)
            obj["invoice_settings"]["default_payment_method"] = wanted

    def _live_customer(
        self,
        db: sqlite3.Connection,
        scope: Scope,
        customer_id: str,
        param: str | None = "id",
        *,
        referenced: bool = False,
    ) -> JSON:
        row = self._db.row(db, scope, "customer", customer_id)
        if row is None or row["deleted"]:
            raise self._missing(scope, "customer", customer_id, param, referenced=referenced)
        return load(row)

    # ------------------------------------------------------------------ sources

    def add_source(self, scope: Scope, customer_id: str, source: str, metadata: MetadataPatch | None) -> str:
        """Attach a card from a token; it becomes the default source if the customer had none."""
        with self._db.transaction() as db:
            customer = self._live_customer(db, scope, customer_id)
            card = self._new_card(db, scope, source, "source", customer_id, metadata)
            if not customer["default_source"]:
                customer["default_source"] = card["id"]
                self._db.save(db, customer)
        self._wrote()
        return dumps(card)

    def get_source(self, scope: Scope, customer_id: str, source_id: str) -> str:
        """One source of a customer."""
        with self._db.read() as db:
            self._live_customer(db, scope, customer_id)
            row = self._source_row(db, customer_id, source_id)
        if row is None:
            raise NoSuchObject("source", source_id)
        return str(row["json"])

    def update_source(
        self,
        scope: Scope,
        customer_id: str,
        source_id: str,
        fields: Mapping[str, object],
        metadata: MetadataPatch | None,
    ) -> str:
        """Change a card's holder name, address, expiry or metadata."""
        with self._db.transaction() as db:
            self._live_customer(db, scope, customer_id)
            row = self._source_row(db, customer_id, source_id)
            if row is None:
                raise NoSuchObject("source", source_id)
            card = load(row)
            card.update(fields)
            if metadata is not None:
                card["metadata"] = metadata.apply(card["metadata"])
            self._db.save(db, card)
        self._wrote()
        return dumps(card)

    def delete_source(self, scope: Scope, customer_id: str, source_id: str) -> str:
        """Delete a card; if it was the default, the newest remaining card becomes the default."""
        with self._db.transaction() as db:
            customer = self._live_customer(db, scope, customer_id)
            if self._source_row(db, customer_id, source_id) is None:
                raise NoSuchObject("source", source_id)
            self._delete_card(db, customer, source_id)
        self._wrote()
        return dumps(shapes.deleted(source_id, "card"))

    def list_sources(self, scope: Scope, customer_id: str, page: Page, object_type: str | None) -> Listing:
        """A customer's cards, newest first (the sandbox has no bank accounts or Sources)."""
        with self._db.read() as db:
            self._live_customer(db, scope, customer_id)
        if object_type not in (None, "card"):
            return Listing([], False)
        cards = ObjectFilter(kinds=("card",), parent=customer_id)
        rows, has_more = self._db.objects_page(
            cards, cards, page, lambda cursor_id: NoSuchObject("source", cursor_id, None, referenced=True)
        )
        return Listing([row[0] for row in rows], has_more)

    def source_object(self, scope: Scope, source_id: str) -> JSON | None:
        """A live card of the scope as a dict, for expansions."""
        with self._db.read() as db:
            row = self._db.row(db, scope, "card", source_id)
        return None if row is None or row["deleted"] else load(row)

    def _source_row(self, db: sqlite3.Connection, customer_id: str, source_id: str) -> sqlite3.Row | None:
        return self._db.child(db, customer_id, ("card",), source_id)

    def _delete_card(self, db: sqlite3.Connection, customer: JSON, card_id: str) -> None:
        self._db.delete(db, card_id)
        changed = False
        if customer["default_source"] == card_id:
            customer["default_source"] = self._db.newest_child_id(db, customer["id"], "card")
            changed = True
        if customer["invoice_settings"]["default_payment_method"] == card_id:
            customer["invoice_settings"]["default_payment_method"] = None
            changed = True
        if changed:
            self._db.save(db, customer)

    def _new_card(
        self,
        db: sqlite3.Connection,
        scope: Scope,
        source: str,
        param: str,
        customer_id: str,
        metadata: MetadataPatch | None = None,
    ) -> JSON:
        card_id, details = self._spend_token(db, scope, source, param)
        card = shapes.card(card_id, details, customer_id)
        if metadata is not None:
            card["metadata"] = metadata.apply({})
        self._db.insert(db, scope, "card", card, parent=customer_id)
        return card

    # ------------------------------------------------------------------ tokens

    def create_customer_token(self, scope: Scope, customer_id: str, card_id: str | None) -> str:
        """A single-use card token on a connected account, copied from a platform customer's card."""
        if not scope.connected:
            raise InvalidState(
                "You can only create a token from a customer with the Stripe-Account header set to a "
                "connected account: the token is made for that account from the platform's customer.",
                "customer",
            )
        platform = Scope(self.platform_id, scope.livemode)
        with self._db.transaction() as db:
            customer = self._live_customer(db, platform, customer_id, "customer", referenced=True)
            wanted = card_id or customer["default_source"]
            if not wanted:
                raise InvalidState(f"Customer {customer_id} has no default source to create a token from.", "customer")
            row = self._source_row(db, customer_id, wanted)
            if row is None:
                raise InvalidState(
                    f"Customer {customer_id} does not have a linked source with ID {wanted}.", "card", "missing"
                )
            details = CardDetails.of_card(load(row))
            obj = self._new_token(db, scope, details)
        self._wrote()
        return dumps(obj)

    def get_token(self, scope: Scope, token_id: str) -> str:
        """A token of this account; expired tokens are gone."""
        with self._db.read() as db:
            row = self._db.row(db, scope, "token", token_id)
        if row is None or row["expires"] <= time.time():
            raise self._missing(scope, "token", token_id, "token")
        return str(row["json"])

    def _new_token(self, db: sqlite3.Connection, scope: Scope, details: CardDetails) -> JSON:
        obj = shapes.token(new_id("tok"), int(time.time()), scope.livemode, shapes.card(new_id("card"), details, None))
        self._db.insert(db, scope, "token", obj, expires=time.time() + self.token_ttl)
        return obj

    def _spend_token(self, db: sqlite3.Connection, scope: Scope, source: str, param: str) -> tuple[str, CardDetails]:
        """The card a token stands for (a new card id for test tokens); a real token is used up."""
        known = TEST_TOKENS.get(source)
        if known is not None and not scope.livemode:
            return new_id("card"), self._test_card(known)
        label = "source" if source.startswith("src_") else "token"
        row = self._db.row(db, scope, "token", source) if source.startswith("tok_") else None
        if row is None or row["expires"] <= time.time():
            raise NoSuchObject(label, source, param, referenced=True)
        if row["spent"]:
            raise InvalidState(f"You cannot use a Stripe token more than once: {source}.", param, "token_already_used")
        obj = load(row)
        obj["used"] = True
        self._db.save(db, obj, spent=True)
        return obj["card"]["id"], CardDetails.of_card(obj["card"])

    def _test_card(self, known: KnownCard) -> CardDetails:
        month, year = expiry_of_test_cards()
        return CardDetails(
            brand=known.brand,
            last4=known.last4,
            exp_month=month,
            exp_year=year,
            fingerprint=fingerprint(self.platform_id, known.number),
            funding=known.funding,
            country=known.country,
        )

    # ------------------------------------------------------------------ payment methods

    def create_payment_method(
        self, scope: Scope, token: str, billing: JSON | None, metadata: MetadataPatch | None
    ) -> str:
        """A card PaymentMethod from `card[token]` (a test token or a token of this account)."""
        with self._db.transaction() as db:
            _, details = self._spend_token(db, scope, token, "card[token]")
            obj = self._new_payment_method(db, scope, details, billing, metadata)
        self._wrote()
        return dumps(obj)

    def clone_payment_method(self, scope: Scope, customer_id: str | None, source_id: str) -> str:
        """Clone a platform customer's PaymentMethod (or card) onto the connected account of `scope`."""
        if not scope.connected:
            raise InvalidState(
                "You can only clone a PaymentMethod (`payment_method` with `customer`) onto a connected "
                "account: set the Stripe-Account header.",
                "payment_method",
            )
        platform = Scope(self.platform_id, scope.livemode)
        with self._db.transaction() as db:
            if customer_id is not None:
                self._live_customer(db, platform, customer_id, "customer", referenced=True)
            original = self._payment_method(db, platform, source_id, "payment_method", referenced=True)
            owner = original["customer"]
            if owner is not None and owner != customer_id:
                if customer_id is None:
                    raise InvalidState(
                        f"The PaymentMethod {source_id} is attached to a customer: pass that customer "
                        "in `customer` to clone it.",
                        "customer",
                    )
                raise InvalidState(
                    f"The PaymentMethod {source_id} does not belong to the customer {customer_id}.",
                    "payment_method",
                )
            if customer_id is not None and owner is None:
                raise InvalidState(
                    f"The PaymentMethod {source_id} is not attached to the customer {customer_id}.",
                    "payment_method",
                )
            details = CardDetails.of_payment_method(original)
            obj = self._new_payment_method(db, scope, details, original["billing_details"], None)
        self._wrote()
        return dumps(obj)

    def get_payment_method(self, scope: Scope, payment_method_id: str) -> str:
        """A PaymentMethod, or a customer's card seen as one; a test id (`pm_card_visa`) makes a new one."""
        known = TEST_PAYMENT_METHODS.get(payment_method_id)
        if known is not None and not scope.livemode:
            with self._db.transaction() as db:
                return dumps(self._new_payment_method(db, scope, self._test_card(known), None, None))
        with self._db.read() as db:
            return dumps(self._payment_method(db, scope, payment_method_id, "payment_method"))

    def payment_method_object(self, scope: Scope, payment_method_id: str) -> JSON | None:
        """A PaymentMethod as a dict, for expansions."""
        try:
            with self._db.read() as db:
                return self._payment_method(db, scope, payment_method_id, None)
        except NoSuchObject:
            return None

    def update_payment_method(
        self,
        scope: Scope,
        payment_method_id: str,
        billing: JSON | None,
        card: Mapping[str, int],
        metadata: MetadataPatch | None,
    ) -> str:
        """Change billing details, card expiry or metadata."""
        with self._db.transaction() as db:
            row = self._db.row(db, scope, "payment_method", payment_method_id)
            if row is None:
                raise self._missing(scope, "payment_method", payment_method_id, "payment_method")
            obj = load(row)
            if billing is not None:
                obj["billing_details"] = billing
            obj["card"].update(card)
            if metadata is not None:
                obj["metadata"] = metadata.apply(obj["metadata"])
            self._db.save(db, obj)
        self._wrote()
        return dumps(obj)

    def attach_payment_method(self, scope: Scope, payment_method_id: str, customer_id: str) -> str:
        """Attach a PaymentMethod (or a test `pm_card_*` id, which makes a new one) to a customer."""
        with self._db.transaction() as db:
            obj = self._attach(db, scope, payment_method_id, customer_id, "payment_method")
        self._wrote()
        return dumps(obj)

    def detach_payment_method(self, scope: Scope, payment_method_id: str) -> str:
        """Detach a PaymentMethod; Stripe never lets a detached one be attached again."""
        with self._db.transaction() as db:
            card_row = self._db.row(db, scope, "card", payment_method_id)
            if card_row is not None and not card_row["deleted"]:
                # A card source detached through the PaymentMethods API is deleted from its customer.
                card = load(card_row)
                customer = self._live_customer(db, scope, card["customer"], None)
                self._delete_card(db, customer, payment_method_id)
                card["customer"] = None
                return dumps(shapes.card_as_payment_method(card, card_row["created"], scope.livemode))
            row = self._db.row(db, scope, "payment_method", payment_method_id)
            if row is None:
                raise self._missing(scope, "payment_method", payment_method_id, "payment_method")
            obj = load(row)
            customer_id = obj["customer"]
            if customer_id is None:
                raise InvalidState(
                    f"The payment method {payment_method_id} is not attached to a customer "
                    "so detachment is impossible.",
                    "payment_method",
                )
            customer = self._live_customer(db, scope, customer_id, None)
            if customer["invoice_settings"]["default_payment_method"] == payment_method_id:
                customer["invoice_settings"]["default_payment_method"] = None
                self._db.save(db, customer)
            obj["customer"] = None
            self._db.save(db, obj, parent=None, spent=True)
        self._wrote()
        return dumps(obj)

    def list_payment_methods(
        self,
        scope: Scope,
        customer_id: str | None,
        page: Page,
        payment_type: str | None,
        *,
        param: str | None,
        referenced: bool,
    ) -> Listing:
        """A customer's PaymentMethods and cards, newest first; without a customer, the account's PaymentMethods.

        `param` and `referenced` say how the request named the customer (see NoSuchObject)."""
        if payment_type not in (None, "card"):
            return Listing([], False)
        either = ("payment_method", "card")
        if customer_id is None:
            listed = ObjectFilter(kinds=("payment_method",), scope=scope)
        else:
            with self._db.read() as db:
                self._live_customer(db, scope, customer_id, param, referenced=referenced)
            listed = ObjectFilter(kinds=either, parent=customer_id)
        rows, has_more = self._db.objects_page(
            listed,
            ObjectFilter(kinds=either, scope=scope),
            page,
            lambda cursor_id: self._missing(scope, "payment_method", cursor_id, None, referenced=True),
        )
        items = [
            row[0]
            if row[1] != "card"
            else dumps(shapes.card_as_payment_method(json.loads(row[0]), row[2], scope.livemode))
            for row in rows
        ]
        return Listing(items, has_more)

    def _new_payment_method(
        self,
        db: sqlite3.Connection,
        scope: Scope,
        details: CardDetails,
        billing: JSON | None,
        metadata: MetadataPatch | None,
    ) -> JSON:
        obj = shapes.payment_method(
            new_id("pm"),
            int(time.time()),
            scope.livemode,
            details,
            billing=billing,
            metadata=metadata.apply({}) if metadata else None,
        )
        self._db.insert(db, scope, "payment_method", obj)
        return obj

    def _payment_method(
        self,
        db: sqlite3.Connection,
        scope: Scope,
        payment_method_id: str,
        param: str | None,
        *,
        referenced: bool = False,
    ) -> JSON:
        row = self._db.row(db, scope, "payment_method", payment_method_id)
        if row is not None:
            return load(row)
        card_row = self._db.row(db, scope, "card", payment_method_id)
        if card_row is not None and not card_row["deleted"]:
            return shapes.card_as_payment_method(load(card_row), card_row["created"], scope.livemode)
        raise self._missing(scope, "payment_method", payment_method_id, param, referenced=referenced)

    def _attach(
        self,
        db: sqlite3.Connection,
        scope: Scope,
        payment_method_id: str,
        customer_id: str,
        param: str,
        *,
        referenced: bool = False,
    ) -> JSON:
        self._live_customer(db, scope, customer_id, "customer", referenced=True)
        known = TEST_PAYMENT_METHODS.get(payment_method_id)
        if known is not None and not scope.livemode:
            obj = self._new_payment_method(db, scope, self._test_card(known), None, None)
        else:
            row = self._db.row(db, scope, "payment_method", payment_method_id)
            if row is None:
                raise self._missing(scope, "payment_method", payment_method_id, param, referenced=referenced)
            obj = load(row)
            if row["spent"]:
                raise InvalidState(
                    "This PaymentMethod was previously used without being attached to a Customer or was "
                    "detached from a Customer, and may not be used again.",
                    param,
                )
            if obj["customer"] == customer_id:
                return obj
            if obj["customer"] is not None:
                raise InvalidState("The payment method you provided has already been attached to a customer.", param)
        obj["customer"] = customer_id
        self._db.save(db, obj, parent=customer_id)
        return obj

    def _require_attached(self, db: sqlite3.Connection, scope: Scope, payment_method_id: str, customer_id: str) -> None:
        param = "invoice_settings[default_payment_method]"
        if self._db.child(db, customer_id, ("payment_method", "card"), payment_method_id) is None:
            if self._db.row(db, scope, "payment_method", payment_method_id) is None:
                raise NoSuchObject("payment_method", payment_method_id, param, referenced=True)
            raise InvalidState(
                f"The customer does not have a payment method with the ID {payment_method_id}. "
                "The payment method must be attached to the customer.",
                param,
                "resource_missing",
            )

    # ------------------------------------------------------------------ idempotency

    def saved_answer(self, scope: Scope, key: str) -> SavedAnswer | None:
        """The answer stored for an idempotency key of this account and mode, if not expired."""
        return self._db.saved_answer(scope, key)

    def save_answer(self, scope: Scope, key: str, answer: SavedAnswer) -> None:
        """Keep an answer for its key for 24 hours."""
        self._db.save_answer(scope, key, answer)

    # ------------------------------------------------------------------ helpers

    def customer_ids(self, scope: Scope) -> set[str]:
        """Ids of every customer of the scope, deleted ones included (for seeding)."""
        return self._db.ids(scope, "customer")

    def _wrote(self) -> None:
        # Drop expired idempotency answers now and then rather than on every write.
        self._writes += 1
        if self._writes % 1000 == 0:
            self._db.forget_expired_answers()

    def _missing(
        self, scope: Scope, kind: str, object_id: str, param: str | None = "id", *, referenced: bool = False
    ) -> NoSuchObject:
        # Stripe says so when the id exists in the other mode (a test id asked for with a live key).
        other_mode = ("test" if scope.livemode else "live") if self._db.in_other_mode(scope, kind, object_id) else None
        return NoSuchObject(kind, object_id, param, referenced=referenced, other_mode=other_mode)


def _invoice_prefix(customer_id: str) -> str:
    # Stripe gives each customer a random upper-case prefix for invoice numbers; derive it from the id.
    return base62(customer_id.encode().ljust(8, b"0"), 8).upper()
