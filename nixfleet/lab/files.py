"""The text of every file the lab writes for its hosts and its controller. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from nixfleet.lab.topology import LabHost
from nixfleet.ssh import SshTarget

# Units this machine's image enables that a lab host must not run: they would reach for the
# network (which the lab has none of), fight over the console, or start unrelated servers.
ALWAYS_MASKED = (
    "systemd-timesyncd.service",
    "getty@tty1.service",
    "console-getty.service",
    "systemd-networkd-wait-online.service",
    # root's per-user manager, started by every SSH login; under the load of many hosts booting
    # at once it times out and leaves the host degraded, and no lab login needs it.
    "user@0.service",
    # password prompts on a console a container does not have
    "systemd-ask-password-console.path",
    "systemd-ask-password-wall.path",
)
KEPT_ENABLED = frozenset({"ssh.service", "remote-fs.target", "machines.target"})

NIX_CONF = """\
experimental-features = nix-command flakes
sandbox = false
build-users-group =
substituters =
flake-registry = /etc/nix/registry-empty.json
"""
EMPTY_REGISTRY = '{"flakes": [], "version": 2}\n'

SSHD_DROPIN = """\
# nixfleet lab: only this host's own key, root by key only.
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
# As on NixOS: users.users.<name>.openssh.authorizedKeys.keys are kept in /etc.
AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/authorized_keys.d/%u
"""

BOOT_UNIT = """\
[Unit]
Description=nixfleet lab: activate the boot-default generation (stands in for NixOS stage 2)
DefaultDependencies=no
After=local-fs.target
Before=sysinit.target ssh.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'd=/boot/nixfleet-lab/default; [ -L $d ] || exit 0; s=$(readlink $d); \
ln -sfn $s /run/booted-system; exec $s/bin/switch-to-configuration boot-activate'

[Install]
WantedBy=sysinit.target
"""


def etc_hosts(hosts: Iterable[LabHost]) -> str:
    """``/etc/hosts`` naming every lab host, so hosts reach each other by name."""
    lines = ["127.0.0.1 localhost"] + [" ".join((h.address, h.name, *h.aliases)) for h in hosts]
    return "\n".join(lines) + "\n"


def masked_units(enabled: Iterable[str]) -> list[str]:
    """The units to mask in a lab host: whatever the image enables, except what a host needs.

    >>> masked_units(["ssh.service", "postgresql.service"])[:2]
    ['console-getty.service', 'getty@tty1.service']
    >>> "postgresql.service" in masked_units(["postgresql.service"])
    True
    """
    return sorted(set(ALWAYS_MASKED) | {u for u in enabled if u not in KEPT_ENABLED})


def sops_config(admin: str, hosts: Mapping[str, str]) -> str:
    r"""The lab flake's ``.sops.yaml``: ``secrets.yaml`` is encrypted to the admin's age key and
    every host's, as sops-nix setups name them (``sops updatekeys`` re-encrypts to these).

    >>> print(sops_config("age1admin", {"nas": "age1nas"}), end="")
    keys:
      - &admin age1admin
      - &nas age1nas
    creation_rules:
      - path_regex: secrets\.yaml$
        key_groups:
          - age:
              - *admin
              - *nas
    """
    anchors = {"admin": admin, **hosts}
    keys = "".join(f"  - &{name} {key}\n" for name, key in anchors.items())
    refs = "".join(f"          - *{name}\n" for name in anchors)
    return (
        f"keys:\n{keys}creation_rules:\n  - path_regex: secrets\\.yaml$\n"
        f"    key_groups:\n      - age:\n{refs}"
    )


def known_hosts(host_keys: Mapping[LabHost, str]) -> str:
    """A known_hosts file naming each host by name and address, for strict checking."""
    return "".join(
        f"{','.join((h.name, h.address, *h.aliases))} {key.strip()}\n"
        for h, key in host_keys.items()
    )


def ssh_config(hosts: Iterable[LabHost], key: Path, known: Path, control_dir: Path) -> str:
    """The controller's ``ssh_config``: one ``Host`` per lab host, strict host-key checking,
    written from the same keywords nixfleet passes ssh for any host (``SshTarget.settings``)."""
    shared = [
        ("ConnectTimeout", "5"),
        ("ControlMaster", "auto"),
        ("ControlPath", f"{control_dir}/%C"),
        ("ControlPersist", "60"),
    ]
    return "\n".join(
        SshTarget(h.name, h.address, h.login, key=str(key), known_hosts=str(known)).config_block(
            shared
        )
        for h in hosts
    )


def host_ssh_client_config() -> str:
    """A lab host's own ``~/.ssh/config``: other lab hosts only, strictly checked."""
    return (
        "Host *\n"
        "  IdentityFile ~/.ssh/id_ed25519\n"
        "  StrictHostKeyChecking yes\n"
        "  BatchMode yes\n"
        "  ConnectTimeout 5\n"
    )
