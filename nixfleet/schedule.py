"""How fresh a backup must be, from its timer's declared schedule (or host data)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

GRACE = timedelta(hours=2)

# systemd's calendar shorthands (systemd.time(7)).
_PERIODS = {
    "minutely": timedelta(minutes=1),
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(weeks=1),
    "monthly": timedelta(days=31),
    "quarterly": timedelta(days=92),
    "semiannually": timedelta(days=183),
    "yearly": timedelta(days=366),
    "annually": timedelta(days=366),
}
_DAILY_AT = re.compile(r"^(\*-\*-\*\s+)?\d{1,2}:\d{2}(:\d{2})?$")
_WEEKLY_AT = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)\w*(\s+\*-\*-\*)?(\s+\d{1,2}:\d{2}(:\d{2})?)?$"
)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)?\s*$")
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def period(timer_config: dict[str, Any] | None) -> timedelta | None:
    """How often a timer's ``OnCalendar`` fires, when that can be told.

    >>> period({"OnCalendar": "daily"}), period({"OnCalendar": "*-*-* 02:30:00"})
    (datetime.timedelta(days=1), datetime.timedelta(days=1))
    >>> period({"OnCalendar": "Sun 03:00"}), period({"OnBootSec": "5m"})
    (datetime.timedelta(days=7), None)
    """
    calendar = (timer_config or {}).get("OnCalendar")
    if isinstance(calendar, list):
        calendar = calendar[0] if len(calendar) == 1 else None
    if not isinstance(calendar, str):
        return None
    calendar = calendar.strip()
    if calendar.lower() in _PERIODS:
        return _PERIODS[calendar.lower()]
    if _DAILY_AT.match(calendar):
        return _PERIODS["daily"]
    if _WEEKLY_AT.match(calendar):
        return _PERIODS["weekly"]
    return None


def parse_duration(value: object) -> timedelta:
    """``26h``, ``7d``, ``90min`` or seconds.

    >>> parse_duration("26h"), parse_duration(3600)
    (datetime.timedelta(days=1, seconds=7200), datetime.timedelta(seconds=3600))
    """
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"not a duration: {value!r} (use e.g. 26h, 7d, 90min or seconds)")
    return timedelta(seconds=float(match[1]) * _UNITS[match[2]])


def max_age(timer_config: dict[str, Any] | None, override: object = None) -> timedelta | None:
    """The oldest a newest snapshot may be: the schedule's period plus 2 h, unless host data says.

    >>> max_age({"OnCalendar": "daily"}), max_age({"OnCalendar": "weekly"})
    (datetime.timedelta(days=1, seconds=7200), datetime.timedelta(days=7, seconds=7200))
    """
    if isinstance(override, timedelta):
        return override
    if override is not None:
        return parse_duration(override)
    every = period(timer_config)
    return every + GRACE if every else None
