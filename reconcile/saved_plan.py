"""A plan saved with `plan --out`: read it back, and what it runs against."""

from __future__ import annotations

import json
from pathlib import Path

from reconcile.connection import Target
from reconcile.errors import ReconcileError
from reconcile.model import Mode
from reconcile.plan import Plan


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
