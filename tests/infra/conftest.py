"""testinfra against the fleet: hosts come from the pyinfra inventory, roles from the flake.

    pytest tests/infra --ssh-config=.lab/ssh_config                 # the lab (inventory/lab.py)
    pytest tests/infra --inventory=inventory/vagrant.py             # Vagrant VMs
    pytest tests/infra --inventory=inventory/home.py --limit nas    # one real host

Each test module names a role (``ROLE``); the hosts with that role are those whose flake
configuration declares it (Syncthing, restic jobs, the backup target, the notebook remotes, the
node exporter), so
there is no second list of hosts here.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import testinfra

from nixfleet import flake, fleet_inventory
from nixfleet.area import Declared
from nixfleet.areas import monitoring, nb, restic, syncthing
from nixfleet.settings import HostSettings

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class FleetHost:
    name: str
    data: dict[str, Any]
    declared: Declared
    raw: dict[str, Any]


def pytest_addoption(parser: pytest.Parser) -> None:
    default = "inventory/lab.py" if (REPO / ".lab/hosts.json").exists() else "inventory/home.py"
    parser.addoption("--inventory", default=default, help="pyinfra inventory of the fleet")
    parser.addoption("--limit", action="append", default=[], help="host glob or group (repeatable)")


def _fleet(config: pytest.Config) -> list[FleetHost]:
    cached = getattr(config, "_nixfleet_fleet", None)
    if cached is None:
        os.chdir(REPO)
        hosts = fleet_inventory.load(config.getoption("--inventory"), config.getoption("--limit"))
        cached = []
        batch = [str(d.get("flake_attr") or n) for n, d in hosts]
        run = flake.FlakeRun()
        for name, data in hosts:
            settings = HostSettings.from_data(name, data)
            desired = run.evaluate(settings.flake.path, settings.flake.attr, batch)
            cached.append(
                FleetHost(name, data, Declared.from_json(desired.declared), desired.declared)
            )
        config._nixfleet_fleet = cached  # type: ignore[attr-defined]
    return cached


def _remote_hosts(fleet: list[FleetHost], attribute: str) -> set[str]:
    """Hosts named as ``user@host:`` in the fleet's repositories or notebook remotes."""
    names = set()
    for h in fleet:
        targets = ([j.repository or "" for j in h.declared[restic.AREA].values()] if attribute == "restic"
                   else [n.remote or "" for n in h.declared[nb.AREA].values()])  # fmt: skip
        for t in targets:
            if "@" in t and ":" in t.split("@", 1)[1]:
                names.add(t.split("@", 1)[1].split(":", 1)[0])
    return names


ROLES = {
    "all": lambda h, fleet: True,
    "syncthing": lambda h, fleet: h.declared[syncthing.AREA] is not None,
    "restic": lambda h, fleet: bool(h.declared[restic.AREA]),
    "backup-target": lambda h, fleet: h.name in _remote_hosts(fleet, "restic"),
    "notebook-remote": lambda h, fleet: h.name in _remote_hosts(fleet, "notebooks"),
    "node-exporter": lambda h, fleet: h.declared[monitoring.AREA] is not None,
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "fleet_host" in metafunc.fixturenames:
        role = getattr(metafunc.module, "ROLE", "all")
        fleet = _fleet(metafunc.config)
        chosen = [h for h in fleet if ROLES[role](h, fleet)]
        metafunc.parametrize("fleet_host", chosen, ids=[h.name for h in chosen], scope="module")


@pytest.fixture(scope="session")
def ssh_config(request: pytest.FixtureRequest) -> str:
    """The ssh_config to reach the hosts: --ssh-config, or one written from the inventory's data."""
    given = request.config.getoption("ssh_config", default=None)
    if given:
        return str(given)
    lines = []
    for h in _fleet(request.config):
        d = h.data
        lines.append(f"Host {h.name}\n  HostName {d.get('ssh_hostname') or h.name}")
        for key, opt in (("ssh_user", "User"), ("ssh_port", "Port"), ("ssh_key", "IdentityFile"),
                         ("ssh_known_hosts_file", "UserKnownHostsFile")):  # fmt: skip
            if d.get(key):
                lines.append(f"  {opt} {d[key]}")
        lines.append(
            "  StrictHostKeyChecking "
            + ("accept-new" if d.get("ssh_strict_host_key_checking") == "accept-new" else "yes")
        )
    with tempfile.NamedTemporaryFile("w", suffix=".ssh_config", delete=False) as handle:
        handle.write("\n".join(lines) + "\n")
    return handle.name


@pytest.fixture(scope="module")
def host(fleet_host: FleetHost, ssh_config: str) -> Any:
    sudo = bool(fleet_host.data.get("use_remote_sudo"))
    return testinfra.get_host(f"ssh://{fleet_host.name}", ssh_config=ssh_config, sudo=sudo)
