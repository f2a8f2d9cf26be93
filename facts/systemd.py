"""systemd facts: failed units, timers, and the status of named units."""

from __future__ import annotations

from typing_extensions import override

from facts.probed import ProbeFact
from nixfleet.observed.systemd import (
    SHOW_PROPERTIES,
    Timer,
    UnitStatus,
    parse_failed_units,
    parse_show,
    parse_timers,
)
from nixfleet.probe import Part, Reply, decode


def _lines(reply: Reply) -> list[str]:
    return decode(reply.out).splitlines()


class SystemdFailedUnits(ProbeFact[tuple[str, ...]]):
    """
    Returns the names of the units in the ``failed`` state.

    .. code:: python

        ("restic-backups-desktop.service",)
    """

    key = "failed_units"
    what = "list failed units"

    @override
    def part(self) -> Part:
        return Part(self.key, "systemd", ("failed",))

    @override
    def parse(self, reply: Reply) -> tuple[str, ...]:
        return tuple(parse_failed_units(_lines(reply)))


class SystemdTimers(ProbeFact[tuple[Timer, ...]]):
    """
    Returns every loaded timer with its last and next trigger (µs since the epoch, or ``None``).

    .. code:: python

        (Timer(unit="restic-backups-desktop.timer", activates="restic-backups-desktop.service",
               next_us=1795638100000000, last_us=1795638090945179),)
    """

    key = "timers"
    what = "list systemd timers"

    @override
    def part(self) -> Part:
        return Part(self.key, "systemd", ("timers",))

    @override
    def parse(self, reply: Reply) -> tuple[Timer, ...]:
        return tuple(parse_timers(_lines(reply)))


class SystemdUnits(ProbeFact[dict[str, UnitStatus]]):
    """
    Returns the status of the named units: ActiveState, SubState, Result, ExecMainStatus and
    when the main process last started and exited (epoch seconds).

    + units: the unit names

    .. code:: python

        {"syncthing.service": UnitStatus(id="syncthing.service", active_state="active", …)}
    """

    key = "units"
    what = "read the status of systemd units"

    @override
    def part(self, units: list[str]) -> Part:
        return Part(self.key, "systemd", ("show", ",".join(SHOW_PROPERTIES), *units))

    @override
    def parse(self, reply: Reply) -> dict[str, UnitStatus]:
        return parse_show(_lines(reply))
