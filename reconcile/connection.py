"""Where a command talks to: the API key (and its mode), the base URL, or an embedded sandbox; its Gateway."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from reconcile.errors import ReconcileError
from reconcile.gateway import Gateway
from reconcile.model import DesiredState, Header, Mode
from reconcile.sandbox.server import running_sandbox

SANDBOX_DIR = ".reconcile"
SANDBOX_KEYS = {Mode.TEST: "sk_test_sandbox", Mode.LIVE: "sk_live_sandbox"}
KEY_PREFIXES = (("sk_test_", Mode.TEST), ("rk_test_", Mode.TEST), ("sk_live_", Mode.LIVE), ("rk_live_", Mode.LIVE))


@dataclass(frozen=True, slots=True)
class Target:
    """What a command runs against: the file's mode and the connected accounts it names."""

    path: str
    mode: Mode
    accounts: tuple[str, ...]

    @classmethod
    def of(cls, declared: Header | DesiredState) -> Target:
        return cls(path=declared.path, mode=declared.mode, accounts=tuple(declared.accounts.values()))


@dataclass(frozen=True, slots=True)
class Connection:
    """Where and how to reach Stripe for one command."""

    api_key: str
    api_base: str | None


def sandbox_db(folder: Path) -> Path:
    """Where ``--sandbox`` keeps its state: ``.reconcile/`` in the folder of the file a command is given.

    Beside the file, not in the working directory, so a run from another folder finds the same sandbox.
    """
    return folder / SANDBOX_DIR / "sandbox.sqlite3"


@contextlib.contextmanager
def connect(target: Target, *, api_base: str | None, api_key_env: str, sandbox: Path | None) -> Iterator[Connection]:
    """The key and base URL to use; with ``sandbox`` (a database file), an embedded sandbox with the target's accounts.

    The key's mode must be the file's: a test file never runs with a live key, nor the reverse.
    """
    if sandbox is not None:
        sandbox.parent.mkdir(parents=True, exist_ok=True)
        with running_sandbox(sandbox, api_keys=tuple(SANDBOX_KEYS.values()), accounts=target.accounts) as running:
            yield Connection(api_key=SANDBOX_KEYS[target.mode], api_base=running.url)
        return
    key = os.environ.get(api_key_env, "").strip()
    if not key:
        raise ReconcileError(
            f"{api_key_env} is not set: export your Stripe secret key there (or try --sandbox to run locally)"
        )
    mode = key_mode(key)
    if mode is None or not key.isascii() or any(char.isspace() for char in key):
        raise ReconcileError(f"{api_key_env} does not hold a Stripe secret key (expected sk_test_… or sk_live_…)")
    if mode is not target.mode:
        raise ReconcileError(
            f"{target.path}: the file says mode: {target.mode.value}, but {api_key_env} is a {mode.value}-mode key"
        )
    yield Connection(api_key=key, api_base=api_base)


@contextlib.contextmanager
def open_gateway(
    target: Target, *, api_base: str | None, api_key_env: str, sandbox: Path | None, max_rps: float
) -> Iterator[Gateway]:
    """A Gateway to what ``connect`` finds for ``target``, paced under ``max_rps`` (0: no limit)."""
    with connect(target, api_base=api_base, api_key_env=api_key_env, sandbox=sandbox) as connection:
        yield Gateway(connection.api_key, api_base=connection.api_base, max_rps=max_rps)


def key_mode(key: str) -> Mode | None:
    """The mode a secret or restricted key belongs to, from its prefix."""
    return next((mode for prefix, mode in KEY_PREFIXES if key.startswith(prefix)), None)
