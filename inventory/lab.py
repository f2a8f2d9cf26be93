"""The lab's fleet: the same names and groups as inventory/home.py, built from .lab/hosts.json.

Start the lab first (``make lab-up``). Every host is also in the group ``lab`` (named after this
file), whose settings live in group_data/lab.py.
"""

import json
from pathlib import Path

_LAB = Path(".lab")
_hosts = (
    json.loads((_LAB / "hosts.json").read_text())["hosts"] if (_LAB / "hosts.json").exists() else []
)


def _entry(row: dict) -> tuple[str, dict]:
    return (
        row["name"],
        {
            "ssh_hostname": row["address"],
            "ssh_user": "root",
            "ssh_key": str(_LAB / "ssh" / "id_ed25519"),
            "ssh_known_hosts_file": str(_LAB / "known_hosts"),
            "ssh_strict_host_key_checking": "yes",
            "ssh_connect_retries": 0,
        },
    )


workstations = [_entry(r) for r in _hosts if "workstations" in r["groups"]]
servers = [_entry(r) for r in _hosts if "servers" in r["groups"]]
generic = [_entry(r) for r in _hosts if "generic" in r["groups"]]
