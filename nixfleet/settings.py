"""Per-host deploy settings, read and validated from pyinfra host data."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NoReturn

from nixfleet import rebuild, schedule
from nixfleet.area import DEPLOY_HINT, Context
from nixfleet.errors import NixfleetError
from nixfleet.models import Action, FlakeRef
from nixfleet.nix import local_flake
from nixfleet.ssh import SshTarget
from nixfleet.verification import check_ids


@dataclass(frozen=True)
class HostSettings:
    """How to deploy one host. Every field comes from host or group data (inventory/group_data).

    + flake: path of the flake (a git checkout), relative to where pyinfra runs
    + flake_attr: the host's ``nixosConfigurations`` name (default: the inventory name)
    + action: ``switch`` (default), ``boot`` or ``test``
    + nixos_rebuild: the nixos-rebuild program to run on the controller (legacy or ng: told
      apart once per run, and nixfleet's own flags spelled for it)
    + nixos_rebuild_flags: extra flags for it, e.g. ``["-L", "--use-substitutes"]``;
      ``--fast``/``--no-reexec`` and ``--sudo``/``--use-remote-sudo`` are respelled per flavour
    + build_host: build there instead of on the controller (``--build-host``)
    + use_remote_sudo: run the remote steps with sudo (for a non-root ``ssh_user``)
    + flake_checkout: where push_flake puts the flake on the host; empty to skip
    + safe_switch: run ``switch`` as test, gate, then boot, with a rollback watchdog (default on)
    + watchdog_s: seconds after activation before the watchdog restores the old generation
    + gate_timeout_s: how long the gate waits for a fresh SSH connection after activation
    + gate_settle_s: how long the gate then watches the new generation (default 10; 0: once)
    + gates: check ids (besides nixos.current-system and systemd.failed-units) that must pass
    + allow_dirty: deploy from a flake with uncommitted changes
    + reboot: when a switch needs a reboot: ``never`` (default), ``now``, or a window
      ``"HH:MM-HH:MM"``; with ``reboot_apply = False`` (the lab) it is only reported
    + verify_after_deploy: run the data-layer checks after deploying (default on)
    + backup_max_age: ``{job: duration}`` overriding how fresh a job's newest snapshot must be
    + nb_push_grace: how long notes may stay unpushed before it is an error (default ``1h``)
    + drill_max_age: how old the last successful restore drill may be (default ``7d``)
    + prometheus_textfile: where to write the findings as a node_exporter textfile
    + deploy_hint: the deploy command the findings suggest

    Every key is checked here, before anything is touched: a wrong type or value is one line
    naming the host, the key and the fix.
    """

    name: str
    flake: FlakeRef
    action: Action
    ssh: SshTarget
    nixos_rebuild: str = "nixos-rebuild"
    nixos_rebuild_flags: tuple[str, ...] = ()
    build_host: str | None = None
    use_remote_sudo: bool = False
    flake_checkout: str | None = "/etc/nixos"
    safe_switch: bool = True
    watchdog_s: int = 60
    gate_timeout_s: int = 20
    gate_settle_s: int = 10
    gates: tuple[str, ...] = ()
    allow_dirty: bool = False
    reboot: dict[str, Any] = field(default_factory=lambda: {"policy": "never", "apply": True})
    verify_after_deploy: bool = True
    backup_max_age: dict[str, timedelta] = field(default_factory=dict)
    nb_push_grace: timedelta = timedelta(hours=1)
    drill_max_age: timedelta = timedelta(days=7)
    prometheus_textfile: str | None = None
    deploy_hint: str = DEPLOY_HINT

    def check_context(self, now: datetime, toplevel: str | None, revision: str | None) -> Context:
        """What the checks compare against on this host, besides its declarations."""
        return Context(
            host=self.name,
            now=now,
            toplevel=toplevel,
            flake_revision=revision,
            flake_checkout=self.flake_checkout,
            backup_max_age=self.backup_max_age,
            nb_push_grace=self.nb_push_grace,
            drill_max_age=self.drill_max_age,
            deploy_hint=self.deploy_hint,
        )

    @classmethod
    def from_data(cls, name: str, data: Mapping[str, object]) -> HostSettings:
        """Validate host data; raise a one-line :class:`NixfleetError` naming the host.

        >>> HostSettings.from_data("nas", {"flake": ".", "action": "reboot"})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nixfleet.errors.NixfleetError: nas: action 'reboot' is not one of switch, boot, test; ...
        """
        v = _Validator(name, data)
        action_name = v.text("action", "switch")
        allowed = (Action.SWITCH, Action.BOOT, Action.TEST)
        if action_name not in {a.value for a in allowed}:
            raise NixfleetError(
                f"{name}: action {action_name!r} is not one of switch, boot, test; "
                "fix `action` in the host's data"
            )
        flake = v.text("flake", "")
        if not flake:
            raise NixfleetError(f"{name}: no `flake` in host data; set it in group_data/all.py")
        if not os.path.isdir(flake):
            raise NixfleetError(
                f"{name}: flake {flake!r} is not a directory; fix `flake` in group data"
            )
        checkout = data.get("flake_checkout", "/etc/nixos")
        if checkout and not (isinstance(checkout, str) and checkout.startswith("/")):
            v.fail("flake_checkout", checkout, "an absolute path on the host, or empty to skip")
        attr = v.text("flake_attr", name) or name
        if not _ATTR.match(attr):
            v.fail("flake_attr", attr, "a nixosConfigurations name (letters, digits, - _ .)")
        gates = v.strings("gates")
        ids = check_ids()
        unknown = [g for g in gates if g not in ids]
        if unknown:
            v.fail("gates", unknown[0], f"check ids, such as {', '.join(ids[:3])}, …")
        max_age = data.get("backup_max_age") or {}
        if not isinstance(max_age, Mapping):
            v.fail(
                "backup_max_age", max_age, 'a mapping of job to duration, e.g. {"desktop": "26h"}'
            )
        reboot_apply = v.boolean("reboot_apply", True)
        rebuild_flags = v.strings("nixos_rebuild_flags")
        rebuild.check_flags(name, rebuild_flags)
        return cls(
            name=name,
            flake=FlakeRef(local_flake(flake), attr),
            action=Action(action_name),
            ssh=SshTarget.from_data(name, data),
            nixos_rebuild=v.text("nixos_rebuild", "nixos-rebuild") or "nixos-rebuild",
            nixos_rebuild_flags=tuple(rebuild_flags),
            build_host=v.text("build_host", "") or None,
            use_remote_sudo=v.boolean("use_remote_sudo", False),
            flake_checkout=str(checkout) if checkout else None,
            safe_switch=v.boolean("safe_switch", True),
            watchdog_s=_positive(name, "watchdog_s", data.get("watchdog_s", 60)),
            gate_timeout_s=_positive(name, "gate_timeout_s", data.get("gate_timeout_s", 20)),
            gate_settle_s=v.seconds("gate_settle_s", 10),
            gates=tuple(gates),
            allow_dirty=v.boolean("allow_dirty", False),
            reboot={
                "policy": reboot_policy(name, data.get("reboot", "never")),
                "apply": reboot_apply,
            },
            verify_after_deploy=v.boolean("verify_after_deploy", True),
            backup_max_age={
                str(job): v.duration(f"backup_max_age.{job}", value)
                for job, value in dict(max_age).items()
            },
            nb_push_grace=v.duration("nb_push_grace", data.get("nb_push_grace", "1h")),
            drill_max_age=v.duration("drill_max_age", data.get("drill_max_age", "7d")),
            prometheus_textfile=v.text("prometheus_textfile", "") or None,
            deploy_hint=v.text("deploy_hint", DEPLOY_HINT) or DEPLOY_HINT,
        )


_ATTR = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class _Validator:
    """Reads one host's data, each key as its type, or fails with one line naming the key."""

    host: str
    data: Mapping[str, object]

    def fail(self, key: str, value: object, want: str) -> NoReturn:
        raise NixfleetError(f"{self.host}: {key} = {value!r} is not valid; it must be {want}")

    def text(self, key: str, default: str) -> str:
        value = self.data.get(key, default)
        if value is None:
            return default
        if not isinstance(value, str):
            self.fail(key, value, "a string")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, value, "True or False")
        return value

    def strings(self, key: str) -> list[str]:
        value = self.data.get(key) or []
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            self.fail(key, value, "a list of strings")
        if not all(isinstance(x, str) for x in value):
            self.fail(key, value, "a list of strings")
        return list(value)

    def seconds(self, key: str, default: int) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail(key, value, "a whole number of seconds, 0 or more")
        return value

    def duration(self, key: str, value: object) -> timedelta:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.fail(key, value, "a duration such as 26h, 7d, 90min or a number of seconds")
        try:
            duration = schedule.parse_duration(value)
        except ValueError:
            self.fail(key, value, "a duration such as 26h, 7d, 90min or a number of seconds")
        if duration.total_seconds() <= 0:
            self.fail(key, value, "a positive duration")
        return duration


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
        number = int(str(value)) if not isinstance(value, bool) else 0
    except ValueError:
        number = 0
    if number <= 0:
        raise NixfleetError(f"{host}: {key} must be a positive number of seconds, not {value!r}")
    return number
