"""The run report: one outcome per host, written to ``.fleet/runs/<id>.json`` and summarised.

Operations record each host's outcome as it happens (at execute time only, never on ``--dry``).
When the pyinfra process exits, the report is completed (selected hosts that were never reached
are ``offline``) and written, and a readable summary is printed after pyinfra's own results.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import secrets
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nixfleet import private, prometheus, reach, table
from nixfleet.checks import Severity
from nixfleet.drill import DrillResult, drill_table
from nixfleet.models import HostOutcome, HostStatus
from nixfleet.ssh import SshTarget
from nixfleet.verification import HostVerification

STATE_DIR = Path(os.environ.get("NIXFLEET_STATE_DIR", ".fleet"))


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id such as ``20261125T205500Z-1a2b3c``."""
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


@dataclass
class RunReport:
    """Everything one deploy did, host by host."""

    id: str
    started: str
    action: str = ""
    flake: str = ""
    revision: str = ""
    hosts: dict[str, HostOutcome] = field(default_factory=dict)
    verify: dict[str, Any] | None = None
    drills: dict[str, Any] | None = None  # host -> its jobs' restore drills (nixfleet drill)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for outcome in data["hosts"].values():
            outcome["status"] = str(outcome["status"].value)
        return data

    @property
    def failed(self) -> list[str]:
        return [h for h, o in self.hosts.items() if o.status is HostStatus.FAILED]


def summary(report: RunReport) -> str:
    """A table of the hosts' outcomes, for people.

    >>> r = RunReport("r1", "now", hosts={"nas": HostOutcome(HostStatus.UNCHANGED, generation=2)})
    >>> print(summary(r).splitlines()[1])
      nas  unchanged  gen 2  0.0 s
    """
    rows = []
    for name in sorted(report.hosts):
        o = report.hosts[name]
        gen = f"gen {o.generation}" if o.generation is not None else "-"
        detail = o.error or (
            f"{_short(o.before)} -> {_short(o.after)}" if o.status is HostStatus.SWITCHED else ""
        )
        if o.details.get("reboot"):
            detail += f"; reboot {o.details['reboot']}"
        rows.append([name, o.status.value, gen, f"{o.duration_s:.1f} s", detail])
    return "\n".join(
        [f"nixfleet run {report.id}: {_counts(report)}", *table.aligned(rows, right={3})]
    )


def _counts(report: RunReport) -> str:
    counts: dict[str, int] = {}
    for o in report.hosts.values():
        counts[o.status.value] = counts.get(o.status.value, 0) + 1
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no hosts"


def _short(path: str | None) -> str:
    """``/nix/store/abc…-nixos-system-nas-24.11`` → ``abc12345``; ``None`` → ``none``."""
    return Path(path).name[:8] if path else "none"


def verify_json(verifications: dict[str, HostVerification]) -> dict[str, Any]:
    """``{"hosts": {"<host>": {"ok": bool, "checks": [{"id", "ok", "severity", "message", "details"}]}}}``"""
    return {"hosts": {h: v.to_json() for h, v in sorted(verifications.items())}}


def verify_table(verifications: dict[str, HostVerification]) -> str:
    """The findings grouped by host: failing hosts first, each failing check on its own line.

    >>> from nixfleet.checks import Check
    >>> bad = Check("syncthing.running", False, Severity.ERROR, "Syncthing is not-running; start it")
    >>> print(verify_table({"laptop": HostVerification("laptop", (bad,))}))
    nixfleet verify: 0 hosts ok, 1 failing
      laptop  FAIL  1 error, 0 warnings, 0 of 1 checks ok
        error  syncthing.running  Syncthing is not-running; start it
    """
    failing = [h for h, v in verifications.items() if not v.ok]
    lines = [
        f"nixfleet verify: {len(verifications) - len(failing)} hosts ok, {len(failing)} failing"
    ]
    hosts: list[list[str]] = []
    findings: list[list[list[str]]] = []  # per host, its failing checks
    for host in sorted(verifications, key=lambda h: (verifications[h].ok, h)):
        v = verifications[host]
        bad = sorted(
            (c for c in v.checks if not c.ok),
            key=lambda c: (c.severity is not Severity.ERROR, c.id),
        )
        errors = sum(c.severity is Severity.ERROR for c in bad)
        counts = (
            f"{errors} error{'s' * (errors != 1)}, {len(bad) - errors} warnings, "
            f"{len(v.checks) - len(bad)} of {len(v.checks)} checks ok"
        )
        hosts.append([host, "ok" if v.ok else "FAIL", counts])
        findings.append([[c.severity.value, c.id, c.message] for c in bad])
    # The findings' columns line up across hosts too: one table, cut back into the host groups.
    finding_lines = iter(table.aligned([row for group in findings for row in group], indent=4))
    for host_line, group in zip(table.aligned(hosts), findings, strict=True):
        lines += [host_line, *itertools.islice(finding_lines, len(group))]
    return "\n".join(lines)


def write(report: RunReport, state_dir: Path = STATE_DIR) -> Path:
    """Write the report atomically to ``runs/<id>.json`` and ``last-run.json``."""
    text = json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n"
    path = state_dir / "runs" / f"{report.id}.json"
    for dest in (path, state_dir / "last-run.json"):
        private.write(dest, text)
    return path


class Recorder:
    """Collects host outcomes during one pyinfra run and writes the report when it ends."""

    def __init__(self) -> None:
        run_id = os.environ.get("NIXFLEET_RUN_ID") or new_run_id()  # set by `nixfleet deploy`
        self.report = RunReport(run_id, datetime.now(timezone.utc).isoformat())
        self.selected: set[str] = set()
        self.reached: set[str] = set()
        self.started_at: dict[str, float] = {}
        self.executing = False
        self.deploying = False
        self.verifications: dict[str, HostVerification] = {}
        self.drills: dict[str, list[DrillResult]] = {}
        self.textfile: Path | None = None
        self.interrupted: str | None = None
        # Of the selected hosts, to tell why one is unreachable.
        self.ssh_targets: dict[str, SshTarget] = {}
        self._finished = False
        # pyinfra has no event for "the run is over" (its callbacks end with each operation and
        # host), and the report must be written also when no host was reached: so at exit.
        atexit.register(self.finish)

    def host_started(self, name: str) -> None:
        self.started_at.setdefault(name, time.monotonic())

    def elapsed(self, name: str) -> float:
        return round(time.monotonic() - self.started_at.get(name, time.monotonic()), 2)

    def record(self, name: str, outcome: HostOutcome) -> None:
        if not self.executing:
            return  # prepare stage or --dry: nothing has been done
        outcome.duration_s = self.elapsed(name)
        self.report.hosts[name] = outcome

    def record_verification(self, verification: HostVerification) -> None:
        if self.executing:
            self.verifications[verification.host] = verification

    def finish(self) -> None:
        if not self.executing or self._finished:
            return
        self._finished = True
        if self.verifications:
            data = verify_json(self.verifications)
            private.write(
                STATE_DIR / "last-verify.json", json.dumps(data, indent=2, sort_keys=True) + "\n"
            )
            self.report.verify = data
            if self.textfile:
                prometheus.write_textfile(self.textfile, self.verifications.values())
            print(
                f"\n{verify_table(self.verifications)}\nfindings: {STATE_DIR / 'last-verify.json'}",
                file=sys.stderr,
            )
        if self.drills:
            self._finish_drills()
        if self.deploying:
            self._finish_deploy()

    def _finish_drills(self) -> None:
        data = {h: [d.to_json() for d in ds] for h, ds in sorted(self.drills.items())}
        private.write(
            STATE_DIR / "last-drill.json", json.dumps(data, indent=2, sort_keys=True) + "\n"
        )
        self.report.drills = data
        if not self.deploying:
            path = write(self.report)
            print(f"\n{drill_table(self.drills)}\nreport: {path}", file=sys.stderr)

    def _unreachable(self, name: str) -> tuple[HostStatus, str]:
        target = self.ssh_targets.get(name)
        if target is None:
            return HostStatus.OFFLINE, "not reachable over SSH; deferred"
        return reach.why_unreachable(target)

    def _finish_deploy(self) -> None:
        for name in sorted(self.selected - set(self.report.hosts)):
            if name in self.reached and self.interrupted:
                outcome = HostOutcome(
                    HostStatus.FAILED,
                    error=f"interrupted by {self.interrupted} before its switch; still on its previous generation",
                )
            elif name in self.reached:
                outcome = HostOutcome(
                    HostStatus.FAILED,
                    error="an operation before the rebuild failed; see the log above",
                )
            else:
                status, why = self._unreachable(name)
                outcome = HostOutcome(status, error=why)
            self.report.hosts[name] = outcome
        path = write(self.report)
        print(f"\n{summary(self.report)}\nreport: {path}", file=sys.stderr)
