"""examples/ci/github-actions.yml, run as written against the sandbox: pull request, merge, schedule.

Each test plays one life of a change: a pull request whose plan is posted (and fails the check when it has a
conflict or is unsafe), its merge (which applies exactly the reviewed plan, or nothing), and the morning drift
check. tests/distribution/github_actions.py runs the workflow's own shell steps.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import stripe
import yaml

from tests.distribution.github_actions import WORKFLOW, GitHub
from tests.support import BOOKSHOP, COFFEE, MARKETPLACE, operations

pytestmark = pytest.mark.skipif(
    shutil.which("jq") is None, reason="the workflow's steps use jq, as GitHub's runners have it"
)

GITHUB_COMMENT_LIMIT = 65_536
ALICE_ONLY = MARKETPLACE.split("  bob:")[0]  # the marketplace before bob was declared


@pytest.fixture
def github(tmp_path: Path, sandbox: Any, api_key: str) -> Callable[..., GitHub]:
    for account_id in (BOOKSHOP, COFFEE):
        sandbox.add_account(account_id)

    def make(workflow: dict[str, Any] | None = None) -> GitHub:
        return GitHub(tmp_path, api_base=sandbox.url, api_key=api_key, workflow=workflow)

    return make


def live_names(client: stripe.StripeClient, account: str | None = None) -> list[str]:
    options: Any = {"stripe_account": account} if account else {}
    return sorted(c.name or "" for c in client.v1.customers.list({"limit": 100}, options).data)


def applied_base(repo: GitHub, text: str = ALICE_ONLY) -> None:
    """main holds ``text``, already applied by an earlier merge."""
    repo.commit(text, "the platform as it is")
    repo.open_pull_request(1, text)
    assert repo.run("pull_request", pull_request=1)["plan"].succeeded
    assert all(job.succeeded for job in repo.run("push", sha=repo.merge(1)).values())


def failed_check_comment(repo: GitHub, number: int) -> str:
    """Run the plan job of pull request ``number``: its check fails at `reconcile plan`; the one comment posted."""
    plan = repo.run("pull_request", pull_request=number)["plan"]
    assert not plan.succeeded
    assert plan.step("reconcile plan").code == 1
    (comment,) = repo.comments(number)
    return comment


def test_a_clean_pull_request_posts_its_plan_once_and_passes(github: Callable[..., GitHub], sandbox: Any) -> None:
    repo = github()
    repo.commit(ALICE_ONLY, "alice")
    repo.open_pull_request(7, MARKETPLACE)
    sandbox.reset_stats()

    plan = repo.run("pull_request", pull_request=7)["plan"]

    assert plan.succeeded, [step.output for step in plan.steps]
    (comment,) = repo.comments(7)
    assert comment.startswith("<!-- reconcile-plan sha256:")
    assert "**Plan: 2 to create, 3 to share, 0 to update, 0 to unshare.**" in comment
    assert len(comment) < GITHUB_COMMENT_LIMIT
    assert operations(sandbox.stats(), "POST") == 0  # a pull request writes nothing to Stripe

    repo.commit(MARKETPLACE.replace("Bob Builder", "Bob the Builder"), "a second push to the pull request")
    assert repo.run("pull_request", pull_request=7)["plan"].succeeded
    (updated,) = repo.comments(7)  # the same comment, updated
    assert "Bob the Builder" in updated


def test_a_conflict_fails_the_check_after_the_plan_is_posted(
    github: Callable[..., GitHub], stripe_client: stripe.StripeClient
) -> None:
    repo = github()
    applied_base(repo)
    (copy,) = stripe_client.v1.customers.list({"limit": 10}, {"stripe_account": BOOKSHOP}).data
    stripe_client.v1.customers.update(
        copy.id, {"metadata": {"reconcile_owner": "someone-else"}}, {"stripe_account": BOOKSHOP}
    )
    repo.open_pull_request(2, MARKETPLACE)

    comment = failed_check_comment(repo, 2)
    assert "### Conflicts" in comment
    assert "owned by 'someone-else'" in comment


def test_an_unsafe_plan_fails_the_check_after_the_plan_is_posted(github: Callable[..., GitHub]) -> None:
    repo = github()
    customers = "".join(
        f"  c{i:02}:\n    name: Shopper\n    payment: {{source: tok_visa}}\n    accounts: [bookshop]\n"
        for i in range(10)
    )
    many = f"version: 1\nowner: acme\nmode: test\naccounts:\n  bookshop: {BOOKSHOP}\ncustomers:\n{customers}"
    applied_base(repo, many)
    repo.open_pull_request(2, many.replace("Shopper", "Renamed", 4))

    comment = failed_check_comment(repo, 2)
    assert "### Unsafe: apply needs --force" in comment
    assert "would update or unshare 4 of the 10 copies on 'bookshop' (40%" in comment


def test_the_merge_applies_exactly_the_reviewed_plan(
    github: Callable[..., GitHub], stripe_client: stripe.StripeClient
) -> None:
    repo = github()
    repo.commit(ALICE_ONLY, "alice")
    repo.open_pull_request(3, MARKETPLACE)
    assert repo.run("pull_request", pull_request=3)["plan"].succeeded
    reviewed = json.loads((repo.root / "plan.json").read_text())["digest"]

    jobs = repo.run("push", sha=repo.merge(3))

    assert jobs["reviewed"].outputs == {"digest": f"sha256:{reviewed}"}
    assert jobs["apply"].succeeded, [step.output for step in jobs["apply"].steps]
    assert "Apply complete" in jobs["apply"].steps[0].output
    assert json.loads((repo.root / "report-1-of-1.json").read_text())["complete"] is True
    assert live_names(stripe_client, COFFEE) == ["Alice Liddell", "Bob Builder"]
    assert repo.run("schedule")["drift"].succeeded


def test_the_merge_applies_nothing_when_stripe_was_edited_by_hand_after_the_review(
    github: Callable[..., GitHub], sandbox: Any, stripe_client: stripe.StripeClient
) -> None:
    repo = github()
    applied_base(repo)
    repo.open_pull_request(4, MARKETPLACE)
    assert repo.run("pull_request", pull_request=4)["plan"].succeeded
    (alice,) = stripe_client.v1.customers.list({"limit": 10}).data
    stripe_client.v1.customers.update(alice.id, {"name": "Alice edited by hand"})
    sandbox.reset_stats()

    jobs = repo.run("push", sha=repo.merge(4))

    assert not jobs["reviewed"].succeeded
    assert ", not the expected sha256:" in jobs["reviewed"].steps[-1].output
    assert "the file or the live state changed since that plan was approved" in jobs["reviewed"].steps[-1].output
    assert "apply" not in jobs  # its needs failed
    assert operations(sandbox.stats(), "POST") == 0


def test_a_merge_without_a_reviewed_plan_applies_nothing(github: Callable[..., GitHub], sandbox: Any) -> None:
    repo = github()
    repo.commit(ALICE_ONLY, "alice")
    repo.open_pull_request(5, MARKETPLACE)  # merged without its plan ever being posted

    jobs = repo.run("push", sha=repo.merge(5))

    assert "no reviewed plan on #5: nothing applied" in jobs["reviewed"].steps[0].output
    assert "apply" not in jobs
    assert operations(sandbox.stats(), "POST") == 0


def test_the_schedule_fails_with_exit_2_after_drift(
    github: Callable[..., GitHub], stripe_client: stripe.StripeClient
) -> None:
    repo = github()
    applied_base(repo, MARKETPLACE)
    assert repo.run("schedule")["drift"].succeeded
    (copy, *_) = stripe_client.v1.customers.list({"limit": 10}, {"stripe_account": COFFEE}).data
    stripe_client.v1.customers.update(copy.id, {"name": "Edited by hand"}, {"stripe_account": COFFEE})

    drift = repo.run("schedule")["drift"]

    assert [step.code for step in drift.steps] == [2]
    assert "~ update_share" in drift.steps[0].output


def test_a_large_apply_spreads_over_the_matrix_shards(
    github: Callable[..., GitHub], stripe_client: stripe.StripeClient
) -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    # Five runners for two accounts: bookshop falls in share 5, coffee in share 3, the others hold none.
    workflow["jobs"]["apply"]["strategy"]["matrix"]["shard"] = [f"{k}/5" for k in range(1, 6)]
    repo = github(workflow)
    repo.commit(ALICE_ONLY, "alice")
    repo.open_pull_request(6, MARKETPLACE)
    assert repo.run("pull_request", pull_request=6)["plan"].succeeded

    jobs = repo.run("push", sha=repo.merge(6))

    assert all(jobs[f"apply {index}"].succeeded for index in range(5))
    assert "Scope: 1 of 2 accounts (--shard 3/5)" in jobs["apply 2"].steps[0].output
    assert "--shard 1/5 covers none of the 2 accounts the file declares" in jobs["apply 0"].steps[0].output
    assert live_names(stripe_client, BOOKSHOP) == ["Alice Liddell"]
    assert live_names(stripe_client, COFFEE) == ["Alice Liddell", "Bob Builder"]
    assert live_names(stripe_client) == ["Alice Liddell", "Bob Builder"]  # one platform customer each
    assert repo.run("schedule")["drift"].succeeded
