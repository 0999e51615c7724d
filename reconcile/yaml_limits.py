"""How much a desired-state file may ask of the loader, so a hostile file fails fast instead of hanging CI.

The file comes from pull requests, and `plan` runs on them. YAML can make a few hundred bytes stand for
billions of values (aliases of aliases: a "billion laughs" bomb), nest deeper than a parser's stack, or
simply be huge. Each limit below is far above what a real file needs (docs/reliability.md gives figures)
and is checked while the file is read, so refusing a hostile file costs milliseconds and megabytes.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on one document; the defaults fit a file of several million (customer, account) pairs."""

    # A file of 1M pairs (100,000 customers on 10 accounts) is about 20 MB.
    max_bytes: int = 64 * MIB
    # Collections inside collections. The file format needs 7 levels; libyaml's C composer crashes
    # the process at about 50,000, which this loader never reaches because it nests without recursion.
    max_depth: int = 64
    # Values that aliases and merge keys may stand for: the larger of a fixed allowance and a multiple
    # of the values written out, so a file may share an account list or defaults with every customer.
    alias_allowance: int = 100_000
    alias_ratio: int = 10
    # Every value, written or reached through an alias.
    max_values: int = 10_000_000

    def alias_budget(self, written: int) -> int:
        """How many values aliases may stand for when ``written`` values have been written out."""
        return max(self.alias_allowance, self.alias_ratio * written)


DEFAULT_LIMITS = Limits()
