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
    ``ssh_hostname`` from its address, then ``defaults``, then ``ssh_user`` and
    ``use_remote_sudo`` for a host whose ``deployUser`` is not root, then its own ``overrides``
    (deploy settings such as ``build_host``, which are not fleet data).

    >>> fleet = {"hosts": {"nas": {"role": "nas", "address": "nas.lan"},
    ...                    "laptop": {"role": "workstation", "address": "laptop.lan"}}}
    >>> groups(fleet, {"ssh_user": "root"}, {"nas": {"ssh_port": 2222}})
    {'workstations': [('laptop', {'ssh_hostname': 'laptop.lan', 'ssh_user': 'root'})], 'servers': [('nas', {'ssh_hostname': 'nas.lan', 'ssh_user': 'root', 'ssh_port': 2222})]}
    >>> fleet["hosts"]["nas"]["deployUser"] = "deploy"
    >>> groups(fleet, {"ssh_user": "root"}, {})["servers"]
    [('nas', {'ssh_hostname': 'nas.lan', 'ssh_user': 'deploy', 'use_remote_sudo': True})]
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
        login = host.get("deployUser") or "root"
        as_user = {} if login == "root" else {"ssh_user": login, "use_remote_sudo": True}
        data = {"ssh_hostname": host["address"], **defaults, **as_user, **overrides.get(name, {})}
        out.setdefault(ROLE_GROUPS[role], []).append((name, data))
    return out


SSH_PORT = 22
STAGGERED_MAX_AGE = "2592000"  # 30 days, in seconds
MAX_CONFLICTS = 10


def _home(user: str) -> str:
    return "/root" if user == "root" else f"/home/{user}"


def _group(user: str) -> str:
    return "root" if user == "root" else "users"


def _listed(entries: Mapping[str, Any], host: str) -> dict[str, Any]:
    return {name: e for name, e in sorted(entries.items()) if host in e["hosts"]}


def _monitoring_ports(data: Mapping[str, Any], host: str) -> list[int]:
    """The TCP ports monitoring opens on a host: the node exporter's on every host, and
    Prometheus's on the host that runs it.

    >>> m = {"monitoring": {"server": "srv", "exporterPort": 9100, "prometheusPort": 9090}}
    >>> _monitoring_ports(m, "srv"), _monitoring_ports(m, "pc"), _monitoring_ports({}, "pc")
    ([9100, 9090], [9100], [])
    """
    mon = data.get("monitoring")
    if not mon:
        return []
    return [mon["exporterPort"], *([mon["prometheusPort"]] if mon["server"] == host else [])]


def expected(data: Mapping[str, Any], host: str) -> dict[str, Any]:
    """What a host's flake must declare for the fleet data to hold, in ``declared.nix``'s shape
    (syncthing, nb, restic, secrets, network): worked out here in Python, independently of
    ``lib/fleet.nix``, so that a test can hold both the Nix helper and the lab flake to it.

    >>> data = {"hosts": {"nas": {"users": [], "exposes": {"tcp": [], "udp": []}},
    ...                   "pc": {"users": ["ann"], "exposes": {"tcp": [], "udp": []}}},
    ...         "repositories": {"nas": "sftp:nas:/r"},
    ...         "backups": {"docs": {"hosts": ["pc"], "paths": ["/home/ann"], "schedule": "daily",
    ...                              "keep": {"daily": 30}, "repositories": ["nas"]}}}
    >>> expected(data, "pc")["restic"]["docs-nas"]["repository"]
    'sftp:nas:/r/pc-docs'
    >>> expected(data, "nas")["network"]
    {'tcp': [22], 'udp': []}
    """
    me = data["hosts"][host]
    user = (me["users"] or ["root"])[0]
    folders = _listed(data.get("syncthing", {}).get("folders", {}), host)
    notebooks = _listed(data.get("notebooks", {}), host)
    jobs = _listed(data.get("backups", {}), host)
    peers = sorted({h for f in folders.values() for h in f["hosts"]} - {host})

    def secret(owner: str, name: str) -> dict[str, str]:
        return {
            "owner": owner,
            "group": _group(owner),
            "mode": "0400",
            "path": f"/run/secrets/{name}",
        }

    syncthing = None
    if folders:
        home = _home(user)
        syncthing = {
            "user": user,
            "configDir": f"{home}/.config/syncthing",
            "guiAddress": "127.0.0.1:8384",
            "devices": {p: {"id": data["hosts"][p]["syncthingId"]} for p in peers},
            "folders": {
                fid: {
                    "id": fid,
                    "path": f["path"].replace("~", home),
                    "devices": [h for h in f["hosts"] if h != host],
                    "versioning": "staggered",
                    "maxConflicts": MAX_CONFLICTS,
                }
                for fid, f in folders.items()
            },
        }
    append_only = data.get("appendOnly", {})
    creds = data.get("repositoryCredentials", {})

    def keep(j: Mapping[str, Any]) -> list[str]:
        return [f"--keep-{period} {n}" for period, n in sorted(j["keep"].items())]

    restic = {
        f"{job}-{repo}": {
            "repository": f"{data['repositories'][repo]}/{host}-{job}",
            "paths": j["paths"],
            "passwordFile": "/run/secrets/restic-password",
            "timerConfig": {"OnCalendar": j["schedule"], "Persistent": True},
            # A client that may only append to a repository never forgets there.
            "pruneOpts": [] if repo in append_only else keep(j),
        }
        for job, j in jobs.items()
        for repo in j["repositories"]
    }
    # The retention this host applies where the clients may only append: prune-only jobs.
    pruned = [
        (client, job, repo, j)
        for job, j in sorted(data.get("backups", {}).items())
        for client in j["hosts"]
        for repo in j["repositories"]
        if append_only.get(repo) == host
    ]
    retention = {
        f"retention-{client}-{job}-{repo}": {
            "repository": f"{data['repositories'][repo]}/{client}-{job}",
            "paths": [],
            "passwordFile": f"/run/secrets/restic-password-{client}",
            "timerConfig": {"OnCalendar": j["schedule"], "Persistent": True},
            "pruneOpts": keep(j),
        }
        for client, job, repo, j in pruned
    }
    credentials = {creds.get(repo) for j in jobs.values() for repo in j["repositories"]} - {None}
    credentials |= {
        f"{creds[repo]}-maintenance"
        for repo, pruner in append_only.items()
        if pruner == host and retention and repo in creds
    }
    secrets: dict[str, dict[str, str]] = {}
    if folders:
        secrets |= {n: secret(user, n) for n in ("syncthing-cert", "syncthing-key")}
    if restic:
        secrets["restic-password"] = secret("root", "restic-password")
    secrets |= {str(name): secret("root", str(name)) for name in sorted(credentials)}
    secrets |= {
        f"restic-password-{client}": secret("root", f"restic-password-{client}")
        for client, *_ in pruned
    }
    restic |= retention
    if notebooks:
        secrets["nb-ssh-key"] = secret(next(iter(notebooks.values()))["user"], "nb-ssh-key")
    return {
        "syncthing": syncthing,
        "nb": {
            name: {
                "path": f"{_home(nb['user'])}/.nb/{name}",
                "user": nb["user"],
                "remote": nb["remote"],
                "branch": nb["branch"],
            }
            for name, nb in notebooks.items()
        },
        "restic": restic,
        "secrets": secrets,
        "network": {
            "tcp": sorted({SSH_PORT, *me["exposes"]["tcp"], *_monitoring_ports(data, host)}),
            "udp": sorted(set(me["exposes"]["udp"])),
        },
    }
