"""Hosts with restic jobs: timers enabled, the last run succeeded, the password file is 0400."""

from __future__ import annotations

from nixfleet.areas import restic

ROLE = "restic"


def test_timers_are_enabled_and_scheduled(host, fleet_host) -> None:
    for job in fleet_host.declared[restic.AREA].values():
        timer = host.service(job.timer_unit)
        assert timer.is_enabled, f"{fleet_host.name}: {job.timer_unit} is not enabled"
        assert timer.is_running, f"{fleet_host.name}: {job.timer_unit} is not active"


def test_last_run_succeeded(host, fleet_host) -> None:
    for job in fleet_host.declared[restic.AREA].values():
        state = host.check_output(
            f"systemctl show -p Result,ActiveState --value {job.service}"
        ).split()
        assert state[0] == "success" and state[1] != "failed", (
            f"{fleet_host.name}: {job.service} last ran with {state}"
        )


def test_password_file_is_0400(host, fleet_host) -> None:
    for job in fleet_host.declared[restic.AREA].values():
        f = host.file(job.password_file)
        assert f.exists, f"{fleet_host.name}: {job.password_file} is missing"
        assert f.mode == 0o400, (
            f"{fleet_host.name}: {job.password_file} has mode {oct(f.mode)}, not 0o400"
        )
