"""Read a handful of customers again by id: what a plan narrowed to a few customer keys depends on."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from reconcile.gateway import ApplyCalls
from reconcile.model import Customer
from reconcile.retry import RetryPolicy, with_retries
from reconcile.watch.index import Place


def read_places(
    gateway: ApplyCalls, places: Iterable[Place], *, concurrency: int, policy: RetryPolicy
) -> dict[Place, Customer | None]:
    """Each customer as it is now (None: deleted or gone), ``concurrency`` reads at once, under the pacer."""
    wanted = sorted(set(places), key=lambda place: (place[0] or "", place[1]))
    if not wanted:
        return {}

    def read(place: Place) -> Customer | None:
        return with_retries(lambda: gateway.retrieve_customer(place[0], place[1]), policy)

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(wanted)))) as pool:
        return dict(zip(wanted, pool.map(read, wanted), strict=True))
