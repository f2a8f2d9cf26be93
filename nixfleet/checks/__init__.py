"""Checks: where what a host holds (observed) is judged against what its flake declares.

Every check has a stable id, ``ok``, a severity (``error`` or ``warn``), a one-line message
saying what to do, and details. One check id covers all of its subjects on a host (every folder,
every job…): it fails if any subject does, with the worst severity among them. A subject the
host does not declare is not checked at all. A check that needs a read that did not happen
fails at severity error, saying what could not be read and why (:func:`unreadable`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from nixfleet.probe import Unknown


class Severity(str, enum.Enum):
    ERROR = "error"
    WARN = "warn"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one subject of a check."""

    subject: str
    message: str
    severity: Severity = Severity.ERROR


@dataclass(frozen=True)
class Check:
    id: str
    ok: bool
    severity: Severity
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ok": self.ok,
            "severity": self.severity.value,
            "message": self.message,
            "details": self.details,
        }


def verdict(
    check_id: str,
    problems: list[Problem],
    ok_message: str,
    details: dict[str, Any] | None = None,
    severity: Severity = Severity.ERROR,
) -> Check:
    """Fold a check's problems into one result: the first problem's message, the worst severity.

    >>> verdict("x.y", [], "all good").ok
    True
    >>> c = verdict("x.y", [Problem("a", "a is bad", Severity.WARN), Problem("b", "b is worse")], "")
    >>> (c.ok, c.severity.value, c.message)
    (False, 'error', 'b is worse (and 1 more)')
    """
    details = dict(details or {})
    if not problems:
        return Check(check_id, True, severity, ok_message, details)
    worst = Severity.ERROR if any(p.severity is Severity.ERROR for p in problems) else Severity.WARN
    first = next(p for p in problems if p.severity is worst)
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    details["problems"] = [
        {"subject": p.subject, "message": p.message, "severity": p.severity.value} for p in problems
    ]
    return Check(check_id, False, worst, first.message + more, details)


def unreadable(
    check_id: str, *reads: object, details: dict[str, Any] | None = None
) -> Check | None:
    """The failed check for reads that did not happen (any :class:`Unknown` among ``reads``),
    or None when every read happened.

    >>> unreadable("network.exposed-ports", (), Unknown("list listening sockets", "ss: not found")).message
    'could not list listening sockets: ss: not found'
    >>> unreadable("x.y", ()) is None
    True
    """
    unknowns = [r for r in reads if isinstance(r, Unknown)]
    if not unknowns:
        return None
    more = f" (and {len(unknowns) - 1} more)" if len(unknowns) > 1 else ""
    info = {**(details or {}), "unknown": [str(u) for u in unknowns]}
    return Check(check_id, False, Severity.ERROR, str(unknowns[0]) + more, info)


def unread_problem(
    subject: str, what: str, unread: dict[str, str], needs: tuple[str, ...]
) -> Problem | None:
    """An error problem when any read in ``needs`` is in ``unread`` (read name -> why)."""
    missed = [unread[n] for n in needs if n in unread]
    if not missed:
        return None
    more = f" (and {len(missed) - 1} more)" if len(missed) > 1 else ""
    return Problem(subject, f"could not read {what}: {missed[0]}{more}")
