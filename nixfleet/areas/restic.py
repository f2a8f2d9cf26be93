"""The restic area: backup jobs (``services.restic.backups``), their timers and units, and
their repositories as seen from the backup client: reachability, the newest snapshot this host
made of the job's paths, and locks.

Works with restic 0.14 (Debian 12: every error exits 1, so errors are told apart by their text)
and 0.17+ (exit codes 10 = no repository, 11 = lock failed, 12 = wrong password).

Checks: ``restic.timer``, ``restic.last-run``, ``restic.snapshot-age`` and
``restic.repo-locked``. Probe: ``restic.sh`` (and systemd's timers and units). Metric:
``nixfleet_backup_last_snapshot_timestamp_seconds``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from nixfleet import schedule
from nixfleet.area import Area, CheckSpec, Context, Metric, Reading, Subjects
from nixfleet.areas.systemd import TIMERS, UNITS, UnitStatus
from nixfleet.checks import Check, Problem, Severity, unreadable, verdict
from nixfleet.probe import Part, Records, Reply, Unknown, redact


@dataclass(frozen=True)
class Snapshot:
    time: datetime
    paths: tuple[str, ...]
    hostname: str
    short_id: str


@dataclass(frozen=True)
class Lock:
    time: datetime
    hostname: str
    pid: int
    exclusive: bool
    alive: str  # "yes", "no" (dead PID on this host) or "unknown" (another host)


@dataclass(frozen=True)
class ResticJob:
    """One backup job's repository, as its client sees it. ``state`` is ``ok``, ``wrong-password``,
    ``missing-repository``, ``unreachable``, ``no-password-file``, ``not-configured`` (the job's
    unit is not on the host), ``not-installed`` or ``error``."""

    name: str
    state: str
    repository: str = ""
    password_file: str = ""
    latest: Snapshot | None = None  # the newest snapshot this host made, of any paths
    snapshots: tuple[Snapshot, ...] = ()  # the newest this host made of each set of paths
    locks: tuple[Lock, ...] = ()
    error: str = ""
    details: dict[str, str] = field(default_factory=dict)
    locks_unread: str = ""  # why the locks could not all be listed or read ("" if they were)


def classify(returncode: int, stderr: str) -> str:
    """The repository state a failed ``restic snapshots`` means.

    >>> classify(1, "Fatal: wrong password or no key found")
    'wrong-password'
    >>> classify(10, "")
    'missing-repository'

    restic 0.14 asks "Is there a repository" after any failure to open the config, a refused
    connection included (its words, for a REST server that is down):

    >>> classify(1, 'Fatal: unable to open config file: client.Head: Head "https://h:***@offsite/'
    ...             'h/h-docs/config": dial tcp 10.250.0.100:443: connect: connection refused\\n'
    ...             'Is there a repository at the following location?')
    'unreachable'
    """
    if returncode == 0:
        return "ok"
    text = stderr.lower()
    if returncode == 12 or "wrong password" in text:
        return "wrong-password"
    if "resolving password failed" in text or "reading password" in text:
        return "no-password-file"
    if returncode == 10:
        return "missing-repository"
    unreachable = (
        "unable to start the sftp session",
        "connection refused",
        "no route to host",
        "connection timed out",
        "could not resolve",
        "network is unreachable",
    )
    if returncode == 124 or any(u in text for u in unreachable):
        return "unreachable"
    if "is there a repository at the following location" in text:
        return "missing-repository"
    return "error"


def _time(value: str) -> datetime:
    # restic prints RFC 3339 with nanoseconds; Python before 3.11 cannot parse 9 digits.
    value = re.sub(r"(\.\d{6})\d+", r"\1", value).replace("Z", "+00:00")
    return datetime.fromisoformat(value)


def parse_snapshot(row: dict[str, object]) -> Snapshot:
    paths = row.get("paths") or []
    return Snapshot(
        time=_time(str(row["time"])),
        paths=tuple(str(p) for p in paths) if isinstance(paths, list) else (),
        hostname=str(row.get("hostname", "")),
        short_id=str(row.get("short_id") or str(row.get("id", ""))[:8]),
    )


def parse_job(name: str, rec: Records) -> ResticJob:
    """One job of ``restic.sh``."""
    repository = redact(rec.first("repository") or "")
    password_file = rec.first("password_file") or ""
    base = partial(ResticJob, name=name, repository=repository, password_file=password_file)
    env = rec.read("env")
    if env is not None and env.failure:
        return base(state="error", error=f"systemctl show: {env.failure}")
    state = rec.first("state")
    if state is not None:
        return base(state=state, error=redact(rec.first("error") or ""))
    snapshots = rec.read("snapshots")
    if snapshots is None:
        return base(state="error", error="restic snapshots did not run")
    if snapshots.failure:
        err = redact(snapshots.err.strip())
        last = err.splitlines()[-1] if err else snapshots.failure
        return base(state=classify(snapshots.rc or 1, err), error=last)
    rows = json.loads(snapshots.text)
    if not isinstance(rows, list):
        raise ValueError("restic snapshots --json did not print a list")
    made = tuple(sorted((parse_snapshot(r) for r in rows), key=lambda x: x.time))
    newest = made[-1] if made else None
    locks, unread = [], ""
    if (listing := rec.first("locks_error")) is not None:
        unread = f"list the repository's locks: {listing.strip() or 'failed'}"
    for lock_id, lrec in rec.groups("lock"):
        read = lrec.read("read")
        if read is None or read.failure:
            if lrec.first("gone") != "yes":
                why = read.failure if read else "not read"
                unread = unread or f"restic cat lock {lock_id}: {why}"
            continue
        row = json.loads(read.text)
        locks.append(
            Lock(
                _time(row["time"]),
                str(row.get("hostname", "")),
                int(row.get("pid", 0)),
                bool(row.get("exclusive", False)),
                lrec.first("alive") or "unknown",
            )
        )
    return base(
        state="ok", latest=newest, snapshots=made, locks=tuple(locks), locks_unread=redact(unread)
    )


def newest_covering(job: ResticJob, paths: tuple[str, ...]) -> Snapshot | None:
    """The newest snapshot (by the job's host) that holds every one of ``paths``: the one that
    says how fresh the job's backup is. One of other paths does not count.

    >>> t = datetime(2026, 1, 1)
    >>> a, b = Snapshot(t, ("/a",), "h", "1"), Snapshot(t, ("/a", "/b"), "h", "2")
    >>> newest_covering(ResticJob("j", "ok", snapshots=(a, b)), ("/b", "/a")).short_id
    '2'
    >>> newest_covering(ResticJob("j", "ok", snapshots=(a,)), ("/a", "/b")) is None
    True
    """
    want = {p.rstrip("/") or "/" for p in paths}
    fits = [s for s in job.snapshots if want <= {p.rstrip("/") or "/" for p in s.paths}]
    return max(fits, key=lambda s: s.time, default=None)


def parse_jobs(records: Records) -> dict[str, ResticJob]:
    """What ``restic.sh`` recorded, by job name."""
    return {name: parse_job(name, rec) for name, rec in records.groups("job")}


@dataclass(frozen=True)
class DeclaredJob:
    """One ``services.restic.backups`` job, as declared."""

    name: str
    repository: str | None
    paths: tuple[str, ...]
    password_file: str | None
    timer: dict[str, Any] | None
    prune_opts: tuple[str, ...] = ()

    @property
    def backs_up(self) -> bool:
        """False for a prune-only job (no paths): the retention of another host's copy."""
        return bool(self.paths)

    @property
    def service(self) -> str:
        return f"restic-backups-{self.name}.service"

    @property
    def timer_unit(self) -> str:
        return f"restic-backups-{self.name}.timer"


NIX = """c: builtins.mapAttrs
  (name: b: {
    repository = b.repository or null;
    paths = b.paths or [ ];
    passwordFile = b.passwordFile or null;
    timerConfig = b.timerConfig or null;
    pruneOpts = b.pruneOpts or [ ];
  })
  (c.services.restic.backups or { })"""


def declare(data: Any) -> dict[str, DeclaredJob]:
    """The declared jobs by name, from :data:`NIX`'s JSON.

    >>> declare({"docs": {"paths": ["/d"], "timerConfig": {"OnCalendar": "daily"}}})["docs"].timer_unit
    'restic-backups-docs.timer'
    """
    return {
        n: DeclaredJob(
            n,
            j.get("repository"),
            tuple(j.get("paths") or ()),
            j.get("passwordFile"),
            j.get("timerConfig"),
            tuple(j.get("pruneOpts") or ()),
        )
        for n, j in (data or {}).items()
    }


class Jobs(Reading[dict[str, ResticJob]]):
    """For each declared job: its repository (from the job's unit environment, passwords in
    URLs masked), whether it is reachable, the newest snapshot this host made of the job's
    paths, and the repository's locks, with whether each lock's process is alive (or
    ``locks_unread``). restic reads the password from the job's password file on the host.

    + jobs: ``{job name: its declared paths}``
    """

    key = "restic"
    what = "read the restic repositories"

    def part(self, jobs: dict[str, Sequence[str]]) -> Part:
        args = [a for name, paths in sorted(jobs.items()) for a in (name, str(len(paths)), *paths)]
        return Part(self.key, "restic-unit+restic", tuple(args), timeout_s=120)

    def parse(self, reply: Reply) -> dict[str, ResticJob]:
        return parse_jobs(reply.records())


JOBS = Jobs()


STALE_LOCK = timedelta(minutes=30)  # restic's own staleLockTimeout
STATES = {
    # restic's "wrong password or no key found": over REST (rclone, rest-server) a repository
    # that is not there has no keys either, so both causes are named.
    "wrong-password": "no key of the repository opens with the password file (a wrong password, "
    "or no repository there)",
    "missing-repository": "there is no repository at {repo}; initialise it (restic init) or fix the path",
    "unreachable": "the repository {repo} is unreachable; is the backup target up and reachable?",
    "no-password-file": "the password file {pwf} is missing; redeploy (sops-nix installs it)",
    "not-configured": "the job's unit is not on the host; deploy it",
    "not-installed": "the job's unit runs no restic program nixfleet can use ({error}); redeploy",
    "error": "restic failed to read {repo}: {error}",
}


def _jobs(s: Subjects) -> list[tuple[str, DeclaredJob]]:
    return sorted(s.declared[AREA].items())


def _backups(s: Subjects) -> list[tuple[str, DeclaredJob]]:
    """The jobs that back up this host's paths (not the prune-only ones): their snapshots and
    locks are read, and must be fresh and free."""
    return [(n, j) for n, j in _jobs(s) if j.backs_up]


def timer(s: Subjects) -> Check | None:
    jobs = [(n, j) for n, j in _jobs(s) if j.timer]
    if not jobs:
        return None
    listed, units = s.observed[TIMERS], s.observed[UNITS]
    if bad := unreadable("restic.timer", listed, units):
        return bad
    assert not isinstance(listed, Unknown) and not isinstance(units, Unknown)
    timers = {t.unit: t for t in listed}
    problems, details = [], {}
    for name, job in jobs:
        t = timers.get(job.timer_unit)
        status = units.get(job.timer_unit)
        active = status.active_state if status else ""
        details[name] = {
            "unit": job.timer_unit,
            "active": active,
            "next_us": t.next_us if t else None,
            "last_us": t.last_us if t else None,
        }
        if t is None or (status and status.load_state != "loaded"):
            problems.append(Problem(name, f"{job.timer_unit} is not loaded; deploy the host"))
        elif (status and active != "active") or (t.next_us is None and not _triggered(status)):
            problems.append(
                Problem(
                    name,
                    f"{job.timer_unit} is {active or 'not scheduled'}; "
                    f"start it: systemctl start {job.timer_unit}",
                )
            )
    return verdict("restic.timer", problems, "backup timers are scheduled", details)


def _triggered(status: UnitStatus | None) -> bool:
    """A timer whose service is running right now shows no next elapse."""
    return bool(status and status.sub_state == "running")


def first_run_pending(s: Subjects, job: DeclaredJob) -> bool:
    """The job has not completed a run yet: its first backup is scheduled or under way. Told
    from the timer's recorded last trigger and the unit's state; unknown reads say "no"."""
    timers, units = s.observed[TIMERS], s.observed[UNITS]
    if isinstance(timers, Unknown) or isinstance(units, Unknown):
        return False
    timer = next((t for t in timers if t.unit == job.timer_unit), None)
    unit = units.get(job.service)
    running = bool(unit and unit.active_state in ("activating", "active"))
    finished = bool(unit and unit.exec_main_exit) or bool(
        unit and unit.result not in ("success", "")
    )
    return running or not (finished or (timer and timer.last_us and not running))


def last_run(s: Subjects) -> Check | None:
    units = s.observed[UNITS]
    if not s.declared[AREA]:
        return None
    if bad := unreadable("restic.last-run", units):
        return bad
    assert not isinstance(units, Unknown)
    problems, details = [], {}
    for name, job in _jobs(s):
        unit = units.get(job.service)
        if unit is None:
            problems.append(Problem(name, f"{job.service} is not on the host; deploy it"))
            continue
        details[name] = {
            "result": unit.result,
            "active": unit.active_state,
            "status": unit.exec_main_status,
            "started": unit.exec_main_start,
            "exited": unit.exec_main_exit,
        }
        if failed(unit):
            problems.append(
                Problem(
                    name,
                    f"{job.service} failed ({unit.result}, status "
                    f"{unit.exec_main_status}); see journalctl -u {job.service}",
                )
            )
    return verdict("restic.last-run", problems, "the last backups succeeded", details)


def snapshot_age(s: Subjects) -> Check | None:
    if not _backups(s):
        return None
    jobs = s.observed[JOBS]
    if bad := unreadable("restic.snapshot-age", jobs):
        return bad
    assert not isinstance(jobs, Unknown)
    problems: list[Problem] = []
    details: dict[str, dict[str, Any]] = {}
    for name, job in _backups(s):
        got = jobs.get(name)
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
            and first_run_pending(s, job)
        ):
            details[name]["pending"] = True
            continue  # `initialize = true` makes the first run create the repository
        if got.state != "ok":
            fix = STATES.get(got.state, STATES["error"]).format(
                repo=got.repository, pwf=got.password_file, error=got.error
            )
            problems.append(Problem(name, f"backup {name}: {fix}"))
            continue
        if latest is None and got.latest is not None:
            problems.append(
                Problem(
                    name,
                    f"backup {name}: no snapshot by this host holds all of "
                    f"{', '.join(job.paths)}; the newest holds only "
                    f"{', '.join(got.latest.paths)} (is a path missing?); see "
                    f"journalctl -u {job.service}",
                )
            )
            continue
        if latest is None:
            problems.append(
                Problem(
                    name,
                    f"backup {name} has run but its repository has no snapshot "
                    f"by this host; see journalctl -u {job.service}",
                )
            )
            continue
        age = s.context.now - latest.time
        details[name].update(
            latest=latest.time.isoformat(),
            age_s=round(age.total_seconds()),
            paths=list(latest.paths),
        )
        if limit is None:
            problems.append(
                Problem(
                    name,
                    f"cannot tell how often backup {name} runs; set "
                    f"backup_max_age for it in host data",
                    Severity.WARN,
                )
            )
        elif age > limit:
            problems.append(
                Problem(
                    name,
                    f"the newest snapshot of {name} is {ago(age)} old (limit "
                    f"{ago(limit)}); check {job.service} and its timer",
                )
            )
    return verdict("restic.snapshot-age", problems, "snapshots are fresh", details)


def repo_locked(s: Subjects) -> Check | None:
    if not _backups(s):
        return None
    jobs = s.observed[JOBS]
    if bad := unreadable("restic.repo-locked", jobs):
        return bad
    assert not isinstance(jobs, Unknown)
    problems, details = [], {}
    for name, _job in _backups(s):
        got = jobs.get(name)
        if got is None:
            problems.append(
                Problem(name, f"could not read the locks of {name}: no answer for the job")
            )
            continue
        if got.state in ("missing-repository", "not-configured"):
            continue  # no repository: nothing can be locked (restic.snapshot-age reports it)
        if got.state != "ok":
            problems.append(
                Problem(
                    name,
                    f"could not read the locks of {name}: the repository "
                    f"could not be read ({got.state}: {got.error or 'see restic.snapshot-age'})",
                )
            )
            continue
        if got.locks_unread:
            problems.append(
                Problem(name, f"could not read the locks of {name}: {got.locks_unread}")
            )
            continue
        details[name] = [
            {"since": lk.time.isoformat(), "host": lk.hostname, "pid": lk.pid, "alive": lk.alive}
            for lk in got.locks
        ]
        for lock in got.locks:
            stale = lock.alive == "no" or s.context.now - lock.time > STALE_LOCK
            if stale:
                problems.append(
                    Problem(
                        name,
                        f"the repository of {name} has a stale lock (pid {lock.pid} "
                        f"on {lock.hostname}, since {lock.time:%Y-%m-%d %H:%M}Z); "
                        "remove it with restic unlock",
                    )
                )
    return verdict("restic.repo-locked", problems, "no stale locks", details)


def ago(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} d" if hours >= 48 else f"{hours:.1f} h"


def failed(unit: UnitStatus) -> bool:
    """Whether a job's unit failed its last run (a unit that has not run yet has not failed)."""
    return bool(unit.active_state == "failed" or unit.result not in ("success", ""))


def metrics(s: Subjects) -> list[Metric]:
    """Per job: whether its last run failed (every job, prune-only ones too), and the time of
    its newest snapshot covering its paths, where each was read."""
    if not s.declared[AREA]:
        return []
    out = []
    units = s.observed[UNITS]
    if not isinstance(units, Unknown):
        out += [
            Metric(
                "nixfleet_backup_last_run_ok",
                {"host": s.context.host, "backup": name},
                0.0 if failed(unit) else 1.0,
            )
            for name, job in _jobs(s)
            if (unit := units.get(job.service)) is not None
        ]
    jobs = s.observed[JOBS]
    if not _backups(s) or isinstance(jobs, Unknown):
        return out
    for name, job in _backups(s):
        got = jobs.get(name)
        latest = newest_covering(got, job.paths) if got else None
        if latest:
            out.append(
                Metric(
                    "nixfleet_backup_last_snapshot_timestamp_seconds",
                    {"host": s.context.host, "backup": name},
                    latest.time.timestamp(),
                )
            )
    return out


def _reads(d: dict[str, DeclaredJob], _ctx: Context) -> list[Part | None]:
    if not d:
        return []
    units = [u for j in d.values() for u in (j.service, j.timer_unit)]
    backups: dict[str, Sequence[str]] = {n: list(j.paths) for n, j in d.items() if j.backs_up}
    return [TIMERS.part(), UNITS.part(units), JOBS.part(backups) if backups else None]


AREA: Area[dict[str, DeclaredJob]] = Area(
    name="restic",
    order=50,
    nix=NIX,
    declare=declare,
    readings=(JOBS,),
    reads=_reads,
    checks=(
        CheckSpec("restic.timer", timer),
        CheckSpec("restic.last-run", last_run),
        CheckSpec("restic.snapshot-age", snapshot_age),
        CheckSpec("restic.repo-locked", repo_locked),
    ),
    metrics=metrics,
    help={
        "nixfleet_backup_last_snapshot_timestamp_seconds": "Time of the newest snapshot of a restic job.",
        "nixfleet_backup_last_run_ok": (
            "0 if the last run of a restic job failed, 1 if it succeeded or has not run yet."
        ),
    },
    units=lambda d: [j.service for j in d.values()],
)
