"""Command tests: exit codes and stderr lines, through typer's CliRunner."""

from tests.support import accounts, marketplace, reconcile, write_file

__all__ = ["accounts", "marketplace", "reconcile", "write_file"]
