"""Which hosts the lab has, their addresses and roles, and where their state lives. Pure data."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nixfleet.errors import NixfleetError
from nixfleet.fleet import ROLE_GROUPS

BRIDGE = "nixfleet0"
SUBNET_PREFIX = "10.250.0"
BRIDGE_ADDRESS = f"{SUBNET_PREFIX}.1"

# Lab addresses of the design's five hosts; any other host in fleet.nix takes the next free one
# from .16. Generic benchmark hosts follow from .101.
KNOWN_OCTETS = {"desktop": 11, "laptop": 12, "server": 13, "vps": 14, "nas": 15}
FIRST_FREE_OCTET = 16
# Lab-only hosts that stand in for services outside the fleet, which nixfleet never deploys:
# an offsite repository (B2/S3) is a restic REST server here, named after the repository.
SERVICE_OCTETS = {"offsite": 100}
SERVICE_ROLE = "service"
GENERIC_FIRST_OCTET = 101
MAX_GENERIC = 150


@dataclass(frozen=True)
class LabHost:
    """One lab host: its name, address and groups, and the names of its kernel objects."""

    name: str
    address: str
    groups: tuple[str, ...]
    role: str = "generic"
    # The host's address in fleet.nix (e.g. vps.example.org), a name that resolves to its lab
    # address on every lab host, so remotes written against the real fleet work unchanged.
    aliases: tuple[str, ...] = ()
    # Who the controller logs in as: fleet.nix's deployUser (a normal user with sudo), or root.
    login: str = "root"

    @property
    def octet(self) -> int:
        return int(self.address.rsplit(".", 1)[1])

    @property
    def netns(self) -> str:
        return f"nixfleet-{self.name}"

    @property
    def veth(self) -> str:
        # Interface names are limited to 15 bytes, so use the address, not the name.
        return f"nfveth{self.octet}"

    @property
    def cgroup(self) -> str:
        return f"nixfleet-lab.{self.name}"


def _is_ip(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def services(data: Mapping[str, Any]) -> list[str]:
    """The lab's stand-ins for services outside the fleet: one host per offsite repository.

    >>> services({"repositoryMedia": {"nas": "local", "offsite": "offsite"}})
    ['offsite']
    """
    media = data.get("repositoryMedia", {})
    return sorted(r for r, m in media.items() if m == "offsite" and r in SERVICE_OCTETS)


def plan(
    fleet_hosts: Mapping[str, Mapping[str, Any]],
    generic: int = 0,
    kept: Mapping[str, str] | None = None,
    service_hosts: tuple[str, ...] | list[str] = (),
) -> list[LabHost]:
    """A lab host for every host in fleet.nix, plus ``generic`` numbered ones (``node001`` …)
    for benchmarks and the ``service_hosts`` (see :func:`services`). ``kept`` holds the
    addresses of hosts already running, which stay.

    >>> fleet = {"nas": {"role": "nas", "address": "nas.lan"},
    ...          "phone": {"role": "workstation", "address": "10.1.2.3"}}
    >>> [(h.name, h.address, h.aliases) for h in plan(fleet, 1)]
    [('nas', '10.250.0.15', ('nas.lan',)), ('phone', '10.250.0.16', ()), ('node001', '10.250.0.101', ())]
    >>> [(h.name, h.address, h.groups) for h in plan({}, 0, None, ["offsite"])]
    [('offsite', '10.250.0.100', ('services',))]
    """
    if not 0 <= generic <= MAX_GENERIC:
        raise ValueError(f"the lab holds 0 to {MAX_GENERIC} generic hosts, not {generic}")
    kept = kept or {}
    taken = {int(a.rsplit(".", 1)[1]) for a in kept.values()} | set(SERVICE_OCTETS.values())
    hosts = [
        LabHost(s, f"{SUBNET_PREFIX}.{SERVICE_OCTETS[s]}", ("services",), SERVICE_ROLE)
        for s in service_hosts
    ]
    for name in sorted(fleet_hosts, key=lambda n: (KNOWN_OCTETS.get(n, 999), n)):
        host = fleet_hosts[name]
        role = host.get("role")
        if role not in ROLE_GROUPS:
            raise NixfleetError(
                f"{name}: role {role!r} in fleet.nix is not one of {', '.join(ROLE_GROUPS)}"
            )
        if name in kept:
            address = kept[name]
        else:
            octet = KNOWN_OCTETS.get(name)
            if octet is None or octet in taken:
                octet = next(
                    o for o in range(FIRST_FREE_OCTET, GENERIC_FIRST_OCTET) if o not in taken
                )
            taken.add(octet)
            address = f"{SUBNET_PREFIX}.{octet}"
        real = str(host.get("address", ""))
        aliases = () if not real or _is_ip(real) or real == name else (real,)
        login = str(host.get("deployUser") or "root")
        hosts.append(LabHost(name, address, (ROLE_GROUPS[role],), role, aliases, login))
    hosts += [
        LabHost(f"node{i:03d}", f"{SUBNET_PREFIX}.{GENERIC_FIRST_OCTET + i - 1}", ("generic",))
        for i in range(1, generic + 1)
    ]
    return hosts


@dataclass(frozen=True)
class LabPaths:
    """Where the lab keeps its state, all under one git-ignored directory (``.lab/``)."""

    root: Path

    @property
    def hosts_json(self) -> Path:
        return self.root / "hosts.json"

    @property
    def ssh_config(self) -> Path:
        return self.root / "ssh_config"

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    @property
    def key(self) -> Path:
        return self.root / "ssh" / "id_ed25519"

    @property
    def flake(self) -> Path:
        return self.root / "flake"

    @property
    def control_dir(self) -> Path:
        """ssh ControlMaster sockets. A socket path must fit in 108 bytes (``%C`` adds 41)."""
        local = self.root / "cm"
        if len(str(local)) + 41 < 100:
            return local
        digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"nixfleet-cm-{digest}"

    def host_dir(self, name: str) -> Path:
        return self.root / "hosts" / name


def save_hosts(path: Path, hosts: list[LabHost], extra: dict[str, dict[str, object]]) -> None:
    """Write ``hosts.json``: the host list, with per-host extras (e.g. the Syncthing device ID)."""
    rows = [
        {**asdict(h), "groups": list(h.groups), "aliases": list(h.aliases), **extra.get(h.name, {})}
        for h in hosts
    ]
    path.write_text(json.dumps({"bridge": BRIDGE_ADDRESS, "hosts": rows}, indent=2) + "\n")


def load_hosts(path: Path) -> list[LabHost]:
    """Read the host list back from ``hosts.json``."""
    rows = json.loads(path.read_text())["hosts"]
    return [
        LabHost(
            r["name"],
            r["address"],
            tuple(r["groups"]),
            r["role"],
            tuple(r["aliases"]),
            r.get("login", "root"),
        )
        for r in rows
    ]
