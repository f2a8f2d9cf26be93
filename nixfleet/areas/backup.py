"""The backup area: the 3-2-1 rule over a host's restic jobs. Every backed-up path must have three
copies (the host itself, a local repository and an offsite one), on two kinds of media (local
and offsite), one of them offsite, and each repository copy must hold a snapshot of the path
that is fresh for its job's schedule.

Which medium a repository is on comes from the flake: ``nixfleet.backups.<instance>.media``
(``local`` or ``offsite``; modules/backup.nix sets it from fleet.nix's ``repositoryMedia``).
The copies are read by the restic area's reading (:data:`nixfleet.areas.restic.JOBS`).

Restore drills (:mod:`nixfleet.drill`) leave their outcome on the host; ``backup.restore-drill``
reads it (``drills.sh``) and fails when a job's last successful drill is older than
``drill_max_age`` (7 days unless host data says otherwise), or it never succeeded.

Checks: ``backup.3-2-1`` (per path in the details) and ``backup.restore-drill``. Metric:
``nixfleet_restore_drill_last_success_timestamp_seconds``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from nixfleet import drill, schedule
from nixfleet.area import Area, CheckSpec, Context, Metric, Reading, Subjects
from nixfleet.areas import restic
from nixfleet.checks import Check, Problem, Severity, unreadable, verdict
from nixfleet.probe import Part, Reply, Unknown

MEDIA = ("local", "offsite")


@dataclass(frozen=True)
class Copy:
    """One restic instance of a job: a copy of its paths in one repository."""

    name: str
    paths: tuple[str, ...]
    timer: dict[str, Any] | None
    media: str | None


NIX = """c: builtins.mapAttrs
  (name: b: {
    paths = b.paths or [ ];
    timerConfig = b.timerConfig or null;
    media = ((c.nixfleet.backups or { }).${name} or { }).media or null;
  })
  (c.services.restic.backups or { })"""


def declare(data: Any) -> dict[str, Copy]:
    """The declared copies by instance name. A prune-only job (no paths: the retention of
    another host's copy) is no copy of this host's data.

    >>> copies = declare({"docs-nas": {"paths": ["/d"], "media": "local"},
    ...                   "retention-pc-docs-offsite": {"paths": []}})
    >>> list(copies), copies["docs-nas"].media
    (['docs-nas'], 'local')
    """
    return {
        n: Copy(n, tuple(c.get("paths") or ()), c.get("timerConfig"), c.get("media"))
        for n, c in (data or {}).items()
        if c.get("paths")
    }


def _status(s: Subjects, copy: Copy, path: str, jobs: dict[str, restic.ResticJob]) -> str:
    """``fresh``, ``pending`` (its first backup is under way), or why this copy does not count."""
    got = jobs.get(copy.name)
    if got is None:
        return "not read"
    latest = restic.newest_covering(got, (path,))
    declared = s.declared[restic.AREA].get(copy.name)
    first = latest is None and got.state in ("ok", "missing-repository")
    if first and declared and restic.first_run_pending(s, declared):
        return "pending"
    if got.state == "unreachable":
        return f"its repository {got.repository} cannot be reached ({got.error or 'unreachable'})"
    if got.state != "ok":
        return f"its repository {got.repository} could not be read ({got.state}: {got.error})"
    if latest is None:
        return f"{got.repository} holds no snapshot of it by this host"
    limit = schedule.max_age(copy.timer, s.context.backup_max_age.get(copy.name))
    age = s.context.now - latest.time
    if limit is not None and age > limit:
        return f"its newest snapshot in {got.repository} is {restic.ago(age)} old (limit {restic.ago(limit)})"
    return "fresh"


def three_two_one(s: Subjects) -> Check | None:
    copies = s.declared[AREA]
    if not copies:
        return None
    jobs = s.observed[restic.JOBS]
    if bad := unreadable("backup.3-2-1", jobs):
        return bad
    assert not isinstance(jobs, Unknown)
    problems: list[Problem] = []
    details: dict[str, Any] = {}
    for path in sorted({p for c in copies.values() for p in c.paths}):
        mine = [c for c in sorted(copies.values(), key=lambda c: c.name) if path in c.paths]
        status = {c.name: _status(s, c, path, jobs) for c in mine}
        held = {
            m: [c.name for c in mine if c.media == m and status[c.name] == "fresh"] for m in MEDIA
        }
        details[path] = {
            "copies": 1 + sum(len(v) for v in held.values()),
            "media": ["device", *(m for m in MEDIA if held[m])],
            "repositories": {c.name: {"media": c.media, "status": status[c.name]} for c in mine},
        }
        for c in mine:
            if c.media not in MEDIA:
                problems.append(Problem(path, f"{path}: {c.name} declares no medium "
                                        f"(nixfleet.backups.{c.name}.media: local or offsite)"))  # fmt: skip
        for medium in MEDIA:
            if held[medium]:
                continue
            named = [c for c in mine if c.media == medium]
            if not named:
                problems.append(Problem(path, f"{path} has no {medium} copy (3-2-1 needs a local "
                                        "and an offsite repository); add one to its job in fleet.nix"))  # fmt: skip
            elif all(status[c.name] == "pending" for c in named):
                problems.append(Problem(path, f"{path}: the first {medium} backup is under way",
                                        Severity.WARN))  # fmt: skip
            else:
                why = "; ".join(f"{c.name}: {status[c.name]}" for c in named)
                problems.append(Problem(path, f"{path} has no fresh {medium} copy ({why})"))
    return verdict(
        "backup.3-2-1", problems, "every path has 3 copies on 2 media, 1 offsite", details
    )


@dataclass(frozen=True)
class LastDrill:
    """A job's last restore drill on the host (None fields: no drill has run)."""

    job: str
    last_run: datetime | None = None
    ok: bool | None = None
    last_success: datetime | None = None


def _epoch(value: str | None) -> datetime | None:
    return datetime.fromtimestamp(int(value), timezone.utc) if value and value.isdigit() else None


class Drills(Reading[dict[str, LastDrill]]):
    """Each job's last restore drill, as ``drill.sh`` left it in the host's drill directory.

    + jobs: the job names
    """

    key = "drills"
    what = "read the restore drills' outcomes"

    def part(self, jobs: list[str]) -> Part:
        return Part(self.key, "drills", (drill.STATE_DIR, *sorted(jobs)))

    def parse(self, reply: Reply) -> dict[str, LastDrill]:
        out = {}
        for job, rec in reply.records().groups("job"):
            read = rec.read("file")
            if read is not None and read.failure:
                raise ValueError(f"cannot read the drill record of {job}: {read.failure}")
            result = rec.first("last_result")
            out[job] = LastDrill(
                job, _epoch(rec.first("last_run")), None if not result else result == "ok",
                _epoch(rec.first("last_success")),
            )  # fmt: skip
        return out


DRILLS = Drills()


def restore_drill(s: Subjects) -> Check | None:
    copies = s.declared[AREA]
    if not copies:
        return None
    drills = s.observed[DRILLS]
    if bad := unreadable("backup.restore-drill", drills):
        return bad
    assert not isinstance(drills, Unknown)
    limit = s.context.drill_max_age
    problems, details = [], {}
    for name in sorted(copies):
        got = drills.get(name) or LastDrill(name)
        details[name] = {
            "last_run": got.last_run.isoformat() if got.last_run else None,
            "last_result": None if got.ok is None else ("ok" if got.ok else "failed"),
            "last_success": got.last_success.isoformat() if got.last_success else None,
            "limit_s": limit.total_seconds(),
        }
        if got.ok is False:
            when = got.last_run.strftime("%Y-%m-%d %H:%M") + "Z" if got.last_run else "lately"
            problems.append(Problem(name, f"the last restore drill of {name} ({when}) failed: "
                                    "its backup may not restore; run nixfleet drill to see why"))  # fmt: skip
        elif got.last_success is None:  # a job new since the last drill: not overdue yet
            problems.append(Problem(name, f"no restore drill of {name} has run yet; "
                                    "run nixfleet drill and see what it reports", Severity.WARN))  # fmt: skip
        elif s.context.now - got.last_success > limit:
            age = restic.ago(s.context.now - got.last_success)
            problems.append(Problem(name, f"the last successful restore drill of {name} was {age} "
                                    f"ago (limit {restic.ago(limit)}); run nixfleet drill"))  # fmt: skip
    return verdict(
        "backup.restore-drill", problems, "every job restored in a recent drill", details
    )


def metrics(s: Subjects) -> list[Metric]:
    """Per job with paths: how old its newest snapshot may be, on which medium (for the alert
    rules, which compare ages with it); how old its last successful restore drill may be, and
    when it was, where it was read."""
    host, copies = s.context.host, s.declared[AREA]
    out = []
    for name, copy in sorted(copies.items()):
        limit = schedule.max_age(copy.timer, s.context.backup_max_age.get(name))
        if limit is not None:
            labels = {"host": host, "backup": name, "media": copy.media or ""}
            out.append(Metric("nixfleet_backup_max_age_seconds", labels, limit.total_seconds()))
        out.append(
            Metric(
                "nixfleet_restore_drill_max_age_seconds",
                {"host": host, "backup": name},
                s.context.drill_max_age.total_seconds(),
            )
        )
    drills = s.observed[DRILLS]
    if isinstance(drills, Unknown):
        return out
    return out + [
        Metric(
            "nixfleet_restore_drill_last_success_timestamp_seconds",
            {"host": host, "backup": d.job},
            d.last_success.timestamp(),
        )
        for d in sorted(drills.values(), key=lambda d: d.job)
        if d.last_success and d.job in copies
    ]


def _reads(d: dict[str, Copy], _ctx: Context) -> list[Part | None]:
    # The same restic read as the restic area's (one part, asked for once).
    if not d:
        return []
    return [restic.JOBS.part({n: list(c.paths) for n, c in d.items()}), DRILLS.part(list(d))]


AREA: Area[dict[str, Copy]] = Area(
    name="backup",
    order=55,
    nix=NIX,
    declare=declare,
    readings=(DRILLS,),
    reads=_reads,
    checks=(
        CheckSpec("backup.3-2-1", three_two_one),
        CheckSpec("backup.restore-drill", restore_drill),
    ),
    metrics=metrics,
    help={
        "nixfleet_restore_drill_last_success_timestamp_seconds": (
            "When the job's last restore drill succeeded (restored files matched, data read back)."
        ),
        "nixfleet_restore_drill_max_age_seconds": (
            "How long ago the job's last successful restore drill may be (drill_max_age)."
        ),
        "nixfleet_backup_max_age_seconds": (
            "How old the job's newest snapshot may be (its schedule, or backup_max_age), and "
            "the medium of its repository (local or offsite)."
        ),
    },
)
