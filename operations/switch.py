"""The safe switch: how ``nixos.rebuild`` runs ``switch`` so that a bad change cannot strand a host.

0. wait for the controller's build and copy the closure to the host, so that the watchdog only
has to cover the activation; 1. take the host's deploy lock and arm the watchdog (it re-activates
the boot default after ``watchdog_s``), in one round trip; 2. ``nixos-rebuild test``; 3. gate checks over a fresh SSH
connection; 4. on success disarm and persist (what ``nixos-rebuild boot`` does once the closure is
on the host: set the system profile, ``switch-to-configuration boot``); 5. on a failed gate roll
back at once; 6. if SSH never comes back, let the watchdog restore the old generation, reconnect
and confirm; 7. append to the host's journal, release the lock and read the result, in one round
trip. The host always ends on its old or new generation; the outcome says which, and why.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import json
import os
import shlex
import shutil
import signal
import socket
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import gevent
from pyinfra import logger
from pyinfra.api.command import StringCommand
from pyinfra.api.host import Host
from pyinfra.api.state import State

from facts.datalayer import DataLayer
from facts.nixos import NixosSystem
from facts.systemd import SystemdFailedUnits
from nixfleet import flake, probe, process, remote
from nixfleet.checks.context import Context
from nixfleet.declared import Declared
from nixfleet.models import HostOutcome, HostStatus, SystemState
from nixfleet.observed.nixos import record_revision
from nixfleet.observed.sections import split_keyed
from nixfleet.probe import Unknown
from nixfleet.report import recorder
from operations.verify import GateResult, data_layer_script, gate, remember

EXIT_MEANING = {
    1: "error",
    2: "the activation script failed",
    3: "systemd daemon-reload failed",
    4: "units failed to start",
    255: "ssh failed",
}


@dataclass
class Switch:
    """One host's safe switch in progress."""

    state: State
    host: Host
    env: Mapping[str, str]
    toplevel: str
    revision: str
    before: str | None
    safety: dict[str, Any]
    failed_before: tuple[str, ...] = ()
    phases: dict[str, float] = field(default_factory=dict)
    reading: gevent.Greenlet | None = None  # the data layer, read while the gate and persist run
    reading_keys: list[str] = field(default_factory=list)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a step; the outcome's ``details["phases"]`` says where a switch spent its time."""
        start = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] = round(self.phases.get(name, 0.0) + time.monotonic() - start, 2)

    def log(self, message: str, error: bool = False) -> None:
        style = {"fg": "red"} if error else {}
        self.host.log_styled(message, log_func=logger.error if error else logger.info, **style)

    def remote(self, command: str) -> tuple[bool, str]:
        """Run on the host over pyinfra's connection (it survives an sshd that stops listening)."""
        try:
            ok, output = self.host.run_shell_command(StringCommand(command))
        except Exception as exc:  # a dead connection must not leave the lock or watchdog behind
            return False, str(exc)
        return ok, output.stdout

    def rebuild(self, action: str) -> process.Result:
        return self.run(self.safety[f"{action}_argv"])

    def run(self, argv: list[str], cwd: str | None = None) -> process.Result:
        """Run a command on the controller for this host (nixos-rebuild, nix-copy-closure)."""
        if self.state.print_input:
            logger.info(f"{self.host.print_prefix}(controller) >>> {shlex.join(argv)}")
        result = process.run(argv, env=self.env, cwd=cwd)
        if self.state.print_output or not result.ok:
            for line in (result.stderr + result.stdout).splitlines():
                logger.info(f"{self.host.print_prefix}(controller) {line}")
        return result

    def system(self) -> SystemState | Unknown:
        return self.host.get_fact(NixosSystem, _ignore_errors=True)  # type: ignore[no-any-return]

    def gate(self, timeout_s: float, settle_s: float = 0) -> GateResult:
        ctx = Context(host=self.host.name, now=datetime.now(timezone.utc), toplevel=self.toplevel,
                      flake_checkout=None, expect_boot_default=False,
                      failed_before=frozenset(self.failed_before), gating=True)  # fmt: skip
        declared = Declared.from_json(self.safety.get("declared") or {})
        gates = self.safety.get("gates") or []
        return gate(self.safety["ssh_argv"], declared, ctx, gates, timeout_s, settle_s)


# Hosts in the middle of a safe switch, so that Ctrl-C or SIGTERM can roll each one back.
ACTIVE: dict[str, gevent.Greenlet] = {}


def _interrupted(signum: int) -> None:
    """On SIGINT/SIGTERM: stop every switch in flight (each rolls back and releases its lock in
    its own greenlet), write the report, and exit 130 or 143."""
    name = signal.Signals(signum).name
    logger.error(f"--> {name}: rolling back {len(ACTIVE)} host(s) in the middle of a switch")
    rec = recorder()
    rec.interrupted = name
    greenlets = list(ACTIVE.values())
    for g in greenlets:
        g.kill(Interrupted(name), block=False)
    flake.cancel_prebuilds()
    gevent.joinall(greenlets, timeout=120)
    rec.finish()
    os._exit(128 + signum)


class Interrupted(Exception):
    """Raised inside a host's switch when the deployer is asked to stop."""


_handlers_installed = False


def install_interrupt_handlers() -> None:
    """Replace pyinfra's Ctrl-C handling (which exits 0 at once) for this deploy. Idempotent."""
    global _handlers_installed
    if not _handlers_installed:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda s, _frame: gevent.spawn(_interrupted, s))
        _handlers_installed = True


def safe_switch(state: State, host: Host, env: Mapping[str, str], toplevel: str, revision: str,
                before: str | None, safety: dict[str, Any]) -> bool:  # fmt: skip
    """The body of ``nixos.rebuild`` for ``switch``; records the outcome, returns success."""
    install_interrupt_handlers()
    if not safety.get("control_dir"):
        return _safe_switch(state, host, env, toplevel, revision, before, safety)
    # One shared ssh connection for the copy and every step of nixos-rebuild, closed at the end.
    os.makedirs(safety["control_dir"], mode=0o700, exist_ok=True)
    try:
        env = {**env, "NIX_SSHOPTS": safety["nix_sshopts"]}
        return _safe_switch(state, host, env, toplevel, revision, before, safety)
    finally:
        process.run(safety["close_master_argv"], timeout=10)
        shutil.rmtree(safety["control_dir"], ignore_errors=True)


def _safe_switch(state: State, host: Host, env: Mapping[str, str], toplevel: str, revision: str,
                 before: str | None, safety: dict[str, Any]) -> bool:  # fmt: skip
    sw = Switch(state, host, env, toplevel, revision, before, safety)
    rec = recorder()
    started = datetime.now(timezone.utc)
    holder = {"run": rec.report.id, "who": f"{getpass.getuser()}@{socket.gethostname()}",
              "since": started.isoformat(timespec="seconds"), "revision": revision, "pid": os.getpid()}  # fmt: skip
    boot_default = safety.get("boot_default")
    watchdog_s = int(safety.get("watchdog_s", 60))
    # Build and copy first: the watchdog, armed next, must only have to cover the activation.
    with sw.phase("build"):
        flake.await_prebuilds()
    for step, argv in safety.get("prepare", []):
        with sw.phase(step):
            done = sw.run(argv, cwd=safety.get("control_dir"))
        if not done.ok:
            message = f"could not {step} the new generation: {done.last_error_line()}"
            sw.log(f"error: {message}", error=True)
            rec.record(host.name, HostOutcome(HostStatus.FAILED, before=before, error=message,
                                              details={"phases": sw.phases}))  # fmt: skip
            return False
    with sw.phase("lock"):
        # The lock's lease outlives every step of a live switch (the watchdog, a gate that
        # waits for it, the finish), so only a dead run's lock expires.
        lease_s = 2 * watchdog_s + int(safety.get("gate_timeout_s", 20)) + 600
        ok, out = sw.remote(remote.begin_switch(holder, watchdog_s, previous=boot_default, lease_s=lease_s,
                                                run_id=rec.report.id, toplevel=toplevel,
                                                failed_units=str(SystemdFailedUnits().command())))  # fmt: skip
    begun = split_keyed(out.splitlines())
    if not ok or "LOCKED-BY-US" not in begun.get("lock", []):
        message = _lock_message(out)
        sw.log(f"error: {message}", error=True)
        rec.record(host.name, HostOutcome(HostStatus.FAILED, before=before, error=message))
        return False
    status, reason = HostStatus.FAILED, "interrupted"
    ACTIVE[host.name] = gevent.getcurrent()
    try:
        if "ON-HOST" not in begun.get("closure", []):
            status, reason = (
                HostStatus.FAILED,
                f"the new generation is not in the host's store after the build and copy; "
                f"nothing was activated (check: nix-store --check-validity {toplevel})",
            )
            return False
        if "ARMED" not in begun.get("watchdog", []):
            status, reason = (
                HostStatus.FAILED,
                "could not arm the rollback watchdog (systemd-run failed)",
            )
            return False
        failed = begun.get("failed_units", [])
        listed = SystemdFailedUnits().process(failed)
        if isinstance(listed, Unknown):  # the gate could not tell old failures from new ones
            sw.remote(remote.disarm_watchdog())
            status, reason = HostStatus.FAILED, f"before the switch: {listed}"
            return False
        sw.failed_before = listed
        status, reason = _switch(sw)
        return status is HostStatus.SWITCHED
    except Interrupted as stop:
        # The child process (nixos-rebuild) was killed with this greenlet; put the boot default back.
        status, reason = _roll_back(sw, boot_default, f"interrupted by {stop}")
        return False
    finally:
        ACTIVE.pop(host.name, None)
        ended = datetime.now(timezone.utc).isoformat(timespec="seconds")
        journal = remote.append_journal({
            "run": rec.report.id, "revision": revision, "toplevel": toplevel, "previous": before,
            "deployer": holder["who"], "started": holder["since"], "ended": ended,
            "result": status.value, "reason": reason or None,
        })  # fmt: skip
        # One round trip: journal, release the lock, read what the host now runs.
        system = probe.command([NixosSystem().part()])
        with sw.phase("finish"):
            _ok, lines = sw.remote(f"{journal}; {remote.release_lock(rec.report.id)}; {system}")
        after = NixosSystem().process(lines.splitlines())
        status, reason = observed_outcome(status, reason, after, toplevel, boot_default)
        if sw.reading is not None and status is HostStatus.SWITCHED:
            with sw.phase("read"):
                read_ok, read = sw.reading.get()
            if read_ok:  # this run's verify uses it, with the system as it is now
                values = {**DataLayer().process(read.splitlines()), "system": after}
                remember(host.name, values, sw.reading_keys)
        elif sw.reading is not None:
            sw.reading.kill()
        known = after if isinstance(after, SystemState) else SystemState()
        outcome = HostOutcome(status, before=before, after=known.current, generation=known.generation,
                              revision=revision, error=reason or None)  # fmt: skip
        outcome.details["reboot_needed"] = known.reboot_needed
        outcome.details["phases"] = sw.phases
        if status is HostStatus.SWITCHED and known.reboot_needed:
            outcome.details["reboot"] = _reboot(sw, safety.get("reboot") or {})
        if status is not HostStatus.SWITCHED:
            sw.log(f"{status.value}: {reason}", error=True)
        rec.record(host.name, outcome)


def _switch(sw: Switch) -> tuple[HostStatus, str]:
    """From an armed watchdog to a persisted generation, or back to the boot default."""
    boot_default = sw.safety.get("boot_default")
    watchdog_s = int(sw.safety.get("watchdog_s", 60))
    with sw.phase("test"):
        test = sw.rebuild("test")
    # Exit 4 also counts units that had failed before this switch; the gate tells them apart.
    if not test.ok and not (test.returncode == 4 and sw.failed_before):
        meaning = EXIT_MEANING.get(test.returncode, "error")
        reason = (
            f"nixos-rebuild test exited {test.returncode} ({meaning}): {test.last_error_line()}"
        )
        return _roll_back(sw, boot_default, reason)
    with sw.phase("gate"):
        result = sw.gate(float(sw.safety.get("gate_timeout_s", 20)),
                         float(sw.safety.get("gate_settle_s", 10)))  # fmt: skip
    if not result.reachable:
        reason = (
            f"SSH did not come back within {sw.safety.get('gate_timeout_s', 20)} s of activation"
        )
        if not boot_default:
            return HostStatus.FAILED, f"{reason}; no earlier generation to return to"
        return _await_watchdog(sw, boot_default, watchdog_s, reason)
    if result.failed:
        return _roll_back(sw, boot_default, "gate failed: " + "; ".join(result.failed))
    record = record_revision(sw.toplevel, sw.revision)
    with sw.phase("persist"):
        ok, out = sw.remote(remote.persist(sw.toplevel, record, armed=bool(boot_default)))
    if "FIRED" in out.split():
        return (
            HostStatus.ROLLED_BACK,
            f"the watchdog fired before the gate passed (raise watchdog_s above {watchdog_s} s)",
        )
    if not ok or "PERSISTED" not in out.split():
        said = [
            x.strip() for x in out.splitlines() if x.strip() and x.strip() not in remote.MARKERS
        ]
        return _roll_back(
            sw,
            boot_default,
            f"persisting failed at {remote.failed_step(out)}: {said[-1][-200:] if said else 'no answer'}",
        )
    # This run's verify reads the data layer now that the generation is persisted, while the
    # last step (journal, release, what the host runs and boots) goes on beside it.
    declared = Declared.from_json(sw.safety.get("declared") or {})
    script, sw.reading_keys = data_layer_script(declared, sw.safety.get("flake_checkout"))
    sw.reading = gevent.spawn(sw.remote, script)
    return HostStatus.SWITCHED, ""


def observed_outcome(status: HostStatus, reason: str, after: SystemState | Unknown, toplevel: str,
                     previous: str | None) -> tuple[HostStatus, str]:  # fmt: skip
    """The outcome as the host shows it afterwards: ``switched`` only if it runs *and* boots
    ``toplevel``, ``rolled-back`` only if it runs and boots ``previous``; anything else is
    ``failed``, naming both.

    >>> observed_outcome(HostStatus.SWITCHED, "", SystemState(current="/n/new", profile="/n/old"),
    ...                  "/n/new", "/n/old")[1]
    'the host runs new but boots old'
    """
    if isinstance(after, Unknown):
        return HostStatus.FAILED, f"{reason + '; ' if reason else ''}afterwards, {after}"
    want = {HostStatus.SWITCHED: toplevel, HostStatus.ROLLED_BACK: previous}.get(status)
    if status in (HostStatus.SWITCHED, HostStatus.ROLLED_BACK) and (
        after.current != want or after.profile != want
    ):
        seen = f"the host runs {_name(after.current)} but boots {_name(after.profile)}"
        return HostStatus.FAILED, f"{reason}; {seen}" if reason else seen
    return status, reason


def _name(path: str | None) -> str:
    return path.rsplit("/", 1)[-1][:8] if path else "nothing"


def _reboot(sw: Switch, reboot: dict[str, Any]) -> str:
    """Carry out the host's reboot policy (or only report it, as the lab does)."""
    policy = str(reboot.get("policy", "never"))
    command = remote.schedule_reboot(policy)
    if command is None:
        return "needed; policy never: reboot by hand"
    if not reboot.get("apply", True):
        return f"needed; policy {policy}: only reported here"
    ok, out = sw.remote(command)
    return (
        f"needed; {'scheduled' if ok else 'could not schedule: ' + out.strip()[-100:]} ({policy})"
    )


def _roll_back(sw: Switch, boot_default: str | None, reason: str) -> tuple[HostStatus, str]:
    """Re-activate the boot default now, then disarm the watchdog."""
    if not boot_default:
        return HostStatus.FAILED, f"{reason}; no earlier generation to roll back to"
    ok, _ = sw.remote(remote.restore(boot_default))
    sw.remote(remote.disarm_watchdog())
    system = sw.system()
    current = system.current if isinstance(system, SystemState) else None
    if current == boot_default:
        return HostStatus.ROLLED_BACK, reason
    if not ok:  # the connection may be gone: the watchdog is the last resort
        return _await_watchdog(sw, boot_default, int(sw.safety.get("watchdog_s", 60)), reason)
    return HostStatus.FAILED, f"{reason}; the rollback left it on {current}"


def _await_watchdog(
    sw: Switch, boot_default: str, watchdog_s: int, reason: str
) -> tuple[HostStatus, str]:
    """Wait for the watchdog to restore the boot default, then confirm it over a fresh connection."""
    sw.log(f"waiting up to {watchdog_s + 60} s for the watchdog to restore the previous generation")
    deadline = time.monotonic() + watchdog_s + 60
    while time.monotonic() < deadline:
        result = sw.gate(5)
        if result.reachable and result.current == boot_default:
            return (
                HostStatus.ROLLED_BACK,
                f"{reason}; the watchdog restored the previous generation",
            )
        gevent.sleep(2)
    return HostStatus.FAILED, f"{reason}; the host did not come back within {watchdog_s + 60} s"


def _lock_message(output: str) -> str:
    line = next((x for x in output.splitlines() if x.startswith("LOCKED ")), "")
    try:
        holder = json.loads(base64.b64decode(line.removeprefix("LOCKED ").strip()) or b"{}")
    except (ValueError, binascii.Error):
        holder = {}
    if not holder:
        return f"could not take the deploy lock: {output.strip()[-200:] or 'no answer'}"
    return remote.lock_message(holder)
