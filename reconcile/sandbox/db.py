"""The SQLite side of the store: schema, one connection behind a lock, objects kept as JSON text.

Every write to `objects` goes through `insert`, `save` or `delete`, which note the object's state before
and after in the transaction's journal; a `ChangeListener` sees the journal just before the commit (the
event log turns it into Stripe events in the same transaction) and is told after the commit.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .store_errors import NoSuchObject

IDEMPOTENCY_TTL = 24 * 3600.0  # Stripe keeps an idempotency key's answer for 24 hours
_SEPARATORS = (",", ":")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL,
    platform INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,          -- customer | card | token | payment_method
    account TEXT NOT NULL,       -- the account that owns it (the platform or a connected account)
    livemode INTEGER NOT NULL,
    parent TEXT,                 -- the customer a card or PaymentMethod is attached to
    created INTEGER NOT NULL,
    email TEXT,                  -- customers only, for the email filter
    deleted INTEGER NOT NULL DEFAULT 0,
    spent INTEGER NOT NULL DEFAULT 0,  -- token used, or PaymentMethod detached (neither usable again)
    expires REAL,                -- tokens only
    json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS objects_by_scope ON objects (account, livemode, kind, deleted, seq);
CREATE INDEX IF NOT EXISTS objects_by_parent ON objects (parent, kind, seq);
CREATE TABLE IF NOT EXISTS idempotency (
    account TEXT NOT NULL,
    livemode INTEGER NOT NULL,
    key TEXT NOT NULL,
    created REAL NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    request_id TEXT NOT NULL,
    PRIMARY KEY (account, livemode, key)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL,       -- the account whose object changed (the platform or a connected account)
    livemode INTEGER NOT NULL,
    type TEXT NOT NULL,
    created INTEGER NOT NULL,
    pending INTEGER NOT NULL,    -- pending_webhooks, also kept in the JSON
    json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_scope ON events (account, livemode, seq);
CREATE TABLE IF NOT EXISTS webhook_endpoints (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    livemode INTEGER NOT NULL,
    connect INTEGER NOT NULL,    -- receives connected accounts' events (1) or the platform's (0)
    created INTEGER NOT NULL,
    secret TEXT NOT NULL,        -- kept out of the JSON: Stripe shows it only in the answer to the create
    deleted INTEGER NOT NULL DEFAULT 0,
    json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    state TEXT NOT NULL,         -- pending | delivered | failed | refused | cancelled
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    last_status INTEGER,         -- the receiver's last HTTP status (NULL: no answer)
    last_error TEXT,
    UNIQUE (event, endpoint)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_attempt, seq);
"""

JSON = dict[str, Any]


def dumps(obj: object) -> str:
    """Compact JSON, as stored and sent."""
    return json.dumps(obj, separators=_SEPARATORS)


def load(row: sqlite3.Row) -> JSON:
    """The object a row holds."""
    obj: JSON = json.loads(row["json"])
    return obj


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose objects a request sees: an account (the platform or a connected one) in one mode."""

    account: str
    livemode: bool
    connected: bool = False  # acting on a connected account through Stripe-Account


@dataclass(frozen=True, slots=True)
class Page:
    """Cursor pagination: newest first, `limit` items after `starting_after` or before `ending_before`."""

    limit: int = 10
    starting_after: str | None = None
    ending_before: str | None = None


@dataclass(frozen=True, slots=True)
class Listing:
    """One page of a list: the objects' JSON texts, newest first."""

    items: list[str]
    has_more: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectFilter:
    """Which objects a list shows (the live ones only) or a cursor may name (deleted ones too)."""

    kinds: tuple[str, ...]
    scope: Scope | None = None  # None: any account (a parent's objects are all in its account)
    parent: str | None = None  # the customer they are attached to
    email: str | None = None  # customers only: exact match
    created: Mapping[str, int] = field(default_factory=dict)  # gt, gte, lt, lte

    def where(self) -> tuple[str, tuple[object, ...]]:
        """The SQL condition and its arguments."""
        marks = ", ".join("?" * len(self.kinds))
        clauses: list[str] = [f"kind IN ({marks})"]
        args: list[object] = list(self.kinds)
        if self.scope is not None:
            clauses[:0] = ["account = ?", "livemode = ?"]
            args[:0] = [self.scope.account, self.scope.livemode]
        if self.parent is not None:
            clauses.append("parent = ?")
            args.append(self.parent)
        if self.email is not None:
            clauses.append("email = ?")
            args.append(self.email)
        where, bounds = " AND ".join(clauses), _created(self.created)
        return where + bounds[0], (*args, *bounds[1])


@dataclass(frozen=True, slots=True)
class SavedAnswer:
    """The stored answer to an idempotent request."""

    request_hash: str
    status: int
    body: str
    request_id: str


@dataclass(frozen=True, slots=True)
class Change:
    """One object's state change in a transaction: where it lives, and its JSON before and after."""

    kind: str
    account: str
    livemode: bool
    before: JSON | None  # None: the transaction made the object
    after: JSON
    deleted: bool  # the transaction deleted it


class ChangeListener(Protocol):
    """Told of the objects each transaction changed before it commits (to write more in it); if it says
    so, told again after the commit."""

    def record(self, db: sqlite3.Connection, changes: list[Change]) -> bool: ...

    def committed(self) -> None: ...


@dataclass(slots=True)
class _Touched:
    """An object the open transaction wrote: JSON texts, parsed only if the transaction commits."""

    kind: str
    account: str
    livemode: bool
    before: str | None
    was_deleted: bool
    after: str
    deleted: bool

    def change(self) -> Change:
        before = None if self.before is None else json.loads(self.before)
        deleted = self.deleted and not self.was_deleted
        return Change(self.kind, self.account, self.livemode, before, json.loads(self.after), deleted)


@dataclass(frozen=True, slots=True)
class EventQuery:
    """The filters of `GET /v1/events`."""

    type_pattern: str | None = None  # one type, `*` matching any characters
    types: tuple[str, ...] = ()
    created: Mapping[str, int] = field(default_factory=dict)  # gt, gte, lt, lte
    delivery_success: bool | None = None


@dataclass(frozen=True, slots=True)
class ReceivingEndpoint:
    """What recording an event needs to know of an enabled webhook endpoint."""

    id: str
    livemode: bool
    enabled_events: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """A pending delivery that is due: the event as stored now, and where it goes."""

    seq: int
    event_id: str
    event: str
    endpoint: JSON
    endpoint_deleted: bool
    secret: str
    created: float  # when the event was queued for this endpoint
    attempts: int


class Unset:
    """The type of UNSET: "leave this column or field as it is" where None means "set it to null"."""


UNSET: Any = Unset()

# Where a list's cursor id must be found, and the error when it is not there.
Cursor = tuple[str, tuple[object, ...], Callable[[str], NoSuchObject]]


class Database:
    """One SQLite connection behind one lock: every operation is short, and this keeps each one a
    single serialisable transaction without SQLITE_BUSY handling (the GIL would serialise them anyway)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # survives a crash of this process, not of the OS
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        self._journal: dict[str, _Touched] | None = None  # objects written by the open transaction
        self._listener: ChangeListener | None = None
        # The enabled endpoints of each kind, read once and kept until an endpoint changes (every write records).
        self._receiving: dict[bool, list[ReceivingEndpoint]] = {}

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def listen(self, listener: ChangeListener) -> None:
        """Show every transaction's changes to `listener` (one listener: the event log)."""
        self._listener = listener

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection inside one transaction: committed on success, rolled back on any error."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._journal = {}
            tell_after = False
            try:
                yield self._db
                if self._journal and self._listener is not None:
                    changes = [touched.change() for touched in self._journal.values()]
                    tell_after = self._listener.record(self._db, changes)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            finally:
                self._journal = None
            self._db.execute("COMMIT")
        if tell_after and self._listener is not None:
            self._listener.committed()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """The connection, for reads that need no transaction."""
        with self._lock:
            yield self._db

    # ------------------------------------------------------------------ accounts

    def platform_id(self, db: sqlite3.Connection) -> str | None:
        """The platform's account id, once the database has one."""
        row = db.execute("SELECT value FROM meta WHERE key = 'platform'").fetchone()
        return None if row is None else str(row[0])

    def insert_platform(self, db: sqlite3.Connection, account: JSON) -> None:
        """Store the platform's own account (once per database)."""
        db.execute("INSERT INTO meta (key, value) VALUES ('platform', ?)", (account["id"],))
        db.execute(
            "INSERT INTO accounts (id, created, platform, json) VALUES (?, ?, 1, ?)",
            (account["id"], account["created"], dumps(account)),
        )

    def connected_account_ids(self) -> set[str]:
        """The ids of the accounts connected to the platform (deleted ones left out)."""
        with self.read() as db:
            return {row[0] for row in db.execute("SELECT id FROM accounts WHERE platform = 0 AND deleted = 0")}

    def account_deleted(self, db: sqlite3.Connection, account_id: str) -> bool | None:
        """Whether a stored account is deleted; None when there is no such account at all."""
        row = db.execute("SELECT deleted FROM accounts WHERE id = ?", (account_id,)).fetchone()
        return None if row is None else bool(row[0])

    def insert_account(self, db: sqlite3.Connection, account: JSON) -> None:
        """Store a new connected account."""
        db.execute(
            "INSERT INTO accounts (id, created, json) VALUES (?, ?, ?)",
            (account["id"], account["created"], dumps(account)),
        )

    def undelete_account(self, db: sqlite3.Connection, account_id: str) -> None:
        """Connect a deleted account again, as it was."""
        db.execute("UPDATE accounts SET deleted = 0 WHERE id = ?", (account_id,))

    def account(self, db: sqlite3.Connection, account_id: str, *, connected_only: bool = False) -> str | None:
        """A live account's JSON (the platform's too, unless `connected_only`)."""
        where = "id = ? AND deleted = 0" + (" AND platform = 0" if connected_only else "")
        row = db.execute(f"SELECT json FROM accounts WHERE {where}", (account_id,)).fetchone()
        return None if row is None else str(row[0])

    def save_account(self, db: sqlite3.Connection, account: JSON) -> None:
        """Store an account's new state."""
        db.execute("UPDATE accounts SET json = ? WHERE id = ?", (dumps(account), account["id"]))

    def delete_account(self, db: sqlite3.Connection, account_id: str) -> bool:
        """Delete a live connected account; False if there was none to delete."""
        cursor = db.execute(
            "UPDATE accounts SET deleted = 1 WHERE id = ? AND deleted = 0 AND platform = 0", (account_id,)
        )
        return cursor.rowcount > 0

    # ------------------------------------------------------------------ objects

    def row(self, db: sqlite3.Connection, scope: Scope, kind: str, object_id: str) -> sqlite3.Row | None:
        """The row of an object of this kind in the scope (deleted or not)."""
        row: sqlite3.Row | None = db.execute(
            "SELECT * FROM objects WHERE id = ? AND kind = ? AND account = ? AND livemode = ?",
            (object_id, kind, scope.account, scope.livemode),
        ).fetchone()
        return row

    def in_other_mode(self, scope: Scope, kind: str, object_id: str) -> bool:
        """Whether the object exists on the scope's account in the other mode (test vs live)."""
        with self.read() as db:
            other = Scope(scope.account, not scope.livemode)
            return self.row(db, other, kind, object_id) is not None

    def insert(
        self,
        db: sqlite3.Connection,
        scope: Scope,
        kind: str,
        obj: JSON,
        *,
        parent: str | None = None,
        expires: float | None = None,
    ) -> None:
        """Store a new object."""
        text = dumps(obj)
        db.execute(
            "INSERT INTO objects (id, kind, account, livemode, parent, created, email, expires, json) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                obj["id"],
                kind,
                scope.account,
                scope.livemode,
                parent,
                obj.get("created", int(time.time())),
                obj.get("email") if kind == "customer" else None,
                expires,
                text,
            ),
        )
        if self._journal is not None:
            self._journal[obj["id"]] = _Touched(kind, scope.account, scope.livemode, None, False, text, False)

    def save(
        self,
        db: sqlite3.Connection,
        obj: JSON,
        *,
        parent: str | Unset | None = UNSET,
        spent: bool | None = None,
        deleted: bool | None = None,
    ) -> None:
        """Store an object's new state (and, when given, its attachment, spent or deleted flags)."""
        text = dumps(obj)
        self._note(db, obj["id"], text, deleted)
        sets: list[str] = ["json = ?", "email = CASE kind WHEN 'customer' THEN ? ELSE email END"]
        args: list[object] = [text, obj.get("email")]
        if not isinstance(parent, Unset):
            sets.append("parent = ?")
            args.append(parent)
        if spent is not None:
            sets.append("spent = ?")
            args.append(spent)
        if deleted is not None:
            sets.append("deleted = ?")
            args.append(deleted)
        db.execute(f"UPDATE objects SET {', '.join(sets)} WHERE id = ?", (*args, obj["id"]))

    def delete(self, db: sqlite3.Connection, object_id: str) -> None:
        """Mark an object deleted; it stays readable (a deleted customer answers `deleted: true`)."""
        row = db.execute("SELECT json FROM objects WHERE id = ?", (object_id,)).fetchone()
        self.save(db, load(row), deleted=True)

    def children(self, db: sqlite3.Connection, parent: str, kind: str) -> list[JSON]:
        """The live objects of a kind attached to a parent (a customer's cards or PaymentMethods), oldest first."""
        rows = db.execute(
            "SELECT json FROM objects WHERE parent = ? AND kind = ? AND deleted = 0 ORDER BY seq", (parent, kind)
        ).fetchall()
        return [load(row) for row in rows]

    def child(self, db: sqlite3.Connection, parent: str, kinds: tuple[str, ...], object_id: str) -> sqlite3.Row | None:
        """The row of a live object of one of these kinds attached to a parent (a customer's card), if any."""
        marks = ", ".join("?" * len(kinds))
        row: sqlite3.Row | None = db.execute(
            f"SELECT * FROM objects WHERE id = ? AND parent = ? AND kind IN ({marks}) AND deleted = 0",
            (object_id, parent, *kinds),
        ).fetchone()
        return row

    def newest_child_id(self, db: sqlite3.Connection, parent: str, kind: str) -> str | None:
        """The id of the live object of a kind attached to a parent most recently, if any."""
        row = db.execute(
            "SELECT id FROM objects WHERE parent = ? AND kind = ? AND deleted = 0 ORDER BY seq DESC LIMIT 1",
            (parent, kind),
        ).fetchone()
        return None if row is None else str(row[0])

    def ids(self, scope: Scope, kind: str) -> set[str]:
        """The ids of every object of a kind in the scope, deleted ones included."""
        with self.read() as db:
            rows = db.execute(
                "SELECT id FROM objects WHERE account = ? AND livemode = ? AND kind = ?",
                (scope.account, scope.livemode, kind),
            ).fetchall()
        return {row[0] for row in rows}

    def _note(self, db: sqlite3.Connection, object_id: str, text: str, deleted: bool | None) -> None:
        """Journal an object's new state, keeping the state it had when the transaction first touched it."""
        if self._journal is None:
            return
        touched = self._journal.get(object_id)
        if touched is None:
            row = db.execute(
                "SELECT kind, account, livemode, deleted, json FROM objects WHERE id = ?", (object_id,)
            ).fetchone()
            if row is None:
                return
            before, was_deleted = str(row["json"]), bool(row["deleted"])
            touched = _Touched(
                row["kind"], row["account"], bool(row["livemode"]), before, was_deleted, before, was_deleted
            )
            self._journal[object_id] = touched
        touched.after = text
        if deleted is not None:
            touched.deleted = deleted

    def objects_page(
        self,
        listed: ObjectFilter,
        cursor_within: ObjectFilter,
        page: Page,
        missing: Callable[[str], NoSuchObject],
    ) -> tuple[list[sqlite3.Row], bool]:
        """A page of live objects, newest first: rows of their JSON, kind and creation time."""
        where, args = listed.where()
        cursor_where, cursor_args = cursor_within.where()
        cursor = (cursor_where, cursor_args, missing)
        return self.page("objects", where + " AND deleted = 0", args, page, cursor, columns="json, kind, created")

    def accounts_page(self, page: Page, created: Mapping[str, int], missing: Callable[[str], NoSuchObject]) -> Listing:
        """A page of the live connected accounts, newest first."""
        bounds, args = _created(created)
        cursor = ("platform = 0", (), missing)
        rows, has_more = self.page("accounts", "deleted = 0 AND platform = 0" + bounds, args, page, cursor)
        return Listing([row[0] for row in rows], has_more)

    def page(
        self,
        table: str,
        where: str,
        args: tuple[object, ...],
        page: Page,
        cursor: Cursor,
        *,
        columns: str = "json",
    ) -> tuple[list[sqlite3.Row], bool]:
        """Rows of one page, newest first (by insertion order, since many share a `created` second)."""
        cursor_id = page.starting_after or page.ending_before
        order = "DESC"
        with self.read() as db:
            if cursor_id is not None:
                cursor_where, cursor_args, missing = cursor
                row = db.execute(
                    f"SELECT seq FROM {table} WHERE id = ? AND {cursor_where}", (cursor_id, *cursor_args)
                ).fetchone()
                if row is None:
                    raise missing(cursor_id)
                if page.starting_after is not None:
                    where, args = where + " AND seq < ?", (*args, row[0])
                else:
                    where, args, order = where + " AND seq > ?", (*args, row[0]), "ASC"
            rows = db.execute(
                f"SELECT {columns} FROM {table} WHERE {where} ORDER BY seq {order} LIMIT ?", (*args, page.limit + 1)
            ).fetchall()
        has_more = len(rows) > page.limit
        rows = rows[: page.limit]
        if order == "ASC":
            rows.reverse()
        return rows, has_more

    def saved_answer(self, scope: Scope, key: str) -> SavedAnswer | None:
        """The answer stored for an idempotency key of this account and mode, if not expired."""
        with self.read() as db:
            row = db.execute(
                "SELECT request_hash, status, body, request_id FROM idempotency "
                "WHERE account = ? AND livemode = ? AND key = ? AND created > ?",
                (scope.account, scope.livemode, key, time.time() - IDEMPOTENCY_TTL),
            ).fetchone()
        return None if row is None else SavedAnswer(row[0], row[1], row[2], row[3])

    def save_answer(self, scope: Scope, key: str, answer: SavedAnswer) -> None:
        """Keep an answer for its key for 24 hours (an expired answer under the key is replaced)."""
        with self.read() as db:
            db.execute(
                "INSERT OR REPLACE INTO idempotency "
                "(account, livemode, key, created, request_hash, status, body, request_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (scope.account, scope.livemode, key, time.time(), *_answer_fields(answer)),
            )

    def forget_expired_answers(self) -> None:
        """Drop idempotency answers older than 24 hours."""
        with self.read() as db:
            db.execute("DELETE FROM idempotency WHERE created <= ?", (time.time() - IDEMPOTENCY_TTL,))

    # ------------------------------------------------------------------ events

    def insert_event(self, db: sqlite3.Connection, account: str, event: JSON) -> None:
        """Store a new event of an account."""
        db.execute(
            "INSERT INTO events (id, account, livemode, type, created, pending, json) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                event["id"],
                account,
                event["livemode"],
                event["type"],
                event["created"],
                event["pending_webhooks"],
                dumps(event),
            ),
        )

    def event(self, scope: Scope, event_id: str) -> str | None:
        """An event of the scope's account and mode, as stored."""
        with self.read() as db:
            row = db.execute(
                "SELECT json FROM events WHERE id = ? AND account = ? AND livemode = ?",
                (event_id, scope.account, scope.livemode),
            ).fetchone()
        return None if row is None else str(row[0])

    def events_page(
        self, scope: Scope, page: Page, query: EventQuery, missing: Callable[[str], NoSuchObject]
    ) -> Listing:
        """A page of the scope's events, newest first, filtered as `query` says."""
        where = "account = ? AND livemode = ?"
        args: tuple[object, ...] = (scope.account, scope.livemode)
        if query.type_pattern is not None:
            # Event types are lower-case words and dots: GLOB's only special character here is the `*`.
            where, args = where + " AND type GLOB ?", (*args, query.type_pattern)
        if query.types:
            marks = ", ".join("?" * len(query.types))
            where, args = where + f" AND type IN ({marks})", (*args, *query.types)
        bounds, bound_args = _created(query.created)
        where, args = where + bounds, (*args, *bound_args)
        if query.delivery_success is not None:
            where += " AND pending = 0" if query.delivery_success else " AND pending > 0"
        cursor = ("account = ? AND livemode = ?", (scope.account, scope.livemode), missing)
        rows, has_more = self.page("events", where, args, page, cursor)
        return Listing([row[0] for row in rows], has_more)

    # ------------------------------------------------------------------ webhook endpoints

    def insert_endpoint(self, endpoint: JSON, *, connect: bool, secret: str) -> None:
        """Store a new webhook endpoint (its secret beside the JSON, not in it)."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO webhook_endpoints (id, livemode, connect, created, secret, json) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (endpoint["id"], endpoint["livemode"], connect, endpoint["created"], secret, dumps(endpoint)),
            )
            self._receiving.clear()

    def endpoint(self, livemode: bool, endpoint_id: str) -> JSON | None:
        """A webhook endpoint of this mode that is not deleted."""
        with self.read() as db:
            row = db.execute(
                "SELECT json FROM webhook_endpoints WHERE id = ? AND livemode = ? AND deleted = 0",
                (endpoint_id, livemode),
            ).fetchone()
        return None if row is None else load(row)

    def save_endpoint(self, endpoint: JSON) -> None:
        """Store a webhook endpoint's new state."""
        with self.transaction() as db:
            db.execute("UPDATE webhook_endpoints SET json = ? WHERE id = ?", (dumps(endpoint), endpoint["id"]))
            self._receiving.clear()

    def delete_endpoint(self, endpoint_id: str) -> None:
        """Delete a webhook endpoint: what it has still to receive is cancelled (Stripe stops retrying)."""
        with self.transaction() as db:
            db.execute("UPDATE webhook_endpoints SET deleted = 1 WHERE id = ?", (endpoint_id,))
            self._receiving.clear()
            for row in db.execute(
                "SELECT seq FROM deliveries WHERE endpoint = ? AND state = 'pending'", (endpoint_id,)
            ).fetchall():
                self._finish_delivery(db, row[0], "cancelled", still_pending=False)

    def endpoints_page(self, livemode: bool, page: Page, missing: Callable[[str], NoSuchObject]) -> Listing:
        """A page of the mode's webhook endpoints, newest first."""
        cursor = ("livemode = ?", (livemode,), missing)
        rows, has_more = self.page("webhook_endpoints", "livemode = ? AND deleted = 0", (livemode,), page, cursor)
        return Listing([row[0] for row in rows], has_more)

    def receiving_endpoints(self, db: sqlite3.Connection, *, connect: bool) -> list[ReceivingEndpoint]:
        """The enabled webhook endpoints of one kind (Connect or account), for the events being recorded."""
        cached = self._receiving.get(connect)
        if cached is not None:
            return cached
        rows = db.execute(
            "SELECT id, livemode, json FROM webhook_endpoints WHERE connect = ? AND deleted = 0 ORDER BY seq",
            (connect,),
        ).fetchall()
        endpoints = []
        for row in rows:
            endpoint = load(row)
            if endpoint["status"] == "enabled":
                endpoints.append(ReceivingEndpoint(row["id"], bool(row["livemode"]), tuple(endpoint["enabled_events"])))
        self._receiving[connect] = endpoints
        return endpoints

    # ------------------------------------------------------------------ deliveries

    def insert_delivery(self, db: sqlite3.Connection, event_id: str, endpoint_id: str, due: float) -> None:
        """Queue an event for an endpoint, first attempt at `due` (Unix time)."""
        db.execute(
            "INSERT INTO deliveries (event, endpoint, state, created, next_attempt) VALUES (?, ?, 'pending', ?, ?)",
            (event_id, endpoint_id, due, due),
        )

    def due_deliveries(self, now: float, limit: int) -> list[Delivery]:
        """Pending deliveries whose next attempt is due, oldest first."""
        with self.read() as db:
            rows = db.execute(
                "SELECT d.seq, d.event, d.endpoint, d.created, d.attempts, e.json AS event_json, "
                "w.json AS endpoint_json, w.secret, w.deleted "
                "FROM deliveries d JOIN events e ON e.id = d.event JOIN webhook_endpoints w ON w.id = d.endpoint "
                "WHERE d.state = 'pending' AND d.next_attempt <= ? ORDER BY d.next_attempt, d.seq LIMIT ?",
                (now, limit),
            ).fetchall()
        return [
            Delivery(
                seq=row["seq"],
                event_id=row["event"],
                event=row["event_json"],
                endpoint=json.loads(row["endpoint_json"]),
                endpoint_deleted=bool(row["deleted"]),
                secret=row["secret"],
                created=row["created"],
                attempts=row["attempts"],
            )
            for row in rows
        ]

    def next_due(self) -> float | None:
        """When the earliest pending delivery is due (None: nothing pending)."""
        with self.read() as db:
            row = db.execute("SELECT MIN(next_attempt) FROM deliveries WHERE state = 'pending'").fetchone()
        return None if row[0] is None else float(row[0])

    def retry_delivery(self, seq: int, next_attempt: float, status: int | None, error: str | None) -> None:
        """A failed attempt, to be tried again at `next_attempt`."""
        with self.transaction() as db:
            db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, next_attempt = ?, last_status = ?, last_error = ? "
                "WHERE seq = ?",
                (next_attempt, status, error, seq),
            )

    def finish_delivery(self, seq: int, state: str, status: int | None, error: str | None, *, attempted: bool) -> None:
        """A delivery that ends: `delivered`, `failed` (gave up), `refused` (not loopback) or `cancelled`."""
        with self.transaction() as db:
            db.execute(
                "UPDATE deliveries SET attempts = attempts + ?, last_status = ?, last_error = ? WHERE seq = ?",
                (int(attempted), status, error, seq),
            )
            self._finish_delivery(db, seq, state, still_pending=state in ("failed", "refused"))

    def delivery_states(self, event_id: str) -> dict[str, str]:
        """Each endpoint's delivery state for an event (for tests and stats)."""
        with self.read() as db:
            rows = db.execute("SELECT endpoint, state FROM deliveries WHERE event = ?", (event_id,)).fetchall()
        return {row[0]: row[1] for row in rows}

    def _finish_delivery(self, db: sqlite3.Connection, seq: int, state: str, *, still_pending: bool) -> None:
        event_id = db.execute("SELECT event FROM deliveries WHERE seq = ?", (seq,)).fetchone()[0]
        db.execute("UPDATE deliveries SET state = ? WHERE seq = ?", (state, seq))
        if still_pending:
            return  # an event never delivered stays counted in its pending_webhooks
        row = db.execute("SELECT json FROM events WHERE id = ?", (event_id,)).fetchone()
        event = load(row)
        event["pending_webhooks"] -= 1
        db.execute(
            "UPDATE events SET pending = ?, json = ? WHERE id = ?", (event["pending_webhooks"], dumps(event), event_id)
        )


_OPERATORS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def _created(bounds: Mapping[str, int]) -> tuple[str, tuple[object, ...]]:
    """` AND created > ?`-style conditions for a `created[gt|gte|lt|lte]` filter, and their arguments."""
    return "".join(f" AND created {_OPERATORS[name]} ?" for name in bounds), tuple(bounds.values())


def _answer_fields(answer: SavedAnswer) -> tuple[str, int, str, str]:
    return answer.request_hash, answer.status, answer.body, answer.request_id
