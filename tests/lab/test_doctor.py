"""End to end: `nixfleet doctor` on the lab. A settled lab is all ok; a host whose sudo wants a
password, and a host whose /nix (a small tmpfs) or /boot is almost full, are each named with
the fix, and doctor exits 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO, Lab

NIXFLEET = str(Path(sys.executable).parent / "nixfleet")


def doctor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([NIXFLEET, "doctor", *args], cwd=REPO, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, check=False)  # fmt: skip


def test_a_settled_lab_is_healthy(settled: Lab) -> None:
    out = doctor("-i", "inventory/lab.py")
    assert out.returncode == 0, out.stdout + out.stderr
    assert sorted(line.split(":")[0] for line in out.stdout.splitlines()) == sorted(settled.names)
    assert all(line.endswith(": ok") for line in out.stdout.splitlines())


def test_broken_sudo_and_a_full_nix_are_each_named(settled: Lab, tmp_path: Path) -> None:
    lab = settled
    # desktop, reached as alice (a normal user, with the controller's key), who has no sudo rule.
    key = (lab.paths.key.with_suffix(".pub")).read_text()
    lab.console("desktop", f"install -d -o alice -m 0700 /home/alice/.ssh && echo '{key.strip()}' > "
                       "/home/alice/.ssh/authorized_keys && chown alice /home/alice/.ssh/authorized_keys")  # fmt: skip
    inventory = tmp_path / "doctor_inventory.py"
    inventory.write_text(
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('lab', {str(REPO / 'inventory/lab.py')!r})\n"
        "lab = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(lab)\n"
        "_by = dict(lab.workstations + lab.servers)\n"
        "hosts = [('desktop', {**_by['desktop'], 'ssh_user': 'alice', 'use_remote_sudo': True, 'flake': '.lab/flake'}),\n"
        "         ('nas', {**_by['nas'], 'flake': '.lab/flake'})]\n"
    )
    # nas: /nix almost full, for the length of the check (a small tmpfs over it, with the store
    # bound back in: the host's PATH lives there).
    lab.console(
        "nas",
        "mkdir -p /run/nixfleet-test-store && mount --bind /nix/store /run/nixfleet-test-store && "
        "mount -t tmpfs -o size=4m nixfleet-doctor-test /nix && mkdir /nix/store && "
        "mount --bind /run/nixfleet-test-store /nix/store && head -c 3M /dev/zero > /nix/fill",
    )
    try:
        out = doctor("-i", str(inventory))
    finally:
        lab.console("nas", "umount /nix/store /nix /run/nixfleet-test-store")
        lab.console("desktop", "rm -rf /home/alice/.ssh")
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert any(line.startswith("desktop: sudo needs a password or is not allowed for alice")
               and "NOPASSWD" in line for line in lines), lines  # fmt: skip
    assert any(line.startswith("desktop: alice is not in nix's trusted-users") for line in lines), (
        lines
    )
    assert any(line.startswith("nas: /nix has ") and "KiB free" in line
               and "nix-collect-garbage" in line for line in lines), lines  # fmt: skip
