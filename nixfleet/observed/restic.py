"""restic repositories as seen from a backup client: reachability, latest snapshot, locks.

Works with restic 0.14 (Debian 12: every error exits 1, so errors are told apart by their text)
and 0.17+ (exit codes 10 = no repository, 11 = lock failed, 12 = wrong password).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from nixfleet.probe import Records, redact


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
    """
    if returncode == 0:
        return "ok"
    text = stderr.lower()
    if returncode == 12 or "wrong password" in text:
        return "wrong-password"
    if "resolving password failed" in text or "reading password" in text:
        return "no-password-file"
    if returncode == 10 or "is there a repository at the following location" in text:
        return "missing-repository"
    unreachable = ("unable to start the sftp session", "connection refused", "no route to host",
                   "connection timed out", "could not resolve", "network is unreachable")  # fmt: skip
    if returncode == 124 or any(u in text for u in unreachable):
        return "unreachable"
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
    """One job of ``probes/restic.sh``."""
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
        locks.append(Lock(_time(row["time"]), str(row.get("hostname", "")),
                          int(row.get("pid", 0)), bool(row.get("exclusive", False)),
                          lrec.first("alive") or "unknown"))  # fmt: skip
    return base(state="ok", latest=newest, snapshots=made, locks=tuple(locks),
                locks_unread=redact(unread))  # fmt: skip


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
    """What ``probes/restic.sh`` recorded, by job name."""
    return {name: parse_job(name, rec) for name, rec in records.groups("job")}
