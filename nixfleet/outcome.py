"""What a whole deploy came to, as one exit code (``nixfleet deploy``).

| code | meaning |
|---|---|
| 0 | every host switched or was unchanged, and its verification found no error |
| 1 | a tool or usage error stopped the run (no report) |
| 2 | some hosts failed, or refused the connection (host key or authentication) |
| 3 | some hosts rolled back, none failed |
| 4 | deployed, but the verification after it found error-severity findings |
| 5 | only offline hosts were left out (deferred) |
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

OK, TOOL_ERROR, FAILED, ROLLED_BACK, VERIFY_FAILED, OFFLINE_ONLY = 0, 1, 2, 3, 4, 5


def exit_code(report: Mapping[str, Any] | None) -> int:
    """The exit code for a run report (table above); the worst outcome wins.

    >>> exit_code({"hosts": {"a": {"status": "switched"}, "b": {"status": "offline"}}})
    5
    >>> exit_code({"hosts": {"a": {"status": "rolled-back"}, "b": {"status": "failed"}}})
    2
    >>> exit_code({"hosts": {"a": {"status": "refused"}}})
    2
    >>> exit_code({"hosts": {"a": {"status": "switched"}}, "verify": {"hosts": {"a": {"ok": False}}}})
    4
    """
    if not report:
        return TOOL_ERROR
    statuses = {h["status"] for h in report.get("hosts", {}).values()}
    if statuses & {"failed", "refused"}:
        return FAILED
    if "rolled-back" in statuses:
        return ROLLED_BACK
    verified = (report.get("verify") or {}).get("hosts", {})
    if any(not v.get("ok", False) for v in verified.values()):
        return VERIFY_FAILED
    if "offline" in statuses:
        return OFFLINE_ONLY
    return OK
