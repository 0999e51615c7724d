"""Integration tests: the CLI and the official SDK against a sandbox over real HTTP."""

from tests.support import accounts, marketplace, reconcile, write_file

__all__ = ["accounts", "marketplace", "reconcile", "write_file"]
