"""Run the sandbox in-process: `running_sandbox()` for tests, `--sandbox` and the `serve` command.

A running sandbox also delivers webhooks from a worker thread (webhooks.py) until it is stopped.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .app import DEFAULT_API_KEY, App, Settings
from .seed import apply_seed, load_seed
from .store import DEFAULT_TOKEN_TTL, Store
from .transport import SandboxServer
from .webhooks import DEFAULT_POLICY, DeliveryPolicy

# How often an embedded sandbox looks at its shutdown flag: stopping one takes up to this long, and tests
# stop hundreds of them (the idle cost, 200 wake-ups a second, is negligible).
POLL_INTERVAL = 0.005


class Sandbox:
    """A running sandbox: its base URL and helpers for tests."""

    def __init__(self, server: SandboxServer, db_path: str) -> None:
        self._server = server
        self.app = server.app
        self.db_path = db_path
        host = f"[{server.server_name}]" if ":" in server.server_name else server.server_name
        self.url = f"http://{host}:{server.server_port}"

    @property
    def platform_account_id(self) -> str:
        """The platform's own account id (what `GET /v1/account` answers without Stripe-Account)."""
        return self.app.store.platform_id

    def add_account(self, account_id: str) -> None:
        """Connect an account with exactly this id to the platform; doing it twice changes nothing."""
        self.app.store.add_account(account_id)

    def stats(self) -> dict[str, object]:
        """The same document as `GET /_sandbox/stats`."""
        snapshot: dict[str, object] = json.loads(json.dumps(self.app.stats.snapshot()))
        return snapshot

    def reset_stats(self) -> None:
        """Count from zero again (as `POST /_sandbox/stats/reset`)."""
        self.app.stats.reset()

    def configure(
        self,
        *,
        rate_limit: float | None = None,
        latency_ms: float | None = None,
        fail_rate: float | None = None,
        fault_seed: int | None = None,
    ) -> None:
        """Change limits, latency or faults while running (rate buckets and the fault sequence restart)."""
        current = self.app.settings
        self.app.configure(
            Settings(
                rate_limit=current.rate_limit if rate_limit is None else rate_limit,
                latency_ms=current.latency_ms if latency_ms is None else latency_ms,
                fail_rate=current.fail_rate if fail_rate is None else fail_rate,
                fault_seed=current.fault_seed if fault_seed is None else fault_seed,
            )
        )


def make_server(
    db: str | Path = ":memory:",
    *,
    api_keys: Iterable[str] = (DEFAULT_API_KEY,),
    accounts: Iterable[str] = (),
    seed: Path | None = None,
    rate_limit: float = 0,
    latency_ms: float = 0,
    fail_rate: float = 0,
    fault_seed: int | None = None,
    token_ttl: float = DEFAULT_TOKEN_TTL,
    webhooks: DeliveryPolicy = DEFAULT_POLICY,
    host: str = "127.0.0.1",
    port: int = 0,
) -> SandboxServer:
    """A bound (not yet serving) sandbox server over the database at `db`, seeded as asked."""
    keys = tuple(api_keys)
    if not keys:
        raise ValueError("the sandbox needs at least one API key")
    seed_data = load_seed(seed) if seed is not None else None  # read before touching the database
    if str(db) != ":memory:":
        Path(db).parent.mkdir(parents=True, exist_ok=True)
    store = Store(db, token_ttl=token_ttl)
    app: App | None = None
    try:
        for account_id in accounts:
            store.add_account(account_id)
        if seed_data is not None:
            apply_seed(store, seed_data)
        settings = Settings(rate_limit=rate_limit, latency_ms=latency_ms, fail_rate=fail_rate, fault_seed=fault_seed)
        app = App(store, keys, settings, webhooks)
        return SandboxServer((host, port), app)
    except BaseException:
        if app is None:
            store.close()
        else:
            app.close()
        raise


@contextmanager
def running_sandbox(
    db: str | Path = ":memory:",
    *,
    api_keys: Iterable[str] = (DEFAULT_API_KEY,),
    accounts: Iterable[str] = (),
    seed: Path | None = None,
    rate_limit: float = 0,
    latency_ms: float = 0,
    fail_rate: float = 0,
    fault_seed: int | None = None,
    token_ttl: float = DEFAULT_TOKEN_TTL,
    webhooks: DeliveryPolicy = DEFAULT_POLICY,
    host: str = "127.0.0.1",
    port: int = 0,
) -> Iterator[Sandbox]:
    """Serve a sandbox from a background thread; it is bound (its URL usable) before this yields."""
    server = make_server(
        db,
        api_keys=api_keys,
        accounts=accounts,
        seed=seed,
        rate_limit=rate_limit,
        latency_ms=latency_ms,
        fail_rate=fail_rate,
        fault_seed=fault_seed,
        token_ttl=token_ttl,
        webhooks=webhooks,
        host=host,
        port=port,
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL}, name="sandbox", daemon=True
    )
    thread.start()
    try:
        yield Sandbox(server, str(db))
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        server.app.close()
