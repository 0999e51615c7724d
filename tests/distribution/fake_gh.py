"""A fake `gh`: the calls examples/ci/github-actions.yml makes, over a JSON file ($FAKE_GITHUB_STATE).

- gh pr comment N --body-file F
- gh api repos/OWNER/REPO/issues/N/comments [--paginate] [--jq EXPR]
- gh api repos/OWNER/REPO/commits/SHA/pulls [--jq EXPR]
- gh api --method PATCH repos/OWNER/REPO/issues/comments/ID -F body=@F

--jq is applied by jq, as gh applies it (raw strings). Any other call exits 2, so a workflow that starts
using more of gh fails its test rather than passing on a call nobody emulated.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

STATE = Path(os.environ["FAKE_GITHUB_STATE"])


def main(args: list[str]) -> int:
    state = json.loads(STATE.read_text())
    if args[:2] == ["pr", "comment"] and "--body-file" in args:
        body = Path(args[args.index("--body-file") + 1]).read_text()
        _add_comment(state, args[2], body)
        return 0
    if args[:1] == ["api"]:
        return _api(state, args[1:])
    sys.stderr.write(f"fake gh: unsupported call: gh {' '.join(args)}" + "\n")
    return 2


def _api(state: dict, args: list[str]) -> int:
    method, jq, fields, paths = "GET", None, {}, []
    rest = iter(args)
    for arg in rest:
        if arg == "--method":
            method = next(rest)
        elif arg == "--jq":
            jq = next(rest)
        elif arg == "-F":
            key, _, value = next(rest).partition("=")
            fields[key] = Path(value[1:]).read_text() if value.startswith("@") else value
        elif arg == "--paginate":
            pass
        else:
            paths.append(arg)
    (path,) = paths
    if method == "GET" and (found := re.fullmatch(r"repos/[^/]+/[^/]+/issues/(\d+)/comments", path)):
        return _print(state["comments"].get(found.group(1), []), jq)
    if method == "GET" and (found := re.fullmatch(r"repos/[^/]+/[^/]+/commits/([0-9a-f]+)/pulls", path)):
        return _print([pr for pr in state["pulls"] if pr["merge_commit_sha"] == found.group(1)], jq)
    if method == "PATCH" and (found := re.fullmatch(r"repos/[^/]+/[^/]+/issues/comments/(\d+)", path)):
        for comments in state["comments"].values():
            for comment in comments:
                if comment["id"] == int(found.group(1)):
                    comment["body"] = fields["body"]
                    STATE.write_text(json.dumps(state))
                    return _print(comment, None)
        sys.stderr.write("fake gh: HTTP 404: Not Found" + "\n")
        return 1
    sys.stderr.write(f"fake gh: unsupported call: gh api {' '.join(args)}" + "\n")
    return 2


def _add_comment(state: dict, number: str, body: str) -> None:
    comment = {"id": state["next_id"], "body": body, "user": {"login": "github-actions[bot]"}}
    state["next_id"] += 1
    state["comments"].setdefault(number, []).append(comment)
    STATE.write_text(json.dumps(state))


def _print(data: object, jq: str | None) -> int:
    if jq is None:
        sys.stdout.write(json.dumps(data) + "\n")
        return 0
    done = subprocess.run(["jq", "-r", jq], input=json.dumps(data), capture_output=True, text=True, check=False)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    return done.returncode


sys.exit(main(sys.argv[1:]))
