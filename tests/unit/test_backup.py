"""backup.3-2-1: per declared path, a fresh local and a fresh offsite copy besides the host's
own; each way of falling short is an error naming the path and why."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from nixfleet.area import Context, Declared, Observed, Subjects
from nixfleet.areas import backup
from nixfleet.areas.restic import ResticJob, Snapshot
from nixfleet.checks import Severity
from nixfleet.probe import Reply, Unknown

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


def drills(**last: tuple[str | None, str | None]) -> object:
    """Records as drills.sh prints them: job -> (last_result, last_success age in hours)."""
    out = b""
    for job, (result, hours) in last.items():
        out += f"job={job}\0".encode()
        if result is None:
            out += b"none=yes\0"
            continue
        when = "" if hours is None else str(int((NOW - timedelta(hours=float(hours))).timestamp()))
        out += (
            f"last_run={int(NOW.timestamp())}\0last_result={result}\0last_success={when}\0".encode()
        )
    return backup.DRILLS.value(Reply("drills", 0, out))


def drill_check(observed: object):  # type: ignore[no-untyped-def]
    s = Subjects(declared(BOTH), Observed({"drills": observed}), Context(host="laptop", now=NOW))
    return backup.restore_drill(s)


def test_recent_successful_drills_pass_and_give_the_metric() -> None:
    read = drills(**{"documents-nas": ("ok", "2"), "documents-offsite": ("ok", "30")})
    assert drill_check(read).ok
    s = Subjects(declared(BOTH), Observed({"drills": read}), Context(host="laptop", now=NOW))
    got = {(m.name, m.labels["backup"]): m.value for m in backup.metrics(s)}
    last = "nixfleet_restore_drill_last_success_timestamp_seconds"
    assert got[last, "documents-nas"] == (NOW - timedelta(hours=2)).timestamp()
    assert got["nixfleet_restore_drill_max_age_seconds", "documents-nas"] == 7 * 86400


def test_the_limits_the_alert_rules_compare_with_are_metrics_even_when_nothing_was_read() -> None:
    unread = Unknown("read the restore drills", "exit status 1")
    s = Subjects(declared(BOTH), Observed({"drills": unread}), Context(host="laptop", now=NOW))
    got = {(m.name, m.labels["backup"]): m for m in backup.metrics(s)}
    daily = got["nixfleet_backup_max_age_seconds", "documents-offsite"]
    assert daily.value == 26 * 3600 and daily.labels["media"] == "offsite"
    assert not any(name.endswith("last_success_timestamp_seconds") for name, _ in got)


def test_an_old_or_failed_or_missing_drill_is_an_error() -> None:
    stale = drill_check(
        drills(**{"documents-nas": ("ok", "200"), "documents-offsite": ("ok", "1")})
    )
    assert not stale.ok and stale.severity is Severity.ERROR
    assert "was 8.3 d ago (limit 7.0 d)" in stale.message
    # A failed last drill fails the check even right after a success: the backup may not restore.
    failed = drill_check(
        drills(**{"documents-nas": ("failed", "1"), "documents-offsite": ("ok", "1")})
    )
    assert not failed.ok and "the last restore drill of documents-nas (" in failed.message
    never = drill_check(drills(**{"documents-nas": (None, None), "documents-offsite": ("ok", "1")}))
    assert not never.ok and "no restore drill of documents-nas has run yet" in never.message
    assert never.details["documents-offsite"]["last_result"] == "ok"


def test_an_unreadable_drill_record_is_an_error_saying_why() -> None:
    bad = backup.DRILLS.value(
        Reply("drills", 0, b"job=documents-nas\0file.rc=1\0file.err=Permission denied\0file.out=\0")
    )
    check = drill_check(bad)
    assert not check.ok and "could not read the restore drills' outcomes" in check.message
    assert "Permission denied" in check.message


def test_a_drill_names_the_job_and_what_did_not_restore() -> None:
    from nixfleet import drill

    out = (b"job=media-nas\0snapshot=ab12cd34\0file=/var/lib/immich/a.jpg\0verdict=missing\0"
           b"restore.rc=1\0restore.err=Fatal: pack 3f2e not found\0restore.out=\0"
           b"result=failed\0reason=restored files are missing or differ from the live ones\0")  # fmt: skip
    got = drill.results({"drill_media_nas": Reply("drill_media_nas", 0, out)}, ["media-nas"])
    assert [r.job for r in got] == ["media-nas"] and not got[0].ok
    assert "/var/lib/immich/a.jpg: missing" in got[0].reason
    assert "restic restore: Fatal: pack 3f2e not found" in got[0].reason
    silent = drill.results({}, ["documents-nas"])[0]
    assert not silent.ok and "did not finish" in silent.reason


def test_a_prune_only_job_is_no_copy_and_has_no_snapshots_of_its_own_to_read() -> None:
    """The nas's retention of a client's offsite copy: restic.last-run covers its unit, but it
    backs up nothing, so it is neither a copy for 3-2-1 nor read for snapshots and locks."""
    from nixfleet.areas import restic

    name = "retention-laptop-documents-offsite"
    prune = {name: {"paths": [], "timerConfig": DAILY, "repository": "r/x"}}
    d = Declared.from_json({"backup": prune, "restic": prune})
    assert d[backup.AREA] == {} and not d[restic.AREA][name].backs_up
    s = Subjects(d, Observed({}), Context(host="nas", now=NOW))  # nothing was read
    assert restic.snapshot_age(s) is None and restic.repo_locked(s) is None
    assert restic.metrics(s) == []
    parts = restic.AREA.reads(d[restic.AREA], s.context)
    assert restic.JOBS.key not in [p.key for p in parts if p is not None]
    assert [p for p in parts if p is not None]  # its timer and unit are still read
