"""`nixfleet host add` and `host retire` on a scratch copy of the fleet flake, with real sops and
age: what fleet.nix, .sops.yaml and secrets.yaml say afterwards, who can decrypt what, and that
bad input is one line with nothing changed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nixfleet import fleet, keys, membership, process
from nixfleet.errors import NixfleetError
from nixfleet.lab import files

REPO = Path(__file__).resolve().parents[2]
HOSTS = ["desktop", "laptop", "server", "vps", "nas"]


def run(*argv: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, **kw)


def decrypt(secrets: Path, key: Path) -> subprocess.CompletedProcess[str]:
    return run(*keys.sops_decrypt(secrets), env={**os.environ, "SOPS_AGE_KEY_FILE": str(key)})


@pytest.fixture
def flake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The repo's fleet.nix and hosts/, with fresh age keys: an admin's and each host's."""
    root = tmp_path / "flake"
    (root / "secrets").mkdir(parents=True)
    shutil.copy(REPO / "fleet.nix", root / "fleet.nix")
    shutil.copytree(REPO / "hosts", root / "hosts")
    ages = tmp_path / "age"
    ages.mkdir()
    recipients = {}
    for name in ["admin", *HOSTS]:
        process.check(keys.age_keygen(ages / name))
        recipients[name] = process.check(keys.age_recipient(ages / name)).stdout.strip()
    admin = recipients.pop("admin")
    (root / ".sops.yaml").write_text(files.sops_config(admin, recipients))
    plain = json.dumps({h: {"restic-password": f"pw-{h}\n"} for h in HOSTS})
    enc = process.check(keys.sops_encrypt(root / ".sops.yaml", "secrets/secrets.yaml"), input=plain)
    (root / "secrets/secrets.yaml").write_text(enc.stdout)
    run("git", "init", "-q", str(root))
    run("git", "-C", str(root), "add", "-A")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(ages / "admin"))
    yield root


def host_view(root: Path, host: str) -> dict[str, Any]:
    expr = (
        f'import {REPO}/lib/fleet.nix {{ fleet = import {root}/fleet.nix; hostName = "{host}"; }}'
    )
    out = process.check(["nix-instantiate", "--eval", "--strict", "--json", "--expr", expr])
    return dict(json.loads(out.stdout))


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git/" not in str(p)
    }


def test_add_joins_what_every_host_of_its_role_is_on(flake: Path, tmp_path: Path) -> None:
    before = (flake / "fleet.nix").read_text()
    change = membership.add(flake, "tablet", "workstation", "tablet.lan", tmp_path / "keys")
    data = fleet.load(flake / "fleet.nix")
    assert data["hosts"]["tablet"]["role"] == "workstation"
    assert data["hosts"]["tablet"]["users"] == ["alice"]
    assert "tablet" in data["syncthing"]["folders"]["documents"]["hosts"]
    assert "tablet" in data["notebooks"]["home"]["hosts"]
    assert "tablet" in data["backups"]["documents"]["hosts"]
    assert "tablet" not in data["backups"]["media"]["hosts"]
    # Comments and layout survive: every line of the old file is still there.
    text = (flake / "fleet.nix").read_text()
    assert all(line in text for line in before.splitlines() if line.strip().startswith("#"))
    # Its peers list it; it lists them.
    assert "tablet" in host_view(flake, "desktop")["syncthing"]["devices"]
    assert set(host_view(flake, "tablet")["syncthing"]["devices"]) == {
        "desktop",
        "laptop",
        "server",
    }
    # Its own key decrypts its secrets (and a host's old key still works).
    key = tmp_path / "keys/tablet/key.txt"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    got = decrypt(flake / "secrets/secrets.yaml", key)
    assert got.returncode == 0, got.stderr
    mine = json.loads(got.stdout)["tablet"]
    assert set(mine) == {"syncthing-cert", "syncthing-key", "nb-ssh-key", "restic-password"}
    assert decrypt(flake / "secrets/secrets.yaml", tmp_path / "age/laptop").returncode == 0
    assert "&tablet age1" in (flake / ".sops.yaml").read_text()
    assert (flake / "hosts/tablet/configuration.nix").exists()
    assert "PLACEHOLDER" in (flake / "hosts/tablet/hardware-configuration.nix").read_text()
    staged = run("git", "-C", str(flake), "diff", "--cached", "--name-only").stdout.split()
    assert "hosts/tablet/configuration.nix" in staged
    assert any(data["hosts"]["tablet"]["syncthingId"] in line for line in change.done)
    assert not any(mine["restic-password"].strip() in line for line in change.done + change.steps)
    # The offsite key comes from the storage, not from here: named as a step, not made up.
    assert "restic-offsite" not in mine
    assert any(s.startswith("restic-offsite: get tablet's own key") for s in change.steps)


@pytest.mark.parametrize(
    ("name", "role", "address", "says"),
    [
        ("Tab let", "workstation", "t.lan", "'Tab let': not a host name"),
        ("laptop", "workstation", "t.lan", "laptop: already a host"),
        ("tablet", "phone", "t.lan", "tablet: role 'phone' is not one of"),
        ("tablet", "workstation", "t.lan; rm -rf /", "tablet: address 't.lan; rm -rf /' is not"),
    ],
)
def test_bad_input_to_add_is_one_line_and_changes_nothing(
    flake: Path, tmp_path: Path, name: str, role: str, address: str, says: str
) -> None:
    before = snapshot(flake)
    with pytest.raises(NixfleetError, match=says.replace("(", r"\(")):
        membership.add(flake, name, role, address, tmp_path / "keys")
    assert snapshot(flake) == before
    assert not (tmp_path / "keys").exists()


def test_without_the_admin_key_nothing_changes(
    flake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(flake)
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")
    with pytest.raises(NixfleetError, match="SOPS_AGE_KEY_FILE: set it to the admin's age key"):
        membership.add(flake, "tablet", "workstation", "t.lan", tmp_path / "keys")
    other = tmp_path / "stranger"
    process.check(keys.age_keygen(other))
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(other))
    with pytest.raises(NixfleetError, match="could not decrypt with SOPS_AGE_KEY_FILE"):
        membership.retire(flake, "laptop")
    assert snapshot(flake) == before


def test_retire_drops_it_everywhere_and_its_key_decrypts_nothing_new(
    flake: Path, tmp_path: Path
) -> None:
    old = tmp_path / "old-secrets.yaml"
    shutil.copy(flake / "secrets/secrets.yaml", old)
    change = membership.retire(flake, "laptop")
    data = fleet.load(flake / "fleet.nix")
    assert "laptop" not in data["hosts"]
    lists = [e["hosts"] for s in membership.SECTIONS.values() for e in s(data).values()]
    assert lists and not any("laptop" in hosts for hosts in lists)
    assert "laptop" not in host_view(flake, "desktop")["syncthing"]["devices"]
    assert "laptop" not in (flake / ".sops.yaml").read_text()
    laptop_key = tmp_path / "age/laptop"
    assert decrypt(old, laptop_key).returncode == 0  # it could read the old file...
    assert decrypt(flake / "secrets/secrets.yaml", laptop_key).returncode != 0  # ...not the new
    got = decrypt(flake / "secrets/secrets.yaml", tmp_path / "age/desktop")
    assert got.returncode == 0 and "laptop" not in json.loads(got.stdout)
    assert any("deploy key" in step and "nb@laptop" in step for step in change.steps)
    assert any(s.startswith("restic-offsite: revoke laptop's own key") for s in change.steps)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("vps", "vps: notebook home's remote"),
        ("nas", "nas: repository nas"),
        ("phone", "phone: not a host"),
    ],
)
def test_retiring_what_others_depend_on_is_refused(flake: Path, name: str, says: str) -> None:
    before = snapshot(flake)
    with pytest.raises(NixfleetError, match=says):
        membership.retire(flake, name)
    assert snapshot(flake) == before
