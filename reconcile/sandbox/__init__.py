"""A stateful, Stripe-faithful local emulator of the part of Stripe's API that reconcile uses.

It imports nothing from the rest of `reconcile`, so a client bug cannot hide behind the same bug here.
"""

from .errors import ApiError
from .server import Sandbox, running_sandbox
from .webhooks import DeliveryPolicy

__all__ = ["ApiError", "DeliveryPolicy", "Sandbox", "running_sandbox"]
