"""End to end: `pyinfra inventory/lab.py deploys/all.py` against the five real lab hosts."""

from __future__ import annotations

import pytest
from conftest import Lab


def marker(*hosts: str, value: str) -> dict[str, object]:
    """Overrides giving ``hosts`` a changed /etc file, i.e. a new toplevel for just those hosts."""
    etc = {"environment": {"etc": {"nixfleet/test-marker": {"text": value + "\n"}}}}
    return {h: {"settings": etc} for h in hosts}


def test_first_deploy_switches_every_host_to_what_nix_build_gives(lab: Lab) -> None:
    deploy = lab.deploy()
    assert deploy.returncode == 0, deploy.output
    assert set(deploy.statuses()) == set(lab.names)
    for host in lab.names:
        assert deploy.status(host) in ("switched", "unchanged")
        assert lab.current_system(host) == lab.built_toplevel(host)
        assert lab.console(host, "systemctl is-system-running") == "running"
        assert (
            lab.console(host, "git -C /etc/nixos rev-parse HEAD")
            == lab.git("rev-parse", "HEAD").strip()
        )
    report = deploy.report["hosts"]["nas"]
    assert report["after"] == lab.built_toplevel("nas")
    assert report["generation"] >= 1 and report["duration_s"] > 0


def test_second_deploy_changes_nothing_and_adds_no_generation(lab: Lab) -> None:
    assert lab.deploy().returncode == 0
    before = {h: lab.generations(h) for h in lab.names}
    deploy = lab.deploy()
    assert deploy.returncode == 0, deploy.output
    assert deploy.statuses() == {h: "unchanged" for h in lab.names}
    assert {h: lab.generations(h) for h in lab.names} == before


def test_a_one_host_change_deploys_only_that_host(lab: Lab, changes_reverted: None) -> None:
    assert lab.deploy().returncode == 0
    before = {h: lab.current_system(h) for h in lab.names}
    lab.set_overrides(marker("vps", value="one-host"), "vps: add a marker")
    deploy = lab.deploy()
    assert deploy.returncode == 0, deploy.output
    assert deploy.statuses() == {h: "switched" if h == "vps" else "unchanged" for h in lab.names}
    assert lab.current_system("vps") == lab.built_toplevel("vps") != before["vps"]
    assert lab.console("vps", "cat /etc/nixfleet/test-marker") == "one-host"
    for host in set(lab.names) - {"vps"}:
        assert lab.current_system(host) == before[host]


def test_limit_touches_only_the_laptop(lab: Lab, changes_reverted: None) -> None:
    assert lab.deploy().returncode == 0
    desktop_before = lab.current_system("desktop")
    desktop_flake = lab.console("desktop", "git -C /etc/nixos rev-parse HEAD")
    revision = lab.set_overrides(marker("desktop", "laptop", value="limited"), "workstations")
    deploy = lab.deploy("--limit", "laptop")
    assert deploy.returncode == 0, deploy.output
    assert deploy.statuses() == {"laptop": "switched"}
    assert lab.current_system("laptop") == lab.built_toplevel("laptop")
    assert lab.console("laptop", "git -C /etc/nixos rev-parse HEAD") == revision
    # desktop has a pending change too, but was not selected: nothing on it moved.
    assert lab.current_system("desktop") == desktop_before != lab.built_toplevel("desktop")
    assert lab.console("desktop", "git -C /etc/nixos rev-parse HEAD") == desktop_flake


@pytest.mark.parametrize("flavour", ["ng", "legacy"])
def test_a_failing_unit_rolls_that_host_back_while_the_others_switch(
    lab: Lab, changes_reverted: None, flavour: str
) -> None:
    assert lab.deploy().returncode == 0
    laptop_before = lab.current_system("laptop")
    overrides = marker(*lab.names, value=f"fleet-wide-{flavour}")
    overrides["laptop"]["faults"] = ["failing-unit"]
    lab.set_overrides(overrides, "everyone changes; laptop gets a failing unit")
    legacy = ("--data", "nixos_rebuild=lab/bin/legacy/nixos-rebuild")
    deploy = lab.deploy(*(legacy if flavour == "legacy" else ()))
    assert deploy.returncode != 0, "pyinfra must exit non-zero when a host was rolled back"
    assert deploy.statuses() == {
        h: "rolled-back" if h == "laptop" else "switched" for h in lab.names
    }
    error = deploy.report["hosts"]["laptop"]["error"]
    assert "switch-to-configuration test exited 4 on the host (units failed to start)" in error
    assert (
        lab.current_system("laptop")
        == laptop_before
        == lab.console("laptop", "readlink -f /nix/var/nix/profiles/system")
    )
    for host in set(lab.names) - {"laptop"}:
        assert lab.current_system(host) == lab.built_toplevel(host)
        assert lab.console(host, "cat /etc/nixfleet/test-marker") == f"fleet-wide-{flavour}"
