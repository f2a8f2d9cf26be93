"""Checks on captured real state: a healthy desktop passes everything, and each fault captured in
the lab is flagged by exactly the check meant for it."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from facts.nb import NbNotebooks
from facts.network import ListeningSockets
from facts.nixos import FlakeCheckout, NixosSystem
from facts.restic import ResticJobs
from facts.secrets import SecretFiles
from facts.syncthing import SyncthingStatus
from facts.systemd import SystemdFailedUnits, SystemdTimers, SystemdUnits
from nixfleet.area import Context, Declared, Observed
from nixfleet.areas.network import Listener
from nixfleet.areas.nixos import CHECKOUT, SYSTEM
from nixfleet.areas.systemd import UnitStatus
from nixfleet.checks import Severity
from nixfleet.verification import HostVerification, check_ids, verify
from tests.unit.framing import DATA, lines, tool

CAPTURED = datetime(2026, 11, 25, 21, 12, tzinfo=timezone.utc)  # just after the captures


def declared(host: str) -> Declared:
    return Declared.from_json(json.loads((DATA / "declared" / f"{host}.json").read_text()))


def healthy_desktop(**changes: Any) -> Observed:
    observed = Observed(dict(
        system=NixosSystem().process(lines("nixos/system-desktop-with-revision.probe")),
        checkout=FlakeCheckout().process(lines("nixos/flake-checkout-git-clean.probe")),
        failed_units=tuple(
            SystemdFailedUnits().process(tool(SystemdFailedUnits.key, "systemd/failed-none.json"))
        ),
        timers=tuple(
            SystemdTimers().process(tool(SystemdTimers.key, "systemd/list-timers-desktop.json"))
        ),
        units=SystemdUnits().process(tool(SystemdUnits.key, "systemd/show-desktop.txt")),
        syncthing=SyncthingStatus().process(lines("syncthing/desktop-healthy.probe")),
        notebooks=NbNotebooks().process(lines("nb/desktop-pushed.probe")),
        restic=ResticJobs().process(lines("restic/jobs-desktop-ok.probe")),
        secrets=SecretFiles().process(lines("secrets/desktop.probe")),
        listeners=tuple(ListeningSockets().process(lines("network/listeners-desktop.probe"))),
    ))  # fmt: skip
    return observed.with_values(**changes)


def context(observed: Observed, **changes: Any) -> Context:
    base = Context(host="desktop", now=CAPTURED, toplevel=observed[SYSTEM].current,
                   flake_revision=observed[CHECKOUT].get("revision"))  # fmt: skip
    return dataclasses.replace(base, **changes)


def run(observed: Observed, **ctx: Any) -> HostVerification:
    return verify(declared("desktop"), observed, context(observed, **ctx))


def failing(result: HostVerification) -> set[str]:
    return {c.id for c in result.checks if not c.ok}


def check(result: HostVerification, check_id: str):  # type: ignore[no-untyped-def]
    return next(c for c in result.checks if c.id == check_id)


def test_a_healthy_desktop_passes_every_check() -> None:
    result = run(healthy_desktop())
    assert [c.id for c in result.checks] == [
        "nixos.current-system", "nixos.revision", "systemd.failed-units", "syncthing.running",
        "syncthing.peers-connected", "syncthing.folder-state", "syncthing.conflicts",
        "syncthing.max-conflicts", "nb.clean", "nb.pushed", "nb.conflicts", "restic.timer",
        "restic.last-run", "restic.snapshot-age", "restic.repo-locked", "secrets.present",
        "secrets.mode", "network.exposed-ports",
    ]  # fmt: skip
    assert failing(result) == set() and result.ok
    # monitoring.textfile is judged when the verify writes the metrics, not from a read.
    assert len(check_ids()) == 21 and set(check_ids()) - {c.id for c in result.checks} == {
        "backup.3-2-1",
        "backup.restore-drill",
        "monitoring.textfile",
    }


def test_undeclared_subjects_are_not_checked() -> None:
    nas = verify(
        declared("nas"), Observed(), Context(host="nas", now=CAPTURED, flake_revision="a" * 40)
    )
    assert {c.id for c in nas.checks} == {"nixos.current-system", "nixos.revision",
                                          "systemd.failed-units", "network.exposed-ports"}  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"syncthing": "syncthing/desktop-laptop-down.probe"}, {"syncthing.peers-connected"}),
        ({"syncthing": "syncthing/desktop-folder-paused.probe"}, {"syncthing.folder-state"}),
        ({"syncthing": "syncthing/desktop-conflict.probe"}, {"syncthing.conflicts"}),
        ({"syncthing": "syncthing/laptop-not-running.probe"}, {"syncthing.running"}),
        ({"restic": "restic/jobs-desktop-stale-lock.probe"}, {"restic.repo-locked"}),
        (
            {"restic": "restic/jobs-desktop-wrong-password.probe"},
            {"restic.snapshot-age", "restic.repo-locked"},
        ),
        (
            {"restic": "restic/jobs-desktop-unreachable.probe"},
            {"restic.snapshot-age", "restic.repo-locked"},
        ),
        ({"restic": "restic/jobs-desktop-missing-repository.probe"}, {"restic.snapshot-age"}),
        ({"notebooks": "nb/laptop-markers-committed.probe"}, {"nb.conflicts"}),
        (
            {"notebooks": "nb/laptop-unpushed-dirty-copy.probe"},
            {"nb.clean", "nb.pushed", "nb.conflicts"},
        ),
    ],
)
def test_each_captured_fault_is_flagged_by_its_check_only(
    changes: dict[str, str], expected: set[str]
) -> None:
    parsers = {"syncthing": SyncthingStatus(), "restic": ResticJobs(), "notebooks": NbNotebooks()}
    observed = healthy_desktop(**{k: parsers[k].process(lines(v)) for k, v in changes.items()})
    assert failing(run(observed)) == expected


def test_a_failed_backup_is_restic_last_run_not_a_failed_unit() -> None:
    observed = healthy_desktop(
        failed_units=tuple(
            SystemdFailedUnits().process(tool(SystemdFailedUnits.key, "systemd/failed-restic.json"))
        ),
        units=SystemdUnits().process(tool(SystemdUnits.key, "systemd/show-restic-failed.txt")),
    )
    result = run(observed)
    assert failing(result) == {"restic.last-run"}
    assert (
        "restic-backups-desktop.service failed (exit-code"
        in check(result, "restic.last-run").message
    )


def test_an_old_snapshot_is_flagged_against_the_daily_schedule() -> None:
    result = run(healthy_desktop(), now=CAPTURED + timedelta(hours=27))
    assert failing(result) == {"restic.snapshot-age"}
    assert "limit 26.0 h" in check(result, "restic.snapshot-age").message
    assert not failing(run(healthy_desktop(), now=CAPTURED + timedelta(hours=25)))


def test_host_data_overrides_the_freshness_limit() -> None:
    result = run(
        healthy_desktop(), backup_max_age={"desktop": "1h"}, now=CAPTURED + timedelta(hours=2)
    )
    assert failing(result) == {"restic.snapshot-age"}


def test_unpushed_notes_warn_at_first_and_are_errors_when_old() -> None:
    observed = healthy_desktop(
        notebooks=NbNotebooks().process(lines("nb/laptop-unpushed-dirty-copy.probe"))
    )
    assert (
        check(
            run(observed, now=datetime.fromtimestamp(1795641046 + 60, timezone.utc)), "nb.pushed"
        ).severity
        is Severity.WARN
    )
    assert (
        check(
            run(observed, now=datetime.fromtimestamp(1795641046 + 7200, timezone.utc)), "nb.pushed"
        ).severity
        is Severity.ERROR
    )


def test_a_secret_with_the_wrong_mode() -> None:
    secrets = SecretFiles().process(lines("secrets/desktop.probe"))
    key = "/run/secrets/restic-password"
    secrets[key] = dataclasses.replace(secrets[key], mode="644")
    result = run(healthy_desktop(secrets=secrets))
    assert failing(result) == {"secrets.mode"}
    assert check(result, "secrets.mode").message.startswith(
        "secret restic-password is 644 root:root, declared 0400"
    )


def test_a_missing_secret() -> None:
    secrets = SecretFiles().process(lines("secrets/desktop.probe"))
    del secrets["/run/secrets/nb-ssh-key"]
    assert failing(run(healthy_desktop(secrets=secrets))) == {"secrets.present"}


def test_an_undeclared_listener() -> None:
    listeners = (
        *healthy_desktop().values["listeners"],
        Listener("tcp", "0.0.0.0", 8080, "python3", 4242),
    )
    result = run(healthy_desktop(listeners=listeners))
    assert failing(result) == {"network.exposed-ports"}
    assert (
        "8080/tcp is open on 0.0.0.0 by python3 (pid 4242)"
        in check(result, "network.exposed-ports").message
    )


def test_a_host_behind_its_flake() -> None:
    result = run(
        healthy_desktop(),
        toplevel="/nix/store/zzz-nixos-system-desktop-24.11.lab",
        flake_revision="f" * 40,
    )
    assert failing(result) == {"nixos.current-system", "nixos.revision"}
    assert check(result, "nixos.current-system").severity is Severity.ERROR
    assert check(result, "nixos.revision").severity is Severity.WARN


def test_findings_are_json_in_the_documented_shape() -> None:
    data = run(
        healthy_desktop(restic=ResticJobs().process(lines("restic/jobs-desktop-stale-lock.probe")))
    ).to_json()
    assert data["ok"] is False
    bad = [c for c in data["checks"] if not c["ok"]]
    assert bad[0].keys() == {"id", "ok", "severity", "message", "details"}
    json.dumps(data)


def test_a_first_backup_still_to_come_is_not_a_finding() -> None:
    """Right after a deploy the timer has not fired yet and `initialize` has made no repository."""
    fresh = healthy_desktop()
    units = dict(fresh.values["units"])
    units["restic-backups-desktop.service"] = UnitStatus("restic-backups-desktop.service", "loaded",
                                                         "inactive", "dead", "success")  # fmt: skip
    timers = tuple(
        dataclasses.replace(t, last_us=None) if t.unit.startswith("restic") else t
        for t in fresh.values["timers"]
    )
    missing = ResticJobs().process(lines("restic/jobs-desktop-missing-repository.probe"))
    assert failing(run(fresh.with_values(units=units, timers=timers, restic=missing))) == set()
    # ...but once a run has finished, a missing repository is a finding.
    assert failing(run(fresh.with_values(restic=missing))) == {"restic.snapshot-age"}
