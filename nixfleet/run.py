"""The run context: everything one nixfleet run shares between its hosts, hung on pyinfra's
``state`` (``state.nixfleet``). Nothing of a run lives in module globals.

Deploy files run once per host, in parallel greenlets; the first to ask makes the context, and
the others find it on the state they share.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field
from typing import Any

import gevent
from pyinfra.api.host import Host
from pyinfra.api.state import BaseStateCallback, State

from nixfleet import process, rebuild
from nixfleet.area import Observed
from nixfleet.errors import NixfleetError
from nixfleet.flake import FlakeRun
from nixfleet.rebuild import Flavour
from nixfleet.report import Recorder
from nixfleet.ssh import SshTarget


@dataclass
class RunContext:
    """One run's shared state."""

    recorder: Recorder = field(default_factory=Recorder)
    flake: FlakeRun = field(default_factory=FlakeRun)
    # Hosts in the middle of a safe switch, so that Ctrl-C or SIGTERM can roll each one back.
    active: dict[str, gevent.Greenlet] = field(default_factory=dict)
    # What a safe switch read at its end (after the new generation became the boot default),
    # kept for this run's verify operation so that it does not read the same facts again.
    after_switch: dict[str, Observed] = field(default_factory=dict)
    # The selected hosts grouped by flake: each one's attribute and whether it builds elsewhere.
    by_flake: dict[str, list[tuple[str, bool]]] | None = None
    interrupt_handlers: bool = False
    attached: bool = False
    # Which flavour each nixos-rebuild program is (legacy or ng), found once per run.
    flavours: dict[str, Flavour] = field(default_factory=dict)

    def rebuild_flavour(self, program: str) -> Flavour:
        """Whether ``program`` is the legacy nixos-rebuild or nixos-rebuild-ng, asked once."""
        if program not in self.flavours:
            result = process.run(rebuild.probe_argv(program))
            self.flavours[program] = rebuild.flavour_of(program, result.returncode, result.stderr)
        return self.flavours[program]


class _ReportCallbacks(BaseStateCallback):
    """Marks the run as executing, and when each host began, from pyinfra's own events."""

    @staticmethod
    def operation_host_start(state: State, host: Host, op_hash: str) -> None:
        rec = run_context(state).recorder
        rec.executing = True
        rec.host_started(host.name)


def run_context(state: State) -> RunContext:
    """The run's context, made by the first host that asks."""
    found: Any = getattr(state, "nixfleet", None)
    if isinstance(found, RunContext):
        return found
    ctx = RunContext()
    state.nixfleet = ctx  # type: ignore[attr-defined]
    return ctx


def attach(state: State, host: Host) -> Recorder:
    """Called by deploy files for each host they prepare: hooks the run report into pyinfra's
    events (once per run) and returns the run's recorder."""
    ctx = run_context(state)
    rec = ctx.recorder
    if not ctx.attached:
        ctx.attached = True
        state.add_callback_handler(_ReportCallbacks())  # type: ignore[no-untyped-call]
        rec.selected = {h.name for h in selected_hosts(state)}
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


def hosts_by_flake(state: State) -> dict[str, list[tuple[str, bool]]]:
    """The selected hosts grouped by their ``flake``: each one's flake attribute and whether it
    builds elsewhere (``build_host``). Worked out once per run, not once per host."""
    ctx = run_context(state)
    if ctx.by_flake is None:
        groups: dict[str, list[tuple[str, bool]]] = {}
        for h in selected_hosts(state):
            attr = str(h.data.get("flake_attr") or h.name)
            groups.setdefault(str(h.data.get("flake")), []).append(
                (attr, bool(h.data.get("build_host")))
            )
        ctx.by_flake = groups
    return ctx.by_flake
