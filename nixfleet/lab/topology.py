"""Which hosts the lab has, their addresses and roles, and where their state lives. Pure data."""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

BRIDGE = "nixfleet0"
SUBNET_PREFIX = "10.250.0"
BRIDGE_ADDRESS = f"{SUBNET_PREFIX}.1"

# The user's fleet: name, last octet, pyinfra groups. Generic benchmark hosts follow from .101.
NAMED_HOSTS: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("desktop", 11, ("workstations",)),
    ("laptop", 12, ("workstations",)),
    ("server", 13, ("servers",)),
    ("vps", 14, ("servers",)),
    ("nas", 15, ("servers",)),
)
GENERIC_FIRST_OCTET = 101
MAX_GENERIC = 150


@dataclass(frozen=True)
class LabHost:
    """One lab host: its name, address and groups, and the names of its kernel objects."""

    name: str
    address: str
    groups: tuple[str, ...]

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


def plan(generic: int = 0) -> list[LabHost]:
    """The five named hosts plus ``generic`` numbered ones (``node001`` …) for benchmarks.

    >>> [h.name for h in plan(2)]
    ['desktop', 'laptop', 'server', 'vps', 'nas', 'node001', 'node002']
    >>> plan()[2].address
    '10.250.0.13'
    """
    if not 0 <= generic <= MAX_GENERIC:
        raise ValueError(f"the lab holds 0 to {MAX_GENERIC} generic hosts, not {generic}")
    hosts = [LabHost(n, f"{SUBNET_PREFIX}.{o}", g) for n, o, g in NAMED_HOSTS]
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
    rows = [{**asdict(h), "groups": list(h.groups), **extra.get(h.name, {})} for h in hosts]
    path.write_text(json.dumps({"bridge": BRIDGE_ADDRESS, "hosts": rows}, indent=2) + "\n")


def load_hosts(path: Path) -> list[LabHost]:
    """Read the host list back from ``hosts.json``."""
    rows = json.loads(path.read_text())["hosts"]
    return [LabHost(r["name"], r["address"], tuple(r["groups"])) for r in rows]
