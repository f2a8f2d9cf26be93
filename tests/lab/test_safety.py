"""End to end: safe deploys. A bad change cannot strand a host; reports and exit codes tell
the truth; a plan touches nothing. Faults come from the lab flake's overrides.json knobs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PYINFRA, REPO, Lab

from nixfleet.lab import manager

NIXFLEET = str(Path(sys.executable).parent / "nixfleet")
FAST = ("--data", "watchdog_s=10", "--data", "gate_timeout_s=5")
# The safe switch under both nixos-rebuild flavours the stand-in plays (real-nixos.md §1): ng
# passes switch-to-configuration's exit code through, legacy makes every failure exit 1.
FLAVOURS = {"ng": (), "legacy": ("--data", "nixos_rebuild=lab/bin/legacy/nixos-rebuild")}


def change(
    *hosts: str, value: str, faults: dict[str, list[str]] | None = None
) -> dict[str, object]:
    """Overrides giving ``hosts`` a new toplevel, and some of them faults."""
    etc = {"environment": {"etc": {"nixfleet/test-marker": {"text": value + "\n"}}}}
    out: dict[str, dict[str, object]] = {h: {"settings": etc} for h in hosts}
    for host, names in (faults or {}).items():
        out.setdefault(host, {})["faults"] = names
    return out  # type: ignore[return-value]


def on_known_generation(lab: Lab, host: str) -> bool:
    """Current system is the boot default, and no deploy lock or watchdog is left running."""
    current = lab.current_system(host)
    profile = lab.console(host, "readlink -f /nix/var/nix/profiles/system")
    leftovers = lab.console(
        host, "systemctl is-active nixfleet-deploy-lock.service nixfleet-watchdog.timer; true"
    )
    return current == profile and "active" not in leftovers.replace("inactive", "")


@pytest.fixture
def deployed(lab: Lab) -> Iterator[Lab]:
    deploy = lab.deploy()
    assert deploy.returncode == 0, deploy.output
    yield lab
    lab.set_overrides({}, "test: clear overrides")


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
def test_activation_error_rolls_back_and_the_others_switch(deployed: Lab, flavour: str) -> None:
    lab = deployed
    before = lab.current_system("server")
    lab.set_overrides(
        change(*lab.names, value=f"a-{flavour}", faults={"server": ["activation-error"]}),
        "activation error",
    )
    deploy = lab.deploy(*FLAVOURS[flavour])
    assert deploy.returncode != 0
    assert deploy.statuses() == {
        h: "rolled-back" if h == "server" else "switched" for h in lab.names
    }
    error = deploy.report["hosts"]["server"]["error"]
    # The reason is what the host's journal says switch-to-configuration did, in either flavour.
    assert (
        "switch-to-configuration test exited 2 on the host (the activation script failed)" in error
    )
    assert f"nixos-rebuild test exited {1 if flavour == 'legacy' else 2}" in error
    assert lab.current_system("server") == before
    assert all(on_known_generation(lab, h) for h in lab.names)
    journal = lab.console("server", "tail -n 1 /var/lib/nixfleet/deployments.jsonl")
    entry = json.loads(journal)
    assert (
        entry["result"] == "rolled-back" and entry["run"] == deploy.report["id"] and entry["reason"]
    )


def test_break_ssh_is_restored_by_the_watchdog(deployed: Lab) -> None:
    lab = deployed
    before = lab.current_system("vps")
    lab.set_overrides(change("vps", value="b", faults={"vps": ["break-ssh"]}), "vps breaks ssh")
    started = time.monotonic()
    deploy = lab.deploy(*FAST)
    assert time.monotonic() - started < 10 + 5 + 60  # watchdog + gate + margin
    assert deploy.statuses()["vps"] == "rolled-back"
    assert "the watchdog restored the previous generation" in deploy.report["hosts"]["vps"]["error"]
    fresh = subprocess.run(
        ["ssh", "-F", str(lab.paths.ssh_config), "-o", "ControlPath=none", "vps", "true"]
    )
    assert fresh.returncode == 0, "vps must accept new SSH connections again"
    assert lab.current_system("vps") == before and on_known_generation(lab, "vps")


def test_a_stopped_host_is_offline_and_the_others_switch(deployed: Lab) -> None:
    lab = deployed
    manager.stop_host(lab.paths, "nas")
    try:
        lab.set_overrides(change(*lab.names, value="c"), "everyone changes")
        proc = subprocess.run([NIXFLEET, "deploy", "-i", "inventory/lab.py"], cwd=REPO,
                              env={**os.environ, "NIXFLEET_STATE_DIR": str(lab.state_dir)},
                              capture_output=True, text=True)  # fmt: skip
        # Deployed, but the backups on the nas cannot be reached: the verification says so (4).
        assert proc.returncode == 4, proc.stdout + proc.stderr
        report = json.loads((lab.state_dir / "last-run.json").read_text())
        statuses = {h: o["status"] for h, o in report["hosts"].items()}
        assert statuses == {h: "offline" if h == "nas" else "switched" for h in lab.names}
        assert "Connection refused" in report["hosts"]["nas"]["error"]
        failing = {h: {c["id"] for c in v["checks"] if not c["ok"]}
                   for h, v in report["verify"]["hosts"].items()}  # fmt: skip
        # The repositories cannot be read, so neither their snapshots, their locks nor their
        # copies (3-2-1) are known.
        unread = {"restic.snapshot-age", "restic.repo-locked", "backup.3-2-1"}
        assert failing == {h: unread for h in lab.names if h != "nas"}
    finally:
        manager.start_host(lab.paths, "nas")
        for host in lab.names:  # backups that ran while the nas was away failed; that is expected
            lab.console(host, "systemctl reset-failed")


def test_a_second_deploy_to_a_host_gets_the_lock_error(deployed: Lab) -> None:
    lab = deployed
    lab.set_overrides(change("laptop", value="d", faults={"laptop": ["slow-unit"]}), "slow laptop")
    env = {**os.environ, "NIXFLEET_STATE_DIR": str(lab.state_dir / "first")}
    first = subprocess.Popen([PYINFRA, "-y", "inventory/lab.py", "deploys/all.py", "--limit", "laptop"],
                             cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        lab.wait_for(
            "laptop", "systemctl is-active nixfleet-deploy-lock.service", "active", timeout_s=30
        )
        second = lab.deploy("--limit", "laptop")
        assert second.returncode != 0
        error = second.report["hosts"]["laptop"]["error"]
        assert (
            error.startswith("another deploy holds the lock: root@")
            and "since" in error
            and "revision" in error
        )
    finally:
        out, _ = first.communicate(timeout=120)
    assert first.returncode == 0, out
    assert on_known_generation(lab, "laptop")


def test_an_eval_error_touches_nothing_anywhere(deployed: Lab) -> None:
    lab = deployed
    before = {
        h: (lab.current_system(h), lab.console(h, "git -C /etc/nixos rev-parse HEAD"))
        for h in lab.names
    }
    broken = change(*lab.names, value="e")
    broken["nas"] = {"settings": {"networking": {"hostName": 42}}}  # not a string: cannot evaluate
    lab.set_overrides(broken, "nas does not evaluate")
    proc = subprocess.run([PYINFRA, "-y", "inventory/lab.py", "deploys/all.py"], cwd=REPO,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)  # fmt: skip
    assert proc.returncode != 0
    assert "nas: nix eval failed: cannot coerce an integer to a string" in proc.stderr
    after = {
        h: (lab.current_system(h), lab.console(h, "git -C /etc/nixos rev-parse HEAD"))
        for h in lab.names
    }
    assert after == before


def test_a_dirty_flake_is_refused(deployed: Lab) -> None:
    lab = deployed
    before = {h: lab.current_system(h) for h in lab.names}
    flake_nix = lab.paths.flake / "modules/nas.nix"
    original = flake_nix.read_text()
    flake_nix.write_text(original + "\n# an uncommitted edit\n")
    try:
        proc = subprocess.run([PYINFRA, "-y", "inventory/lab.py", "deploys/all.py"], cwd=REPO,
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)  # fmt: skip
        assert proc.returncode != 0
        assert (
            "has uncommitted changes (modules/nas.nix); commit them, or set allow_dirty"
            in proc.stderr
        )
        assert {h: lab.current_system(h) for h in lab.names} == before
    finally:
        flake_nix.write_text(original)


def test_sigint_mid_deploy_leaves_every_host_on_a_known_generation(deployed: Lab) -> None:
    lab = deployed
    lab.set_overrides(
        change(*lab.names, value="f", faults={h: ["slow-unit"] for h in lab.names}), "slow"
    )
    env = {**os.environ, "NIXFLEET_STATE_DIR": str(lab.state_dir)}
    (lab.state_dir / "last-run.json").unlink(missing_ok=True)
    proc = subprocess.Popen([PYINFRA, "-y", "inventory/lab.py", "deploys/all.py"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    lab.wait_for(
        "desktop", "systemctl is-active nixfleet-lab-slow.service", "activating", timeout_s=60
    )
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode != 0, out
    for host in lab.names:
        assert on_known_generation(lab, host), host
    report = json.loads((lab.state_dir / "last-run.json").read_text())
    assert "interrupted" in json.dumps(report)


def test_a_plan_tells_each_host_and_touches_nothing(deployed: Lab) -> None:
    lab = deployed
    lab.set_overrides(change("vps", value="g"), "vps changes")
    before = {h: (lab.current_system(h), lab.generations(h)) for h in lab.names}
    manager.stop_host(lab.paths, "nas")
    try:
        proc = subprocess.run([NIXFLEET, "plan", "-i", "inventory/lab.py", "--json"], cwd=REPO,
                              capture_output=True, text=True)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        plan = json.loads(proc.stdout)["hosts"]
        assert {h: p["status"] for h, p in plan.items()} == {
            "desktop": "unchanged", "laptop": "unchanged", "server": "unchanged",
            "vps": "changed", "nas": "offline",
        }  # fmt: skip
        assert plan["vps"]["revision"]["new"] == lab.git("rev-parse", "HEAD").strip()
        assert plan["vps"]["reboot_needed"] is False
    finally:
        manager.start_host(lab.paths, "nas")
    assert {h: (lab.current_system(h), lab.generations(h)) for h in lab.names} == before
