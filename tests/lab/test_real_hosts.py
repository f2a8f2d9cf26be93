"""End to end: lab hosts look like NixOS from inside, and the vps is deployed as fleet.nix's
``deployUser``, a normal user with passwordless sudo (as inventory/home.py deploys the real one):
its deploys, rollbacks, verifies and journal all run through sudo, never a root login."""

from __future__ import annotations

import json
import subprocess

from conftest import REPO, Lab
from test_safety import FAST, change, on_known_generation

NIXOS_PATH = "/run/wrappers/bin:/run/current-system/sw/bin"


def test_the_vps_is_reached_as_deploy_with_sudo_and_never_as_root(settled: Lab) -> None:
    lab = settled
    seen = lab.ssh("vps", "id -un; sudo -n id -un; echo $PATH; sudo -n sh -c 'echo $PATH'")
    assert seen.stdout.split() == ["deploy", "root", NIXOS_PATH, NIXOS_PATH], seen.stderr
    root = subprocess.run(
        ["ssh", "-F", str(lab.paths.ssh_config), "-o", "ControlPath=none", "root@vps", "true"],
        capture_output=True,
        text=True,
    )
    assert root.returncode == 255 and "Permission denied" in root.stderr
    # nix-daemon trusts deploy, so the closures it copied are the ones nix build gives.
    assert lab.current_system("vps") == lab.built_toplevel("vps")
    trusted = lab.console("vps", "nix show-config | sed -n 's/^trusted-users = //p'")
    assert trusted.split() == ["root", "deploy"]


def test_a_deploy_as_deploy_switches_and_journals_as_root(lab: Lab, changes_reverted: None) -> None:
    lab.set_overrides(change("vps", value="as-deploy"), "vps changes; it is deployed as deploy")
    deploy = lab.deploy("--limit", "vps")
    assert deploy.returncode == 0, deploy.output
    assert deploy.statuses() == {"vps": "switched"}
    assert lab.console("vps", "cat /etc/nixfleet/test-marker") == "as-deploy"
    assert lab.current_system("vps") == lab.built_toplevel("vps")
    assert on_known_generation(lab, "vps")
    # The journal, the revision record and the flake checkout are root's, written through sudo.
    owners = lab.console(
        "vps",
        "stat -c %U /var/lib/nixfleet/deployments.jsonl /var/lib/nixfleet /etc/nixos/.git/HEAD",
    )
    assert owners.split() == ["root", "root", "root"]
    entry = json.loads(lab.console("vps", "tail -n 1 /var/lib/nixfleet/deployments.jsonl"))
    assert (entry["run"], entry["result"]) == (deploy.report["id"], "switched")
    # The verify after the deploy read what only root can (secrets, restic's password file).
    checks = {c["id"]: c for c in deploy.report["verify"]["hosts"]["vps"]["checks"]}
    assert checks["secrets.mode"]["ok"] and checks["restic.snapshot-age"]["ok"], checks


def test_a_failing_unit_on_the_vps_is_rolled_back_through_sudo(
    lab: Lab, changes_reverted: None
) -> None:
    assert lab.deploy("--limit", "vps").returncode == 0
    before = lab.current_system("vps")
    lab.set_overrides(change("vps", value="fails", faults={"vps": ["failing-unit"]}), "vps fails")
    deploy = lab.deploy("--limit", "vps", *FAST)
    assert deploy.returncode != 0
    assert deploy.statuses() == {"vps": "rolled-back"}
    assert "units failed to start" in deploy.report["hosts"]["vps"]["error"]
    assert lab.current_system("vps") == before and on_known_generation(lab, "vps")
    entry = json.loads(lab.console("vps", "tail -n 1 /var/lib/nixfleet/deployments.jsonl"))
    assert (entry["run"], entry["result"]) == (deploy.report["id"], "rolled-back")


def test_verify_reads_backups_with_no_restic_on_path(settled: Lab) -> None:
    """As on NixOS, restic, jq and sops are not on a host's PATH: verify takes restic from the
    job's unit, and still reads every backup."""
    lab = settled
    for tool in ("restic", "jq", "sops"):
        found = lab.ssh("laptop", f"command -v {tool}")
        assert (found.returncode, found.stdout) == (1, ""), tool
    assert lab.ssh("laptop", "command -v git ss curl systemctl").returncode == 0
    result = lab.verify("--limit", "laptop")
    assert result.returncode == 0, result.output
    check = result.check("laptop", "restic.snapshot-age")
    assert check["ok"] and "documents-nas" in json.dumps(check), check


def test_no_host_sees_the_project_the_lab_or_another_host(lab: Lab) -> None:
    hidden = [REPO, lab.paths.root, lab.paths.host_dir("desktop") / "upper"]
    probe = "; ".join(f"test -e {p} && echo {p}" for p in hidden) + "; true"
    for host in lab.names:
        assert lab.console(host, probe) == "", host
        assert lab.ssh(host, probe).stdout.strip() == "", host
    # The project is still there for the controller.
    assert (REPO / "fleet.nix").is_file()
