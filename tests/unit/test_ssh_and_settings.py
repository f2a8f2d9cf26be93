"""Host data → ssh options and deploy settings, including the one-line errors for bad input."""

from pathlib import Path

import pytest

from nixfleet.errors import NixfleetError
from nixfleet.models import Action
from nixfleet.settings import HostSettings
from nixfleet.ssh import SshTarget


def test_lab_host_data_gives_strict_nix_sshopts(tmp_path: Path) -> None:
    key, known = tmp_path / "id", tmp_path / "known_hosts"
    target = SshTarget.from_data(
        "desktop",
        {"ssh_hostname": "10.250.0.11", "ssh_user": "root", "ssh_key": str(key),
         "ssh_known_hosts_file": str(known), "ssh_strict_host_key_checking": "yes"},
    )  # fmt: skip
    assert target.destination == "root@10.250.0.11"
    assert target.options() == [
        "-o", "IdentitiesOnly=yes", "-o", f"IdentityFile={key}",
        "-o", f"UserKnownHostsFile={known}",
        "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
    ]  # fmt: skip
    assert target.nix_sshopts() == " ".join(target.options())


def test_strict_checking_is_the_default_and_port_is_kept() -> None:
    target = SshTarget.from_data("nas", {"ssh_port": 2222})
    assert target.destination == "nas"
    assert "StrictHostKeyChecking=yes" in target.options()
    assert target.options()[-2:] == ["-o", "Port=2222"]


def test_pyinfra_off_means_no_checking() -> None:
    assert (
        "StrictHostKeyChecking=no"
        in SshTarget.from_data("x", {"ssh_strict_host_key_checking": "off"}).options()
    )


def test_key_path_with_space_is_refused_naming_the_host() -> None:
    with pytest.raises(NixfleetError, match=r"^laptop: ssh path .* contains a space"):
        SshTarget.from_data("laptop", {"ssh_key": "/home/a b/id"})


def test_settings_defaults(tmp_path: Path) -> None:
    s = HostSettings.from_data("nas", {"flake": str(tmp_path)})
    assert (s.flake.attr, s.action, s.nixos_rebuild, s.flake_checkout) == (
        "nas", Action.SWITCH, "nixos-rebuild", "/etc/nixos",
    )  # fmt: skip


def test_settings_reject_unknown_action(tmp_path: Path) -> None:
    with pytest.raises(
        NixfleetError, match="^nas: action 'reboot' is not one of switch, boot, test"
    ):
        HostSettings.from_data("nas", {"flake": str(tmp_path), "action": "reboot"})


def test_settings_reject_missing_flake(tmp_path: Path) -> None:
    with pytest.raises(NixfleetError, match="^vps: flake .* is not a directory"):
        HostSettings.from_data("vps", {"flake": str(tmp_path / "nope")})
