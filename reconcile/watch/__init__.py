"""``reconcile watch``: keep live state equal to the file, woken by Stripe events (docs/watch.md).

Events are only triggers: each names the customers it touches, and those customers are read again and
planned by the same planner, safety rules and executor as ``apply`` (``reconcile.session``). A stale,
duplicate or out-of-order event therefore costs at most a read, never a wrong write.
"""
