"""reconcile watch as a process: signals, a kill -9 and a restart, and --poll."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import stripe

from reconcile.sandbox import DeliveryPolicy, Sandbox, running_sandbox
from tests.integration.test_watch import ours
from tests.integration.watching import WAIT, endpoints, free_port, wait_until
from tests.support import BOOKSHOP, COFFEE, MARKETPLACE

FAST = DeliveryPolicy(retry_base_ms=20, retry_for_s=30, timeout_s=5)
START = 60.0  # seconds a process may take to start and resync on a loaded machine


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    with running_sandbox(tmp_path / "sandbox.sqlite3", webhooks=FAST, accounts=[BOOKSHOP, COFFEE]) as running:
        yield running


@pytest.fixture
def marketplace(tmp_path: Path) -> Path:
    path = tmp_path / "stripe.yaml"
    path.write_text(MARKETPLACE, encoding="utf-8")
    return path


class Process:
    """A `reconcile watch` process; its stderr is collected as it comes."""

    def __init__(self, args: list[str], env: dict[str, str], port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "reconcile", "watch", *args, "--listen", f"127.0.0.1:{port}", "--coalesce", "0.05"],
            env=env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            self.lines.append(line)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def wait_healthy(self) -> None:
        wait_until(lambda: self.healthy() or self.popen.poll() is not None, START, "the start-up resync")
        assert self.popen.poll() is None, "".join(self.lines)

    @property
    def log(self) -> str:
        return "".join(self.lines)


@contextmanager
def watch_process(
    file: Path, sandbox: Sandbox, api_key: str, secrets: tuple[str, ...], port: int, *args: str
) -> Iterator[Process]:
    env = {
        **os.environ,
        "STRIPE_API_KEY": api_key,
        "STRIPE_API_BASE": sandbox.url,
        "STRIPE_WEBHOOK_SECRET": ",".join(secrets),
    }
    process = Process([str(file), *args], env, port)
    try:
        process.wait_healthy()
        yield process
    finally:
        if process.popen.poll() is None:
            process.popen.kill()
        process.popen.wait(WAIT)


def hooked(client: stripe.StripeClient) -> tuple[int, tuple[str, ...]]:
    port = free_port()
    return port, endpoints(client, f"http://127.0.0.1:{port}/webhook")


def test_sigterm_finishes_and_exits_0(
    marketplace: Path, sandbox: Sandbox, stripe_client: stripe.StripeClient, api_key: str
) -> None:
    port, secrets = hooked(stripe_client)
    with watch_process(marketplace, sandbox, api_key, secrets, port) as process:
        process.popen.send_signal(signal.SIGTERM)
        assert process.popen.wait(WAIT) == 0
    assert "watch: stopped" in process.log
    assert api_key not in process.log


def test_sighup_reloads_the_file_and_plans_it(
    marketplace: Path, sandbox: Sandbox, stripe_client: stripe.StripeClient, api_key: str
) -> None:
    port, secrets = hooked(stripe_client)
    with watch_process(marketplace, sandbox, api_key, secrets, port) as process:
        before = marketplace.stat()
        # Same size and modification time: only the signal can tell the process the file changed.
        marketplace.write_text(MARKETPLACE.replace("Alice Liddell", "Alice Lidd3ll"), encoding="utf-8")
        os.utime(marketplace, ns=(before.st_atime_ns, before.st_mtime_ns))
        time.sleep(1.5)  # two checks of the file's modification time: it saw no change
        assert ours(stripe_client, BOOKSHOP, "alice")[0].name == "Alice Liddell"
        process.popen.send_signal(signal.SIGHUP)
        wait_until(
            lambda: {ours(stripe_client, a, "alice")[0].name for a in (None, BOOKSHOP, COFFEE)} == {"Alice Lidd3ll"},
            what="the reload to reach the platform customer and both copies",
        )
    assert "reloaded" in process.log


def test_a_kill_9_and_a_restart_lose_nothing(
    marketplace: Path, sandbox: Sandbox, stripe_client: stripe.StripeClient, api_key: str
) -> None:
    port, secrets = hooked(stripe_client)
    with watch_process(marketplace, sandbox, api_key, secrets, port) as first:
        first.popen.kill()  # SIGKILL: no chance to finish anything
        first.popen.wait(WAIT)
    (alice,) = ours(stripe_client, None, "alice")
    new_source = stripe_client.v1.customers.update(alice.id, {"source": "tok_amex"}).default_source
    (copy,) = ours(stripe_client, COFFEE, "bob")
    stripe_client.v1.customers.delete(copy.id, options={"stripe_account": COFFEE})
    # Restarted where no webhook reaches it (the endpoints still name the old port): only its start-up
    # resync can repair what changed while it was down.
    with watch_process(marketplace, sandbox, api_key, secrets, free_port()):
        for account in (BOOKSHOP, COFFEE):
            (repaired,) = ours(stripe_client, account, "alice")
            assert repaired.metadata["reconcile_source"] == new_source
        assert len(ours(stripe_client, COFFEE, "bob")) == 1


def test_poll_reads_the_events_api_of_the_platform_and_each_account(
    marketplace: Path, sandbox: Sandbox, stripe_client: stripe.StripeClient, api_key: str, tmp_path: Path
) -> None:
    with watch_process(marketplace, sandbox, api_key, (), free_port(), "--poll", "--poll-interval", "0.2") as process:
        (alice,) = ours(stripe_client, None, "alice")
        new_source = stripe_client.v1.customers.update(alice.id, {"source": "tok_jcb"}).default_source
        (copy,) = ours(stripe_client, BOOKSHOP, "alice")
        stripe_client.v1.customers.update(copy.id, {"email": "mallory@example.com"}, {"stripe_account": BOOKSHOP})

        def repaired() -> bool:
            copies = [ours(stripe_client, account, "alice")[0] for account in (BOOKSHOP, COFFEE)]
            return all(c.metadata["reconcile_source"] == new_source for c in copies) and copies[0].email == (
                "alice@example.com"
            )

        wait_until(repaired, what="the polled events to be reconciled")
        with urllib.request.urlopen(f"{process.url}/metrics", timeout=5) as answer:
            metrics: Any = answer.read().decode()
        assert 'reconcile_watch_events_total{outcome="queued",type="customer.updated"}' in metrics
        assert webhook_refused(process.url)


def webhook_refused(url: str) -> bool:
    """--poll serves no /webhook."""
    request = urllib.request.Request(f"{url}/webhook", data=b"{}", method="POST")
    try:
        urllib.request.urlopen(request, timeout=5)
    except urllib.error.HTTPError as error:
        return error.code == 404
    return False
