"""systemd facts: failed units, timers, and the status of named units."""

from __future__ import annotations

import shlex
from typing import TypeVar

from pyinfra.api.facts import FactBase
from typing_extensions import override

from nixfleet.observed.systemd import (
    SHOW_PROPERTIES,
    Timer,
    UnitStatus,
    parse_failed_units,
    parse_show,
    parse_timers,
)

T = TypeVar("T")


class _SystemctlFact(FactBase[T]):
    """Facts read with systemctl; on a host without systemd they give their empty default."""

    @override
    def requires_command(self, *args: object, **kwargs: object) -> str:
        return "systemctl"


class SystemdFailedUnits(_SystemctlFact[list[str]]):
    """
    Returns the names of the units in the ``failed`` state.

    .. code:: python

        ["restic-backups-desktop.service"]
    """

    default = list

    @override
    def command(self) -> str:
        return "systemctl list-units --failed --all --output=json --no-pager"

    @override
    def process(self, output: list[str]) -> list[str]:
        return parse_failed_units(output)


class SystemdTimers(_SystemctlFact[list[Timer]]):
    """
    Returns every loaded timer with its last and next trigger (µs since the epoch, or ``None``).

    .. code:: python

        [Timer(unit="restic-backups-desktop.timer", activates="restic-backups-desktop.service",
               next_us=1795638100000000, last_us=1795638090945179)]
    """

    default = list

    @override
    def command(self) -> str:
        return "systemctl list-timers --all --output=json --no-pager"

    @override
    def process(self, output: list[str]) -> list[Timer]:
        return parse_timers(output)


class SystemdUnits(_SystemctlFact[dict[str, UnitStatus]]):
    """
    Returns the status of the named units: ActiveState, SubState, Result, ExecMainStatus and
    when the main process last started and exited (epoch seconds).

    + units: the unit names

    .. code:: python

        {"syncthing.service": UnitStatus(id="syncthing.service", active_state="active", …)}
    """

    default = dict

    @override
    def command(self, units: list[str]) -> str:
        props = ",".join(SHOW_PROPERTIES)
        names = " ".join(shlex.quote(u) for u in units) or "--"
        return f"systemctl show --timestamp=unix -p {props} {names}"

    @override
    def process(self, output: list[str]) -> dict[str, UnitStatus]:
        return parse_show(output)
