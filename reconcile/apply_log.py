"""``apply --log-format json``: one JSON object per line on stdout, as ``terraform apply -json`` does.

Three types, each with ``type`` and ``@timestamp`` (UTC, ISO 8601):
- ``planned``: once, before anything is written: the digest, the summary counts, the scope, conflicts, unsafe;
- ``action``: once per finished action: kind, customer key, account, outcome, object id, error, request id;
- ``applied``: once at the end: complete, the counts per outcome, requests, seconds, interrupted.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any, TextIO

from reconcile.plan import Plan
from reconcile.report import ActionResult, ApplyReport


class JsonLog:
    """Writes whole lines under a lock: results arrive from the apply's worker threads."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def planned(self, plan: Plan) -> None:
        self._write(
            "planned",
            {
                "digest": f"sha256:{plan.digest}",
                "summary": plan.summary_counts(),
                "actions": len(plan.actions),
                "conflicts": len(plan.conflicts),
                "unsafe": list(plan.unsafe),
                "scope": plan.scope.to_json() if plan.scope else None,
            },
        )

    def action(self, result: ActionResult) -> None:
        self._write("action", result.to_json())

    def applied(self, report: ApplyReport) -> None:
        self._write("applied", report.totals())

    def _write(self, kind: str, fields: dict[str, Any]) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        line = json.dumps({"type": kind, "@timestamp": stamp, **fields}, ensure_ascii=False)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()
