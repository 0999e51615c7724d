"""The workflow between the CLI and the engine: plan, recheck, approve and apply (octoDNS's Manager).

Each step is a function of its inputs (the desired state or a saved plan, a gateway, options), so
the CLI only gathers options, prints and picks exit codes, and a test drives a whole run with a
gateway and options of its own: no pacing, no sleeping between retries, no prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from reconcile import planner
from reconcile.collector import collector_paused
from reconcile.errors import ReconcileError
from reconcile.executor import Applier
from reconcile.gateway import ApplyCalls, Gateway
from reconcile.loading import Loading
from reconcile.model import AdoptBy, DesiredState, Header, ObservedState
from reconcile.observe import Lists, observed_state, read_lists, snapshot
from reconcile.plan import Plan
from reconcile.preconditions import stale_actions
from reconcile.report import ActionResult, ApplyReport
from reconcile.retry import RetryPolicy
from reconcile.scope import Scope


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanOptions:
    """What shapes a plan when it is made (a saved plan carries their effect, not the options)."""

    prune: bool = False  # unshare copies we own that the file no longer declares
    accounts: Sequence[str] | None = None  # the account aliases the run covers; None: every declared account
    adopt_by: AdoptBy | None = None
    scope: Scope | None = None  # how the command line narrowed the run, recorded in the plan

    @classmethod
    def covering(cls, scope: Scope, *, adopt_by: AdoptBy | None = None) -> PlanOptions:
        return cls(prune=scope.prune, accounts=scope.accounts, adopt_by=adopt_by, scope=scope)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyOptions:
    concurrency: int = 16  # actions in flight at once
    policy: RetryPolicy | None = None  # None: the default backoff
    on_result: Callable[[ActionResult], None] | None = None  # told of each action as it finishes


# Lists read at once while observing, unless told otherwise (the CLI sizes it for --max-rps).
READERS = 8


def plan(
    desired: DesiredState, gateway: Gateway, options: PlanOptions | None = None, *, concurrency: int = READERS
) -> Plan:
    """Observe what the plan depends on (``concurrency`` pages in flight at most), then diff the desired state."""
    return plan_file(Loading.loaded(desired), gateway, options, concurrency=concurrency)


def plan_file(
    loading: Loading, gateway: Gateway, options: PlanOptions | None = None, *, concurrency: int = READERS
) -> Plan:
    """``plan`` for a file that may still be loading: its lists are read meanwhile, from its header alone.

    The platform's list is kept whole until the file is loaded, since the customers it adopts by id are
    known only then; a bad file stops the reads at their next page and raises its problems.
    """
    options = options or PlanOptions()
    accounts = _covered(loading.header, options)
    with loading.problems_first():
        lists = read_lists(gateway, accounts, concurrency=concurrency, cards=_cards(options), stopped=loading.failed)
    desired = loading.result()
    return plan_observed(desired, _snapshot(desired, lists, accounts), options)


def observe_for(
    desired: DesiredState, gateway: Gateway, options: PlanOptions | None = None, *, concurrency: int = READERS
) -> ObservedState:
    """The snapshot ``plan`` diffs against: the platform and the accounts ``options`` covers."""
    options = options or PlanOptions()
    accounts = _covered(desired.header, options)
    lists = read_lists(gateway, accounts, concurrency=concurrency, cards=_cards(options))
    return _snapshot(desired, lists, accounts)


def _covered(header: Header, options: PlanOptions) -> dict[str, str]:
    """The accounts (alias -> id) a run observes: those ``options`` names, else every one the file declares."""
    aliases = sorted(options.accounts if options.accounts is not None else header.accounts)
    return {alias: header.accounts[alias] for alias in aliases}


def _cards(options: PlanOptions) -> bool:
    """Whether pages expand each default source: card fingerprints are compared only to adopt, and reading
    them doubles what every page weighs."""
    return options.adopt_by is not None


def _snapshot(desired: DesiredState, lists: Lists, accounts: Mapping[str, str]) -> ObservedState:
    """What the plan depends on in ``lists``: the platform customers the file owns or adopts, and the accounts."""
    adopted = {c.id for c in desired.customers if c.id}
    return observed_state(lists, owner=desired.owner, accounts=accounts, adopted=adopted)


def plan_observed(desired: DesiredState, observed: ObservedState, options: PlanOptions | None = None) -> Plan:
    """The plan for a snapshot already read (``watch`` reads narrower ones than ``observe_for``)."""
    options = options or PlanOptions()
    with collector_paused():  # the planner's indexes are large and acyclic too
        made = planner.plan(
            desired, observed, prune=options.prune, accounts=options.accounts, adopt_by=options.adopt_by
        )
    return made.scoped(options.scope) if options.scope is not None else made


def recheck(saved: Plan, gateway: Gateway, *, concurrency: int = READERS) -> list[str]:
    """Observe a saved plan's accounts again; one line per action whose precondition no longer holds."""
    platform_objects = {a.object_id for a in saved.actions if a.account is None and a.object_id}
    observed = snapshot(
        gateway, owner=saved.owner, accounts=saved.accounts, adopted=platform_objects, concurrency=concurrency
    )
    return stale_actions(saved, observed)


def check_digest(plan: Plan, expected: str | None, *, applying: bool) -> None:
    """The plan must be the one a reviewer approved (``expected``, with or without ``sha256:``), if one is named."""
    if expected is None or expected.strip().removeprefix("sha256:") == plan.digest:
        return
    outcome = "; nothing was applied" if applying else ""
    raise ReconcileError(
        f"the plan's digest is sha256:{plan.digest}, not the expected {expected.strip()}: the file or the live "
        f"state changed since that plan was approved{outcome}"
    )


def approve(plan: Plan, *, expect_digest: str | None = None, force: bool = False) -> None:
    """Raise unless ``plan`` may be applied: the approved digest, when one is named, and safe unless forced."""
    check_digest(plan, expect_digest, applying=True)
    if not force:
        plan.check_safety()


def apply(plan: Plan, gateway: ApplyCalls, options: ApplyOptions | None = None) -> ApplyReport:
    """Make an approved plan's changes (see ``approve``); what was done, failed or skipped."""
    options = options or ApplyOptions()
    applier = Applier(
        gateway,
        owner=plan.owner,
        concurrency=options.concurrency,
        policy=options.policy,
        on_result=options.on_result,
    )
    return applier.apply(plan)
