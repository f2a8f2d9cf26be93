"""The lab, as a pytest fixture: five real hosts for the whole session, torn down at the end.

These tests need root (namespaces, containers). If the lab cannot start, every test here errors:
CI fails rather than passing quietly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from nixfleet.lab import manager
from nixfleet.lab.topology import SERVICE_ROLE, LabHost, LabPaths
from nixfleet.poll import poll_until

REPO = Path(__file__).resolve().parents[2]
# A lab host's restic environment for its copy of a job on the nas ({job}: <host>-<job>).
RESTIC_ENV = "RESTIC_PASSWORD_FILE=/run/secrets/restic-password RESTIC_REPOSITORY=sftp:root@nas:/srv/restic/{job}"
PYINFRA = str(Path(sys.executable).parent / "pyinfra")


@dataclass
class Deploy:
    """What one `pyinfra … deploys/all.py` run did: its exit code, output and run report."""

    returncode: int
    output: str
    report: dict[str, Any]

    def status(self, host: str) -> str:
        return str(self.report["hosts"][host]["status"])

    def statuses(self) -> dict[str, str]:
        return {h: o["status"] for h, o in self.report["hosts"].items()}


@dataclass
class Verify:
    """What one `pyinfra … deploys/verify.py` run found."""

    returncode: int
    output: str
    findings: dict[str, Any]

    def failing(self) -> dict[str, set[str]]:
        """``{host: {check ids that did not pass}}``, for hosts with any."""
        found = {
            host: {c["id"] for c in result["checks"] if not c["ok"]}
            for host, result in self.findings["hosts"].items()
        }
        return {host: ids for host, ids in found.items() if ids}

    def check(self, host: str, check_id: str) -> dict[str, Any]:
        return next(c for c in self.findings["hosts"][host]["checks"] if c["id"] == check_id)


@dataclass
class Drill:
    """What one `pyinfra … deploys/drill.py` run did: ``{host: [job's drill]}``."""

    returncode: int
    output: str
    drills: dict[str, Any]

    def by_job(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {(h, d["job"]): d for h, ds in self.drills.items() for d in ds}


@dataclass
class Lab:
    paths: LabPaths
    hosts: list[LabHost]
    state_dir: Path

    @property
    def names(self) -> list[str]:
        """The fleet's hosts: not the lab's stand-ins for services outside it (the offsite)."""
        return [h.name for h in self.hosts if h.role != SERVICE_ROLE]

    def console(self, host: str, command: str, input: str | None = None) -> str:
        """Run ``command`` as root at the host's console (not over SSH, which may refuse root
        and gives NixOS's PATH): the test's own hands on the machine. Fails on a non-zero exit."""
        done = manager.console(self.paths, host, command, input=input)
        if not done.ok:
            raise AssertionError(f"{host}: `{command}` exited {done.returncode}: {done.stderr}")
        return done.stdout.strip()

    def ssh(self, host: str, command: str) -> subprocess.CompletedProcess[str]:
        """Run ``command`` over SSH as the controller logs in (root, or the deploy user)."""
        argv = ["ssh", "-F", str(self.paths.ssh_config), host, command]
        return subprocess.run(argv, capture_output=True, text=True)

    def wait_for(self, host: str, command: str, expected: str, timeout_s: float = 60) -> None:
        """Poll ``command`` on ``host`` until its output is ``expected`` (syncs take a moment)."""
        seen: list[str] = []

        def matches() -> bool | None:
            seen.append(manager.console(self.paths, host, command).stdout.strip())
            return True if seen[-1] == expected else None

        if not poll_until(matches, timeout_s, every_s=0.5, sleep=time.sleep):
            raise AssertionError(f"{host}: `{command}` gave {seen[-1]!r}, not {expected!r}")

    def _pyinfra(self, deploy: str, result: str, *args: str) -> tuple[int, str, dict[str, Any]]:
        """Run the real CLI on the lab, as a user would; return its exit code, output and the
        JSON file it wrote into the run's state directory."""
        result_file = self.state_dir / result
        result_file.unlink(missing_ok=True)
        proc = subprocess.run(
            [PYINFRA, "-y", "inventory/lab.py", deploy, *args],
            cwd=REPO,
            env={**os.environ, "NIXFLEET_STATE_DIR": str(self.state_dir)},
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        output = proc.stdout + proc.stderr
        assert result_file.exists(), f"{deploy} wrote no {result}; output:\n{output}"
        return proc.returncode, output, json.loads(result_file.read_text())

    def deploy(self, *args: str) -> Deploy:
        return Deploy(*self._pyinfra("deploys/all.py", "last-run.json", *args))

    def verify(self, *args: str) -> Verify:
        """Run deploys/verify.py and read .fleet/last-verify.json."""
        return Verify(*self._pyinfra("deploys/verify.py", "last-verify.json", *args))

    def drill(self, *args: str) -> Drill:
        """Run deploys/drill.py and read .fleet/last-drill.json."""
        return Drill(*self._pyinfra("deploys/drill.py", "last-drill.json", *args))

    def settle(self, timeout_s: float = 120) -> Verify:
        """Verify until nothing at all is flagged (syncs, first backups and pushes take seconds).
        Jobs that have never been drilled are drilled once, when their first backups exist."""
        seen: list[Verify] = []

        def clean() -> Verify | None:
            seen.append(self.verify())
            failing = seen[-1].failing()
            undrilled = [h for h, ids in failing.items() if ids == {"backup.restore-drill"}]
            if undrilled:
                self.drill(*[a for h in undrilled for a in ("--limit", h)])
                seen.append(self.verify())
            return seen[-1] if not seen[-1].failing() and seen[-1].returncode == 0 else None

        settled = poll_until(clean, timeout_s, every_s=3, sleep=time.sleep)
        if settled is None:
            raise AssertionError(f"the lab did not settle: {seen[-1].failing()}\n{seen[-1].output}")
        return settled

    def backdate_backups(self, host: str, job: str, *paths: str) -> None:
        """Replace every snapshot of ``host``'s ``job`` on the nas by one made two days ago (the
        lab's timers rerun backups only hourly): a backup older than a daily schedule allows."""
        env = RESTIC_ENV.format(job=f"{host}-{job}")
        two_days_ago = "$(date -d '2 days ago' '+%Y-%m-%d %H:%M:%S')"
        self.console(host, f"ids=$({env} restic snapshots -q --json | jq -r '.[].id') && "
                           f'{env} restic backup -q --time "{two_days_ago}" {" ".join(paths)} && '
                           f"{env} restic forget -q $ids")  # fmt: skip

    def git(self, *args: str) -> str:
        argv = ["git", "-C", str(self.paths.flake), "-c", "user.name=test", "-c", "user.email=t@x"]
        return subprocess.run([*argv, *args], capture_output=True, text=True, check=True).stdout

    def set_overrides(self, overrides: dict[str, Any], message: str) -> str:
        """Commit ``overrides.json`` (the flake's fault and settings knobs); return the revision."""
        (self.paths.flake / "overrides.json").write_text(json.dumps(overrides, indent=2))
        self.git("add", "overrides.json")
        if self.git("status", "--porcelain", "--untracked-files=no").strip():
            self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def built_toplevel(self, host: str) -> str:
        """What `nix build` gives for the host, independently of nixfleet."""
        attr = f"{self.paths.flake}#nixosConfigurations.{host}.config.system.build.toplevel"
        argv = ["nix", "build", "--no-link", "--json", attr]
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        return str(json.loads(out)[0]["outputs"]["out"])

    def current_system(self, host: str) -> str:
        return self.console(host, "readlink /run/current-system")

    def generations(self, host: str) -> list[str]:
        return self.console(
            host, "ls /nix/var/nix/profiles | grep -E '^system-[0-9]+-link$' | sort"
        ).split()


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if os.geteuid() != 0:
        pytest.fail("the lab tests need root (network namespaces and containers); run as root")
    paths = LabPaths(REPO / ".lab")
    hosts = manager.up(paths)
    try:
        yield Lab(paths, hosts, tmp_path_factory.mktemp("fleet"))
    finally:
        manager.down(paths)


@pytest.fixture
def changes_reverted(lab: Lab) -> Iterator[None]:
    """Whatever a test commits to overrides.json is reverted (by a new commit) afterwards."""
    yield
    if (lab.paths.flake / "overrides.json").exists():
        lab.set_overrides({}, "test: clear overrides")


@pytest.fixture(scope="module")
def settled(lab: Lab) -> Iterator[Lab]:
    """The lab deployed, then verified until nothing at all is flagged."""
    deploy = lab.deploy()
    assert deploy.returncode == 0, deploy.output
    lab.settle()
    yield lab


@pytest.fixture
def clean_after(settled: Lab) -> Iterator[Lab]:
    """Whatever a test breaks, the lab verifies clean again afterwards."""
    yield settled
    settled.settle()
