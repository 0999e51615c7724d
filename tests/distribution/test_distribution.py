"""The distribution as users get it: build the sdist and the wheel, check them, run the wheel in a fresh venv.

Built without build isolation: `build` still checks that this environment has the build-system requirements
of pyproject.toml (setuptools, in the test extras), and skips downloading them into a new venv each time.
The fresh venv gets the wheel by file and, instead of a download of every dependency, links to exactly the
distributions the wheel's Requires-Dist pull in from this environment, so an import the wheel does not
declare fails there as it would for a user.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import reconcile

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
STEM = f"reconcile_stripe-{reconcile.__version__}"


def run(*args: str | Path, cwd: Path | None = None) -> str:
    """Run a command; its output, or a failure that shows it. No PYTHONPATH: the checkout stays out of reach."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    done = subprocess.run(
        [str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder `python -m build` wrote the sdist and the wheel to (the wheel is built from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT)
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    return dist / f"{STEM}-py3-none-any.whl"


@pytest.fixture(scope="module")
def sdist(dist: Path) -> Path:
    return dist / f"{STEM}.tar.gz"


def test_build_makes_one_sdist_and_one_wheel_under_the_pypi_name(dist: Path) -> None:
    assert PROJECT["name"] == reconcile.DISTRIBUTION == "reconcile-stripe"
    assert sorted(path.name for path in dist.iterdir()) == [f"{STEM}-py3-none-any.whl", f"{STEM}.tar.gz"]


def test_twine_check_passes_for_both(dist: Path, wheel: Path, sdist: Path) -> None:
    output = run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist)
    assert output.count("PASSED") == 2, output


def test_the_wheel_holds_the_package_and_its_data_and_declares_the_command(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = f"{STEM}.dist-info"
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
        wheel_metadata = archive.read(f"{info}/METADATA").decode()
    assert {"reconcile/cli.py", "reconcile/py.typed", "reconcile/schemas/reconcile.schema.json"} <= names
    assert {"reconcile/sandbox/server.py", "reconcile/sandbox/cards.py"} <= names
    assert {name.split("/")[0] for name in names} == {"reconcile", info}  # no tests, docs or benchmarks
    assert "[console_scripts]\nreconcile = reconcile.cli:main" in entry_points
    assert f"Name: reconcile-stripe\nVersion: {reconcile.__version__}\n" in wheel_metadata
    assert requires_dist(wheel_metadata) == sorted(str(Requirement(text)) for text in PROJECT["dependencies"])


def test_the_sdist_carries_the_tests_docs_examples_and_license(sdist: Path) -> None:
    with tarfile.open(sdist) as archive:
        names = {name.removeprefix(f"{STEM}/") for name in archive.getnames()}
    assert {"pyproject.toml", "README.md", "LICENSE", "reconcile/schemas/reconcile.schema.json"} <= names
    assert {"tests/conftest.py", "docs/plan-format.md", "examples/marketplace.yaml"} <= names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_the_wheel_installed_by_file_in_a_fresh_venv_runs(wheel: Path, tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "venv")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "--quiet", wheel)
    link_dependencies(wheel, python, tmp_path / "dependencies")
    bin_dir = python.parent

    assert run(bin_dir / "reconcile", "--version", cwd=tmp_path) == f"reconcile-stripe {reconcile.__version__}\n"
    where = run(python, "-c", "import reconcile; print(reconcile.__file__)", cwd=tmp_path)
    assert Path(where.strip()).is_relative_to(tmp_path / "venv")  # the wheel's code, not the checkout's
    # The schema travels as package data: validate reads it from the installed package.
    assert "valid (" in run(bin_dir / "reconcile", "validate", ROOT / "examples" / "marketplace.yaml", cwd=tmp_path)
    run(sys.executable, "-m", "pip", "--python", python, "check")  # every Requires-Dist is met


def fresh_venv(folder: Path) -> Path:
    """A new venv without pip (pip runs from this environment with --python): its interpreter."""
    run(sys.executable, "-m", "venv", "--without-pip", folder)
    return folder / "bin" / "python"


def link_dependencies(wheel: Path, python: Path, folder: Path) -> None:
    """Make the wheel's runtime dependencies, and theirs, importable in the venv of ``python``, and nothing else."""
    folder.mkdir()
    with zipfile.ZipFile(wheel) as archive:
        wanted = requires_dist(archive.read(f"{STEM}.dist-info/METADATA").decode())
    for distribution in runtime_closure(wanted):
        base = Path(str(distribution.locate_file("")))
        for top in {Path(str(file)).parts[0] for file in distribution.files or ()}:
            # Scripts are recorded as ../../bin/…; __pycache__ of single-module distributions is shared.
            if top not in ("..", "__pycache__") and not (folder / top).exists():
                (folder / top).symlink_to(base / top)
    site_packages = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip()
    (Path(site_packages) / "dependencies.pth").write_text(f"{folder}\n", encoding="utf-8")


def runtime_closure(requirements: list[str]) -> Iterator[metadata.Distribution]:
    """The installed distributions that ``requirements`` need on this platform, transitively, each once."""
    seen: set[str] = set()
    pending = [Requirement(text) for text in requirements]
    while pending:
        requirement = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        distribution = metadata.distribution(name)
        yield distribution
        pending += [Requirement(text) for text in distribution.requires or ()]


def requires_dist(core_metadata: str) -> list[str]:
    """The Requires-Dist of a METADATA file but the extras' (the tests'), each as packaging spells it."""
    prefix = "Requires-Dist: "
    lines = [line.removeprefix(prefix) for line in core_metadata.splitlines() if line.startswith(prefix)]
    return sorted(str(Requirement(line)) for line in lines if "extra ==" not in line)
