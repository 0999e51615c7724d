"""One request in, one reply out: auth, Stripe-Account scoping, routing, error bodies, idempotency, limits,
faults, stats. transport.py carries requests and replies over HTTP/1.1."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from . import errors, routes
from .db import SavedAnswer, Scope, dumps
from .errors import ApiError, bad_param
from .events import request_context
from .forms import Form, decode, pairs
from .ids import is_account_id, new_id
from .limits import Fault, Faults, RateLimiter
from .shapes import API_VERSION
from .stats import PLATFORM, Stats
from .store import Store
from .store_errors import StoreError
from .webhooks import DEFAULT_POLICY, Deliverer, DeliveryPolicy

log = logging.getLogger(__name__)

DEFAULT_API_KEY = "sk_test_sandbox"
ADMIN_PREFIX = "/_sandbox/"


def api_key(authorization: str | None) -> str | None:
    """The API key of a Bearer or Basic (key as user name) Authorization header."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            user = base64.b64decode(value.strip(), validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user or None
    return None


def is_live(key: str) -> bool:
    """Live-mode keys see live-mode objects; every other key sees test mode."""
    return key.startswith(("sk_live_", "rk_live_"))


class Headers(Protocol):
    """Case-insensitive header lookup (http.server's message object, or a dict in tests)."""

    def get(self, name: str, default: None = None, /) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Request:
    """What the app needs of an HTTP request."""

    method: str
    path: str
    query: str
    headers: Headers
    body: bytes


@dataclass(slots=True)
class Reply:
    """An HTTP answer."""

    status: int
    body: str
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Settings:
    """What can be changed while the sandbox runs (tests turn faults on and off)."""

    rate_limit: float = 0.0
    latency_ms: float = 0.0
    fail_rate: float = 0.0
    fault_seed: int | None = None


class App:
    """The sandbox behind any transport: one `Request` in, one `Reply` out."""

    def __init__(
        self,
        store: Store,
        api_keys: Iterable[str] = (DEFAULT_API_KEY,),
        settings: Settings = Settings(),
        webhooks: DeliveryPolicy = DEFAULT_POLICY,
    ) -> None:
        self.store = store
        self.api_keys = frozenset(api_keys)
        self.stats = Stats()
        self._in_flight: set[tuple[str, bool, str]] = set()
        self._in_flight_lock = threading.Lock()
        self.configure(settings)
        self.deliverer = Deliverer(store.database, webhooks)
        store.events.on_recorded(self.deliverer.wake)
        self.deliverer.start()

    def close(self) -> None:
        """Stop delivering webhooks (the queue stays in the database) and close the database."""
        self.deliverer.stop()
        self.store.close()

    def configure(self, settings: Settings) -> None:
        """Apply new limits, latency and fault settings (rate buckets and the fault sequence restart)."""
        self.settings = settings
        self.limiter = RateLimiter(settings.rate_limit)
        self.faults = Faults(settings.fail_rate, settings.fault_seed)

    def handle(self, request: Request) -> Reply:
        """Answer one request; every answer carries a `Request-Id`."""
        request_id = new_id("req")
        if request.path.startswith(ADMIN_PREFIX):
            reply = self._admin(request)
        else:
            reply = _Exchange(self, request, request_id).run()
        reply.headers.append(("Request-Id", request_id))
        return reply

    # ------------------------------------------------------------------ /_sandbox/

    def _admin(self, request: Request) -> Reply:
        key = api_key(request.headers.get("Authorization"))
        if key not in self.api_keys:
            return error_reply(errors.unauthorized(key))
        if request.method == "GET" and request.path == "/_sandbox/stats":
            return Reply(200, dumps(self.stats.snapshot()))
        if request.method == "POST" and request.path == "/_sandbox/stats/reset":
            self.stats.reset()
            return Reply(200, dumps(self.stats.snapshot()))
        if request.method == "POST" and request.path == "/_sandbox/accounts":
            form = decode(pairs(request.body.decode("utf-8", "replace")))
            account_id = form.get("id")
            if not isinstance(account_id, str) or not is_account_id(account_id):
                return error_reply(bad_param("id must be an account id: acct_ then letters and digits.", "id"))
            self.store.add_account(account_id)
            return Reply(200, self.store.get_account(account_id))
        return error_reply(errors.unrecognized(request.method, request.path))

    # ------------------------------------------------------------------ idempotency slots

    def take_key(self, slot: tuple[str, bool, str]) -> bool:
        """Mark an idempotency key as executing; False if another request holds it."""
        with self._in_flight_lock:
            if slot in self._in_flight:
                return False
            self._in_flight.add(slot)
        self.stats.key_started()
        return True

    def release_key(self, slot: tuple[str, bool, str]) -> None:
        """The request holding this key has answered."""
        with self._in_flight_lock:
            self._in_flight.discard(slot)
        self.stats.key_finished()


class _Exchange:
    """One API request on its way through auth, scoping, limits, idempotency, faults and the handler."""

    def __init__(self, app: App, request: Request, request_id: str) -> None:
        self.app = app
        self.request = request
        self.request_id = request_id
        self.account: str | None = None  # stats label once authenticated
        self.events: list[str] = []
        self._delayed = False

    def run(self) -> Reply:
        request = self.request
        found = routes.match(request.method, request.path)
        operation = found[0].operation if found else f"{request.method} (unrecognized)"
        try:
            reply = self._answer(found)
        except ApiError as error:
            reply = error_reply(error)
        self._delay()
        reply.headers.append(("Stripe-Version", request.headers.get("Stripe-Version") or API_VERSION))
        self.app.stats.record(operation, self.account, reply.status, *self.events)
        return reply

    def _delay(self) -> None:
        # --latency-ms delays every answer once; an idempotent POST is delayed while it holds its key,
        # so that a concurrent retry with the same key meets the 409, as it would on a slow Stripe.
        if not self._delayed and self.app.settings.latency_ms > 0:
            time.sleep(self.app.settings.latency_ms / 1000)
        self._delayed = True

    def _answer(self, found: tuple[routes.Route, tuple[str, ...]] | None) -> Reply:
        request, app = self.request, self.app
        key = api_key(request.headers.get("Authorization"))
        if key is None or key not in app.api_keys:
            raise errors.unauthorized(key)
        header = request.headers.get("Stripe-Account")
        self.account = header or PLATFORM
        if found is None:
            raise errors.unrecognized(request.method, request.path)
        if header and header != app.store.platform_id:
            if not app.store.is_connected(header):
                raise errors.account_invalid(key, header)
            scope = Scope(header, is_live(key), connected=True)
        else:
            self.account = PLATFORM
            scope = Scope(app.store.platform_id, is_live(key))
        if not app.limiter.allow(scope.account):
            self.events.append("rate_limited")
            raise errors.rate_limited(scope.livemode)
        form = self._form()
        call = routes.Call(app.store, scope, form, found[1])
        idempotency_key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not idempotency_key:
            return self._execute(found[0], call, key)
        return self._idempotent(found[0], call, key, idempotency_key)

    def _form(self) -> Form:
        request = self.request
        items = pairs(request.query)
        if request.body:
            items += pairs(request.body.decode("utf-8", "replace"))
        return decode(items)

    def _idempotent(self, route: routes.Route, call: routes.Call, key: str, idempotency_key: str) -> Reply:
        app, scope = self.app, call.scope
        if len(idempotency_key) > 255:
            raise bad_param("Idempotency-Key must be at most 255 characters long.", "Idempotency-Key")
        request_hash = hashlib.sha256(
            f"{self.request.method} {self.request.path} {json.dumps(call.form, sort_keys=True)}".encode()
        ).hexdigest()
        slot = (scope.account, scope.livemode, idempotency_key)
        if not app.take_key(slot):
            self.events.append("conflict")
            raise errors.key_in_use(idempotency_key)
        try:
            saved = app.store.saved_answer(scope, idempotency_key)
            if saved is not None:
                if saved.request_hash != request_hash:
                    self.events.append("mismatched")
                    raise errors.key_reused(idempotency_key)
                self.events.append("replayed")
                headers = [("Idempotent-Replayed", "true"), ("Original-Request", saved.request_id)]
                return Reply(saved.status, saved.body, [*headers, ("Idempotency-Key", idempotency_key)])
            self._delay()
            reply, stored = self._execute_recording(route, call, key)
            if stored is not None:
                app.store.save_answer(
                    scope, idempotency_key, SavedAnswer(request_hash, stored.status, stored.body, self.request_id)
                )
        finally:
            app.release_key(slot)
        reply.headers += [("Idempotency-Key", idempotency_key), ("Original-Request", self.request_id)]
        return reply

    def _execute(self, route: routes.Route, call: routes.Call, key: str) -> Reply:
        return self._execute_recording(route, call, key)[0]

    def _execute_recording(self, route: routes.Route, call: routes.Call, key: str) -> tuple[Reply, Reply | None]:
        """The reply to send and the reply an idempotency key keeps (None: not kept)."""
        fault = self.app.faults.draw(self.request.method)
        if fault is Fault.BEFORE:
            self.events.append("fault")
            reply = error_reply(errors.internal_fault())
            return reply, reply
        try:
            # Events the handler's changes record name this request (and the key it carried, on a POST).
            key_header = self.request.headers.get("Idempotency-Key") if self.request.method == "POST" else None
            with request_context(self.request_id, key_header):
                reply = Reply(200, route.handler(call))
            kept: Reply | None = reply
        except StoreError as refused:
            reply = error_reply(errors.from_store(refused, key))
            kept = reply
        except ApiError as error:
            reply = error_reply(error)
            kept = reply if error.stored else None
        except Exception:
            log.exception("sandbox: %s %s failed", self.request.method, route.template)
            reply = error_reply(errors.internal_fault())
            kept = reply
        if fault is Fault.AFTER_COMMIT:
            # The lost-response case: the write is done (and kept for the key) but the client sees a 500.
            self.events.append("fault")
            return error_reply(errors.internal_fault()), kept
        return reply, kept


def error_reply(error: ApiError) -> Reply:
    """Stripe's `{"error": {...}}` body for an ApiError; absent fields are left out, never null (the spec
    types them as strings)."""
    body = {"type": error.type}
    if error.code:
        body["code"] = error.code
    if error.doc_url:
        body["doc_url"] = error.doc_url
    body["message"] = error.message
    if error.param:
        body["param"] = error.param
    return Reply(error.status, dumps({"error": body}), list(error.headers))
