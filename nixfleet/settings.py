"""Per-host deploy settings, read and validated from pyinfra host data."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nixfleet.errors import NixfleetError
from nixfleet.models import Action, FlakeRef
from nixfleet.nix import local_flake
from nixfleet.ssh import SshTarget


@dataclass(frozen=True)
class HostSettings:
    """How to deploy one host. Every field comes from host or group data (inventory/group_data).

    + flake: path of the flake (a git checkout), relative to where pyinfra runs
    + flake_attr: the host's ``nixosConfigurations`` name (default: the inventory name)
    + action: ``switch`` (default), ``boot`` or ``test``
    + nixos_rebuild: the nixos-rebuild program to run on the controller
    + build_host: build there instead of on the controller (``--build-host``)
    + use_remote_sudo: run the remote steps with sudo (for a non-root ``ssh_user``)
    + flake_checkout: where push_flake puts the flake on the host; empty to skip
    + safe_switch: run ``switch`` as test, gate, then boot, with a rollback watchdog (default on)
    + watchdog_s: seconds after activation before the watchdog restores the old generation
    + gate_timeout_s: how long the gate waits for a fresh SSH connection after activation
    + gates: check ids (besides nixos.current-system and systemd.failed-units) that must pass
    + allow_dirty: deploy from a flake with uncommitted changes
    + reboot: when a switch needs a reboot: ``never`` (default), ``now``, or a window
      ``"HH:MM-HH:MM"``; with ``reboot_apply = False`` (the lab) it is only reported
    """

    name: str
    flake: FlakeRef
    action: Action
    ssh: SshTarget
    nixos_rebuild: str = "nixos-rebuild"
    build_host: str | None = None
    use_remote_sudo: bool = False
    flake_checkout: str | None = "/etc/nixos"
    safe_switch: bool = True
    watchdog_s: int = 60
    gate_timeout_s: int = 20
    gates: tuple[str, ...] = ()
    allow_dirty: bool = False
    reboot: dict[str, Any] = field(default_factory=lambda: {"policy": "never", "apply": True})

    @classmethod
    def from_data(cls, name: str, data: Mapping[str, object]) -> HostSettings:
        """Validate host data; raise a one-line :class:`NixfleetError` naming the host.

        >>> HostSettings.from_data("nas", {"flake": ".", "action": "reboot"})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nixfleet.errors.NixfleetError: nas: action 'reboot' is not one of switch, boot, test; ...
        """
        action_name = str(data.get("action", "switch"))
        allowed = (Action.SWITCH, Action.BOOT, Action.TEST)
        if action_name not in {a.value for a in allowed}:
            raise NixfleetError(
                f"{name}: action {action_name!r} is not one of switch, boot, test; "
                "fix `action` in the host's data"
            )
        flake = str(data.get("flake") or "")
        if not flake:
            raise NixfleetError(f"{name}: no `flake` in host data; set it in group_data/all.py")
        if not os.path.isdir(flake):
            raise NixfleetError(
                f"{name}: flake {flake!r} is not a directory; fix `flake` in group data"
            )
        checkout = data.get("flake_checkout", "/etc/nixos")
        return cls(
            name=name,
            flake=FlakeRef(local_flake(flake), str(data.get("flake_attr") or name)),
            action=Action(action_name),
            ssh=SshTarget.from_data(name, data),
            nixos_rebuild=str(data.get("nixos_rebuild") or "nixos-rebuild"),
            build_host=str(data["build_host"]) if data.get("build_host") else None,
            use_remote_sudo=bool(data.get("use_remote_sudo", False)),
            flake_checkout=str(checkout) if checkout else None,
            safe_switch=bool(data.get("safe_switch", True)),
            watchdog_s=_positive(name, "watchdog_s", data.get("watchdog_s", 60)),
            gate_timeout_s=_positive(name, "gate_timeout_s", data.get("gate_timeout_s", 20)),
            gates=tuple(str(g) for g in data.get("gates") or ()),  # type: ignore[attr-defined]
            allow_dirty=bool(data.get("allow_dirty", False)),
            reboot={
                "policy": reboot_policy(name, data.get("reboot", "never")),
                "apply": bool(data.get("reboot_apply", True)),
            },  # fmt: skip
        )


def reboot_policy(host: str, value: object) -> str:
    """``never``, ``now`` or ``HH:MM-HH:MM``.

    >>> reboot_policy("nas", "02:00-04:30")
    '02:00-04:30'
    """
    text = str(value)
    if text in ("never", "now") or re.fullmatch(r"\d{2}:\d{2}-\d{2}:\d{2}", text):
        return text
    raise NixfleetError(
        f"{host}: reboot {text!r} is not never, now or a window like 02:00-05:00; fix `reboot` in its data"
    )


def _positive(host: str, key: str, value: object) -> int:
    try:
        number = int(str(value))
    except ValueError:
        number = 0
    if number <= 0:
        raise NixfleetError(f"{host}: {key} must be a positive number of seconds, not {value!r}")
    return number
