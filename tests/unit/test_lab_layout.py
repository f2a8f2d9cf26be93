"""The lab's topology, kernel-object commands and generated files. Pure: no lab needed."""

from pathlib import Path

import pytest

from nixfleet import fleet
from nixfleet.errors import NixfleetError
from nixfleet.lab import commands, files
from nixfleet.lab.topology import LabHost, load_hosts, save_hosts
from nixfleet.lab.topology import plan as plan_for

REPO = Path(__file__).resolve().parents[2]
FLEET = fleet.load(REPO / "fleet.nix")["hosts"]


def plan(generic: int = 0) -> list[LabHost]:
    return plan_for(FLEET, generic)


def test_the_lab_has_the_hosts_of_fleet_nix() -> None:
    assert [(h.name, h.address, h.groups, h.role, h.aliases) for h in plan()] == [
        ("desktop", "10.250.0.11", ("workstations",), "workstation", ("desktop.lan",)),
        ("laptop", "10.250.0.12", ("workstations",), "workstation", ("laptop.lan",)),
        ("server", "10.250.0.13", ("servers",), "server", ("server.lan",)),
        ("vps", "10.250.0.14", ("servers",), "vps", ("vps.example.org",)),
        ("nas", "10.250.0.15", ("servers",), "nas", ("nas.lan",)),
    ]


def test_a_new_host_takes_a_free_address_and_running_hosts_keep_theirs() -> None:
    more = {**FLEET, "tablet": {"role": "workstation", "address": "tablet.lan"}}
    kept = {"desktop": "10.250.0.16"}  # e.g. a lab started from an earlier fleet.nix
    hosts = {h.name: h.address for h in plan_for(more, 0, kept)}
    assert hosts["desktop"] == "10.250.0.16" and hosts["tablet"] == "10.250.0.17"
    assert len(set(hosts.values())) == len(hosts)


def test_a_host_of_an_unknown_role_is_one_line() -> None:
    with pytest.raises(NixfleetError, match="toaster: role 'phone'"):
        plan_for({"toaster": {"role": "phone", "address": "t"}})


def test_fifty_generic_hosts_fit_with_unique_names_and_short_interfaces() -> None:
    hosts = plan(50)
    assert len(hosts) == 55
    assert len({h.address for h in hosts}) == 55 == len({h.veth for h in hosts})
    assert all(len(h.veth) <= 15 for h in hosts)  # the kernel's IFNAMSIZ limit
    assert all(h.address.startswith("10.250.0.") for h in hosts)


def test_host_network_has_no_default_route() -> None:
    argvs = commands.host_net_up(LabHost("nas", "10.250.0.15", ("servers",)))
    assert ["ip", "-n", "nixfleet-nas", "addr", "add", "10.250.0.15/24", "dev", "eth0"] in argvs
    assert not any("route" in argv for argv in argvs)


def test_host_boot_runs_in_a_private_mount_namespace() -> None:
    host = LabHost("vps", "10.250.0.14", ("servers",))
    assert commands.host_boot(host, Path("/l/hosts/vps"), Path("/p/lab/bin/host-boot")) == [
        "unshare", "--mount", "--propagation", "private", "--",
        "/p/lab/bin/host-boot", "vps", "/l/hosts/vps", "nixfleet-vps", "nixfleet-lab.vps",
    ]  # fmt: skip


def test_ssh_config_is_strict_per_host() -> None:
    text = files.ssh_config(plan()[:2], Path("/l/ssh/id"), Path("/l/known_hosts"), Path("/l/cm"))
    assert text.count("Host ") == 2
    assert "Host laptop\n  HostName 10.250.0.12\n" in text
    assert text.count("StrictHostKeyChecking yes") == 2
    assert "UserKnownHostsFile /l/known_hosts" in text


def test_known_hosts_name_both_name_and_address() -> None:
    host = plan()[4]
    assert (
        files.known_hosts({host: "ssh-ed25519 AAAAkey host\n"})
        == "nas,10.250.0.15,nas.lan ssh-ed25519 AAAAkey host\n"
    )


def test_masks_keep_ssh_and_mask_everything_else_enabled() -> None:
    masked = files.masked_units(["ssh.service", "postgresql.service", "apt-daily.timer"])
    assert "ssh.service" not in masked
    assert {"postgresql.service", "apt-daily.timer", "systemd-timesyncd.service"} <= set(masked)


def test_hosts_json_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "hosts.json"
    save_hosts(path, plan(1), {"desktop": {"syncthing_id": "ABC"}})
    assert load_hosts(path) == plan(1)
    assert '"syncthing_id": "ABC"' in path.read_text()
