"""restic.timer, restic.last-run, restic.snapshot-age and restic.repo-locked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from nixfleet import schedule
from nixfleet.checks import Check, Problem, Severity, unreadable, verdict
from nixfleet.checks.context import Subjects
from nixfleet.declared import ResticJob as ResticJobDecl
from nixfleet.observed.restic import newest_covering
from nixfleet.observed.systemd import UnitStatus
from nixfleet.probe import Unknown

STALE_LOCK = timedelta(minutes=30)  # restic's own staleLockTimeout
STATES = {
    "wrong-password": "the password file does not open the repository (wrong password)",
    "missing-repository": "there is no repository at {repo}; initialise it (restic init) or fix the path",
    "unreachable": "the repository {repo} is unreachable; is the backup target up and reachable?",
    "no-password-file": "the password file {pwf} is missing; redeploy (sops-nix installs it)",
    "not-configured": "the job's unit is not on the host; deploy it",
    "not-installed": "restic is not installed",
    "error": "restic failed to read {repo}: {error}",
}


def _jobs(s: Subjects):  # type: ignore[no-untyped-def]
    return sorted(s.declared.restic.items())


def timer(s: Subjects) -> Check | None:
    jobs = [(n, j) for n, j in _jobs(s) if j.timer]
    if not jobs:
        return None
    if bad := unreadable("restic.timer", s.observed.timers, s.observed.units):
        return bad
    assert not isinstance(s.observed.timers, Unknown) and not isinstance(s.observed.units, Unknown)
    timers = {t.unit: t for t in s.observed.timers}
    problems, details = [], {}
    for name, job in jobs:
        t = timers.get(job.timer_unit)
        status = s.observed.units.get(job.timer_unit)
        active = status.active_state if status else ""
        details[name] = {"unit": job.timer_unit, "active": active,
                         "next_us": t.next_us if t else None, "last_us": t.last_us if t else None}  # fmt: skip
        if t is None or (status and status.load_state != "loaded"):
            problems.append(Problem(name, f"{job.timer_unit} is not loaded; deploy the host"))
        elif (status and active != "active") or (t.next_us is None and not _triggered(status)):
            problems.append(Problem(name, f"{job.timer_unit} is {active or 'not scheduled'}; "
                                          f"start it: systemctl start {job.timer_unit}"))  # fmt: skip
    return verdict("restic.timer", problems, "backup timers are scheduled", details)


def _triggered(status: UnitStatus | None) -> bool:
    """A timer whose service is running right now shows no next elapse."""
    return bool(status and status.sub_state == "running")


def _first_run_pending(s: Subjects, job: ResticJobDecl) -> bool:
    """The job has not completed a run yet: its first backup is scheduled or under way. Told
    from the timer's recorded last trigger and the unit's state; unknown reads say "no"."""
    if isinstance(s.observed.timers, Unknown) or isinstance(s.observed.units, Unknown):
        return False
    timer = next((t for t in s.observed.timers if t.unit == job.timer_unit), None)
    unit = s.observed.units.get(job.service)
    running = bool(unit and unit.active_state in ("activating", "active"))
    finished = bool(unit and unit.exec_main_exit) or bool(
        unit and unit.result not in ("success", "")
    )
    return running or not (finished or (timer and timer.last_us and not running))


def last_run(s: Subjects) -> Check | None:
    if not s.declared.restic:
        return None
    if bad := unreadable("restic.last-run", s.observed.units):
        return bad
    assert not isinstance(s.observed.units, Unknown)
    problems, details = [], {}
    for name, job in _jobs(s):
        unit = s.observed.units.get(job.service)
        if unit is None:
            problems.append(Problem(name, f"{job.service} is not on the host; deploy it"))
            continue
        details[name] = {"result": unit.result, "active": unit.active_state, "status": unit.exec_main_status,
                         "started": unit.exec_main_start, "exited": unit.exec_main_exit}  # fmt: skip
        if unit.active_state == "failed" or unit.result not in ("success", ""):
            problems.append(Problem(name, f"{job.service} failed ({unit.result}, status "
                                          f"{unit.exec_main_status}); see journalctl -u {job.service}"))  # fmt: skip
    return verdict("restic.last-run", problems, "the last backups succeeded", details)


def snapshot_age(s: Subjects) -> Check | None:
    if not s.declared.restic:
        return None
    if bad := unreadable("restic.snapshot-age", s.observed.restic):
        return bad
    assert not isinstance(s.observed.restic, Unknown)
    problems: list[Problem] = []
    details: dict[str, dict[str, Any]] = {}
    for name, job in _jobs(s):
        got = s.observed.restic.get(name)
        limit = schedule.max_age(job.timer, s.context.backup_max_age.get(name))
        details[name] = {"limit_s": limit.total_seconds() if limit else None}
        if got is None:
            problems.append(Problem(name, f"backup {name} could not be read; see the log"))
            continue
        details[name].update(state=got.state, repository=got.repository)
        latest = newest_covering(got, job.paths)
        if (
            got.state in ("missing-repository", "ok")
            and latest is None
            and _first_run_pending(s, job)
        ):
            details[name]["pending"] = True
            continue  # `initialize = true` makes the first run create the repository
        if got.state != "ok":
            fix = STATES.get(got.state, STATES["error"]).format(repo=got.repository, pwf=got.password_file,
                                                             error=got.error)  # fmt: skip
            problems.append(Problem(name, f"backup {name}: {fix}"))
            continue
        if latest is None and got.latest is not None:
            problems.append(Problem(name, f"backup {name}: no snapshot by this host holds all of "
                                          f"{', '.join(job.paths)}; the newest holds only "
                                          f"{', '.join(got.latest.paths)} (is a path missing?); see "
                                          f"journalctl -u {job.service}"))  # fmt: skip
            continue
        if latest is None:
            problems.append(Problem(name, f"backup {name} has run but its repository has no snapshot "
                                          f"by this host; see journalctl -u {job.service}"))  # fmt: skip
            continue
        age = s.context.now - latest.time
        details[name].update(latest=latest.time.isoformat(), age_s=round(age.total_seconds()),
                             paths=list(latest.paths))  # fmt: skip
        if limit is None:
            problems.append(Problem(name, f"cannot tell how often backup {name} runs; set "
                                          f"backup_max_age for it in host data", Severity.WARN))  # fmt: skip
        elif age > limit:
            problems.append(Problem(name, f"the newest snapshot of {name} is {_ago(age)} old (limit "
                                          f"{_ago(limit)}); check {job.service} and its timer"))  # fmt: skip
    return verdict("restic.snapshot-age", problems, "snapshots are fresh", details)


def repo_locked(s: Subjects) -> Check | None:
    if not s.declared.restic:
        return None
    if bad := unreadable("restic.repo-locked", s.observed.restic):
        return bad
    assert not isinstance(s.observed.restic, Unknown)
    problems, details = [], {}
    for name, _job in _jobs(s):
        got = s.observed.restic.get(name)
        if got is None:
            problems.append(
                Problem(name, f"could not read the locks of {name}: no answer for the job")
            )
            continue
        if got.state in ("missing-repository", "not-configured"):
            continue  # no repository: nothing can be locked (restic.snapshot-age reports it)
        if got.state != "ok":
            problems.append(Problem(name, f"could not read the locks of {name}: the repository "
                                          f"could not be read ({got.state}: {got.error or 'see restic.snapshot-age'})"))  # fmt: skip
            continue
        if got.locks_unread:
            problems.append(
                Problem(name, f"could not read the locks of {name}: {got.locks_unread}")
            )
            continue
        details[name] = [{"since": lk.time.isoformat(), "host": lk.hostname, "pid": lk.pid,
                          "alive": lk.alive} for lk in got.locks]  # fmt: skip
        for lock in got.locks:
            stale = lock.alive == "no" or s.context.now - lock.time > STALE_LOCK
            if stale:
                problems.append(Problem(name, f"the repository of {name} has a stale lock (pid {lock.pid} "
                                              f"on {lock.hostname}, since {lock.time:%Y-%m-%d %H:%M}Z); "
                                              "remove it with restic unlock"))  # fmt: skip
    return verdict("restic.repo-locked", problems, "no stale locks", details)


def _ago(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} d" if hours >= 48 else f"{hours:.1f} h"
