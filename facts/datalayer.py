"""One fact that reads several others in a single round trip, run concurrently on the host."""

from __future__ import annotations

from typing import Any

from pyinfra.api.facts import FactBase
from typing_extensions import override

from facts.nb import NbNotebooks
from facts.network import ListeningSockets
from facts.nixos import FlakeCheckout, NixosSystem
from facts.restic import ResticJobs
from facts.secrets import SecretFiles
from facts.syncthing import SyncthingStatus
from facts.systemd import SystemdFailedUnits, SystemdTimers, SystemdUnits
from nixfleet.observed.sections import concurrently, split_keyed

# The facts DataLayer can read, by the key their value is returned under.
FACTS: dict[str, type[FactBase[Any]]] = {
    "system": NixosSystem,
    "checkout": FlakeCheckout,
    "failed_units": SystemdFailedUnits,
    "timers": SystemdTimers,
    "units": SystemdUnits,
    "syncthing": SyncthingStatus,
    "notebooks": NbNotebooks,
    "restic": ResticJobs,
    "secrets": SecretFiles,
    "listeners": ListeningSockets,
}


class DataLayer(FactBase[dict[str, Any]]):
    """
    Returns the values of several facts (keys of ``FACTS``) read at the same moment: their
    commands run concurrently on the host in one SSH round trip, so a verify costs the slowest
    fact (restic reaching its repository), not the sum. A fact whose program is missing, or
    which prints nothing, gives its empty default.

    + facts: ``{key: keyword arguments of that fact}``

    .. code:: python

        {"system": SystemState(current="/nix/store/…"), "failed_units": [],
         "restic": {"desktop": ResticJob(name="desktop", state="ok", …)}}
    """

    default = dict

    @override
    def command(self, facts: dict[str, dict[str, Any]]) -> str:
        parts = []
        for key, kwargs in facts.items():
            fact = FACTS[key]()
            needs = fact.requires_command(**kwargs)
            parts.append((key, str(fact.command(**kwargs)), needs or None))
        return concurrently(parts)

    @override
    def process(self, output: list[str]) -> dict[str, Any]:
        values = {}
        for key, lines in split_keyed(output).items():
            if key not in FACTS:
                continue
            fact = FACTS[key]()
            values[key] = fact.process(lines) if any(x.strip() for x in lines) else fact.default()
        return values
