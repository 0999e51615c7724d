"""Hostile desired-state files: each is refused with its expected one-line message, in bounded memory.

The file comes from pull requests and `plan` runs on them, so `reconcile validate` (and `plan`) must
answer every input with positioned problems and exit 1: never a hang, a crash, a traceback or an
`unexpected` error. Memory is measured per process (its own VmHWM), not timed: CI machines are noisy.
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
from pathlib import Path

import pytest

from benchmarks.measured import Measured, run_reconcile

pytestmark = pytest.mark.reliability

HOSTILE = Path(__file__).parent / "hostile"
# Far above what refusing any of these files needs, far below what expanding one would take.
ADDRESS_SPACE_LIMIT = 512 * 1024 * 1024
ALIAS_BOMB = (
    "YAML aliases in this file stand for more than 100,000 values "
    "(the limit is 10x the values written out, or 100,000); an alias bomb is refused"
)

# The problems `validate` prints for each file of tests/reliability/hostile, in order.
EXPECTED: dict[str, list[str]] = {
    "billion_laughs_462.yaml": [f"10:8: f[0]: {ALIAS_BOMB}"],
    "billion_laughs_516.yaml": [f"10:8: f[0]: {ALIAS_BOMB}"],
    "mapping_bomb.yaml": [f"6:13: m5.a: {ALIAS_BOMB}"],
    "deep_flow.yaml": ["2:1007: invalid YAML: exceeded maximum nesting depth (while increasing flow level at line 2)"],
    "deep_block.yaml": ["66:129: owner[0]: collections nest deeper than 64 levels"],
    "bad_tags.yaml": [
        "1:10: version: invalid YAML: 'x' is not a valid !!int",
        "2:8: owner: invalid YAML: 'maybe' is not a valid !!bool",
        "3:7: mode: unsupported YAML tag !!timestamp (plain data only)",
        "5:9: accounts.shop: invalid YAML: 'ten' is not a valid !!float",
        "8:12: customers.alice.email: unsupported YAML tag !!binary (plain data only)",
        "9:11: customers.alice.name: unsupported YAML tag !vault (plain data only)",
        "10:18: customers.alice.description: unsupported YAML tag !!python/object/apply:os.system (plain data only)",
        "11:15: customers.alice.accounts: unsupported YAML tag !!set (plain data only)",
    ],
    "control_characters.yaml": [
        "2:12: character U+0000 is not allowed in YAML (a control character?); remove it",
        "4:28: character U+001B is not allowed in YAML (a control character?); remove it",
        "4:29: invalid YAML: did not find expected ',' or '}' (while parsing a flow mapping at line 4)",
        "6:20: character U+0007 is not allowed in YAML (a control character?); remove it",
    ],
    "huge_scalar.yaml": [
        "7:18: customers.alice.description: description is too long: 5000000 characters (Stripe allows at most 5000)"
    ],
    "huge_integer.yaml": [f"1:10: version: invalid YAML: '{'9' * 40}...' is not a valid !!int"],
    "recursive_alias.yaml": ["4:24: accounts.shop: recursive YAML alias is not supported"],
    "undefined_alias.yaml": ["2:8: owner: invalid YAML: found undefined alias 'nobody'"],
    "two_documents.yaml": [
        "3:1: invalid YAML: but found another document (expected a single document in the stream at line 1)"
    ],
    "tabs.yaml": [
        "3:1: invalid YAML: found character that cannot start any token "
        "(while scanning for the next token at line 3); YAML indents with spaces, not tabs"
    ],
    "not_utf8.yaml": ["2:11: the file is not UTF-8 text (invalid continuation byte at byte 21)"],
    "many_keys_one_line.yaml": [
        "5:36: customers.c0: duplicate key 'accounts': defined at line 5 and again at line 5",
        "5:78: customers.c1: duplicate key 'accounts': defined at line 5 and again at line 5",
        "5:120: customers.c2: duplicate key 'accounts': defined at line 5 and again at line 5",
    ],
}


def reconcile(*args: str, cwd: Path | None = None) -> Measured:
    """Run the CLI in its own process under an address-space cap, and measure its peak memory."""

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))

    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "400"}
    return run_reconcile(*args, env=env, cwd=cwd, preexec_fn=cap_memory)


# Files too large to keep in the repository: written by the test.
GENERATED: dict[str, str] = {
    "deep_flow.yaml": "version: 1\nowner: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "huge_integer.yaml": "version: " + "9" * 100_000 + "\nowner: acme\n",
    "huge_scalar.yaml": (
        "version: 1\nowner: acme\nmode: test\naccounts: {shop: acct_1ShopAAAAAAAAAAA}\n"
        "customers:\n  alice:\n    description: " + "x" * 5_000_000 + "\n    accounts: [shop]\n"
    ),
}


def test_the_corpus_is_complete() -> None:
    assert sorted([*(path.name for path in HOSTILE.glob("*.yaml")), *GENERATED]) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_hostile_file_is_refused_with_its_positioned_problems(name: str, tmp_path: Path) -> None:
    path = HOSTILE / name
    if name in GENERATED:
        path = tmp_path / name
        path.write_text(GENERATED[name])
    run = reconcile("validate", str(path))
    assert run.returncode == 1, run.stderr
    shown = str(path)
    assert run.stdout + run.stderr == "".join(f"{shown}:{line}\n" for line in EXPECTED[name]) + (
        f"error: {len(EXPECTED[name])} problem{'s' if len(EXPECTED[name]) > 1 else ''} found\n"
    )
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("name", ["billion_laughs_462.yaml", "billion_laughs_516.yaml", "mapping_bomb.yaml"])
def test_an_alias_bomb_is_refused_in_under_100_mb(name: str) -> None:
    run = reconcile("validate", str(HOSTILE / name))
    assert run.returncode == 1
    if sys.platform == "linux":  # VmHWM comes from /proc
        assert run.peak_rss_mb < 100, f"peak RSS {run.peak_rss_mb:.0f} MB"


def test_plan_refuses_an_alias_bomb_before_any_request(tmp_path: Path) -> None:
    bomb = tmp_path / "stripe.yaml"
    shutil.copy(HOSTILE / "billion_laughs_516.yaml", bomb)
    run = reconcile("plan", str(bomb), "--sandbox", cwd=tmp_path)
    assert run.returncode == 1
    assert ALIAS_BOMB in run.stdout + run.stderr
    assert not (tmp_path / ".reconcile").exists()  # not even the sandbox was started


def test_a_file_over_64_mib_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    huge = tmp_path / "stripe.yaml"
    with huge.open("w") as file:
        file.write("version: 1\n")
        line = "# " + "x" * 1021 + "\n"  # 1 KiB per line
        file.write(line * (65 * 1024))
    run = reconcile("validate", str(huge))
    assert run.returncode == 1
    assert run.stdout + run.stderr == (
        f"{huge}:65537:1014: the file is larger than the 64 MiB a desired-state file may be\nerror: 1 problem found\n"
    )
