"""systemd.failed-units."""

from __future__ import annotations

from nixfleet.checks import Check, Problem, unreadable, verdict
from nixfleet.checks.context import Subjects


def owned_elsewhere(s: Subjects) -> set[str]:
    """Units another, more specific check reports, so one failure is not reported twice."""
    owned = {job.service for job in s.declared.restic.values()}
    if s.declared.syncthing:
        owned.add("syncthing.service")
    return owned


def failed_units(s: Subjects) -> Check:
    if bad := unreadable("systemd.failed-units", s.observed.failed_units):
        return bad
    ignored = (set() if s.context.gating else owned_elsewhere(s)) | s.context.failed_before
    failed = [u for u in s.observed.failed_units if u not in ignored]  # type: ignore[union-attr]
    problems = [Problem(u, f"{u} failed; see journalctl -u {u}") for u in failed]
    if len(failed) > 1:
        problems[0] = Problem(
            failed[0], f"units failed: {', '.join(failed)}; see journalctl -u {failed[0]}"
        )
        problems = problems[:1]
    return verdict("systemd.failed-units", problems, "no failed units", {"failed": failed})
