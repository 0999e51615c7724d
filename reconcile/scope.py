"""Which accounts a run covers: all the file declares, or those --account names, then --shard's share."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from reconcile.errors import ReconcileError
from reconcile.model import DesiredState, Header


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    """What a run covers, recorded by every output so a narrowed plan never passes for the whole one."""

    accounts: tuple[str, ...]  # the aliases covered
    declared: int  # accounts the file declares
    named: tuple[str, ...] = ()  # --account
    shard: str | None = None  # --shard, as K/N
    prune: bool = False

    @property
    def narrowed(self) -> bool:
        return bool(self.named) or self.shard is not None

    def describe(self) -> str | None:
        """One line for the text and markdown plans, or None for a whole-file run without --prune."""
        if not self.narrowed and not self.prune:
            return None
        parts = [f"{len(self.accounts)} of {self.declared} accounts"] if self.narrowed else ["every account"]
        flags = [*(f"--account {alias}" for alias in self.named), *([f"--shard {self.shard}"] if self.shard else [])]
        if flags:
            parts[0] += f" ({', '.join(flags)})"
        if self.prune:
            parts.append("--prune: undeclared copies are unshared")
        return "; ".join(parts)

    def warning(self) -> str | None:
        """A narrowed run that covers no account plans almost nothing: say so rather than 'No changes.'"""
        if self.accounts or not self.narrowed:
            return None
        by = f"--shard {self.shard}" if self.shard else "--account"
        return f"{by} covers none of the {self.declared} accounts the file declares: no copy is planned"

    def to_json(self) -> dict[str, Any]:
        return {
            "accounts": list(self.accounts),
            "declared_accounts": self.declared,
            "narrowed": self.narrowed,
            "account_filter": list(self.named),
            "shard": self.shard,
            "prune": self.prune,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Scope:
        return cls(
            accounts=tuple(data["accounts"]),
            declared=int(data["declared_accounts"]),
            named=tuple(data.get("account_filter", ())),
            shard=data.get("shard"),
            prune=bool(data.get("prune")),
        )


def scope(
    declared: Header | DesiredState, chosen: list[str] | None, shard: str | None, *, prune: bool = False
) -> Scope:
    """The accounts a run covers: --account narrows, then --shard keeps its stable share."""
    aliases = _chosen(declared, chosen)
    if shard is not None:
        index, count = parse_shard(shard)
        aliases = [alias for alias in aliases if shard_of(declared.accounts[alias], count) == index]
        shard = f"{index}/{count}"
    named = tuple(dict.fromkeys(chosen or ()))
    return Scope(accounts=tuple(aliases), declared=len(declared.accounts), named=named, shard=shard, prune=prune)


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` as (K, N), 1 <= K <= N."""
    found = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not found or not 1 <= int(found.group(1)) <= int(found.group(2)):
        raise ReconcileError(f"--shard must be K/N with 1 <= K <= N, such as 2/4, not '{text}'")
    return int(found.group(1)), int(found.group(2))


def shard_of(account_id: str, count: int) -> int:
    """The shard (1..count) an account belongs to: a hash of its id, so the split never depends on the file."""
    return int.from_bytes(hashlib.sha256(account_id.encode()).digest()[:8], "big") % count + 1


def _chosen(declared: Header | DesiredState, chosen: list[str] | None) -> list[str]:
    if not chosen:
        return list(declared.accounts)
    unknown = [a for a in chosen if a not in declared.accounts]
    if unknown:
        aliases = ", ".join(declared.accounts)
        raise ReconcileError(f"--account: unknown account alias '{unknown[0]}' (declared: {aliases})")
    return list(dict.fromkeys(chosen))
