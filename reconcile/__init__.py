"""reconcile: keep Stripe Connect shared customers in the state a YAML file declares."""

__version__ = "0.1.0"

# The name on PyPI ("reconcile" there is an unrelated project); the import package and the command are `reconcile`.
DISTRIBUTION = "reconcile-stripe"
