"""`reconcile sandbox serve`: the sandbox as a command (a typer sub-app the main CLI mounts)."""

from __future__ import annotations

import ipaddress
import signal
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from .app import DEFAULT_API_KEY
from .seed import SeedError
from .server import make_server
from .webhooks import RETRY_BASE_MS, RETRY_FOR_S, TIMEOUT_S, DeliveryPolicy

DEFAULT_DB = Path(".reconcile/sandbox.sqlite3")

sandbox_app = typer.Typer(
    name="sandbox",
    help="A local, stateful Stripe API for Connect shared customers (see docs/sandbox.md).",
    no_args_is_help=True,
    add_completion=False,
)


@sandbox_app.callback()
def _group() -> None:
    """A local, stateful Stripe API for Connect shared customers."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@sandbox_app.command()
def serve(
    host: Annotated[
        str, typer.Option(metavar="HOST", help="Address to bind; loopback unless you mean otherwise.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(metavar="PORT", min=0, max=65535, help="Port to listen on (0 picks a free one).")
    ] = 12111,
    db: Annotated[
        str, typer.Option(metavar="PATH", help='SQLite file holding the state, or ":memory:" (kept nowhere).')
    ] = str(DEFAULT_DB),
    seed: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE", help="YAML with accounts: and customers: to create, or a desired-state file.", exists=True
        ),
    ] = None,
    api_key: Annotated[
        list[str] | None,
        typer.Option("--api-key", metavar="KEY", help=f"Accepted API key (repeatable; default {DEFAULT_API_KEY})."),
    ] = None,
    rate_limit: Annotated[
        float, typer.Option(metavar="RPS", min=0, help="Requests per second per account; 0 turns it off.")
    ] = 0,
    latency_ms: Annotated[
        float, typer.Option(metavar="MS", min=0, help="Delay every answer by this many milliseconds.")
    ] = 0,
    fail_rate: Annotated[
        float, typer.Option(metavar="RATE", min=0, max=1, help="Fraction of requests answered with a 500 (0 to 1).")
    ] = 0,
    fault_seed: Annotated[
        int | None, typer.Option(metavar="N", help="Seed that makes --fail-rate reproducible.")
    ] = None,
    token_ttl: Annotated[
        float, typer.Option(metavar="SECONDS", min=1, help="Seconds a customer token stays usable.")
    ] = 600,
    webhook_retry_base_ms: Annotated[
        float,
        typer.Option(
            metavar="MS",
            min=1,
            help="Wait before the first retry of a failed webhook delivery; it doubles each time.",
        ),
    ] = RETRY_BASE_MS,
    webhook_retry_for: Annotated[
        float,
        typer.Option(
            metavar="SECONDS", min=0, help="Seconds a failed webhook delivery is retried for (Stripe: 3 days)."
        ),
    ] = RETRY_FOR_S,
    webhook_timeout: Annotated[
        float, typer.Option(metavar="SECONDS", min=0.1, help="Seconds to wait for a webhook receiver's answer.")
    ] = TIMEOUT_S,
) -> None:
    """Serve the Stripe-compatible sandbox until Ctrl-C or SIGTERM."""
    if not 0 <= fail_rate <= 1:
        raise typer.BadParameter("must be between 0 and 1", param_hint="--fail-rate")
    try:
        server = make_server(
            db,
            api_keys=api_key or (DEFAULT_API_KEY,),
            seed=seed,
            rate_limit=rate_limit,
            latency_ms=latency_ms,
            fail_rate=fail_rate,
            fault_seed=fault_seed,
            token_ttl=token_ttl,
            webhooks=DeliveryPolicy(webhook_retry_base_ms, webhook_retry_for, webhook_timeout),
            host=host,
            port=port,
        )
    except SeedError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    except OSError as error:
        typer.echo(f"error: cannot listen on {host}:{port}: {error.strerror}", err=True)
        raise typer.Exit(1) from None
    bound_host, bound_port = server.server_name, server.server_port
    url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    exposed = "" if _is_loopback(host) else " (not loopback: reachable from other machines)"
    typer.echo(f"reconcile sandbox listening on http://{url_host}:{bound_port} (db {db}){exposed}", err=False)
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()  # Ctrl-C and SIGTERM interrupt it at once, whatever the poll interval
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.app.close()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
