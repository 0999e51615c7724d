"""A plan saved with `plan --out`: read it back, and find what in it is no longer true."""

from __future__ import annotations

import json
from pathlib import Path

from reconcile.connection import Target
from reconcile.errors import ReconcileError
from reconcile.gateway import Gateway
from reconcile.model import Mode
from reconcile.observe import snapshot
from reconcile.plan import Plan
from reconcile.preconditions import stale_actions


def read_plan(path: Path) -> Plan:
    """The plan in ``path``; a one-line error for anything that is not one (a redacted plan included)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, found {type(data).__name__}")
        return Plan.from_json(data)
    except OSError as error:
        raise ReconcileError(f"{path}: cannot read the plan: {error.strerror}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise ReconcileError(f"{path}: not a plan written by reconcile plan --out ({error})") from None


def target_of(path: Path, plan: Plan) -> Target:
    """What a saved plan runs against: its mode and the accounts it covers."""
    try:
        mode = Mode(plan.mode)
    except ValueError:
        raise ReconcileError(f"{path}: unknown mode '{plan.mode}' in the plan") from None
    return Target(path=str(path), mode=mode, accounts=tuple(plan.accounts.values()))


def recheck(plan: Plan, gateway: Gateway) -> list[str]:
    """Observe the plan's accounts again; one line per action whose precondition no longer holds."""
    platform_objects = {a.object_id for a in plan.actions if a.account is None and a.object_id}
    observed = snapshot(gateway, owner=plan.owner, accounts=plan.accounts, adopted=platform_objects)
    return stale_actions(plan, observed)
