"""Every table nixfleet prints keeps its columns aligned, whatever the length of a host name."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from nixfleet import cli, offline
from nixfleet.checks import Check, Severity
from nixfleet.lab import manager
from nixfleet.models import HostOutcome, HostStatus
from nixfleet.offline import HostCheck
from nixfleet.plan import HostPlan
from nixfleet.plan import table as plan_table
from nixfleet.report import RunReport, summary, verify_table
from nixfleet.verification import HostVerification

LONG = "workstation-of-the-night-shift"  # 30 characters; the old tables padded names to 10


def test_run_summary_aligns_status_generation_and_duration() -> None:
    report = RunReport(
        "r1",
        "now",
        hosts={
            LONG: HostOutcome(
                HostStatus.SWITCHED,
                generation=12,
                duration_s=104.5,
                before="/nix/store/aaaaaaaa-x",
                after="/nix/store/bbbbbbbb-x",
            ),
            "nas": HostOutcome(HostStatus.UNCHANGED, generation=3, duration_s=2.0),
        },
    )
    lines = summary(report).splitlines()
    assert lines[1:] == [
        f"  {'nas':<30}  unchanged  gen 3     2.0 s",
        f"  {LONG}  switched   gen 12  104.5 s  aaaaaaaa -> bbbbbbbb",
    ]


def test_verify_table_aligns_hosts_and_findings_across_hosts() -> None:
    down = Check("syncthing.running", False, Severity.ERROR, "Syncthing is not running")
    stale = Check("restic.snapshot-age-of-the-longest-job", False, Severity.WARN, "stale")
    text = verify_table(
        {
            LONG: HostVerification(LONG, (down,)),
            "vps": HostVerification("vps", (stale, Check("x", True, Severity.ERROR, ""))),
        }
    )
    assert text.splitlines() == [
        "nixfleet verify: 1 hosts ok, 1 failing",
        f"  {LONG}  FAIL  1 error, 0 warnings, 0 of 1 checks ok",
        f"    error  {'syncthing.running':<38}  Syncthing is not running",
        f"  {'vps':<30}  ok    0 errors, 1 warnings, 1 of 2 checks ok",
        "    warn   restic.snapshot-age-of-the-longest-job  stale",
    ]


def test_plan_table_aligns_status_and_reason() -> None:
    lines = plan_table(
        [
            HostPlan(LONG, "offline", "ssh: connect to host 10.0.0.9 port 22: Connection refused"),
            HostPlan("nas", "unchanged"),
        ]
    ).splitlines()
    assert lines[1:] == [
        f"  {'nas':<30}  unchanged",
        f"  {LONG}  offline    ssh: connect to host 10.0.0.9 port 22: Connection refused",
    ]


def test_check_table_aligns_and_counts_one_ok_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    results = [HostCheck(LONG, LONG, True, "evaluates"), HostCheck("nas", "nas", False, "nope")]
    monkeypatch.setattr(cli.fleet_inventory, "load", lambda *_: [])
    monkeypatch.setattr(offline, "check", lambda *_: results)
    out = CliRunner().invoke(cli.main, ["check"])
    assert out.exit_code == 1
    assert out.output.splitlines() == [
        f"{LONG}  ok     nixosConfigurations.{LONG}: evaluates",
        f"{'nas':<30}  ERROR  nixosConfigurations.nas: nope",
    ]
    assert out.output.count(" ok ") == 1


def test_lab_status_aligns_every_column(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [
        {
            "name": LONG,
            "address": "10.250.0.100",
            "netns": True,
            "container": True,
            "system": "running",
        },
        {
            "name": "nas",
            "address": "10.250.0.15",
            "netns": False,
            "container": False,
            "system": "unreachable",
        },
    ]
    monkeypatch.setattr(manager, "status", lambda _: rows)
    out = CliRunner().invoke(cli.main, ["lab", "status"])
    assert out.exit_code == 1
    assert out.output.splitlines() == [
        f"{LONG}  10.250.0.100  netns=up    container=up    system=running",
        f"{'nas':<30}  10.250.0.15   netns=down  container=down  system=unreachable",
    ]
