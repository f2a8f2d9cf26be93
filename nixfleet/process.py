"""The controller's single spawn boundary: every local process nixfleet starts goes through here.

It uses ``gevent.subprocess`` so that, inside pyinfra, one host's child process never blocks
the others (pyinfra runs each host in a gevent greenlet). Outside pyinfra it behaves like ``subprocess``.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import gevent
from gevent import subprocess as gsp

from nixfleet.errors import NixfleetError


@dataclass(frozen=True)
class Result:
    """What a finished process left behind."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def last_error_line(self) -> str:
        """The last non-empty stderr line, the one that usually says what went wrong."""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        return lines[-1] if lines else f"exit status {self.returncode}"


TIMED_OUT = 124  # the exit status of a child killed at its timeout, as timeout(1) gives

T = TypeVar("T")
R = TypeVar("R")


def parallel(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """Run ``fn`` over ``items`` in greenlets, so their processes run at once; re-raise errors."""
    jobs = [gevent.spawn(fn, item) for item in items]
    gevent.joinall(jobs, raise_error=True)
    return [job.value for job in jobs]


def _env(extra: Mapping[str, str] | None) -> dict[str, str]:
    return {**os.environ, **(extra or {})}


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    input: str | None = None,
    timeout: float | None = None,
    on_start: Callable[[int], object] | None = None,
) -> Result:
    """Run ``argv`` to completion and capture its output. Never raises on a non-zero exit.

    The child gets its own session, so a timeout or Ctrl-C kills its whole process tree. A child
    still running after ``timeout`` seconds is killed and gives exit status 124, as timeout(1) does.

    >>> run(["sh", "-c", "echo hi; exit 3"]).returncode
    3
    >>> slow = run(["sleep", "5"], timeout=0.1)
    >>> slow.returncode, slow.last_error_line()
    (124, 'timed out after 0.1 s')
    """
    try:
        proc = gsp.Popen(
            list(argv),
            stdin=gsp.PIPE if input is not None else gsp.DEVNULL,
            stdout=gsp.PIPE,
            stderr=gsp.PIPE,
            env=_env(env),
            cwd=str(cwd) if cwd else None,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise NixfleetError(f"{argv[0]}: command not found; install it (make setup)") from exc
    if on_start is not None:
        on_start(proc.pid)
    try:
        out, err = proc.communicate(input.encode() if input is not None else None, timeout=timeout)
    except gsp.TimeoutExpired:
        _kill_tree(proc)
        return Result(tuple(argv), TIMED_OUT, "", f"timed out after {timeout} s")
    except BaseException:
        _kill_tree(proc)
        raise
    return Result(
        tuple(argv), proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")
    )


def check(argv: Sequence[str], **kwargs: Any) -> Result:
    """Like :func:`run`, but a non-zero exit raises :class:`NixfleetError` naming the error."""
    result = run(argv, **kwargs)
    if not result.ok:
        raise NixfleetError(f"{' '.join(argv[:3])} failed: {result.last_error_line()}")
    return result


def stream(argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> int:
    """Run ``argv`` with this terminal's stdio and wait; SIGINT and SIGTERM are passed on to it
    (so it can roll back and report) instead of killing us first."""
    proc = gsp.Popen(list(argv), env=_env(env))
    forward = {
        sig: signal.signal(sig, lambda s, _f: proc.send_signal(s))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        return int(proc.wait())
    finally:
        for sig, old in forward.items():
            signal.signal(sig, old)


def spawn_detached(argv: Sequence[str], *, log: Path, env: Mapping[str, str] | None = None) -> int:
    """Start a long-running daemon in its own session, logging to ``log``; return its PID."""
    with open(log, "ab") as handle:
        proc = gsp.Popen(
            list(argv),
            stdin=gsp.DEVNULL,
            stdout=handle,
            stderr=gsp.STDOUT,
            env=_env(env),
            start_new_session=True,
        )
    return int(proc.pid)


def _kill_tree(proc: gsp.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
