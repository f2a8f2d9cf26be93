"""Vagrant VMs as pyinfra hosts: ``vagrant ssh-config`` read into ``ssh_*`` host data."""

from __future__ import annotations

from typing import Any

from nixfleet import process


def parse_ssh_config(text: str) -> dict[str, dict[str, Any]]:
    """``Host`` blocks of ``vagrant ssh-config`` as pyinfra ssh data, by VM name.

    >>> parse_ssh_config('''Host nas
    ...   HostName 192.168.121.15
    ...   User vagrant
    ...   Port 22
    ...   IdentityFile /home/u/fleet/.vagrant/machines/nas/libvirt/private_key
    ... ''')["nas"]["ssh_port"]
    22
    """
    hosts: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    keys = {
        "hostname": "ssh_hostname",
        "user": "ssh_user",
        "port": "ssh_port",
        "identityfile": "ssh_key",
    }
    for line in text.splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) != 2:
            continue
        key, value = parts[0].lower(), parts[1].strip().strip('"')
        if key == "host":
            current = hosts.setdefault(value, {})
        elif current is not None and key in keys:
            current[keys[key]] = int(value) if key == "port" else value
    return hosts


def machines(cwd: str = ".") -> dict[str, dict[str, Any]]:
    """The running VMs of the Vagrantfile in ``cwd`` (none if vagrant is missing or none run)."""
    try:
        result = process.run(["vagrant", "ssh-config"], cwd=cwd, timeout=120)
    except Exception:
        return {}
    return parse_ssh_config(result.stdout) if result.ok else {}
