"""The systemd area: failed units, timers, and the status of named units (systemd 252 and
newer). Check: ``systemd.failed-units``. Probe: ``systemd.sh``. The timer and unit reads serve
other areas' checks too (restic's).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from nixfleet.area import Area, CheckSpec, Context, Reading, Subjects
from nixfleet.checks import Check, Problem, unreadable, verdict
from nixfleet.probe import Part, Reply, Unknown, decode


@dataclass(frozen=True)
class Timer:
    """A timer from ``systemctl list-timers --all --output=json``; times in µs since the epoch."""

    unit: str
    activates: str
    next_us: int | None
    last_us: int | None


@dataclass(frozen=True)
class UnitStatus:
    """The ``systemctl show`` properties the checks use, for one unit."""

    id: str
    load_state: str = ""
    active_state: str = ""
    sub_state: str = ""
    result: str = ""
    exec_main_status: int | None = None
    exec_main_start: int | None = None  # epoch seconds
    exec_main_exit: int | None = None
    unit_file_state: str = ""

    @property
    def ever_ran(self) -> bool:
        """``Result=success`` also describes a unit that never ran (systemd.exec(5): Result is
        "success" until a run fails), so whether it ran is told by ExecMainStartTimestamp."""
        return self.exec_main_start is not None


SHOW_PROPERTIES = (
    "Id",
    "LoadState",
    "ActiveState",
    "SubState",
    "Result",
    "ExecMainStatus",
    "ExecMainStartTimestamp",
    "ExecMainExitTimestamp",
    "UnitFileState",
)


def parse_failed_units(output: list[str]) -> list[str]:
    """Units that failed, or crashed and wait to be restarted (``Restart=``), from
    ``systemctl list-units --state=failed,auto-restart --output=json``.

    >>> parse_failed_units(['[{"unit":"a.service","load":"loaded","active":"failed","sub":"failed"},'
    ...                     '{"unit":"b.service","active":"activating","sub":"auto-restart"},'
    ...                     '{"unit":"c.service","active":"active","sub":"running"}]'])
    ['a.service', 'b.service']
    """
    rows = _json_rows(output)
    return [
        str(r["unit"])
        for r in rows
        if r.get("active") == "failed" or r.get("sub") == "auto-restart"
    ]


def _json_rows(output: list[str]) -> list[dict[str, Any]]:
    """systemctl's JSON list; it prints ``[]`` for none, so no output at all does not parse."""
    text = "\n".join(output).strip()
    if not text:
        raise ValueError("systemctl printed nothing")
    rows = json.loads(text)
    if not isinstance(rows, list):
        raise ValueError("systemctl did not print a JSON list")
    return rows


def _usec(value: object) -> int | None:
    # systemd 252 prints absolute µs; 0 or null mean "never" / "not scheduled".
    return int(value) if isinstance(value, int) and value > 0 else None


def parse_timers(output: list[str]) -> list[Timer]:
    """Timers from ``systemctl list-timers --all --output=json`` (``left``/``passed`` ignored)."""
    rows = _json_rows(output)
    return [
        Timer(r["unit"], r.get("activates", ""), _usec(r.get("next")), _usec(r.get("last")))
        for r in rows
    ]


def _epoch(value: str) -> int | None:
    # With --timestamp=unix: "@1795638360"; empty or "n/a" when the event never happened.
    return int(value[1:]) if value.startswith("@") and value[1:].isdigit() else None


def parse_show(output: list[str]) -> dict[str, UnitStatus]:
    """Blocks of ``systemctl show -p … --timestamp=unix A B`` (separated by blank lines), by Id."""
    units: dict[str, UnitStatus] = {}
    block: dict[str, str] = {}
    for line in [*output, ""]:
        if not line.strip():
            if block.get("Id"):
                status = block.get("ExecMainStatus", "")
                units[block["Id"]] = UnitStatus(
                    id=block["Id"],
                    load_state=block.get("LoadState", ""),
                    active_state=block.get("ActiveState", ""),
                    sub_state=block.get("SubState", ""),
                    result=block.get("Result", ""),
                    exec_main_status=int(status) if status.lstrip("-").isdigit() else None,
                    exec_main_start=_epoch(block.get("ExecMainStartTimestamp", "")),
                    exec_main_exit=_epoch(block.get("ExecMainExitTimestamp", "")),
                    unit_file_state=block.get("UnitFileState", ""),
                )
            block = {}
            continue
        key, _, value = line.partition("=")
        block[key.strip()] = value.strip()
    return units


def _lines(reply: Reply) -> list[str]:
    return decode(reply.out).splitlines()


class FailedUnits(Reading[tuple[str, ...]]):
    """The units that failed, or crashed and wait to be restarted."""

    key = "failed_units"
    what = "list failed units"

    def part(self) -> Part:
        return Part(self.key, "systemd", ("failed",))

    def parse(self, reply: Reply) -> tuple[str, ...]:
        return tuple(parse_failed_units(_lines(reply)))


class Timers(Reading[tuple[Timer, ...]]):
    """Every loaded timer with its last and next trigger."""

    key = "timers"
    what = "list systemd timers"

    def part(self) -> Part:
        return Part(self.key, "systemd", ("timers",))

    def parse(self, reply: Reply) -> tuple[Timer, ...]:
        return tuple(parse_timers(_lines(reply)))


class Units(Reading[dict[str, UnitStatus]]):
    """The status of the named units (``systemctl show``)."""

    key = "units"
    what = "read the status of systemd units"

    def part(self, units: list[str]) -> Part:
        return Part(self.key, "systemd", ("show", ",".join(SHOW_PROPERTIES), *units))

    def parse(self, reply: Reply) -> dict[str, UnitStatus]:
        return parse_show(_lines(reply))


FAILED_UNITS, TIMERS, UNITS = FailedUnits(), Timers(), Units()


def failed_units(s: Subjects) -> Check:
    listed = s.observed[FAILED_UNITS]
    if bad := unreadable("systemd.failed-units", listed):
        return bad
    assert not isinstance(listed, Unknown)
    # A unit a more specific check reports (restic's, Syncthing's) is reported there, once;
    # the gate counts every unit.
    ignored = (set() if s.context.gating else s.owned_units) | s.context.failed_before
    failed = [u for u in listed if u not in ignored]
    problems = [Problem(u, f"{u} failed; see journalctl -u {u}") for u in failed]
    if len(failed) > 1:
        problems[0] = Problem(
            failed[0], f"units failed: {', '.join(failed)}; see journalctl -u {failed[0]}"
        )
        problems = problems[:1]
    return verdict("systemd.failed-units", problems, "no failed units", {"failed": failed})


def _nothing(_data: Any) -> None:
    return None


def _reads(_declared: None, _ctx: Context) -> list[Part | None]:
    return [FAILED_UNITS.part()]


AREA: Area[None] = Area(
    name="systemd",
    order=20,
    nix="",
    declare=_nothing,
    readings=(FAILED_UNITS, TIMERS, UNITS),
    reads=_reads,
    checks=(CheckSpec("systemd.failed-units", failed_units),),
)
