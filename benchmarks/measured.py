"""The reconcile CLI in a process of its own, measured: wall time, CPU time and peak memory.

Peak memory is the process's own VmHWM, which it writes as it exits: the high-water mark of the image after
exec. ``ru_maxrss`` (os.wait4) also counts the pages a forked child shares with its parent until exec, so it
reports at least the parent's size (a large benchmark, or pytest), whatever the command. Used by
benchmarks/run.py and by the hostile-file tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

_MEASURED_CLI = """
import atexit, os, runpy, sys
def peak():
    try:
        status = open("/proc/self/status")
    except OSError:
        return  # not Linux: no figure
    with status, open(os.environ["PEAK_RSS_FILE"], "w") as out:
        out.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
atexit.register(peak)
sys.argv = ["reconcile", *sys.argv[1:]]
runpy.run_module("reconcile", run_name="__main__")
"""


@dataclass(frozen=True)
class Measured:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    cpu: float  # user + system seconds
    peak_rss_mb: float  # infinite when there is no figure: a crash before the exit handlers, or not Linux
    rss_samples: list[tuple[float, float]] = field(default_factory=list)  # (seconds in, MB), if asked for


def _sample_rss(pid: int, every: float, samples: list[tuple[float, float]], started: float) -> None:
    """VmRSS of ``pid`` every ``every`` seconds until it exits (or, not on Linux, nothing)."""
    while True:
        try:
            with open(f"/proc/{pid}/status") as status:
                kb = next((line.split()[1] for line in status if line.startswith("VmRSS:")), None)
        except OSError:
            return
        if kb is None:  # a zombie: it has exited
            return
        samples.append((time.monotonic() - started, int(kb) / 1024))
        time.sleep(every)


def run_reconcile(
    *args: str,
    env: Mapping[str, str],
    cwd: Path | None = None,
    preexec_fn: Callable[[], None] | None = None,
    sample_every: float | None = None,
) -> Measured:
    """``reconcile ARGS`` in a child process, reaped with os.wait4 for its CPU time.

    ``sample_every``: also record its resident memory every so many seconds, to see whether it stays flat.
    """
    samples: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as scratch:
        out, err, peak = (Path(scratch) / name for name in ("out", "err", "peak"))
        with out.open("w") as stdout, err.open("w") as stderr:
            started = time.monotonic()
            process = subprocess.Popen(
                [sys.executable, "-c", _MEASURED_CLI, *args],
                env={**env, "PEAK_RSS_FILE": str(peak)},
                stdout=stdout,
                stderr=stderr,
                cwd=cwd,
                preexec_fn=preexec_fn,
            )
            if sample_every is not None:
                sampler = threading.Thread(
                    target=_sample_rss, args=(process.pid, sample_every, samples, started), daemon=True
                )
                sampler.start()
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait for it again
        return Measured(
            returncode=process.returncode,
            stdout=out.read_text(),
            stderr=err.read_text(),
            seconds=seconds,
            cpu=usage.ru_utime + usage.ru_stime,
            peak_rss_mb=int(peak.read_text()) / 1024 if peak.exists() else float("inf"),
            rss_samples=samples,
        )
