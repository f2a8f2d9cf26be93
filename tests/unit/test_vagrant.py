"""``vagrant ssh-config`` → pyinfra ssh data for each VM of the Vagrantfile."""

from __future__ import annotations

import pytest

from nixfleet.errors import NixfleetError
from nixfleet.vagrant import parse_ssh_config

# Two VMs as Vagrant's templates/commands/ssh_config/config.erb prints them (a blank line before
# each IdentityFile, the path quoted when it has a space), libvirt provider.
SSH_CONFIG = """\
Host desktop
  HostName 192.168.121.11
  User vagrant
  Port 22
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no

  IdentityFile "/home/alice/my fleet/.vagrant/machines/desktop/libvirt/private_key"
  IdentitiesOnly yes
  PreferredAuthentications gssapi-keyex,gssapi-with-mic,publickey,keyboard-interactive
  LogLevel FATAL

Host nas
  HostName 192.168.121.15
  User vagrant
  Port 2222
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no

  IdentityFile /home/alice/fleet/.vagrant/machines/nas/libvirt/private_key

  IdentityFile /home/alice/.vagrant.d/insecure_private_key
  IdentitiesOnly yes
  LogLevel FATAL
"""


def test_each_vm_becomes_pyinfra_ssh_data() -> None:
    assert parse_ssh_config(SSH_CONFIG) == {
        "desktop": {
            "ssh_hostname": "192.168.121.11",
            "ssh_user": "vagrant",
            "ssh_port": 22,
            "ssh_key": "/home/alice/my fleet/.vagrant/machines/desktop/libvirt/private_key",
        },
        "nas": {
            "ssh_hostname": "192.168.121.15",
            "ssh_user": "vagrant",
            "ssh_port": 2222,
            "ssh_key": "/home/alice/fleet/.vagrant/machines/nas/libvirt/private_key",
        },
    }


def test_no_vm_running_gives_no_hosts() -> None:
    assert parse_ssh_config("") == {}


def test_output_ssh_cannot_read_is_one_error() -> None:
    with pytest.raises(NixfleetError, match="vagrant ssh-config printed what ssh cannot read"):
        parse_ssh_config("Host nas\n  =broken\n")
