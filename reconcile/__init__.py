"""reconcile: keep Stripe Connect shared customers in the state a YAML file declares."""

__version__ = "0.1.0"
