"""The fleet's data (``fleet.nix``, pure Nix): hosts, roles, addresses, and the groups pyinfra
inventories are built from. Read with ``nix-instantiate`` (it needs no nixpkgs).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nixfleet import process
from nixfleet.errors import NixfleetError

# pyinfra groups, by fleet.nix role: the names inventory/group_data and `--limit` use.
ROLE_GROUPS = {
    "workstation": "workstations",
    "server": "servers",
    "vps": "servers",
    "nas": "servers",
}


def read_argv(path: Path) -> list[str]:
    """Evaluate ``fleet.nix`` to JSON.

    >>> read_argv(Path("fleet.nix"))[-1]
    'fleet.nix'
    """
    return ["nix-instantiate", "--eval", "--strict", "--json", str(path)]


def load(path: Path) -> dict[str, Any]:
    """``fleet.nix`` as data; a missing or broken file is one line saying so."""
    if not path.exists():
        raise NixfleetError(f"{path} does not exist; the fleet's hosts are declared there")
    result = process.run(read_argv(path))
    if not result.ok:
        raise NixfleetError(f"{path} does not evaluate: {result.last_error_line()}")
    data = json.loads(result.stdout)
    if not isinstance(data, dict) or not isinstance(data.get("hosts"), dict):
        raise NixfleetError(f"{path} has no `hosts` attribute set")
    return data


def groups(
    fleet: Mapping[str, Any],
    defaults: Mapping[str, Any],
    overrides: Mapping[str, Mapping[str, Any]],
) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """pyinfra inventory groups from the fleet's hosts: each host in its role's group, with
    ``ssh_hostname`` from its address, then ``defaults`` and its own ``overrides`` (deploy
    settings such as ``build_host`` or ``ssh_user``, which are not fleet data).

    >>> fleet = {"hosts": {"nas": {"role": "nas", "address": "nas.lan"},
    ...                    "laptop": {"role": "workstation", "address": "laptop.lan"}}}
    >>> groups(fleet, {"ssh_user": "root"}, {"nas": {"ssh_port": 2222}})
    {'workstations': [('laptop', {'ssh_hostname': 'laptop.lan', 'ssh_user': 'root'})], 'servers': [('nas', {'ssh_hostname': 'nas.lan', 'ssh_user': 'root', 'ssh_port': 2222})]}
    """
    unknown = sorted(set(overrides) - set(fleet["hosts"]))
    if unknown:
        raise NixfleetError(f"{unknown[0]}: has deploy settings but is not a host in fleet.nix")
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name, host in sorted(fleet["hosts"].items()):
        role = host.get("role")
        if role not in ROLE_GROUPS:
            raise NixfleetError(
                f"{name}: role {role!r} in fleet.nix is not one of {', '.join(ROLE_GROUPS)}"
            )
        data = {"ssh_hostname": host["address"], **defaults, **overrides.get(name, {})}
        out.setdefault(ROLE_GROUPS[role], []).append((name, data))
    return out
