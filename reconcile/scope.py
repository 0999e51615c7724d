"""Which accounts a run covers: all the file declares, or those --account names, then --shard's share."""

from __future__ import annotations

import hashlib
import re

from reconcile.errors import ReconcileError
from reconcile.model import DesiredState


def scope(desired: DesiredState, chosen: list[str] | None, shard: str | None) -> list[str]:
    """The account aliases a run covers: --account narrows, then --shard keeps its stable share."""
    aliases = _chosen(desired, chosen)
    if shard is None:
        return aliases
    index, count = parse_shard(shard)
    return [alias for alias in aliases if shard_of(desired.accounts[alias], count) == index]


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` as (K, N), 1 <= K <= N."""
    found = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not found or not 1 <= int(found.group(1)) <= int(found.group(2)):
        raise ReconcileError(f"--shard must be K/N with 1 <= K <= N, such as 2/4, not '{text}'")
    return int(found.group(1)), int(found.group(2))


def shard_of(account_id: str, count: int) -> int:
    """The shard (1..count) an account belongs to: a hash of its id, so the split never depends on the file."""
    return int.from_bytes(hashlib.sha256(account_id.encode()).digest()[:8], "big") % count + 1


def _chosen(desired: DesiredState, chosen: list[str] | None) -> list[str]:
    if not chosen:
        return list(desired.accounts)
    unknown = [a for a in chosen if a not in desired.accounts]
    if unknown:
        declared = ", ".join(desired.accounts)
        raise ReconcileError(f"--account: unknown account alias '{unknown[0]}' (declared: {declared})")
    return list(dict.fromkeys(chosen))
