"""systemd state: failed units, timers, and per-unit status (systemd 252 and newer)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


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
        """``Result=success`` also describes a unit that never ran (facts.md §5)."""
        return self.exec_main_start is not None


SHOW_PROPERTIES = (
    "Id", "LoadState", "ActiveState", "SubState", "Result", "ExecMainStatus",
    "ExecMainStartTimestamp", "ExecMainExitTimestamp", "UnitFileState",
)  # fmt: skip


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
