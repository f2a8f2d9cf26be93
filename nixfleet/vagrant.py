"""Vagrant VMs as pyinfra hosts: ``vagrant ssh-config`` read into ``ssh_*`` host data."""

from __future__ import annotations

from typing import Any

from paramiko import SSHConfig
from paramiko.ssh_exception import ConfigParseError

from nixfleet import process
from nixfleet.errors import NixfleetError


def parse_ssh_config(text: str) -> dict[str, dict[str, Any]]:
    """``Host`` blocks of ``vagrant ssh-config`` as pyinfra ssh data, by VM name.

    paramiko reads it as ssh would: the first value of a keyword wins, ``Host *`` settings apply
    to every VM, quotes and ``~`` are undone, and a VM without ``HostName`` is reached by its name.
    Of several ``IdentityFile`` lines the first is kept, the key ssh tries first.

    >>> vms = parse_ssh_config('''Host nas
    ...   HostName 192.168.121.15
    ...   User vagrant
    ...   Port 22
    ...   IdentityFile "/home/u/my fleet/.vagrant/machines/nas/libvirt/private_key"
    ... ''')
    >>> vms["nas"]["ssh_port"], vms["nas"]["ssh_key"]
    (22, '/home/u/my fleet/.vagrant/machines/nas/libvirt/private_key')
    """
    try:
        config = SSHConfig.from_text(text)
    except ConfigParseError as error:
        raise NixfleetError(f"vagrant ssh-config printed what ssh cannot read: {error}") from error
    hosts: dict[str, dict[str, Any]] = {}
    for name in sorted(config.get_hostnames()):
        if any(c in name for c in "*?!"):
            continue  # a pattern such as the implicit `Host *`, not a VM
        options = config.lookup(name)
        data: dict[str, Any] = {"ssh_hostname": options["hostname"]}
        if "user" in options:
            data["ssh_user"] = options["user"]
        if "port" in options:
            data["ssh_port"] = options.as_int("port")
        keys: object = options.get("identityfile")  # a list, whatever paramiko's stubs say
        if isinstance(keys, list) and keys:
            data["ssh_key"] = keys[0]
        hosts[name] = data
    return hosts


def machines(cwd: str = ".") -> dict[str, dict[str, Any]]:
    """The running VMs of the Vagrantfile in ``cwd`` (none if vagrant is missing or none run)."""
    try:
        result = process.run(["vagrant", "ssh-config"], cwd=cwd, timeout=120)
    except Exception:
        return {}
    return parse_ssh_config(result.stdout) if result.ok else {}
