"""The lab's fleet: the hosts of the lab flake's fleet.nix (.lab/flake/fleet.nix, the lab's copy
of the repo's), reached at the lab addresses in .lab/hosts.json, in the same groups as
inventory/home.py. A host retired from that fleet.nix (``nixfleet host retire … --flake
.lab/flake``) may still run, as a lost device would, but is no longer deployed to.

Start the lab first (``make lab-up``). Every host is also in the group ``lab`` (named after this
file), whose settings live in group_data/lab.py.
"""

import json
from pathlib import Path

from nixfleet import fleet

_LAB = Path(".lab")
_hosts = (
    json.loads((_LAB / "hosts.json").read_text())["hosts"] if (_LAB / "hosts.json").exists() else []
)
_fleet_nix = _LAB / "flake" / "fleet.nix"
_members = (
    set(fleet.load(_fleet_nix)["hosts"]) if _fleet_nix.exists() else {r["name"] for r in _hosts}
)


def _entry(row: dict) -> tuple[str, dict]:
    # As inventory/home.py: a host with a deployUser in fleet.nix (the vps) is reached as that
    # normal user, and every remote step runs with sudo.
    login = row.get("login", "root")
    return (
        row["name"],
        {
            "ssh_hostname": row["address"],
            "ssh_user": login,
            **({"use_remote_sudo": True} if login != "root" else {}),
            "ssh_key": str(_LAB / "ssh" / "id_ed25519"),
            "ssh_known_hosts_file": str(_LAB / "known_hosts"),
            "ssh_strict_host_key_checking": "yes",
            "ssh_connect_retries": 0,
        },
    )


def _group(name: str) -> list[tuple[str, dict]]:
    return [
        _entry(r)
        for r in _hosts
        if name in r["groups"] and (r["name"] in _members or name == "generic")
    ]


workstations = _group("workstations")
servers = _group("servers")
generic = _group("generic")
