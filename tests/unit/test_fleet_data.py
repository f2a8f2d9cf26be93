"""fleet.nix read as data: hosts become inventory groups by role; bad data is one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from nixfleet import fleet
from nixfleet.errors import NixfleetError

FLEET = """{
  hosts.desktop = { role = "workstation"; address = "desktop.lan"; };
  hosts.server = { role = "server"; address = "server.lan"; exposes.tcp = [ 443 ]; };
}
"""


def test_hosts_become_groups_by_role(tmp_path: Path) -> None:
    path = tmp_path / "fleet.nix"
    path.write_text(FLEET)
    found = fleet.groups(
        fleet.load(path), {"ssh_user": "root"}, {"server": {"build_host": "root@server.lan"}}
    )
    assert found == {
        "workstations": [("desktop", {"ssh_hostname": "desktop.lan", "ssh_user": "root"})],
        "servers": [("server", {"ssh_hostname": "server.lan", "ssh_user": "root",
                                "build_host": "root@server.lan"})],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{ hosts.x = { role = "toaster"; address = "x"; }; }', "x: role 'toaster'"),
        ("{ hosts = ", "does not evaluate"),
        ("{ }", "no `hosts`"),
    ],
)
def test_bad_fleet_data_is_one_line(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "fleet.nix"
    path.write_text(text)
    with pytest.raises(NixfleetError, match=says.replace("(", r"\(")):
        fleet.groups(fleet.load(path), {}, {})


def test_settings_for_a_host_not_in_the_fleet_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "fleet.nix"
    path.write_text(FLEET)
    with pytest.raises(NixfleetError, match="nas: has deploy settings but is not a host"):
        fleet.groups(fleet.load(path), {}, {"nas": {"ssh_port": 22}})


REPO = Path(__file__).resolve().parents[2]


def test_the_fleet_is_the_design_s() -> None:
    data = fleet.load(REPO / "fleet.nix")
    roles = {name: host["role"] for name, host in data["hosts"].items()}
    assert roles == {"desktop": "workstation", "laptop": "workstation", "server": "server",
                     "vps": "vps", "nas": "nas"}  # fmt: skip
    exposing = {n for n, h in data["hosts"].items() if 443 in h["exposes"]["tcp"]}
    assert exposing == {"server", "vps"}
    syncing = {h for f in data["syncthing"]["folders"].values() for h in f["hosts"]}
    for name, h in data["hosts"].items():  # beyond 443, only Syncthing's LAN ports
        sync = (
            {"tcp": {22000}, "udp": {22000, 21027}}
            if name in syncing
            else {"tcp": set(), "udp": set()}
        )
        assert set(h["exposes"]["tcp"]) - {443} == sync["tcp"], name
        assert set(h["exposes"]["udp"]) == sync["udp"], name
    tiers = {j["tier"]: (j["schedule"], j["keep"]) for j in data["backups"].values()}
    assert tiers == {2: ("daily", {"daily": 30}), 3: ("weekly", {"weekly": 13}),
                     "state": ("daily", {"daily": 14})}  # fmt: skip
    assert "nas.lan" in data["repositories"]["nas"]
    for name, job in data["backups"].items():  # 3-2-1: the device, the NAS, offsite
        assert job["repositories"] == ["nas", "offsite"], name
    named = {h for j in data["backups"].values() for h in j["hosts"]}
    named |= {h for b in data["notebooks"].values() for h in b["hosts"]}
    named |= {h for f in data["syncthing"]["folders"].values() for h in f["hosts"]}
    assert named <= set(data["hosts"])
    assert all(data["hosts"]["vps"]["address"] in b["remote"] for b in data["notebooks"].values())


def test_the_home_inventory_is_built_from_fleet_nix() -> None:
    from nixfleet import fleet_inventory

    hosts = dict(fleet_inventory.load(str(REPO / "inventory/home.py")))
    data = fleet.load(REPO / "fleet.nix")
    assert {n: d["ssh_hostname"] for n, d in hosts.items()} == {
        n: h["address"] for n, h in data["hosts"].items()
    }
