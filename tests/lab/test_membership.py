"""End to end: a machine added with `nixfleet host add` comes up from fleet data, deploys and
verifies; a machine retired with `nixfleet host retire` can no longer sync with its peers, push
notes or decrypt the new secrets, and the others verify clean.

Both run on the lab flake (.lab/flake, the lab's copy of the fleet) with the lab's admin key, as
a user runs them on theirs. The lab is started afresh afterwards, for the modules that follow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, Lab

from nixfleet.lab import manager

NIXFLEET = str(Path(sys.executable).parent / "nixfleet")
ST = (
    'k=$(sed -n "s#.*<apikey>\\(.*\\)</apikey>.*#\\1#p" /home/alice/.config/syncthing/config.xml); '
    'curl -fsS -H "X-API-Key: $k" "http://127.0.0.1:8384/rest/{}"'
)
NB = "/home/alice/.nb/home"


def nixfleet(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOPS_AGE_KEY_FILE": str(lab.paths.root / "age/admin.key")}
    return subprocess.run([NIXFLEET, *args], cwd=REPO, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, check=False)  # fmt: skip


def device_ids(lab: Lab, host: str) -> set[str]:
    return {d["deviceID"] for d in json.loads(lab.console(host, ST.format("config/devices")))}


def my_id(lab: Lab, host: str) -> str:
    return str(json.loads(lab.console(host, ST.format("system/status")))["myID"])


@pytest.fixture(scope="module")
def deployed(settled: Lab) -> Iterator[Lab]:
    """The settled lab; started afresh afterwards, as fleet.nix has it, for the modules after."""
    yield settled
    settled.hosts = manager.up(settled.paths)


def test_host_add_then_lab_up_then_deploy_and_verify(deployed: Lab) -> None:
    lab = deployed
    added = nixfleet(lab, "host", "add", "tablet", "--role", "workstation",
                     "--address", "tablet.lan", "--flake", str(lab.paths.flake))  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "tablet: its Syncthing device ID:" in added.stdout
    lab.git("commit", "-q", "-m", "add tablet")
    up = nixfleet(lab, "lab", "up")
    assert up.returncode == 0, up.stderr
    assert "tablet running" in up.stdout
    assert {h["name"] for h in json.loads(lab.paths.hosts_json.read_text())["hosts"]} >= {
        "desktop",
        "tablet",
    }
    deploy = lab.deploy()
    assert deploy.returncode == 0, deploy.output
    assert deploy.status("tablet") == "switched"
    verified = lab.settle(timeout_s=180)
    assert "tablet" in verified.findings["hosts"]
    # It really is a peer: its documents reach the desktop, and its notes reach the remote.
    lab.console(
        "tablet", "runuser -u alice -- sh -c 'echo from-tablet > /home/alice/Documents/tablet.txt'"
    )
    lab.wait_for("desktop", "cat /home/alice/Documents/tablet.txt", "from-tablet")
    assert my_id(lab, "tablet") in device_ids(lab, "desktop")


def test_host_retire_cuts_the_device_off(deployed: Lab, tmp_path: Path) -> None:
    lab = deployed
    old_secrets = lab.paths.flake / "secrets.yaml"
    lab.console("laptop", "mkdir -p /tmp/old")
    lab.console("laptop", "cat > /tmp/old/secrets.yaml", input=old_secrets.read_text())
    laptop_id = my_id(lab, "laptop")
    retired = nixfleet(lab, "host", "retire", "laptop", "--flake", str(lab.paths.flake))
    assert retired.returncode == 0, retired.stderr
    assert "nb@laptop" in retired.stdout  # the Forgejo deploy key to delete is named
    lab.git("commit", "-q", "-m", "retire laptop")
    deploy = lab.deploy()
    assert deploy.returncode == 0, deploy.output
    assert "laptop" not in deploy.report["hosts"]

    # It can no longer sync: its peers dropped it, and it is connected to none of them.
    for peer in ("desktop", "server", "tablet"):
        assert laptop_id not in device_ids(lab, peer), peer
    lab.wait_for(
        "laptop",
        ST.format("system/connections") + " | jq '[.connections[] | select(.connected)] | length'",
        "0",
    )

    # It can no longer push notes: the remote no longer authorizes its notebook key.
    push = ("cd /home/alice/.nb/home && git commit -q --allow-empty -m after-retire && "
            "GIT_SSH_COMMAND=\"ssh -i /run/secrets/nb-ssh-key -o IdentitiesOnly=yes -o BatchMode=yes\" "
            "git push -q origin HEAD:main 2>&1; echo rc=$?")  # fmt: skip
    out = lab.console(
        "laptop", f"systemctl stop nb-sync-home.timer; runuser -u alice -- sh -c '{push}'"
    )
    assert "Permission denied" in out and "rc=0" not in out, out

    # It cannot decrypt the new secrets.yaml, though its key still opens the old one.
    decrypt = "SOPS_AGE_KEY_FILE=/var/lib/sops-nix/key.txt /usr/local/bin/sops --disable-version-check -d {} >/dev/null 2>&1; echo $?"
    lab.console(
        "laptop",
        "cat > /tmp/new-secrets.yaml",
        input=(lab.paths.flake / "secrets.yaml").read_text(),
    )
    assert lab.console("laptop", decrypt.format("/tmp/old/secrets.yaml")) == "0"
    assert lab.console("laptop", decrypt.format("/tmp/new-secrets.yaml")) != "0"

    # The others verify clean, and the retired device is no longer part of the fleet.
    verified = lab.settle(timeout_s=180)
    assert "laptop" not in verified.findings["hosts"]
    assert {"desktop", "server", "tablet"} <= set(verified.findings["hosts"])
