"""The `reconcile` command: parse options, call the modules, map errors to exit codes.

Only this module prints. Every ReconcileError becomes one ``error: …`` line on stderr and
exit code 1; ``--debug`` re-raises it with its traceback instead.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import typer
from typer.core import TyperGroup

import reconcile
from reconcile import config, session
from reconcile.apply_log import JsonLog
from reconcile.connection import Target, key_mode, open_gateway, sandbox_db
from reconcile.errors import ConfigError, ExitCode, ReconcileError
from reconcile.importer import DEFAULT_OWNER, check_owner, import_platform, parse_account
from reconcile.inventory import take_inventory
from reconcile.loading import Loading
from reconcile.loading import start as start_loading
from reconcile.model import AdoptBy, Mode
from reconcile.plan import Plan
from reconcile.progress import DEFAULT_INTERVAL, ApplyProgress
from reconcile.render import DEFAULT_MAX_CHARS, MIN_MAX_CHARS, Format, render
from reconcile.report import ActionResult, ApplyReport, Outcome
from reconcile.sandbox.command import sandbox_app
from reconcile.saved_plan import read_plan, target_of
from reconcile.scope import scope
from reconcile.watch.loop import Watcher, WatchSettings
from reconcile.watch.options import parse_duration, parse_listen
from reconcile.watch.poll import Poller
from reconcile.watch.server import WatchServer
from reconcile.watch.signature import parse_secrets


class _Commands(TyperGroup):
    """Usage errors exit 1, not click's 2: with --detailed-exitcode, 2 means "changes pending".

    A group class of our own is typer's documented way (``typer.Typer(cls=...)``) to change how commands run.
    """

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with _usage_errors_exit_1():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with _usage_errors_exit_1():  # a subcommand's options are parsed here
            return super().invoke(ctx)


@contextlib.contextmanager
def _usage_errors_exit_1() -> Iterator[None]:
    try:
        yield
    except typer.Exit:
        raise  # a command's own exit code, --detailed-exitcode's 2 among them
    except Exception as error:
        if _is_usage_error(error):
            error.exit_code = ExitCode.ERROR  # type: ignore[attr-defined]
        raise


def _is_usage_error(error: Exception) -> bool:
    """A bad command line: click's UsageError, which typer raises but exports only as its subclass BadParameter.

    Recognised by name, so no private module of typer is imported; tests/cli pin the exit code.
    """
    return any(kind.__name__ == "UsageError" for kind in type(error).__mro__)


app = typer.Typer(
    name="reconcile",
    help="Keep Stripe Connect shared customers in the state a YAML file declares.",
    cls=_Commands,
    no_args_is_help=True,
    # Plain help, as git and terraform print it: one line per option, no type after every flag, fits 80 columns.
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
app.add_typer(sandbox_app, name="sandbox")

DEFAULT_MAX_RPS = {Mode.TEST: 20.0, Mode.LIVE: 80.0}
# Stripe usually answers in 100-400 ms; sizing for 500 ms keeps the rate ceiling, not latency, the limit.
SLOW_ANSWER_SECONDS = 0.5
MAX_SKIPS_LISTED = 10

FileArg = Annotated[Path, typer.Argument(metavar="FILE", help="The desired-state YAML file.", show_default=False)]
PlanFileArg = Annotated[
    Path,
    typer.Argument(
        metavar="FILE|PLAN.json",
        help="The desired-state YAML file, or a PLAN.json from plan --out.",
        show_default=False,
    ),
]
ApiBase = Annotated[
    str | None,
    typer.Option("--api-base", metavar="URL", envvar="STRIPE_API_BASE", help="Another Stripe-compatible API base URL."),
]
ApiKeyEnv = Annotated[
    str, typer.Option("--api-key-env", metavar="NAME", help="The variable that holds the Stripe secret key.")
]
Sandbox = Annotated[
    bool,
    typer.Option("--sandbox", help="Run against an embedded local sandbox, kept in .reconcile/ beside the file."),
]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]
Prune = Annotated[bool, typer.Option("--prune", help="Unshare copies we own that the file no longer declares.")]
Accounts = Annotated[
    list[str] | None, typer.Option("--account", metavar="ALIAS", help="Only these accounts (repeatable).")
]
Shard = Annotated[
    str | None,
    typer.Option(
        "--shard", metavar="K/N", help="Only the K-th of N stable shares of the accounts (for N parallel jobs)."
    ),
]
ExpectDigest = Annotated[
    str | None,
    typer.Option(
        "--expect-digest", metavar="DIGEST", help="Refuse unless the plan's digest is this (an approved plan)."
    ),
]
LogFormat = Literal["text", "json"]

Redact = Annotated[
    bool | None,
    typer.Option("--redact/--no-redact", help="Mask e-mails and phones (markdown masks them by default)."),
]
Concurrency = Annotated[
    int | None,
    typer.Option(
        "--concurrency",
        metavar="N",
        min=1,
        help="Actions, or list pages while reading, in flight at once (default: enough to keep --max-rps busy).",
    ),
]
MaxRps = Annotated[
    float | None,
    typer.Option(
        "--max-rps",
        metavar="R",
        min=0.1,
        help="Request rate ceiling (default: 20 in test mode, 80 in live mode).",
    ),
]
AdoptByOption = Annotated[
    AdoptBy | None,
    typer.Option(
        "--adopt-by",
        help="Where a declared pair has no copy, adopt the one unowned customer on the account with the same "
        "card fingerprint or e-mail.",
    ),
]


def _print_version(wanted: bool) -> None:
    if not wanted:
        return
    try:
        version = metadata.version(reconcile.DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        version = f"{reconcile.__version__} (not installed)"
    typer.echo(f"{reconcile.DISTRIBUTION} {version}")
    raise typer.Exit()


@app.callback()
def _top_level(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the distribution and version, then exit."
        ),
    ] = False,
) -> None:
    """Options before the command: --version (the help text is the app's)."""


@app.command()
def validate(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE...", help="Desired-state YAML files (a pre-commit hook passes several).", show_default=False
        ),
    ],
    debug: Debug = False,
) -> None:
    """Check desired-state files offline; every problem of every file is reported at once."""
    with _errors(debug):
        problems = failed = 0
        for file in files:
            try:
                desired = config.load(file)
            except ConfigError as error:
                if debug:
                    raise
                _print_problems(error)
                problems += len(error.problems)
                failed += 1
                continue
            shares = sum(len(c.shares) for c in desired.customers)
            counts = ", ".join(
                _counted(n, what)
                for n, what in ((len(desired.customers), "customer"), (len(desired.accounts), "account"))
            )
            typer.echo(f"{file}: valid ({counts}, {_counted(shares, 'share')})")
        if failed:
            where = f" in {failed} of {len(files)} files" if len(files) > 1 else ""
            raise ReconcileError(f"{_counted(problems, 'problem')} found{where}")


@app.command("plan")
def plan_command(
    file: FileArg,
    out: Annotated[
        Path | None, typer.Option("--out", metavar="PLAN.json", help="Also write the plan as JSON to this file.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="How to print the plan.")] = "text",
    max_chars: Annotated[
        int,
        typer.Option(
            "--max-chars",
            min=MIN_MAX_CHARS,
            metavar="N",
            help="Longest markdown plan, for a pull-request comment: the summary, conflicts and unsafe "
            "reasons come first, then as many actions as fit and a note counting the rest.",
        ),
    ] = DEFAULT_MAX_CHARS,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when the plan has changes (and is safe).")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Exit 0 on an unsafe plan (it is still shown as unsafe).")
    ] = False,
    prune: Prune = False,
    account: Accounts = None,
    shard: Shard = None,
    expect_digest: ExpectDigest = None,
    adopt_by: AdoptByOption = None,
    redact: Redact = None,
    concurrency: Concurrency = None,
    max_rps: MaxRps = None,
    api_base: ApiBase = None,
    api_key_env: ApiKeyEnv = "STRIPE_API_KEY",
    sandbox: Sandbox = False,
    debug: Debug = False,
) -> None:
    """Show what apply would change; writes nothing to Stripe."""
    with _errors(debug):
        _writable(out, "--out")
        loading = start_loading(file)
        with loading.problems_first():
            shape = session.PlanOptions.covering(scope(loading.header, account, shard, prune=prune), adopt_by=adopt_by)
            target = Target.of(loading.header)
            rate = max_rps if max_rps is not None else DEFAULT_MAX_RPS[target.mode]
            embedded = sandbox_db(file.parent) if sandbox else None
            with open_gateway(
                target, api_base=api_base, api_key_env=api_key_env, sandbox=embedded, max_rps=rate
            ) as gateway:
                plan = session.plan_file(loading, gateway, shape, concurrency=concurrency or concurrency_for(rate))
        masked = redact if redact is not None else fmt == "markdown"
        typer.echo(render(plan, fmt, redact=masked, color=_color(sys.stdout), max_chars=max_chars), nl=False)
        if out is not None:
            with out.open("w", encoding="utf-8") as saved:
                saved.writelines(plan.json_text())
        # The exit code comes last: the whole plan is out (stdout and --out) whatever it is, so a pipeline
        # posts it and fails the check on it in that order.
        session.check_digest(plan, expect_digest, applying=False)
        if plan.conflicts:
            raise ReconcileError(f"{_conflicts(plan)} (the '!' lines); conflicting objects are never touched")
        if not force:
            plan.check_safety()
        if detailed_exitcode and plan.has_changes:
            raise typer.Exit(ExitCode.CHANGES)


@app.command("apply")
def apply_command(
    file: PlanFileArg,
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="Apply without asking.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Apply a plan even when it is unsafe.")] = False,
    prune: Prune = False,
    account: Accounts = None,
    shard: Shard = None,
    expect_digest: ExpectDigest = None,
    concurrency: Concurrency = None,
    max_rps: MaxRps = None,
    report: Annotated[
        Path | None, typer.Option("--report", metavar="OUT.json", help="Write the outcome as JSON here.")
    ] = None,
    adopt_by: AdoptByOption = None,
    redact: Redact = None,
    log_format: Annotated[
        LogFormat,
        typer.Option(
            "--log-format",
            help="json: stdout is one JSON object per line (the plan's summary, each finished action, the "
            "outcome), as terraform apply -json; errors stay one line on stderr.",
        ),
    ] = "text",
    api_base: ApiBase = None,
    api_key_env: ApiKeyEnv = "STRIPE_API_KEY",
    sandbox: Sandbox = False,
    debug: Debug = False,
) -> None:
    """Plan, show, ask, then make exactly those changes (or those of a saved PLAN.json, if still true)."""
    with _errors(debug):
        _writable(report, "--report")
        saved: Plan | None = None
        loading: Loading | None = None
        if file.suffix.lower() == ".json":
            _refuse_shaping({"--account": account, "--shard": shard, "--prune": prune, "--adopt-by": adopt_by})
            saved = read_plan(file)
            target = target_of(file, saved)
        else:
            loading = start_loading(file)
            target = Target.of(loading.header)
        rate = max_rps if max_rps is not None else DEFAULT_MAX_RPS[target.mode]
        workers = concurrency or concurrency_for(rate)
        embedded = sandbox_db(file.parent) if sandbox else None
        # A large file is still loading while the gateway opens and its lists are read: its problems come first.
        problems_first = loading.problems_first() if loading is not None else contextlib.nullcontext()
        with (
            problems_first,
            open_gateway(target, api_base=api_base, api_key_env=api_key_env, sandbox=embedded, max_rps=rate) as gateway,
        ):
            if loading is not None:
                covered = scope(loading.header, account, shard, prune=prune)
                shape = session.PlanOptions.covering(covered, adopt_by=adopt_by)
                plan = session.plan_file(loading, gateway, shape, concurrency=workers)
            else:
                assert saved is not None
                _refuse_stale(file, session.recheck(saved, gateway, concurrency=workers))
                plan = saved
            log = JsonLog(sys.stdout) if log_format == "json" else None
            if log is None:
                typer.echo(render(plan, "text", redact=bool(redact), color=_color(sys.stdout)), nl=False)
            else:
                log.planned(plan)
            session.approve(plan, expect_digest=expect_digest, force=force)
            if not plan.has_changes:
                _write_report(report, ApplyReport(results=()))  # a pipeline's artifact step finds it either way
                if log is not None:
                    log.applied(ApplyReport(results=()))
                if plan.conflicts:
                    raise ReconcileError(f"{_conflicts(plan)} (the '!' lines); nothing else to do")
                return
            _confirm(plan, auto_approve)
            progress = ApplyProgress(total=len(plan.actions), tty=_is_tty(sys.stderr), interval=_progress_interval())
            with progress:
                on_result = progress.advance if log is None else _both(progress.advance, log.action)
                outcome = session.apply(plan, gateway, session.ApplyOptions(concurrency=workers, on_result=on_result))
        _print_report(outcome, summary=log is None)
        if log is not None:
            log.applied(outcome)
        _write_report(report, outcome)
        if outcome.interrupted:
            _fail("interrupted; what was in flight finished and is reported above", code=130)
        if plan.conflicts:
            raise ReconcileError(f"{_conflicts(plan)} (the '!' lines); the rest was applied")
        if outcome.return_code != ExitCode.OK:
            raise typer.Exit(outcome.return_code)


@app.command("import")
def import_command(
    account: Annotated[
        list[str] | None,
        typer.Option(
            "--account",
            metavar="ACCT_ID|ALIAS=ACCT_ID",
            help="Only this connected account (repeatable); without it, every connected account.",
        ),
    ] = None,
    owner: Annotated[
        str, typer.Option("--owner", metavar="NAME", help="The owner label the file declares.")
    ] = DEFAULT_OWNER,
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Write the file here, not to stdout.")
    ] = None,
    concurrency: Concurrency = None,
    max_rps: MaxRps = None,
    api_base: ApiBase = None,
    api_key_env: ApiKeyEnv = "STRIPE_API_KEY",
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox",
            help="Read the embedded sandbox plan and apply --sandbox keep beside a file: beside --out FILE, "
            "else in the current folder.",
        ),
    ] = False,
    debug: Debug = False,
) -> None:
    """Write a desired-state file that describes what is live, to adopt it; writes nothing to Stripe."""
    with _errors(debug):
        check_owner(owner)
        named = _named_accounts(account or [])
        # The file it writes is planned next with --sandbox, which finds the sandbox beside that file.
        embedded = sandbox_db(out.parent if out else Path(".")) if sandbox else None
        if embedded is not None and not embedded.exists():
            raise ReconcileError(f"no embedded sandbox in {embedded.parent}/ yet: apply a file with --sandbox first")
        # Import has no file to take the mode from: the key's mode is the file's (_connection checks the key).
        mode = Mode.TEST if sandbox else key_mode(os.environ.get(api_key_env, "").strip()) or Mode.TEST
        target = Target(path="import", mode=mode, accounts=())
        rate = max_rps if max_rps is not None else DEFAULT_MAX_RPS[mode]
        with open_gateway(
            target, api_base=api_base, api_key_env=api_key_env, sandbox=embedded, max_rps=rate
        ) as gateway:
            inventory = take_inventory(gateway, list(named) or None, concurrency=concurrency or concurrency_for(rate))
        shown = str(out) if out else "FILE"
        aliases = {account_id: alias for account_id, alias in named.items() if alias}
        imported = import_platform(inventory, owner=owner, mode=mode, aliases=aliases, path=shown)
        if out is None:
            typer.echo(imported.text, nl=False)
        else:
            try:
                out.write_text(imported.text, encoding="utf-8")
            except OSError as error:
                raise ReconcileError(f"{out}: cannot write the file: {error.strerror}") from None
        desired = imported.desired
        copies = sum(len(c.shares) for c in desired.customers)
        typer.echo(
            f"Imported {len(desired.customers)} customers with {copies} copies on {len(desired.accounts)} accounts"
            f"{f' into {out}' if out else ''}.",
            err=True,
        )
        if imported.left_out:
            typer.echo(f"Left out {imported.left_out} copies that plan would not adopt; the file says why.", err=True)
        adopt = f" --adopt-by {imported.adopt_by}" if imported.adopt_by else ""
        typer.echo(f"Next: reconcile plan {shown}{adopt}", err=True)


@app.command("watch")
def watch_command(
    file: FileArg,
    listen: Annotated[
        str | None,
        typer.Option(
            "--listen",
            metavar="HOST:PORT",
            help="Serve /webhook (Stripe's deliveries), /healthz and /metrics here.",
        ),
    ] = None,
    poll: Annotated[
        bool, typer.Option("--poll", help="Read the Events API instead of receiving webhooks (--listen optional).")
    ] = False,
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", metavar="SECONDS", min=0.1, help="How often --poll reads events.")
    ] = 5.0,
    resync: Annotated[
        str, typer.Option("--resync", metavar="DURATION", help="Plan everything this often, e.g. 30m or 1h.")
    ] = "1h",
    coalesce: Annotated[
        float,
        typer.Option("--coalesce", metavar="SECONDS", min=0, help="Wait this long after a customer's first event."),
    ] = 0.5,
    prune: Prune = False,
    account: Accounts = None,
    shard: Shard = None,
    concurrency: Concurrency = None,
    max_rps: MaxRps = None,
    webhook_secret_env: Annotated[
        str,
        typer.Option(
            "--webhook-secret-env",
            metavar="NAME",
            help="The variable that holds the endpoints' signing secrets (whsec_…, comma-separated).",
        ),
    ] = "STRIPE_WEBHOOK_SECRET",
    api_base: ApiBase = None,
    api_key_env: ApiKeyEnv = "STRIPE_API_KEY",
    debug: Debug = False,
) -> None:
    """Keep live state equal to the file, reconciling the customers Stripe's events touch (docs/watch.md)."""
    with _errors(debug):
        desired = config.load(file)
        scope(desired, account, shard)  # a bad --account or --shard is refused now, not in the loop
        if listen is None and not poll:
            raise ReconcileError("watch needs --listen HOST:PORT to receive webhooks, or --poll to read events")
        address = parse_listen(listen) if listen is not None else None
        secrets = () if poll else _webhook_secrets(webhook_secret_env)
        target = Target.of(desired)
        rate = max_rps if max_rps is not None else DEFAULT_MAX_RPS[target.mode]
        settings = WatchSettings(
            resync_every=parse_duration(resync, "--resync"),
            window=coalesce,
            prune=prune,
            chosen=account,
            shard=shard,
            concurrency=concurrency or concurrency_for(rate),
        )
        _log_to_stderr(debug)
        with open_gateway(target, api_base=api_base, api_key_env=api_key_env, sandbox=None, max_rps=rate) as gateway:
            watcher = Watcher(desired, gateway, settings, load=lambda: config.load(file), source=file)
            server = _watch_server(address, watcher, secrets) if address is not None else None
            poller = Poller(gateway, watcher, interval=poll_interval) if poll else None
            if poller is not None:
                poller.prime()  # before the start-up resync: no event after it is missed
                poller.start()
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: watcher.stop())
            signal.signal(signal.SIGHUP, lambda *_: watcher.reload())
            if server is not None:
                server.start()
                served = "/webhook, /healthz and /metrics" if secrets else "/healthz and /metrics"
                typer.echo(f"watch: listening on {server.url} ({served})", err=True)
            source = f"polling events every {poll_interval:g}s" if poll else "receiving webhooks"
            typer.echo(f"watch: {file}: {source}; a full resync every {resync}", err=True)
            try:
                watcher.run()
            finally:
                if poller is not None:
                    poller.stop()
                if server is not None:
                    server.shutdown()
                    server.server_close()
        typer.echo("watch: stopped", err=True)


def _webhook_secrets(variable: str) -> tuple[str, ...]:
    secrets = parse_secrets(os.environ.get(variable, ""))
    if not secrets:
        raise ReconcileError(
            f"{variable} is not set: export the signing secret of each webhook endpoint there (whsec_…, "
            "comma-separated), or use --poll"
        )
    if not all(secret.startswith("whsec_") for secret in secrets):
        raise ReconcileError(f"{variable} does not hold webhook signing secrets (expected whsec_…, comma-separated)")
    return secrets


def _watch_server(address: tuple[str, int], watcher: Watcher, secrets: tuple[str, ...]) -> WatchServer:
    try:
        return WatchServer(address, watcher, secrets)
    except OSError as error:
        raise ReconcileError(f"--listen {address[0]}:{address[1]}: cannot listen there: {error.strerror}") from None


def _log_to_stderr(debug: bool) -> None:
    """watch runs for days: what it does goes to stderr as timestamped log lines."""
    logger = logging.getLogger("reconcile")
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    if not any(getattr(h, "watch_stderr", False) for h in logger.handlers):  # once per process
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        handler.watch_stderr = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


def _named_accounts(options: list[str]) -> dict[str, str | None]:
    """--account values as acct_ id -> alias (None: made from the account's name), in the order given."""
    named: dict[str, str | None] = {}
    for option in options:
        alias, account_id = parse_account(option)
        if named.get(account_id) not in (None, alias) and alias is not None:
            raise ReconcileError(f"--account: {account_id} is given two aliases, '{named[account_id]}' and '{alias}'")
        named[account_id] = alias or named.get(account_id)
    given = [alias for alias in named.values() if alias]
    if len(given) != len(set(given)):
        raise ReconcileError(f"--account: the alias '{next(a for a in given if given.count(a) > 1)}' is given twice")
    return named


def _refuse_shaping(given: dict[str, object]) -> None:
    """Options that decide what a plan contains were given to plan --out; apply PLAN.json takes none."""
    names = [name for name, value in given.items() if value]
    if names:
        raise ReconcileError(f"{', '.join(names)} shape a plan when it is made: give them to plan --out, not apply")


def _refuse_stale(file: Path, stale: list[str]) -> None:
    for reason in stale[:MAX_SKIPS_LISTED]:
        typer.echo(f"stale: {reason}", err=True)
    if stale:
        raise ReconcileError(
            f"{file}: the plan is stale: {_counted(len(stale), 'action')} no longer "
            f"match{'es' if len(stale) == 1 else ''} live state; "
            "nothing was applied; make a new plan"
        )


def concurrency_for(max_rps: float) -> int:
    """Requests in flight needed to reach ``max_rps`` when Stripe takes half a second to answer."""
    return max(4, math.ceil(max_rps * SLOW_ANSWER_SECONDS))


def _confirm(plan: Plan, auto_approve: bool) -> None:
    if auto_approve:
        return
    if not _is_tty(sys.stdin):
        raise ReconcileError("refusing to apply without confirmation: stdin is not a terminal (use --auto-approve)")
    # The question goes to stderr, where the progress bar and errors go: `apply > log` still asks on the
    # terminal instead of waiting silently with the question in the log.
    changes = sum(plan.summary_counts().values())
    typer.echo(f"Apply these {changes} changes? Only 'yes' is accepted: ", nl=False, err=True)
    answer = sys.stdin.readline()
    if answer.strip() != "yes":
        raise ReconcileError("apply cancelled; nothing was changed")


def _write_report(path: Path | None, outcome: ApplyReport) -> None:
    if path is not None:
        with path.open("w", encoding="utf-8") as report:
            report.writelines(outcome.json_text())


def _both(
    first: Callable[[ActionResult], None], second: Callable[[ActionResult], None]
) -> Callable[[ActionResult], None]:
    def tell(result: ActionResult) -> None:
        first(result)
        second(result)

    return tell


def _progress_interval() -> float:
    """Seconds between progress lines without a terminal: RECONCILE_PROGRESS_SECONDS, default 10."""
    text = os.environ.get("RECONCILE_PROGRESS_SECONDS", "").strip()
    try:
        seconds = float(text) if text else DEFAULT_INTERVAL
    except ValueError:
        raise ReconcileError(f"RECONCILE_PROGRESS_SECONDS must be a number of seconds, not '{text}'") from None
    if not 0 < seconds <= 3600:
        raise ReconcileError(f"RECONCILE_PROGRESS_SECONDS must be between 0 and 3600 seconds, not {text}")
    return seconds


def _print_report(outcome: ApplyReport, *, summary: bool = True) -> None:
    for result in outcome.results:
        if result.outcome is Outcome.FAILED:
            request = f" (request {result.request_id})" if result.request_id else ""
            typer.echo(f"failed: {result.action.id}: {result.error}{request}", err=True)
    # Skips can run to thousands after an interruption: one line per reason once there are many.
    skipped = Counter(r.error for r in outcome.results if r.outcome is Outcome.SKIPPED)
    for result in outcome.results:
        if result.outcome is Outcome.SKIPPED and skipped[result.error] <= MAX_SKIPS_LISTED:
            typer.echo(f"skipped: {result.action.id}: {result.error}", err=True)
    for reason, count in skipped.items():
        if count > MAX_SKIPS_LISTED:
            typer.echo(f"skipped: {count} actions: {reason} (--report lists them)", err=True)
    if summary:  # --log-format json ends with its own summary line
        typer.echo(
            f"Apply {'complete' if outcome.complete else 'incomplete'}: {outcome.count(Outcome.DONE)} done, "
            f"{outcome.count(Outcome.FAILED)} failed, {outcome.count(Outcome.SKIPPED)} skipped "
            f"({outcome.requests} API requests in {outcome.seconds:.1f}s)."
        )
    if not outcome.complete:
        typer.echo("Fix what failed, then re-run apply: what was done will not be done twice.", err=True)


def _conflicts(plan: Plan) -> str:
    count = len(plan.conflicts)
    return f"{_counted(count, 'conflict')} need{'s' if count == 1 else ''} attention"


def _counted(count: int, what: str) -> str:
    return f"{count} {what}{'' if count == 1 else 's'}"


def _writable(path: Path | None, option: str) -> None:
    """Refuse an output path that cannot be written before anything is done, not after."""
    if path is None:
        return
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ReconcileError(f"{option} {path}: the folder {folder} does not exist")
    if path.is_dir():
        raise ReconcileError(f"{option} {path}: is a folder, not a file")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ReconcileError(f"{option} {path}: not writable")


def _is_tty(stream: object) -> bool:
    isatty: Callable[[], bool] | None = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _color(stream: object) -> bool:
    return _is_tty(stream) and not os.environ.get("NO_COLOR")  # no-color.org: set and not empty


@contextlib.contextmanager
def _errors(debug: bool) -> Iterator[None]:
    """Map every error to one line on stderr and exit code 1 (``--debug``: the traceback)."""
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except ConfigError as error:
        if debug:
            raise
        _print_problems(error)
        _fail(f"{_counted(len(error.problems), 'problem')} found")
    except ReconcileError as error:
        if debug:
            raise
        _fail(str(error))
    except KeyboardInterrupt:
        _fail("interrupted", code=130)
    except BrokenPipeError:
        raise  # the reader went away (| head): typer exits quietly
    except Exception as error:
        if debug:
            raise
        _fail(f"unexpected {type(error).__name__}: {_scrub(str(error))} (run with --debug for the traceback)")


def _print_problems(error: ConfigError) -> None:
    for problem in error.problems:
        typer.echo(str(problem), err=True)


def _fail(message: str, code: int = ExitCode.ERROR) -> NoReturn:
    typer.echo(f"error: {_scrub(message)}", err=True)
    raise typer.Exit(code)


def _scrub(text: str) -> str:
    """No key reaches the terminal, even inside an unexpected error's text."""
    for value in os.environ.values():
        if value.startswith(("sk_", "rk_")) and len(value) > 8 and value in text:
            text = text.replace(value, value[:8] + "****")
    return text


def main() -> None:
    app()
