"""End to end: the CI dry-run, the offline check and the testinfra suite, against the lab."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO, Lab

BIN = Path(sys.executable).parent


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          env={**os.environ, "NIXFLEET_STATE_DIR": str(REPO / ".fleet")})  # fmt: skip


def test_dry_run_names_exactly_the_changed_host(lab: Lab) -> None:
    assert lab.deploy().returncode == 0
    assert run(str(BIN / "nixfleet"), "dry-run", "-i", "inventory/lab.py").stdout.startswith(
        "would change: nothing"
    )
    lab.set_overrides(
        {"server": {"settings": {"environment": {"etc": {"x": {"text": "1\n"}}}}}}, "server"
    )
    try:
        proc = run(str(BIN / "nixfleet"), "dry-run", "-i", "inventory/lab.py")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("would change: server  (plan: ")
        assert (REPO / ".fleet/dry-run.json").read_text().lstrip().startswith("{")
    finally:
        lab.set_overrides({}, "clear")


def test_offline_check_of_the_lab_flake(lab: Lab) -> None:
    proc = run(str(BIN / "nixfleet"), "check", "-i", "inventory/home.py", "--flake", "lab/flake")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count(" ok ") == 5
    bad = run(
        str(BIN / "nixfleet"),
        "check",
        "-i",
        "inventory/home.py",
        "--flake",
        str(lab.paths.root / "nope"),
    )
    assert bad.returncode == 1 and "does not evaluate" in bad.stdout


def test_infra_suite_passes_on_a_healthy_lab_and_names_a_broken_host(lab: Lab) -> None:
    assert lab.deploy().returncode == 0
    lab.settle()
    suite = [
        str(BIN / "pytest"),
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/infra",
        f"--ssh-config={lab.paths.ssh_config}",
    ]
    healthy = run(*suite)
    assert healthy.returncode == 0, healthy.stdout[-3000:]
    lab.console("laptop", "systemctl stop syncthing.service")
    lab.console("vps", "chmod 0644 /run/secrets/restic-password")
    try:
        broken = run(*suite)
        assert broken.returncode != 0
        assert "laptop: Syncthing is not running" in broken.stdout
        assert "/run/secrets/restic-password has mode 0o644, not 0o400" in broken.stdout
    finally:
        lab.console("laptop", "systemctl start syncthing.service syncthing-init.service")
        lab.console("vps", "chmod 0400 /run/secrets/restic-password")
