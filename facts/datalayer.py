"""One fact that reads several others in a single round trip, run concurrently on the host."""

from __future__ import annotations

from typing import Any

from pyinfra.api.facts import FactBase
from typing_extensions import override

from facts.nb import NbNotebooks
from facts.network import ListeningSockets
from facts.nixos import DeployLock, FlakeCheckout, NixosSystem
from facts.probed import ProbeFact
from facts.restic import ResticJobs
from facts.secrets import SecretFiles
from facts.syncthing import SyncthingStatus
from facts.systemd import SystemdFailedUnits, SystemdTimers, SystemdUnits
from nixfleet import probe
from nixfleet.probe import Part, Unknown

# The facts DataLayer can read, by the key their value is returned under.
FACTS: dict[str, type[ProbeFact[Any]]] = {
    f.key: f
    for f in (
        NixosSystem, FlakeCheckout, DeployLock, SystemdFailedUnits, SystemdTimers, SystemdUnits,
        SyncthingStatus, NbNotebooks, ResticJobs, SecretFiles, ListeningSockets,
    )
}  # fmt: skip


def part(key: str, kwargs: dict[str, Any]) -> Part:
    """The probe part that reads fact ``key``; declarations it cannot use become a part that
    fails saying why, so that the fact is Unknown rather than the probe never running."""
    try:
        return FACTS[key]().part(**kwargs)
    except ValueError as exc:
        return Part(key, "refuse", (str(exc),))


def values(output: list[str], keys: list[str]) -> dict[str, Any]:
    """Each fact's value from what the probe printed; a fact it never answered for is Unknown."""
    replies = probe.parse(output)
    return {
        key: FACTS[key]().value(replies.get(key) or probe.missing(key))
        for key in keys
        if key in FACTS
    }


class DataLayer(FactBase[dict[str, Any]]):
    """
    Returns the values of several facts (keys of ``FACTS``) read at the same moment: their
    probe parts run concurrently on the host in one SSH round trip, so a verify costs the
    slowest fact (restic reaching its repository), not the sum. A fact that could not be read
    (its part failed, timed out or printed what does not parse) is
    :class:`~nixfleet.probe.Unknown`; a fact the host did not answer for is left out (the
    caller knows which it asked for; see :func:`values`).

    + facts: ``{key: keyword arguments of that fact}``

    .. code:: python

        {"system": SystemState(current="/nix/store/…"), "failed_units": (),
         "listeners": Unknown(what="list listening sockets", why="…")}
    """

    default = dict

    @override
    def command(self, facts: dict[str, dict[str, Any]]) -> str:
        return probe.command([part(key, kwargs) for key, kwargs in facts.items()])

    @override
    def process(self, output: list[str]) -> dict[str, Any]:
        replies = probe.parse(output)
        return {k: FACTS[k]().value(r) for k, r in replies.items() if k in FACTS}


__all__ = ["FACTS", "DataLayer", "Unknown", "part", "values"]
