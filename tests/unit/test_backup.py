"""backup.3-2-1: per declared path, a fresh local and a fresh offsite copy besides the host's
own; each way of falling short is an error naming the path and why."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from nixfleet.area import Context, Declared, Observed, Subjects
from nixfleet.areas import backup
from nixfleet.areas.restic import ResticJob, Snapshot
from nixfleet.checks import Severity
from nixfleet.probe import Unknown

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
PATHS = ["/home/alice/Documents", "/home/alice/.nb"]
DAILY = {"OnCalendar": "daily", "Persistent": True}


def declared(media: dict[str, str | None]) -> Declared:
    copies = {n: {"paths": PATHS, "timerConfig": DAILY, "media": m} for n, m in media.items()}
    restic = {n: {"paths": PATHS, "timerConfig": DAILY, "repository": f"r/{n}"} for n in media}
    return Declared.from_json({"backup": copies, "restic": restic})


def job(name: str, age: timedelta | None = timedelta(hours=2), state: str = "ok") -> ResticJob:
    snaps = () if age is None else (Snapshot(NOW - age, tuple(PATHS), "laptop", "a1b2c3d4"),)
    return ResticJob(name, state, repository=f"sftp:nas:/r/{name}", snapshots=snaps,
                     error="connection refused" if state == "unreachable" else "")  # fmt: skip


def run(media: dict[str, str | None], jobs: dict[str, ResticJob] | Unknown):  # type: ignore[no-untyped-def]
    s = Subjects(declared(media), Observed({"restic": jobs}), Context(host="laptop", now=NOW))
    return backup.three_two_one(s)


BOTH = {"documents-nas": "local", "documents-offsite": "offsite"}


def test_a_fresh_local_and_offsite_copy_hold_the_rule_for_every_path() -> None:
    check = run(BOTH, {n: job(n) for n in BOTH})
    assert check is not None and check.ok, check
    for path in PATHS:
        assert check.details[path]["copies"] == 3
        assert check.details[path]["media"] == ["device", "local", "offsite"]


def test_an_unreachable_offsite_is_an_error_for_every_path_saying_so() -> None:
    check = run(BOTH, {"documents-nas": job("documents-nas"),
                       "documents-offsite": job("documents-offsite", state="unreachable")})  # fmt: skip
    assert check is not None and not check.ok and check.severity is Severity.ERROR
    assert "cannot be reached" in check.message and "offsite" in check.message
    for path in PATHS:
        assert check.details[path]["copies"] == 2
        assert (
            "cannot be reached"
            in check.details[path]["repositories"]["documents-offsite"]["status"]
        )


def test_a_stale_offsite_copy_is_an_error() -> None:
    check = run(BOTH, {"documents-nas": job("documents-nas"),
                       "documents-offsite": job("documents-offsite", timedelta(days=3))})  # fmt: skip
    assert check is not None and not check.ok
    assert "no fresh offsite copy" in check.message and "3.0 d old" in check.message


def test_no_offsite_repository_at_all_is_an_error() -> None:
    check = run({"documents-nas": "local"}, {"documents-nas": job("documents-nas")})
    assert check is not None and not check.ok
    assert "has no offsite copy" in check.message


def test_a_repository_without_a_declared_medium_is_an_error() -> None:
    check = run({"documents-nas": "local", "documents-offsite": None},
                {n: job(n) for n in BOTH})  # fmt: skip
    assert check is not None and not check.ok and "declares no medium" in check.message


def test_restic_unread_is_an_error_naming_why() -> None:
    check = run(BOTH, Unknown("read the restic repositories", "timed out after 120 s"))
    assert check is not None and not check.ok
    assert check.message == "could not read the restic repositories: timed out after 120 s"


def test_a_host_without_backups_has_no_such_check() -> None:
    assert run({}, {}) is None
