"""The pre-commit hook this repository provides: a valid manifest, and the files it picks validated at once."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from identify.identify import tags_from_filename

from tests.support import MARKETPLACE

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / ".pre-commit-hooks.yaml"


def hook() -> dict[str, Any]:
    hooks: list[dict[str, Any]] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    [only] = hooks
    return only


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_pre_commit_accepts_the_manifest() -> None:
    done = run([sys.executable, "-m", "pre_commit", "validate-manifest", str(MANIFEST)], cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert hook()["id"] == "reconcile-validate"


def test_the_hook_picks_desired_state_files_and_leaves_other_yaml_alone() -> None:
    files, types = hook()["files"], set(hook()["types"])
    paths = ["stripe.yaml", "infra/stripe.yml", ".github/workflows/ci.yml", ".gitlab-ci.yml", "stripe.yaml.orig"]
    # pre-commit's selection: the `files` pattern searched in the path, and every tag of `types` on the file.
    picked = [path for path in paths if re.search(files, path) and types <= tags_from_filename(path)]
    assert picked == ["stripe.yaml", "infra/stripe.yml"]


def test_the_hook_validates_all_the_files_it_is_given_and_fails_if_one_fails(tmp_path: Path) -> None:
    (tmp_path / "infra").mkdir()
    (tmp_path / "stripe.yaml").write_text(MARKETPLACE, encoding="utf-8")
    broken = tmp_path / "infra" / "stripe.yml"
    broken.write_text(MARKETPLACE.replace("tok_mastercard", "tok_nope"), encoding="utf-8")
    # As pre-commit runs a python hook: the entry, from the environment it installed the repository into.
    program, *arguments = shlex.split(hook()["entry"])
    command = [str(Path(sys.executable).parent / program), *arguments, "stripe.yaml", "infra/stripe.yml"]

    failed = run(command, cwd=tmp_path)

    assert failed.returncode == 1
    assert failed.stdout == "stripe.yaml: valid (2 customers, 2 accounts, 3 shares)\n"
    assert failed.stderr.startswith("infra/stripe.yml:")
    assert "invalid test token 'tok_nope'" in failed.stderr
    assert failed.stderr.endswith("error: 1 problem found in 1 of 2 files\n")
    broken.write_text(MARKETPLACE, encoding="utf-8")
    assert run(command, cwd=tmp_path).returncode == 0
