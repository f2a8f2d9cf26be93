"""systemd facts: failed units, timers, and the status of named units (the pyinfra face of
:mod:`nixfleet.areas.systemd`)."""

from __future__ import annotations

from facts.probed import ProbeFact
from nixfleet.areas import systemd
from nixfleet.areas.systemd import Timer, UnitStatus


class SystemdFailedUnits(ProbeFact[tuple[str, ...]]):
    """
    Returns the names of the units that failed, or crashed and wait to be restarted.

    .. code:: python

        ("restic-backups-desktop.service",)
    """

    reading = systemd.FAILED_UNITS


class SystemdTimers(ProbeFact[tuple[Timer, ...]]):
    """
    Returns every loaded timer with its last and next trigger (µs since the epoch, or ``None``).

    .. code:: python

        (Timer(unit="restic-backups-desktop.timer", activates="restic-backups-desktop.service",
               next_us=1795638100000000, last_us=1795638090945179),)
    """

    reading = systemd.TIMERS


class SystemdUnits(ProbeFact[dict[str, UnitStatus]]):
    """
    Returns the status of the named units: ActiveState, SubState, Result, ExecMainStatus and
    when the main process last started and exited (epoch seconds).

    + units: the unit names

    .. code:: python

        {"syncthing.service": UnitStatus(id="syncthing.service", active_state="active", …)}
    """

    reading = systemd.UNITS
