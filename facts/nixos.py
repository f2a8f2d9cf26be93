"""Facts about a host's NixOS system: what it runs and boots, its flake checkout, its deploy lock
(the pyinfra face of :mod:`nixfleet.areas.nixos`)."""

from __future__ import annotations

from pyinfra.api.command import QuoteString, StringCommand
from pyinfra.api.facts import FactBase
from typing_extensions import override

from facts.probed import ProbeFact
from nixfleet.areas import nixos
from nixfleet.models import SystemState

__all__ = ["DeployLock", "FlakeCheckout", "NixosCurrentSystem", "NixosSystem"]


class NixosSystem(ProbeFact[SystemState]):
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

    reading = nixos.SYSTEM


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


class DeployLock(ProbeFact[dict[str, str]]):
    """
    Returns who holds the host's nixfleet deploy lock (run, who, since, revision), or ``{}``
    when nobody does. A record that is not JSON is returned as ``{"who": "unknown (…)"}``.

    .. code:: python

        {"run": "20261125T215050Z-a735c0", "who": "root@controller", "since": "…", "revision": "…"}
    """

    reading = nixos.LOCK


class FlakeCheckout(ProbeFact[dict[str, str]]):
    """
    Returns the state of the flake checkout that push_flake manages on the host: ``state`` is
    ``absent``, ``empty``, ``git`` (with ``revision`` and ``dirty`` = ``yes``/``no``),
    ``foreign`` (files nixfleet does not manage) or ``no-git`` (git is not installed).

    + path: the checkout's directory

    .. code:: python

        {"state": "git", "revision": "b9a501e5…", "dirty": "no"}
    """

    reading = nixos.CHECKOUT
