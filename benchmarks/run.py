"""Every scale figure side by side, in one run: a table, then one JSON line per figure (not a test).

    python benchmarks/run.py                      # 100,000 customers x 10 accounts (1M pairs), --max-rps 80
    python benchmarks/run.py --customers 10000    # a tenth, for a quick look
    python benchmarks/run.py --write-results      # also rewrite benchmarks/RESULTS.md with this machine's table
    python benchmarks/run.py --only apply --apply-customers 25000   # apply alone, at 100,000 actions

Stripe's rate limit is the floor of every run: observing C customers on A accounts is C/100 x (A + 1)
list pages, so `plan` cannot take less than pages / max-rps. The figures say how close the tool comes:

- plan pipeline: `reconcile plan FILE --format json --out` (load and validate the YAML, observe every
  page, plan, render, digest) against a Stripe-shaped server that answers at once (stripe_pages.py), as a
  multiple of that floor; the process's peak RSS.
- observing at 200 ms a page: the page rate `plan` achieves over the platform and two accounts, as a share
  of --max-rps, and the CPU it spends per page against the 1/max-rps it has.
- plan CPU from an in-memory snapshot at 1%, 10% and 100% of the size (from nothing and converged): the
  tool's own work, and whether it grows linearly.
- validate: `reconcile validate` of the same file: seconds and peak RSS.
- apply at the ceiling: `reconcile apply` of --apply-customers x 3 accounts against the sandbox answering in
  150 ms, as a share of --max-rps; and its resident memory a tenth and nine tenths into the run (sampled every
  second), to see it stay flat. --apply-customers 25000 is 125,000 actions, 36 minutes at 80 requests/s.
- comparison points, on the same work at the same --max-rps: a Terraform-style refresh (one GET per managed
  object) and the hand-run curl flow (a token and a customer per pair, on every run). Derived from their
  request counts: each needs at least that many requests, one per 1/max-rps.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apply_throughput import connect, desired_state, start_sandbox
from measured import run_reconcile
from plan_scale import converged, desired
from stripe_pages import OWNER, PageServer, account_ids, converged_file

from reconcile.cli import concurrency_for
from reconcile.gateway import Gateway
from reconcile.model import ObservedState
from reconcile.observe import snapshot
from reconcile.planner import plan

PAGE_SIZE = 100
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
PARTS = ("validate", "pipeline", "observe", "apply", "plan-cpu")


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: str = ""
    peak_rss_mb: float | None = None
    note: str = ""

    def row(self) -> str:
        rss = f"{self.peak_rss_mb:,.0f}" if self.peak_rss_mb is not None else ""
        return f"| {self.name} | {self.value:,.3g} {self.unit} | {self.target} | {rss} | {self.note} |"

    def line(self) -> str:
        return json.dumps(
            {"name": self.name, "value": round(self.value, 4), "unit": self.unit, "peak_rss_mb": self.peak_rss_mb}
        )


def pages_of(customers: int, lists: int) -> int:
    return -(-customers // PAGE_SIZE) * lists


def plan_pipeline(file: Path, customers: int, accounts: int, max_rps: float) -> list[Figure]:
    server = PageServer(customers, accounts)
    with server.running() as url, tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "STRIPE_API_KEY": "sk_test_bench", "STRIPE_API_BASE": url}
        out = Path(scratch) / "plan.json"
        done = run_reconcile(
            "plan", str(file), "--format", "json", "--out", str(out), "--max-rps", str(max_rps), env=env
        )
        assert done.returncode == 0, done.stderr
        assert not json.loads(out.read_text())["actions"], "the served platform is converged with the file"
    floor = pages_of(customers, accounts + 1) / max_rps
    return [
        Figure(
            "plan pipeline, converged",
            done.seconds / floor,
            "x floor",
            "<= 1.05",
            done.peak_rss_mb,
            f"{done.seconds:.1f} s; floor {floor:.1f} s ({server.pages:,} pages served at --max-rps {max_rps:g})",
        ),
        Figure("plan pipeline, peak RSS", done.peak_rss_mb, "MB", "< 2,000", done.peak_rss_mb),
    ]


def observe_rate(customers: int, max_rps: float) -> list[Figure]:
    """Observe the platform and two accounts in this process, the server in another: CPU per page is ours."""
    server = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("stripe_pages.py")),
            *("--customers", str(customers)),
            *("--accounts", "2", "--latency", "0.2"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().split()[-1]
        gateway = Gateway("sk_test_bench", api_base=url, max_rps=max_rps)
        accounts = {f"a{j:02d}": account for j, account in enumerate(account_ids(2))}
        cpu, wall = time.process_time(), time.monotonic()
        observed = snapshot(
            gateway, owner=OWNER, accounts=accounts, adopted=set(), concurrency=concurrency_for(max_rps)
        )
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        with urllib.request.urlopen(f"{url}/_stats") as answer:
            stats = json.load(answer)
    finally:
        server.terminate()
        server.wait()
    assert len(observed.platform) == customers
    pages = stats["pages"]
    return [
        Figure(
            "observing at 200 ms a page",
            stats["page_rate"] / max_rps,
            "x --max-rps",
            ">= 0.95",
            None,
            f"{stats['page_rate']:.1f} pages/s over {pages:,} pages (the platform and 2 accounts) in {wall:.1f} s",
        ),
        Figure(
            "CPU per page while observing",
            1000 * cpu / pages,
            "ms",
            f"<< {1000 / max_rps:.1f} (1/max-rps)",
            None,
            f"{100 * cpu / wall:.0f}% of one core while observing; the official SDK's HTTP layer for every call",
        ),
    ]


def nothing(ids: dict[str, str]) -> ObservedState:
    """A platform with none of the customers yet: every pair is planned from scratch."""
    return ObservedState(platform=(), accounts={account: () for account in ids.values()})


def plan_cpu(customers: int, accounts: int) -> list[Figure]:
    ids = {f"a{j:02d}": f"acct_1Bench{j:012d}" for j in range(accounts)}
    figures = []
    per_pair: dict[str, list[float]] = {"from nothing": [], "converged": []}
    for share in (0.01, 0.1, 1.0):
        count = max(1, int(customers * share))
        wanted = desired(count, ids)
        for label, live in (("from nothing", nothing(ids)), ("converged", converged(count, ids))):
            gc.collect()
            started = time.process_time()
            made = plan(wanted, live)
            cpu = time.process_time() - started
            del made
            per_pair[label].append(1e6 * cpu / (count * accounts))
            if share == 1.0:
                target = "< 20 s" if label == "from nothing" else "< 10 s"
                note = "µs per pair at 1%, 10%, 100%: " + ", ".join(f"{us:.1f}" for us in per_pair[label])
                figures.append(Figure(f"plan CPU, {label}, in memory", cpu, "s", target, None, note))
        del wanted
    return figures


def validate(file: Path) -> list[Figure]:
    done = run_reconcile("validate", str(file), env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    return [Figure("validate", done.seconds, "s", "< 5", done.peak_rss_mb, f"{file.stat().st_size / 2**20:.0f} MB")]


def apply_ceiling(customers: int, max_rps: float) -> list[Figure]:
    accounts = 3
    process, url = start_sandbox(latency_ms=150)
    try:
        for i in range(accounts):
            connect(url, f"acct_1Bench{i:010d}")
        with tempfile.TemporaryDirectory() as scratch:
            file = Path(scratch) / "stripe.yaml"
            file.write_text(desired_state(customers, accounts), encoding="utf-8")
            env = {**os.environ, "STRIPE_API_KEY": "sk_test_sandbox", "STRIPE_API_BASE": url}
            done = run_reconcile(
                "apply", str(file), "--auto-approve", "--max-rps", str(max_rps), env=env, sample_every=1.0
            )
            assert done.returncode == 0, done.stderr
    finally:
        process.terminate()
        process.wait()
    requests = customers * (1 + 2 * accounts) + 1 + accounts  # writes, and the first plan's list pages
    actions = customers * (2 + accounts)  # a create, its card, a share per account
    floor = requests / max_rps
    # Resident memory a tenth into the run (the plan is made, applying has begun) and at nine tenths.
    early, late = (rss_at(done.rss_samples, share * done.seconds) for share in (0.1, 0.9))
    return [
        Figure(
            "apply at the ceiling, 150 ms an answer",
            floor / done.seconds,
            "x --max-rps",
            ">= 0.95",
            done.peak_rss_mb,
            f"{customers:,} customers x {accounts} accounts, {actions:,} actions: {requests:,} requests in "
            f"{done.seconds:.1f} s",
        ),
        Figure(
            "apply's memory while it runs",
            late - early,
            "MB",
            "flat",
            done.peak_rss_mb,
            f"resident {early:,.0f} MB a tenth into the run, {late:,.0f} MB at nine tenths "
            f"({1024 * (late - early) / max(1, 0.8 * actions):.2f} kB per action done between)",
        ),
    ]


def rss_at(samples: list[tuple[float, float]], seconds: float) -> float:
    """The resident memory sampled closest to ``seconds`` into a run (0 if it ended before a sample)."""
    return min(samples, key=lambda sample: abs(sample[0] - seconds), default=(0.0, 0.0))[1]


def comparisons(customers: int, accounts: int, max_rps: float) -> list[Figure]:
    objects = customers * (1 + accounts)
    pairs = customers * accounts
    return [
        Figure(
            "Terraform-style refresh (a GET per object)",
            objects / max_rps,
            "s",
            "",
            None,
            f"{objects:,} GETs, derived; reconcile's converged plan reads {pages_of(customers, accounts + 1):,} pages "
            "(the plan pipeline row)",
        ),
        Figure(
            "curl flow (a token and a customer per pair, every run)",
            2 * pairs / max_rps,
            "s",
            "",
            None,
            f"{2 * pairs:,} writes, derived; and a duplicate copy per pair on every re-run",
        ),
    ]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} CPUs ({cpu}), {memory:.0f} GiB, {platform.system()}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--max-rps", type=float, default=80.0, help="Stripe's live-mode rate")
    parser.add_argument("--apply-customers", type=int, default=300, help="apply's figure: customers x 3 accounts")
    parser.add_argument("--write-results", action="store_true", help=f"rewrite {RESULTS.name}")
    parser.add_argument(
        "--only", action="append", choices=PARTS, metavar="PART", help=f"run only these ({', '.join(PARTS)})"
    )
    args = parser.parse_args()
    parts = set(args.only or PARTS)

    started = time.monotonic()
    figures: list[Figure] = []
    if parts & {"validate", "pipeline"}:
        with tempfile.TemporaryDirectory() as scratch:
            file = converged_file(Path(scratch) / "stripe.yaml", args.customers, args.accounts)
            if "validate" in parts:
                figures += validate(file)
            if "pipeline" in parts:
                figures += plan_pipeline(file, args.customers, args.accounts, args.max_rps)
    if "observe" in parts:
        figures += observe_rate(args.customers, args.max_rps)
    # Before plan_cpu: a process forked while this one holds its snapshots would count them in its peak RSS.
    if "apply" in parts:
        figures += apply_ceiling(args.apply_customers, args.max_rps)
    if "plan-cpu" in parts:
        figures += plan_cpu(args.customers, args.accounts)
    figures += comparisons(args.customers, args.accounts, args.max_rps)

    title = f"{args.customers:,} customers x {args.accounts} accounts ({args.customers * args.accounts:,} pairs)"
    table = [
        f"{title}, --max-rps {args.max_rps:g}, on {machine()}; {time.monotonic() - started:.0f} s in all",
        "",
        "| figure | value | target | peak RSS (MB) | note |",
        "|---|---:|---|---:|---|",
        *(figure.row() for figure in figures),
    ]
    print("\n".join(table))
    print()
    for figure in figures:
        print(figure.line())
    if args.write_results:
        command = "python benchmarks/run.py --write-results"
        RESULTS.write_text(
            f"# Scale figures\n\nThe last run of `{command}` (see its docstring for what each figure is).\n\n"
            + "\n".join(table)
            + "\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
