"""What a whole deploy came to, as one exit code (``nixfleet deploy``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

OK, TOOL_ERROR, FAILED, ROLLED_BACK, OFFLINE_ONLY = 0, 1, 2, 3, 5


def exit_code(report: Mapping[str, Any] | None) -> int:
    """0 all ok or unchanged; 2 some hosts failed; 3 some rolled back, none failed; 5 only
    offline hosts were left out; 1 no report (a tool or usage error stopped the run).

    >>> exit_code({"hosts": {"a": {"status": "switched"}, "b": {"status": "offline"}}})
    5
    >>> exit_code({"hosts": {"a": {"status": "rolled-back"}, "b": {"status": "failed"}}})
    2
    """
    if not report:
        return TOOL_ERROR
    statuses = {h["status"] for h in report.get("hosts", {}).values()}
    if "failed" in statuses:
        return FAILED
    if "rolled-back" in statuses:
        return ROLLED_BACK
    if "offline" in statuses:
        return OFFLINE_ONLY
    return OK
