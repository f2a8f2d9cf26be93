"""One host's verification: every check, in a stable order, plus the metrics reports export."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nixfleet.checks import Check, Severity, nb, network, nixos, restic, secrets, syncthing, systemd
from nixfleet.checks.context import Context, Observed, Subjects
from nixfleet.declared import Declared
from nixfleet.observed.restic import newest_covering
from nixfleet.observed.syncthing import SyncthingState
from nixfleet.probe import Unknown

CHECKS: tuple[Callable[[Subjects], Check | None], ...] = (
    nixos.current_system, nixos.revision, systemd.failed_units,
    syncthing.running, syncthing.peers_connected, syncthing.folder_state, syncthing.conflicts,
    syncthing.max_conflicts, nb.clean, nb.pushed, nb.conflicts,
    restic.timer, restic.last_run, restic.snapshot_age, restic.repo_locked,
    secrets.present, secrets.mode, network.exposed_ports,
)  # fmt: skip


# Every check id, as the checks above report them (a unit test holds the two together).
CHECK_IDS = (
    "nixos.current-system", "nixos.revision", "systemd.failed-units", "syncthing.running",
    "syncthing.peers-connected", "syncthing.folder-state", "syncthing.conflicts",
    "syncthing.max-conflicts", "nb.clean", "nb.pushed", "nb.conflicts", "restic.timer",
    "restic.last-run", "restic.snapshot-age", "restic.repo-locked", "secrets.present",
    "secrets.mode", "network.exposed-ports",
)  # fmt: skip


@dataclass(frozen=True)
class Metric:
    name: str
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class HostVerification:
    host: str
    checks: tuple[Check, ...]
    metrics: tuple[Metric, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """A host is ok when no error-severity check fails (warnings are reported, not fatal)."""
        return not any(not c.ok and c.severity is Severity.ERROR for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [c.to_json() for c in self.checks]}


def verify(declared: Declared, observed: Observed, context: Context) -> HostVerification:
    subjects = Subjects(declared, observed, context)
    checks = tuple(c for c in (check(subjects) for check in CHECKS) if c is not None)
    return HostVerification(context.host, checks, tuple(_metrics(subjects, checks)))


def _metrics(s: Subjects, checks: tuple[Check, ...]) -> list[Metric]:
    """Only what was read: an Unknown fact gives no metric (its check's ``nixfleet_check_ok``
    is 0), so a stale number never stands in for one that could not be read."""
    host = s.context.host
    out = [Metric("nixfleet_check_ok", {"host": host, "check": c.id}, float(c.ok)) for c in checks]
    restic = {} if isinstance(s.observed.restic, Unknown) else s.observed.restic
    syncthing = s.observed.syncthing
    notebooks = {} if isinstance(s.observed.notebooks, Unknown) else s.observed.notebooks
    for name, job in sorted(s.declared.restic.items()):
        got = restic.get(name)
        latest = newest_covering(got, job.paths) if got else None
        if latest:
            out.append(Metric("nixfleet_backup_last_snapshot_timestamp_seconds",
                              {"host": host, "job": name}, latest.time.timestamp()))  # fmt: skip
    if isinstance(syncthing, SyncthingState) and syncthing.running:
        for fid, folder in sorted(syncthing.folders.items()):
            if "conflicts" in folder.unread or (
                s.declared.syncthing and fid not in s.declared.syncthing.folders
            ):
                continue
            out.append(Metric("nixfleet_sync_conflicts", {"host": host, "folder": fid},
                              float(len(folder.conflicts))))  # fmt: skip
    for name, decl in sorted(s.declared.notebooks.items()):
        book = notebooks.get(decl.path)
        if book and book.exists and not ({"ahead_behind", "unpushed"} & set(book.unread)):
            out.append(Metric("nixfleet_notebook_unpushed_commits", {"host": host, "notebook": name},
                              float(book.ahead)))  # fmt: skip
    return out
