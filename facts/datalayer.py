"""One fact that reads several areas' readings in a single round trip, run concurrently on the host."""

from __future__ import annotations

from pyinfra.api.facts import FactBase
from typing_extensions import override

from nixfleet import areas, probe
from nixfleet.area import Observed
from nixfleet.probe import Part, Unknown


class DataLayer(FactBase[Observed]):
    """
    Returns the reads of the given probe parts (``nixfleet.areas.parts`` of a host's
    declarations), taken at the same moment: the parts run concurrently on the host in one
    SSH round trip, so a verify costs the slowest read (restic reaching its repository), not
    the sum. A read that could not happen (its part failed, timed out, printed what does not
    parse, or the host never answered) is :class:`~nixfleet.probe.Unknown`.

    + parts: the probe parts to run

    .. code:: python

        Observed({"system": SystemState(current="/nix/store/…"), "failed_units": (),
                  "listeners": Unknown(what="list listening sockets", why="…")})
    """

    def default(self) -> Observed:  # type: ignore[override]
        return Observed()

    @override
    def command(self, parts: list[Part]) -> str:
        return probe.command(parts)

    @override
    def process(self, output: list[str]) -> Observed:
        return areas.observe(output)


__all__ = ["DataLayer", "Observed", "Unknown"]
