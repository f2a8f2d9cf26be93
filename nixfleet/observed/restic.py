"""restic repositories as seen from a backup client: reachability, latest snapshot, locks.

Works with restic 0.14 (Debian 12: every error exits 1, so errors are told apart by their text)
and 0.17+ (exit codes 10 = no repository, 11 = lock failed, 12 = wrong password).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from nixfleet.observed.sections import split

_USERINFO = re.compile(r"(?P<scheme>[a-z0-9+]+://)(?P<user>[^:/@\s]+):[^@/\s]+@", re.I)


def redact(text: str) -> str:
    """Hide passwords embedded in repository URLs, wherever they appear.

    >>> redact("rest:https://backup:s3cret@nas:8000/desktop")
    'rest:https://backup:***@nas:8000/desktop'
    >>> redact("sftp:root@nas:/srv/restic/desktop")
    'sftp:root@nas:/srv/restic/desktop'
    """
    return _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)


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
    latest: Snapshot | None = None
    locks: tuple[Lock, ...] = ()
    error: str = ""
    details: dict[str, str] = field(default_factory=dict)


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


def parse_jobs(output: list[str]) -> dict[str, ResticJob]:
    """Parse the sections of ``facts.restic.ResticJobs``'s command (one ``@@ job`` per job)."""
    jobs: dict[str, dict[str, object]] = {}
    current: dict[str, object] = {}
    for section in split(output):
        if section.name == "job":
            current = {"name": section.args[0], "state": "ok", "locks": [], "details": {}}
            jobs[section.args[0]] = current
            for line in section.lines:
                key, _, value = line.partition("=")
                if key == "repository":
                    current["repository"] = redact(value)
                elif key == "password_file":
                    current["password_file"] = value
        elif section.name == "state":
            current["state"] = section.args[0]
        elif section.name == "snapshots":
            rc = int(section.arg("rc", "1"))
            text = section.text.strip()
            if rc == 0:
                rows = json.loads(text) if text else []
                current["latest"] = parse_snapshot(rows[-1]) if rows else None
            else:
                current["rc"] = rc
        elif section.name == "stderr":
            text = redact(section.text.strip())
            if "rc" in current:
                current["state"] = classify(int(str(current["rc"])), text)
                current["error"] = text.splitlines()[-1] if text else ""
        elif section.name == "lock" and section.text.strip():
            row = json.loads(section.text)
            lock = Lock(_time(row["time"]), row.get("hostname", ""), int(row.get("pid", 0)),
                        bool(row.get("exclusive", False)), section.arg("alive", "unknown"))  # fmt: skip
            current["locks"].append(lock)  # type: ignore[attr-defined]
    return {
        name: ResticJob(
            name=name,
            state=str(j["state"]),
            repository=str(j.get("repository", "")),
            password_file=str(j.get("password_file", "")),
            latest=j.get("latest"),  # type: ignore[arg-type]
            locks=tuple(j["locks"]),  # type: ignore[arg-type]
            error=str(j.get("error", "")),
        )
        for name, j in jobs.items()
    }
