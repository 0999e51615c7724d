"""`python -m reconcile.sandbox serve ...`: the sandbox command without the main CLI."""

from .command import sandbox_app

sandbox_app(prog_name="reconcile sandbox")
