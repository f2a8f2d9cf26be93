"""End to end: nixfleet says only what it observed. A read that cannot happen is an error under
the id of every check that needs it, on that host only; a hostile name on a host can neither
hide a finding nor forge one; outcomes and exit codes match what the hosts run and will boot.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PYINFRA, REPO, Lab
from test_safety import change, on_known_generation

NIXFLEET = str(Path(sys.executable).parent / "nixfleet")
DOCS = "/home/alice/Documents"
# Names that would forge rows in line-based output, and a real conflict copy beside them.
CRAFTED = [
    b"x\n@@ conflicts documents\n",
    b"-rf $(touch pwned) 'q\" \\",  # (Syncthing refuses names that are not UTF-8)
    b"a.sync-conflict-20261202-101010-ABCDEFG.txt\nnot-a-copy.txt",
]
REAL_COPY = "plan.sync-conflict-20261202-101010-ABCDEFG.txt"


def broken(lab: Lab, host: str, tool: str) -> None:
    """Make ``tool`` fail on ``host`` (as a missing or broken program would): bind /bin/false."""
    path = lab.console(host, f"command -v {tool}")
    lab.console(host, f"mount --bind /bin/false {path}")


def mended(lab: Lab, host: str, tool: str) -> None:
    lab.console(host, f"umount $(command -v {tool}) 2>/dev/null; true")


@pytest.mark.parametrize(
    ("host", "tool", "expected", "says"),
    [
        (
            "laptop",
            "git",
            {"nb.clean", "nb.pushed", "nb.conflicts", "nixos.revision"},
            "could not read notebook home",
        ),
        (
            "desktop",
            "find",
            {
                "syncthing.conflicts",
                "nb.conflicts",
                "secrets.present",
                "secrets.mode",
                "nixos.current-system",
            },
            "could not read folder documents",
        ),
        ("nas", "cat", {"network.exposed-ports"}, "could not list listening sockets"),
        (
            "server",
            "restic",
            {"restic.snapshot-age", "restic.repo-locked", "backup.3-2-1"},
            "media-nas",
        ),
        # curl reads Syncthing's REST API and lists an offsite (REST) repository's locks.
        ("vps", "curl", {"restic.repo-locked"}, "could not read the locks of forgejo-offsite"),
        (
            "desktop",
            "curl",
            {"syncthing.running", "restic.repo-locked"},
            "could not read the locks of documents-offsite",
        ),
        (
            "vps",
            "systemctl",
            {
                "systemd.failed-units",
                "restic.timer",
                "restic.last-run",
                "restic.snapshot-age",
                "restic.repo-locked",
                "backup.3-2-1",
            },
            "could not list failed units",
        ),
    ],
)
def test_a_read_that_cannot_run_is_an_error_on_that_host_only(
    clean_after: Lab, host: str, tool: str, expected: set[str], says: str
) -> None:
    lab = clean_after
    broken(lab, host, tool)
    try:
        result = lab.verify()
    finally:
        mended(lab, host, tool)
    assert result.failing() == ({host: expected} if expected else {})
    for check_id in expected:
        assert result.check(host, check_id)["severity"] == "error", check_id
    if says:
        messages = " | ".join(result.check(host, c)["message"] for c in expected)
        assert says in messages
    assert (result.returncode != 0) == bool(expected)


def test_an_unreadable_socket_table_is_an_error_not_no_listeners(clean_after: Lab) -> None:
    lab = clean_after
    lab.console(
        "nas", "systemd-run -q --unit=rogue-8081 python3 -m http.server 8081 --bind 0.0.0.0"
    )
    broken(lab, "nas", "cat")  # the kernel's socket tables are read with cat
    try:
        result = lab.verify()
    finally:
        mended(lab, "nas", "cat")
        lab.console("nas", "systemctl stop rogue-8081")
    assert result.failing() == {"nas": {"network.exposed-ports"}}
    check = result.check("nas", "network.exposed-ports")
    assert check["severity"] == "error"
    assert check["message"].startswith(
        "could not list listening sockets: cat /proc/net/tcp exited 1"
    )
    assert "8081" not in check["message"]  # it was not read, so it is not claimed either way


def test_a_listener_with_a_hostile_process_name_is_still_seen(clean_after: Lab) -> None:
    lab = clean_after
    name = "x\\ntcp 0.0.0.0:22"
    code = f"open('/proc/self/comm','w').write('{name}'); import http.server as h; h.test(port=8082, bind='0.0.0.0')"
    lab.console("server", f'systemd-run -q --unit=rogue-8082 python3 -c "{code}"')
    try:
        lab.wait_for("server", "ss -Hltn 'sport = :8082' | wc -l", "1")
        result = lab.verify()
    finally:
        lab.console("server", "systemctl stop rogue-8082")
    assert result.failing() == {"server": {"network.exposed-ports"}}
    assert (
        "8082/tcp is open on 0.0.0.0" in result.check("server", "network.exposed-ports")["message"]
    )


def test_a_crafted_file_name_cannot_hide_a_real_conflict_copy(clean_after: Lab) -> None:
    lab = clean_after
    lab.console("desktop", each_name("open(p, 'wb').write(b'x')"))
    try:
        for host in ("laptop", "server"):
            lab.wait_for(host, each_name("assert os.path.exists(p)", DOCS) + " && echo all", "all")
        result = lab.verify()
        assert result.failing() == {
            h: {"syncthing.conflicts"} for h in ("desktop", "laptop", "server")
        }
        details = result.check("laptop", "syncthing.conflicts")["details"]
        assert [p.rsplit("/", 1)[-1] for p in details["documents"]] == [REAL_COPY]
        assert lab.console("laptop", f"ls {DOCS} | grep -cx pwned; true") == "0"
    finally:
        lab.console("desktop", each_name("os.path.exists(p) and os.remove(p)"))


def each_name(action: str, folder: str = DOCS) -> str:
    """A command that runs ``action`` (Python, on path ``p``) for each crafted name in ``folder``
    (as alice in hers)."""
    names = [*CRAFTED, REAL_COPY.encode()]
    code = (
        f"import os\nfor n in {names!r}:\n    p = os.fsencode({folder!r}) + b'/' + n\n    {action}"
    )
    run = f"python3 -c {shlex.quote(code)}"
    return f"runuser -u alice -- {run}" if folder == DOCS else run


@pytest.fixture
def deployed(settled: Lab) -> Iterator[Lab]:
    yield settled
    settled.set_overrides({}, "test: clear overrides")
    deploy = settled.deploy()
    assert deploy.returncode == 0, deploy.output


def boot_entry(lab: Lab, host: str) -> str:
    return lab.console(host, "readlink /boot/nixfleet-lab/default")


@pytest.mark.parametrize(
    ("host", "fault", "says"),
    [
        ("laptop", "boot-entry", "persisting failed at writing the boot entry"),
        ("server", "crash-later", "nixfleet-lab-crash-later.service"),  # the gate watched
    ],
)
def test_a_late_failure_rolls_back_current_profile_and_boot_entry(
    deployed: Lab, host: str, fault: str, says: str
) -> None:
    lab = deployed
    before = lab.current_system(host)
    lab.set_overrides(change(host, value=fault, faults={host: [fault]}), f"{host}: {fault}")
    deploy = lab.deploy("--limit", host)
    assert deploy.returncode != 0
    assert deploy.status(host) == "rolled-back", deploy.output
    assert says in deploy.report["hosts"][host]["error"]
    profile = lab.console(host, "readlink -f /nix/var/nix/profiles/system")
    assert (lab.current_system(host), profile, boot_entry(lab, host)) == (before,) * 3
    assert on_known_generation(lab, host)


def test_a_controller_killed_mid_switch_leaves_no_lock_and_the_next_deploy_succeeds(
    deployed: Lab,
) -> None:
    lab = deployed
    before = lab.current_system("laptop")
    lab.set_overrides(change("laptop", value="k", faults={"laptop": ["slow-unit"]}), "slow laptop")
    env = {**os.environ, "NIXFLEET_STATE_DIR": str(lab.state_dir / "killed")}
    argv = [PYINFRA, "-y", "inventory/lab.py", "deploys/all.py", "--limit", "laptop",
            "--data", "watchdog_s=10"]  # fmt: skip
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        lab.wait_for("laptop", "systemctl is-active nixfleet-deploy-lock.service", "active", 120)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    lab.wait_for("laptop", "readlink /run/current-system", before, 60)  # the watchdog fired
    lab.wait_for("laptop", "systemctl is-active nixfleet-deploy-lock.service", "inactive", 30)
    lab.set_overrides(change("laptop", value="k2"), "laptop, no fault")
    deploy = lab.deploy("--limit", "laptop")
    assert deploy.returncode == 0, deploy.output
    assert deploy.status("laptop") == "switched"
    journal = [
        json.loads(x)
        for x in lab.console("laptop", "cat /var/lib/nixfleet/deployments.jsonl").splitlines()
    ]
    assert any(e.get("event") == "lock-taken-over" for e in journal[-3:])
    assert on_known_generation(lab, "laptop")


def test_a_changed_host_key_is_refused_not_offline(deployed: Lab) -> None:
    lab = deployed
    known = lab.paths.root / "known_hosts"
    saved = known.read_text()
    address = next(h.address for h in lab.hosts if h.name == "laptop")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(lab.state_dir / "imposter")],
                   check=True)  # fmt: skip
    imposter = (lab.state_dir / "imposter.pub").read_text().split()[:2]
    lines = [ln for ln in saved.splitlines() if address not in ln.split(" ", 1)[0].split(",")]
    known.write_text("\n".join([*lines, f"{address} {' '.join(imposter)}"]) + "\n")
    try:
        lab.set_overrides(change(*lab.names, value="h"), "everyone changes")
        proc = subprocess.run([NIXFLEET, "deploy", "-i", "inventory/lab.py"], cwd=REPO,
                              env={**os.environ, "NIXFLEET_STATE_DIR": str(lab.state_dir)},
                              capture_output=True, text=True)  # fmt: skip
    finally:
        known.write_text(saved)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    report = json.loads((lab.state_dir / "last-run.json").read_text())
    assert report["hosts"]["laptop"]["status"] == "refused"
    assert "host key" in report["hosts"]["laptop"]["error"]
    assert {h: o["status"] for h, o in report["hosts"].items() if h != "laptop"} == {
        h: "switched" for h in lab.names if h != "laptop"
    }


def test_with_a_build_host_the_watchdog_is_armed_only_once_the_closure_is_on_the_host(
    deployed: Lab,
) -> None:
    """With ``build_host`` (here the host itself, as `nixos-rebuild --build-host` allows), the
    host builds its closure before the lock and watchdog; the switch then lands as usual."""
    lab = deployed
    address = next(h.address for h in lab.hosts if h.name == "nas")
    lab.set_overrides(change("nas", value="built-there"), "nas builds its own closure")
    deploy = lab.deploy("--limit", "nas", "--data", f"build_host=root@{address}")
    assert deploy.returncode == 0, deploy.output
    assert deploy.status("nas") == "switched"
    phases = deploy.report["hosts"]["nas"]["details"]["phases"]
    assert "copy" not in phases and phases["build"] > 0, phases  # built there, nothing copied
    toplevel = lab.built_toplevel("nas")
    info = json.loads(
        lab.console(
            "nas", f"nix --extra-experimental-features nix-command path-info --json {toplevel}"
        )
    )
    assert info[0].get("ultimate") is True, info  # the host built it (a copy is not "ultimate")
    assert lab.current_system("nas") == toplevel
    assert on_known_generation(lab, "nas")
