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
