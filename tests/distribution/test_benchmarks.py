"""benchmarks/run.py, the one command that prints every scale figure, runs from a fresh clone (tiny sizes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"
FIGURES = {
    "validate",
    "plan pipeline, converged",
    "plan pipeline, peak RSS",
    "observing at 200 ms a page",
    "CPU per page while observing",
    "apply at the ceiling, 150 ms an answer",
    "apply's memory while it runs",
    "plan CPU, from nothing, in memory",
    "plan CPU, converged, in memory",
    "Terraform-style refresh (a GET per object)",
    "curl flow (a token and a customer per pair, every run)",
}


def test_the_benchmark_prints_a_table_and_a_json_line_per_figure() -> None:
    done = subprocess.run(
        [sys.executable, str(RUN), "--customers", "300", "--accounts", "2", "--apply-customers", "3"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    table = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    figures = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert {figure["name"] for figure in figures} == FIGURES
    assert len(table) == len(FIGURES) + 1  # and its header
    # Memory growth may be nothing (or negative) over a run this short; every other figure is a positive amount.
    assert all(figure["value"] > 0 for figure in figures if figure["name"] != "apply's memory while it runs")
    assert all(set(figure) == {"name", "value", "unit", "peak_rss_mb"} for figure in figures)
