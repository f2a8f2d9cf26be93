"""Facts about a host's NixOS system: what it runs, what it boots, its generations and revision."""

from __future__ import annotations

import json
import shlex

from pyinfra.api.command import QuoteString, StringCommand
from pyinfra.api.facts import FactBase
from typing_extensions import override

from nixfleet.models import SystemState
from nixfleet.observed.nixos import REVISIONS_DIR, SYSTEM_SCRIPT, parse_system
from nixfleet.remote import read_lock

__all__ = [
    "REVISIONS_DIR",
    "DeployLock",
    "FlakeCheckout",
    "NixosCurrentSystem",
    "NixosSystem",
    "parse_system",
]


class NixosSystem(FactBase[SystemState]):
    """
    Returns what the host runs and boots, in one round trip: ``/run/current-system``,
    ``/run/booted-system``, the boot-default system profile and its generations, the NixOS version,
    the flake revision the current system was built from, and whether a reboot is needed (the
    booted kernel, initrd or modules differ from the current ones).

    .. code:: python

        SystemState(
            current="/nix/store/…-nixos-system-nas-24.11",
            booted="/nix/store/…-nixos-system-nas-24.11",
            profile="/nix/store/…-nixos-system-nas-24.11", generation=2,
            generations=(Generation(1, "/nix/store/…", False), Generation(2, "/nix/store/…", True)),
            revision="b9a501e5…", version="24.11",
        )
    """

    default = SystemState

    @override
    def command(self) -> str:
        return SYSTEM_SCRIPT

    @override
    def process(self, output: list[str]) -> SystemState:
        return parse_system(output)


class NixosCurrentSystem(FactBase[str | None]):
    """
    Returns the store path a system link points at, or ``None``.

    + link: the symlink to read (``/run/booted-system`` gives the booted generation)

    .. code:: python

        "/nix/store/8z88a1x1…-nixos-system-nas-24.11.lab"
    """

    @override
    def command(self, link: str = "/run/current-system") -> StringCommand:
        return StringCommand("readlink", QuoteString(link), "||", "true")

    @override
    def process(self, output: list[str]) -> str | None:
        value = output[0].strip() if output else ""
        return value or None


class DeployLock(FactBase[dict[str, str]]):
    """
    Returns who holds the host's nixfleet deploy lock (run, who, since, revision), or ``{}``.

    .. code:: python

        {"run": "20261125T215050Z-a735c0", "who": "root@controller", "since": "…", "revision": "…"}
    """

    default = dict

    @override
    def command(self) -> str:
        return read_lock()

    @override
    def process(self, output: list[str]) -> dict[str, str]:
        text = "\n".join(output).strip()
        try:
            data = json.loads(text) if text else {}
        except json.JSONDecodeError:
            data = {"who": "unknown (unreadable lock record)"}
        return {str(k): str(v) for k, v in data.items()}


class FlakeCheckout(FactBase[dict[str, str]]):
    """
    Returns the state of the flake checkout that push_flake manages on the host: ``state`` is
    ``absent``, ``empty``, ``git`` (with ``revision`` and ``dirty`` = ``yes``/``no``),
    ``foreign`` (files nixfleet does not manage) or ``no-git`` (git is not installed).

    + path: the checkout's directory

    .. code:: python

        {"state": "git", "revision": "b9a501e5…", "dirty": "no"}
    """

    default = dict

    @override
    def command(self, path: str = "/etc/nixos") -> str:
        return (
            f"d={shlex.quote(path)}; "
            "if ! command -v git >/dev/null; then echo state=no-git; "
            'elif [ ! -e "$d" ]; then echo state=absent; '
            'elif [ -d "$d/.git" ]; then echo state=git; '
            'echo revision=$(git -C "$d" rev-parse -q --verify HEAD 2>/dev/null); '
            '[ -z "$(git -C "$d" status --porcelain 2>/dev/null)" ] '
            "&& echo dirty=no || echo dirty=yes; "
            'elif [ -z "$(ls -A "$d")" ]; then echo state=empty; '
            "else echo state=foreign; fi"
        )

    @override
    def process(self, output: list[str]) -> dict[str, str]:
        pairs = (line.partition("=") for line in output)
        return {k.strip(): v.strip() for k, _, v in pairs if k.strip()}
