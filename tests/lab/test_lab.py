"""The lab's hosts are real, separate machines as far as a deploy can tell."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO, Lab

from nixfleet.lab import manager


def test_each_host_has_its_own_identity_and_state(lab: Lab) -> None:
    seen: dict[str, set[str]] = {"machine-id": set(), "host key": set()}
    for host in lab.hosts:
        assert lab.console(host.name, "hostname") == host.name
        assert lab.console(host.name, "ip -4 -br addr show eth0").split()[2] == f"{host.address}/24"
        assert lab.console(host.name, "ip route show default") == ""  # nothing leaves the lab
        assert lab.console(host.name, "cat /proc/1/comm") == "systemd"
        seen["machine-id"].add(lab.console(host.name, "cat /etc/machine-id"))
        seen["host key"].add(
            lab.console(host.name, "cat /etc/ssh/ssh_host_ed25519_key.pub").split()[1]
        )
        for tool in ("nix-store", "syncthing", "restic", "git", "systemd-run"):
            lab.console(host.name, f"command -v {tool}")
    assert all(len(values) == len(lab.hosts) for values in seen.values())


def test_nix_stores_and_etc_nixos_are_per_host(lab: Lab) -> None:
    lab.console("desktop", "mkdir -p /etc/nixos/.probe && touch /etc/nixos/.probe/only-on-desktop")
    try:
        probe = "test -e /etc/nixos/.probe/only-on-desktop && echo yes || echo no"
        assert lab.console("desktop", probe) == "yes"
        assert lab.console("laptop", probe) == "no"
    finally:
        lab.console("desktop", "rm -rf /etc/nixos/.probe")


def test_host_keys_are_checked_strictly(lab: Lab) -> None:
    """A host presenting a key not in .lab/known_hosts is refused."""
    wrong = lab.paths.root / "wrong_known_hosts"
    wrong.write_text(
        "10.250.0.15 " + lab.console("desktop", "cat /etc/ssh/ssh_host_ed25519_key.pub")
    )
    proc = subprocess.run(
        [
            "ssh",
            "-F",
            str(lab.paths.ssh_config),
            "-o",
            f"UserKnownHostsFile={wrong}",
            "-o",
            "ControlMaster=no",
            "-o",
            "ControlPath=none",
            "nas",
            "true",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 255
    assert "Host key verification failed" in proc.stderr


def test_lab_up_is_idempotent_and_down_leaves_nothing(lab: Lab) -> None:
    manager.up(lab.paths)  # over a running lab: clears it first
    assert lab.console("nas", "systemctl is-system-running") == "running"
    # As `make lab-down` runs it: once it returns, nothing of the lab is left.
    nixfleet = str(Path(sys.executable).parent / "nixfleet")
    subprocess.run([nixfleet, "lab", "down"], cwd=REPO, check=True, capture_output=True)
    assert subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout == ""
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert "nixfleet0" not in links and "nfveth" not in links
    mounts = Path("/proc/self/mountinfo").read_text()
    assert "nixfleet" not in mounts and str(lab.paths.root) not in mounts
    procs = subprocess.run(["ps", "-eo", "stat,args"], capture_output=True, text=True).stdout
    live = [line for line in procs.splitlines() if not line.startswith("Z")]
    assert not [line for line in live if "systemd-nspawn" in line or str(lab.paths.root) in line]
    for root in manager.CGROUP_ROOTS:
        assert not list(root.glob("nixfleet-lab.*"))
    manager.up(lab.paths)  # leave a lab for the tests that follow


def test_secrets_are_sops_encrypted_and_decrypted_only_on_their_host(settled: Lab) -> None:
    """As with sops-nix: the flake holds secrets.yaml encrypted to an admin key and each host's
    age key; a host decrypts it at activation with its own key, into /run/secrets only."""
    lab = settled
    encrypted = lab.paths.flake / "secrets.yaml"
    text = encrypted.read_text()
    assert "ENC[AES256_GCM" in text and "PRIVATE KEY" not in text
    sops_yaml = (lab.paths.flake / ".sops.yaml").read_text()
    admin = lab.paths.root / "age" / "admin.key"
    plain = json.loads(
        subprocess.run(
            [
                "sops",
                "--disable-version-check",
                "--decrypt",
                "--output-type",
                "json",
                str(encrypted),
            ],
            env={**os.environ, "SOPS_AGE_KEY_FILE": str(admin)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    for host in ("desktop", "server"):
        password = plain[host]["restic-password"].strip()
        assert lab.console(host, "cat /run/secrets/restic-password") == password
        assert lab.console(host, "stat -c '%a %U' /var/lib/sops-nix/key.txt") == "600 root"
        recipient = lab.console(host, "age-keygen -y /var/lib/sops-nix/key.txt")
        assert recipient in sops_yaml and recipient in text
        upper = lab.paths.host_dir(host) / "upper"  # the host's disk; /run is a tmpfs
        on_disk = subprocess.run(
            ["grep", "-rlF", password, str(upper)], capture_output=True, text=True
        )
        assert on_disk.returncode == 1 and on_disk.stdout == "", on_disk.stdout
        assert not (upper / "var/lib/nixfleet-lab/sops").exists()
    # Nor anywhere in .lab/: the values exist only in secrets.yaml, encrypted.
    for value in (plain["desktop"]["restic-password"], plain["laptop"]["nb-ssh-key"]):
        lines = value.strip().splitlines()
        needle = lines[
            len(lines) // 2
        ]  # of a key: a line of its own (the first is a common header)
        found = subprocess.run(["grep", "-rlF", "--", needle, str(lab.paths.root)],
                               capture_output=True, text=True)  # fmt: skip
        assert found.returncode == 1 and found.stdout == "", found.stdout
