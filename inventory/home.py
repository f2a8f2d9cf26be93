"""The user's fleet, from fleet.nix (its hosts, addresses and roles). Edit fleet.nix to add or
change a machine; this file only adds how to reach and build each one. Settings shared by every
host (flake path, action) are in group_data/all.py and group_data/home.py.

    pyinfra inventory/home.py deploys/all.py
    pyinfra inventory/home.py deploys/all.py --limit laptop

Groups, by role: ``workstations`` (desktop, laptop) and ``servers`` (server, vps, nas).
"""

from pathlib import Path

from nixfleet import fleet

_KEY = "~/.ssh/id_ed25519"
_ssh = {
    "ssh_user": "root",
    "ssh_known_hosts_file": "~/.ssh/known_hosts",
    "ssh_strict_host_key_checking": "yes",
    # Your key, if you have one there; otherwise the SSH agent's keys (pyinfra's default).
    **({"ssh_key": _KEY} if Path(_KEY).expanduser().is_file() else {}),
}

# How to reach and build a host, where it is not the default: deploy settings, not fleet data.
# (A host with `deployUser` in fleet.nix, the vps, is reached as that user with sudo.)
_deploy = {
    # The home server builds its own closure: it is faster than the controller.
    "server": {"build_host": "root@server.lan"},
}

_groups = fleet.groups(fleet.load(Path(__file__).resolve().parents[1] / "fleet.nix"), _ssh, _deploy)
workstations = _groups.get("workstations", [])
servers = _groups.get("servers", [])
