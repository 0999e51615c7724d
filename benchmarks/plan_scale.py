"""How planning and apply's scheduling scale with the number of customers (not a test).

Both should grow linearly: the planner indexes each account once, and the executor keeps only
``--concurrency`` actions in flight. No HTTP: the planner is pure, and apply runs against a
gateway stand-in that answers after a fixed delay, so what is measured is the tool's own work.

    python benchmarks/plan_scale.py [--accounts 3] [--sizes 1000,5000,20000] [--details] [--plan-only]
    python benchmarks/plan_scale.py --details-regression --accounts 10 --sizes 100000

``--details`` declares an address, preferred locales, a tax status and an invoice footer on every
customer (and gives them to every live copy), to see what the nested fields cost a converged plan.
``--details-regression`` measures that cost directly: the CPU time of converged plans without and
with details, alternated five times in one process (a shared machine's noise drifts; alternating
cancels it), and the regression of the minimum and of the median.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from functools import partial
from sys import intern
from typing import Any

from reconcile.executor import Applier
from reconcile.gateway import Written
from reconcile.model import (
    KEY_KEY,
    NO_DETAILS,
    OWNER_KEY,
    PLATFORM_CUSTOMER_KEY,
    SOURCE_KEY,
    Address,
    Customer,
    CustomerSpec,
    DesiredState,
    Details,
    Fields,
    Mode,
    ObservedState,
    ShareSpec,
    Strategy,
    frozen_map,
)
from reconcile.planner import plan
from reconcile.retry import RetryPolicy


def details(i: int, text: Callable[[str], str] = str) -> Details:
    """Nested details as a real buyer has them: every customer's differ."""
    address = Address(
        line1=text(f"{i} Main Street"), city=text("Springfield"), postal_code=text(f"{i % 100000:05d}"), country="US"
    )
    return Details(address=address, preferred_locales=("en",), tax_exempt="none", invoice_footer=text(f"Thanks, c{i}"))


def desired(count: int, accounts: dict[str, str], with_details: bool = False) -> DesiredState:
    shares = tuple(ShareSpec(alias=alias, account_id=account) for alias, account in accounts.items())
    customers = tuple(
        CustomerSpec(
            key=f"c{i}",
            fields=Fields(
                email=f"c{i}@example.com",
                name=f"Customer {i}",
                metadata=frozen_map({"tier": "gold"}),
                details=details(i) if with_details else NO_DETAILS,
            ),
            payment_source="tok_visa",
            shares=shares,
        )
        for i in range(count)
    )
    return DesiredState(owner="bench", mode=Mode.TEST, strategy=Strategy.TOKEN, accounts=accounts, customers=customers)


def converged(count: int, accounts: dict[str, str], with_details: bool = False) -> ObservedState:
    """Live state that already matches ``desired``: every plan of it is empty.

    Its strings are interned, as the gateway interns what it reads (a copy's values are its platform
    customer's), so the snapshot is laid out in memory as an observed one is.
    """

    def fields(i: int, **ownership: str) -> Fields:
        metadata = {"tier": "gold", OWNER_KEY: "bench", KEY_KEY: intern(f"c{i}"), **ownership}
        nested = details(i, intern) if with_details else NO_DETAILS
        email, name = intern(f"c{i}@example.com"), intern(f"Customer {i}")
        return Fields(email=email, name=name, metadata=frozen_map(metadata), details=nested)

    platform = tuple(Customer(id=f"cus_P{i}", fields=fields(i), default_source=f"card_{i}") for i in range(count))
    copies = {
        account: tuple(
            Customer(
                id=f"cus_{alias}{i}",
                fields=fields(i, **{PLATFORM_CUSTOMER_KEY: intern(f"cus_P{i}"), SOURCE_KEY: intern(f"card_{i}")}),
            )
            for i in range(count)
        )
        for alias, account in accounts.items()
    }
    return ObservedState(platform=platform, accounts=copies)


class DelayedGateway:
    """Answers every write after ``delay`` seconds, like a fast Stripe; counts requests."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.request_count = 0

    def _write(self, prefix: str, **data: Any) -> Written:
        time.sleep(self.delay)
        self.request_count += 1
        return Written(id=f"{prefix}_{self.request_count}", replayed=False, request_id=None, data=data)

    def create_customer(self, account: str | None, params: Any, key: str, **_: Any) -> Written:
        return self._write("cus", default_source="card_x" if params.get("source") else None)

    def create_customer_token(self, account: str, platform_customer: str, key: str) -> Written:
        return self._write("tok")


def details_regression(count: int, accounts: dict[str, str], rounds: int = 5) -> None:
    """Print converged-plan CPU times without and with details, alternated, and the regression."""
    cases = {
        with_details: (desired(count, accounts, with_details), converged(count, accounts, with_details))
        for with_details in (False, True)
    }
    gc.collect()
    gc.freeze()  # the snapshots are long-lived: the collector need not walk them during the runs
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(rounds):
        for with_details, (wanted, live) in cases.items():
            started = time.process_time()
            planned = plan(wanted, live)
            times[with_details].append(time.process_time() - started)
            assert not planned.actions
    lowest = {k: min(v) for k, v in times.items()}
    middle = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    for with_details, label in ((False, "without details"), (True, "with details")):
        runs = " ".join(f"{t:.2f}" for t in times[with_details])
        print(f"{count} customers x {len(accounts)} accounts, converged, {label}: CPU {runs} s")
    print(
        f"details cost: {lowest[True] / lowest[False] - 1:+.1%} (minimum), "
        f"{middle[True] / middle[False] - 1:+.1%} (median)"
    )


def timed(work: Any) -> tuple[Any, float]:
    """The result of ``work()`` and the seconds it took."""
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=3)
    parser.add_argument("--sizes", default="1000,5000,20000")
    parser.add_argument("--delay-ms", type=float, default=2.0, help="the stand-in gateway's answer time")
    parser.add_argument("--concurrency", type=int, default=40)
    parser.add_argument("--details", action="store_true", help="declare nested details on every customer")
    parser.add_argument("--plan-only", action="store_true", help="skip the apply figure")
    parser.add_argument("--details-regression", action="store_true", help="what declaring details costs")
    options = parser.parse_args()
    accounts = {f"a{i}": f"acct_1Bench{i:010d}" for i in range(options.accounts)}
    if options.details_regression:
        for count in (int(size) for size in options.sizes.split(",")):
            details_regression(count, accounts)
        return
    for count in (int(size) for size in options.sizes.split(",")):
        wanted, live = desired(count, accounts, options.details), converged(count, accounts, options.details)
        fresh, fresh_seconds = timed(partial(plan, wanted, ObservedState(platform=(), accounts={})))
        same, same_seconds = timed(partial(plan, wanted, live))
        cpu_started = time.process_time()
        plan(wanted, live)
        same_cpu = time.process_time() - cpu_started
        assert not same.actions
        if options.plan_only:
            print(
                f"{count:>6} customers x {options.accounts} accounts{' with details' if options.details else ''}: "
                f"plan {fresh_seconds:.2f}s from nothing ({len(fresh.actions)} actions), {same_seconds:.2f}s "
                f"converged ({same_cpu:.2f}s CPU, second run)"
            )
            continue
        gateway = DelayedGateway(options.delay_ms / 1000)
        applier = Applier(gateway, owner="bench", concurrency=options.concurrency, policy=RetryPolicy())  # type: ignore[arg-type]
        report, apply_seconds = timed(partial(applier.apply, fresh))
        assert report.complete
        floor = report.requests * options.delay_ms / 1000 / options.concurrency
        print(
            f"{count:>6} customers x {options.accounts} accounts: plan {fresh_seconds:.2f}s from nothing "
            f"({len(fresh.actions)} actions), {same_seconds:.2f}s converged; apply {apply_seconds:.2f}s for "
            f"{report.requests} requests at {options.delay_ms:g} ms each (floor {floor:.2f}s)"
        )


if __name__ == "__main__":
    main()
