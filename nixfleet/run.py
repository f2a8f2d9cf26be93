"""The pyinfra side of a nixfleet run: hooks the run report into pyinfra's state."""

from __future__ import annotations

import contextlib
import sys

from pyinfra.api.host import Host
from pyinfra.api.state import BaseStateCallback, State

from nixfleet.errors import NixfleetError
from nixfleet.report import Recorder, recorder
from nixfleet.ssh import SshTarget


class _ReportCallbacks(BaseStateCallback):
    """Marks the run as executing, and when each host began, from pyinfra's own events."""

    @staticmethod
    def operation_host_start(state: State, host: Host, op_hash: str) -> None:
        rec = recorder()
        rec.executing = True
        rec.host_started(host.name)


_attached: set[int] = set()


def attach(state: State, host: Host) -> Recorder:
    """Called by deploy files for each host they prepare; returns the shared recorder."""
    rec = recorder()
    if id(state) not in _attached:
        _attached.add(id(state))
        state.add_callback_handler(_ReportCallbacks())  # type: ignore[no-untyped-call]
        rec.selected = {h.name for h in state.inventory if state.is_host_in_limit(h)}
        for h in selected_hosts(state):
            with contextlib.suppress(NixfleetError):  # its own deploy file reports bad data
                rec.ssh_targets[h.name] = SshTarget.from_data(h.name, h.data.dict())  # type: ignore[no-untyped-call]
    rec.reached.add(host.name)
    return rec


def describe(rec: Recorder, flake: str, action: str, revision: str) -> None:
    """Name what the run deploys, for the report."""
    rec.report.flake, rec.report.action, rec.report.revision = flake, action, revision


def is_dry_run() -> bool:
    """Whether pyinfra was started with ``--dry`` (a plan: nothing will execute). pyinfra keeps
    this flag to its CLI, so it is read from the command line."""
    return "--dry" in sys.argv[1:]


def selected_hosts(state: State) -> list[Host]:
    """The hosts this run targets (``--limit`` applied)."""
    return [h for h in state.inventory if state.is_host_in_limit(h)]


_by_flake: dict[int, dict[str, list[tuple[str, bool]]]] = {}


def hosts_by_flake(state: State) -> dict[str, list[tuple[str, bool]]]:
    """The selected hosts grouped by their ``flake``: each one's flake attribute and whether it
    builds elsewhere (``build_host``). Worked out once per run, not once per host."""
    if id(state) not in _by_flake:
        groups: dict[str, list[tuple[str, bool]]] = {}
        for h in selected_hosts(state):
            attr = str(h.data.get("flake_attr") or h.name)
            groups.setdefault(str(h.data.get("flake")), []).append(
                (attr, bool(h.data.get("build_host")))
            )
        _by_flake[id(state)] = groups
    return _by_flake[id(state)]
