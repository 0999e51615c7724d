"""Just enough of GitHub Actions to run examples/ci/github-actions.yml as written, against the sandbox.

The workflow's `run:` steps are executed by bash as a runner does (`bash --noprofile --norc -eo pipefail`),
in a scratch git repository that plays the checkout, with:
- `env:` (workflow, job, step) passed with their `${{ name }}` expressions resolved from the run's context
  (secrets, the event, step and job outputs, the matrix); an expression this harness does not know fails;
- step `if:` conditions of the forms the workflow uses (`!cancelled()`, `always()`, `hashFiles('f') != ''`,
  joined by `&&`); without a status function a step runs only while the job has not failed;
- `$GITHUB_OUTPUT` collected into step outputs, and the job's `outputs:` resolved from them;
- `uses:` steps skipped (checkout: the repository is the working folder; setup-python: this Python), as is
  `pip install "$RECONCILE"`: the reconcile under test is on PATH instead.

GitHub's API is a fake `gh` (fake_gh.py) over a JSON file of pull requests and comments.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "ci" / "github-actions.yml"
REPOSITORY = "acme/platform"
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_SKIPPED_RUN = 'pip install "$RECONCILE"'


@dataclass
class StepRun:
    name: str
    code: int
    output: str


@dataclass
class JobRun:
    name: str
    steps: list[StepRun] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return all(step.code == 0 for step in self.steps)

    def step(self, fragment: str) -> StepRun:
        """The step whose script contains ``fragment``."""
        (found,) = [step for step in self.steps if fragment in step.name]
        return found


class GitHub:
    """A repository, its pull requests and comments, and the workflow's jobs run on its events."""

    def __init__(self, root: Path, *, api_base: str, api_key: str, workflow: Mapping[str, Any] | None = None) -> None:
        self.root = root / "repo"
        self.root.mkdir()
        self.state = root / "github.json"
        self.state.write_text(json.dumps({"pulls": [], "comments": {}, "next_id": 1}))
        self.workflow: Mapping[str, Any] = workflow or yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
        tools = root / "bin"
        tools.mkdir()
        gh = tools / "gh"
        gh.write_text(f"#!{sys.executable}\n" + (Path(__file__).parent / "fake_gh.py").read_text(encoding="utf-8"))
        gh.chmod(0o755)
        reconcile = shutil.which("reconcile", path=str(Path(sys.executable).parent))
        assert reconcile, "the reconcile command is installed beside this Python (pip install -e .)"
        self.env = {
            "PATH": os.pathsep.join([str(tools), str(Path(reconcile).parent), os.environ.get("PATH", "")]),
            "HOME": str(root),
            "LANG": "C.UTF-8",
            "NO_COLOR": "1",
            "FAKE_GITHUB_STATE": str(self.state),
            "GITHUB_REPOSITORY": REPOSITORY,
            # Stands in for api.stripe.com: the workflow itself never names a server.
            "STRIPE_API_BASE": api_base,
        }
        self.secrets = {"STRIPE_API_KEY": api_key}
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", "ci@example.com")
        self.git("config", "user.name", "CI")

    # -- the repository and its pull requests --------------------------------------------------------

    def git(self, *args: str) -> str:
        done = subprocess.run(["git", *args], cwd=self.root, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    def commit(self, text: str, message: str) -> str:
        (self.root / "stripe.yaml").write_text(text, encoding="utf-8")
        self.git("add", "stripe.yaml")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def open_pull_request(self, number: int, text: str) -> None:
        self.git("checkout", "-q", "-b", f"pr-{number}", "main")
        self.commit(text, f"change #{number}")

    def merge(self, number: int) -> str:
        """Merge the pull request into main, as the merge button does; the merge commit's sha."""
        self.git("checkout", "-q", "main")
        self.git("merge", "-q", "--no-ff", f"pr-{number}", "-m", f"Merge pull request #{number}")
        sha = self.git("rev-parse", "HEAD")
        state = self.github()
        state["pulls"].append({"number": number, "merge_commit_sha": sha, "merged_at": "2026-12-04T06:00:00Z"})
        self.state.write_text(json.dumps(state))
        return sha

    def github(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.state.read_text())
        return loaded

    def comments(self, number: int) -> list[str]:
        return [comment["body"] for comment in self.github()["comments"].get(str(number), [])]

    # -- the workflow's jobs -------------------------------------------------------------------------

    def jobs_for(self, event: str) -> list[str]:
        """The jobs an event starts, by their `if: github.event_name == '...'`, with those that need them."""
        started = [
            name for name, job in self.workflow["jobs"].items() if job.get("if") == f"github.event_name == '{event}'"
        ]
        needing = [name for name, job in self.workflow["jobs"].items() if set(_listed(job.get("needs"))) & set(started)]
        return started + needing

    def run(self, event: str, *, sha: str | None = None, pull_request: int | None = None) -> dict[str, JobRun]:
        """Run the jobs of one event in order; a job whose needs failed is not run (as on GitHub)."""
        context: dict[str, str] = {"github.token": "ghs_fake", "github.event_name": event}
        context |= {f"secrets.{name}": value for name, value in self.secrets.items()}
        if pull_request is not None:
            context["github.event.number"] = str(pull_request)
        env = dict(self.env, GITHUB_EVENT_NAME=event, GITHUB_SHA=sha or self.git("rev-parse", "HEAD"))
        env |= _resolved(self.workflow.get("env", {}), context)
        runs: dict[str, JobRun] = {}
        for name in self.jobs_for(event):
            job = self.workflow["jobs"][name]
            needs = _listed(job.get("needs"))
            if not all(runs[need].succeeded for need in needs):
                continue
            needed = {
                f"needs.{need}.outputs.{key}": value for need in needs for key, value in runs[need].outputs.items()
            }
            matrix = job.get("strategy", {}).get("matrix", {})
            cells = [dict(zip(matrix, values, strict=True)) for values in zip(*matrix.values(), strict=True)] or [{}]
            for index, cell in enumerate(cells):
                cell_context = context | needed | {"strategy.job-index": str(index)}
                cell_context |= {f"matrix.{key}": str(value) for key, value in cell.items()}
                runs[name if len(cells) == 1 else f"{name} {index}"] = self._job(name, job, env, cell_context)
        return runs

    def _job(self, name: str, job: Mapping[str, Any], env: dict[str, str], context: dict[str, str]) -> JobRun:
        run = JobRun(name)
        env = env | _resolved(job.get("env", {}), context)
        for number, step in enumerate(job["steps"]):
            if "uses" in step or step["run"].strip() == _SKIPPED_RUN:
                continue
            if not _should_run(step.get("if"), failed=not run.succeeded, root=self.root):
                continue
            outputs = self.root.parent / f"output-{name}-{number}"
            outputs.write_text("")
            step_env = env | _resolved(step.get("env", {}), context) | {"GITHUB_OUTPUT": str(outputs)}
            script = self.root.parent / "step.sh"
            script.write_text(step["run"], encoding="utf-8")
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=self.root,
                env=step_env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            run.steps.append(StepRun(step.get("name", step["run"]), done.returncode, done.stdout + done.stderr))
            if step.get("id"):
                for line in outputs.read_text().splitlines():
                    key, _, value = line.partition("=")
                    context[f"steps.{step['id']}.outputs.{key}"] = value
        run.outputs = _resolved(job.get("outputs", {}), context)
        return run


def _listed(value: str | list[str] | None) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def _resolved(values: Mapping[str, Any], context: Mapping[str, str]) -> dict[str, str]:
    """``env:`` or ``outputs:`` with each ``${{ name }}`` replaced; an unknown name is a KeyError."""
    return {
        key: _EXPRESSION.sub(lambda found: _value(found.group(1), context), str(value)) for key, value in values.items()
    }


def _value(name: str, context: Mapping[str, str]) -> str:
    # An output a step or job did not set is empty on GitHub; any other unknown name is this harness's gap.
    if re.fullmatch(r"(steps|needs)\.[\w-]+\.outputs\.[\w-]+", name):
        return context.get(name, "")
    return context[name]


def _should_run(condition: str | None, *, failed: bool, root: Path) -> bool:
    if condition is None:
        return not failed
    terms = [term.strip() for term in _EXPRESSION.sub(r"\1", condition).split("&&")]
    status = False
    verdict = True
    for term in terms:
        if term in ("!cancelled()", "always()"):
            status = True
        elif found := re.fullmatch(r"hashFiles\('([^']+)'\) != ''", term):
            verdict = verdict and any(root.glob(found.group(1)))
        else:
            raise AssertionError(f"this harness cannot evaluate the condition {term!r}")
    return verdict and (status or not failed)
