"""Waiting for something to happen: the one deadline loop nixfleet has."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import gevent

T = TypeVar("T")


def poll_until(
    attempt: Callable[[], T | None],
    timeout_s: float,
    every_s: float = 1.0,
    sleep: Callable[[float], object] = gevent.sleep,
) -> T | None:
    """Call ``attempt`` until it returns something other than None, or ``timeout_s`` has
    passed; return that, or None. It is always called at least once, and once more at the
    deadline. ``sleep`` yields to other greenlets (other hosts) while it waits.

    >>> answers = iter([None, None, "up"])
    >>> poll_until(lambda: next(answers), timeout_s=5, every_s=0)
    'up'
    >>> poll_until(lambda: None, timeout_s=0.05, every_s=0.01) is None
    True
    """
    deadline = time.monotonic() + timeout_s
    while True:
        got = attempt()
        if got is not None:
            return got
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sleep(min(every_s, left))
