"""The backup area: the 3-2-1 rule over a host's restic jobs. Every backed-up path must have three
copies (the host itself, a local repository and an offsite one), on two kinds of media (local
and offsite), one of them offsite, and each repository copy must hold a snapshot of the path
that is fresh for its job's schedule.

Which medium a repository is on comes from the flake: ``nixfleet.backups.<instance>.media``
(``local`` or ``offsite``; modules/backup.nix sets it from fleet.nix's ``repositoryMedia``).
The copies are read by the restic area's reading (:data:`nixfleet.areas.restic.JOBS`).

Check: ``backup.3-2-1``, with its result per path in the details.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nixfleet import schedule
from nixfleet.area import Area, CheckSpec, Context, Subjects
from nixfleet.areas import restic
from nixfleet.checks import Check, Problem, Severity, unreadable, verdict
from nixfleet.probe import Part, Unknown

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
    """The declared copies by instance name.

    >>> declare({"docs-nas": {"paths": ["/d"], "media": "local"}})["docs-nas"].media
    'local'
    """
    return {
        n: Copy(n, tuple(c.get("paths") or ()), c.get("timerConfig"), c.get("media"))
        for n, c in (data or {}).items()
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


def _reads(d: dict[str, Copy], _ctx: Context) -> list[Part | None]:
    # The same read as the restic area's (one part, asked for once).
    return [restic.JOBS.part({n: list(c.paths) for n, c in d.items()})] if d else []


AREA: Area[dict[str, Copy]] = Area(
    name="backup",
    order=55,
    nix=NIX,
    declare=declare,
    readings=(),
    reads=_reads,
    checks=(CheckSpec("backup.3-2-1", three_two_one),),
)
