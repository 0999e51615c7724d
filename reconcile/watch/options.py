"""The values of ``watch``'s options that are not plain numbers: ``--listen`` and ``--resync``."""

from __future__ import annotations

import re

from reconcile.errors import ReconcileError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, option: str) -> float:
    """``90``, ``90s``, ``30m``, ``1h``, ``1h30m``: seconds, more than zero."""
    cleaned = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", cleaned):
        seconds = float(cleaned)
    elif cleaned and re.fullmatch(r"(\d+[smhd])+", cleaned):
        seconds = float(sum(int(n) * _UNITS[unit] for n, unit in re.findall(r"(\d+)([smhd])", cleaned)))
    else:
        raise ReconcileError(f"{option} must be a duration such as 90s, 30m or 1h, not '{text}'")
    if seconds <= 0:
        raise ReconcileError(f"{option} must be more than zero, not '{text}'")
    return seconds


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8080`` for IPv6; port 0 picks a free one)."""
    found = re.fullmatch(r"\[?([^\[\]]*?)\]?:(\d{1,5})", text.strip())
    if not found or int(found.group(2)) > 65535:
        raise ReconcileError(f"--listen must be HOST:PORT, such as 0.0.0.0:8080 or 127.0.0.1:8080, not '{text}'")
    return found.group(1) or "0.0.0.0", int(found.group(2))
