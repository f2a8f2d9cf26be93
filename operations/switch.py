"""The safe switch: how ``nixos.rebuild`` runs ``switch`` so that a bad change cannot strand a host.

0. wait for the controller's build and copy the closure to the host, so that the watchdog only
has to cover the activation; 1. take the host's deploy lock and arm the watchdog (it re-activates
the boot default after ``watchdog_s``), in one round trip; 2. ``nixos-rebuild test``; 3. gate checks over a fresh SSH
connection; 4. on success disarm and persist (what ``nixos-rebuild boot`` does once the closure is
on the host: set the system profile, ``switch-to-configuration boot``); 5. on a failed gate roll
back at once; 6. if SSH never comes back, let the watchdog restore the old generation, reconnect
and confirm; 7. append to the host's journal, release the lock and read the result, in one round
trip. The host always ends on its old or new generation; the outcome says which, and why.

The steps hold their resources in an ExitStack: the shared SSH connection, and the deploy lock
(whose release also journals the run and reads what the host runs and boots). Cleanup runs
whatever happened, and an error in it is logged, never put in place of the original one.
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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import gevent
from pyinfra import logger
from pyinfra.api.command import StringCommand
from pyinfra.api.host import Host
from pyinfra.api.state import State

from facts.nixos import NixosSystem
from facts.systemd import SystemdFailedUnits
from nixfleet import areas, probe, process, remote, ssh
from nixfleet.area import Context, Declared
from nixfleet.areas.nixos import SYSTEM
from nixfleet.errors import NixfleetError
from nixfleet.models import HostOutcome, HostStatus, SystemState
from nixfleet.poll import poll_until
from nixfleet.probe import Unknown
from nixfleet.run import RunContext, run_context
from nixfleet.sections import split_keyed
from nixfleet.settings import HostSettings
from operations.verify import GateResult, data_layer_script, gate

# How far the host's clock may lag the controller's when its journal is read from a given time.
CLOCK_SKEW_S = 120
EXIT_MEANING = {
    1: "error",
    2: "the activation script failed",
    3: "systemd daemon-reload failed",
    4: "units failed to start",
    255: "ssh failed",
}


@dataclass(frozen=True)
class SwitchPlan:
    """What the safe switch runs for one host, besides its settings: the ``nixos-rebuild test``
    command line, and the steps before the watchdog is armed (build there, copy the closure)."""

    settings: HostSettings
    declared: Mapping[str, Any]  # the host's declarations (declared.nix's JSON)
    test_argv: Sequence[str]
    prepare: Sequence[tuple[str, Sequence[str]]] = ()  # (step name, argv)
    boot_default: str | None = None  # what the host boots now (set by nixos.rebuild)


@dataclass
class Switch:
    """One host's safe switch in progress."""

    state: State
    host: Host
    env: Mapping[str, str]
    toplevel: str
    revision: str
    before: str | None
    plan: SwitchPlan
    failed_before: tuple[str, ...] = ()
    workdir: str | None = None  # private to this host's switch (its ssh control socket's)
    phases: dict[str, float] = field(default_factory=dict)
    reading: gevent.Greenlet | None = None  # the data layer, read while the gate and persist run

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
            ok, output = self.host.run_shell_command(
                StringCommand(command), **remote.escalation(self.settings.use_remote_sudo)
            )
        except Exception as exc:  # a dead connection must not leave the lock or watchdog behind
            return False, str(exc)
        return ok, output.stdout

    @property
    def settings(self) -> HostSettings:
        return self.plan.settings

    def run(self, argv: Sequence[str], cwd: str | None = None) -> process.Result:
        """Run a command on the controller for this host (nixos-rebuild, nix-copy-closure)."""
        if self.state.print_input:
            logger.info(f"{self.host.print_prefix}(controller) >>> {shlex.join(argv)}")
        try:
            result = process.run(argv, env=self.env, cwd=cwd)
        except NixfleetError as exc:  # the program is missing: this host fails, with why
            return process.Result(tuple(argv), 127, "", str(exc))
        if self.state.print_output or not result.ok:
            for line in (result.stderr + result.stdout).splitlines():
                logger.info(f"{self.host.print_prefix}(controller) {line}")
        return result

    def system(self) -> SystemState | Unknown:
        return self.host.get_fact(NixosSystem, _ignore_errors=True)  # type: ignore[no-any-return]

    def gate(self, timeout_s: float, settle_s: float = 0) -> GateResult:
        ctx = Context(
            host=self.host.name,
            now=datetime.now(timezone.utc),
            toplevel=self.toplevel,
            flake_checkout=None,
            expect_boot_default=False,
            failed_before=frozenset(self.failed_before),
            gating=True,
        )
        declared = Declared.from_json(self.plan.declared)
        argv = self.settings.ssh.fresh_argv()
        return gate(
            argv,
            declared,
            ctx,
            self.settings.gates,
            timeout_s,
            settle_s,
            sudo=self.settings.use_remote_sudo,
        )


def _interrupted(run: RunContext, signum: int) -> None:
    """On SIGINT/SIGTERM: stop every switch in flight (each rolls back and releases its lock in
    its own greenlet), write the report, and exit 130 or 143."""
    name = signal.Signals(signum).name
    logger.error(f"--> {name}: rolling back {len(run.active)} host(s) in the middle of a switch")
    run.recorder.interrupted = name
    greenlets = list(run.active.values())
    for g in greenlets:
        g.kill(Interrupted(name), block=False)
    run.flake.cancel_prebuilds()
    gevent.joinall(greenlets, timeout=120)
    run.recorder.finish()
    os._exit(128 + signum)


class Interrupted(Exception):
    """Raised inside a host's switch when the deployer is asked to stop."""


def install_interrupt_handlers(run: RunContext) -> None:
    """Replace pyinfra's Ctrl-C handling (which exits 0 at once) for this run. Idempotent."""
    if not run.interrupt_handlers:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda sig, _frame: gevent.spawn(_interrupted, run, sig))
        run.interrupt_handlers = True


def safe_switch(
    state: State,
    host: Host,
    env: Mapping[str, str],
    toplevel: str,
    revision: str,
    before: str | None,
    plan: SwitchPlan,
) -> bool:
    """The body of ``nixos.rebuild`` for ``switch``; records the outcome, returns success."""
    run = run_context(state)
    install_interrupt_handlers(run)
    sw = Switch(state, host, env, toplevel, revision, before, plan)
    with ExitStack() as stack:
        env = stack.enter_context(_control_master(sw, run.recorder.report.id))
        sw.env = env
        if not _prepare(sw):
            return False
        holder = {
            "run": run.recorder.report.id,
            "who": f"{getpass.getuser()}@{socket.gethostname()}",
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "revision": revision,
            "pid": os.getpid(),
        }
        begun = _begin(sw, holder)
        if begun is None:
            return False
        verdict = stack.enter_context(_held_lock(sw, holder))
        stack.enter_context(_watchdog(sw, verdict))
        stack.enter_context(_active(run, host.name))
        verdict.status, verdict.reason = _armed(sw, begun)
    return verdict.status is HostStatus.SWITCHED


@contextmanager
def _control_master(sw: Switch, run_id: str) -> Iterator[Mapping[str, str]]:
    """One shared SSH connection for the copy and every step of nixos-rebuild (its
    ``NIX_SSHOPTS``), closed at the end."""
    ssh_settings = sw.settings.ssh
    mux = ssh.control_dir(run_id, sw.host.name)
    os.makedirs(mux, mode=0o700, exist_ok=True)
    sw.workdir = mux
    try:
        yield {**sw.env, "NIX_SSHOPTS": ssh_settings.nix_sshopts(f"{mux}/%C")}
    finally:
        _cleanup(
            sw,
            "close the SSH connection",
            lambda: process.run(ssh_settings.close_master_argv(f"{mux}/%C"), timeout=10),
        )
        shutil.rmtree(mux, ignore_errors=True)


def _cleanup(sw: Switch, what: str, step: Any) -> Any:
    """Run a cleanup step; an error in it is logged, never raised over the original one."""
    try:
        return step()
    except Exception as exc:  # cleanup must not hide what happened before it
        sw.log(f"error: could not {what}: {type(exc).__name__}: {exc}", error=True)
        return None


@contextmanager
def _active(run: RunContext, name: str) -> Iterator[None]:
    """The host is mid-switch: Ctrl-C rolls it back."""
    run.active[name] = gevent.getcurrent()
    try:
        yield
    finally:
        run.active.pop(name, None)


def _fail(sw: Switch, message: str) -> bool:
    """Record a failure before anything on the host changed."""
    sw.log(f"error: {message}", error=True)
    outcome = HostOutcome(
        HostStatus.FAILED, before=sw.before, error=message, details={"phases": sw.phases}
    )
    run_context(sw.state).recorder.record(sw.host.name, outcome)
    return False


def _prepare(sw: Switch) -> bool:
    """Build and copy first: the watchdog, armed next, must only have to cover the activation."""
    with sw.phase("build"):
        run_context(sw.state).flake.await_prebuilds()
    for step, argv in sw.plan.prepare:
        with sw.phase(step):
            done = sw.run(argv, cwd=sw.workdir)  # a private directory: no ./result left behind
        if not done.ok:
            return _fail(sw, f"could not {step} the new generation: {done.last_error_line()}")
    return True


def _begin(sw: Switch, holder: dict[str, Any]) -> dict[str, list[str]] | None:
    """Take the lock, check the closure is on the host, arm the watchdog and list the units
    that had already failed, in one round trip. None (the failure recorded) if any of it did
    not happen; then nothing on the host changed, and no watchdog is armed."""
    s = sw.settings
    # The lock's lease outlives every step of a live switch (the watchdog, a gate that waits
    # for it, the finish), so only a dead run's lock expires.
    lease_s = 2 * s.watchdog_s + s.gate_timeout_s + s.gate_settle_s + 600
    with sw.phase("lock"):
        ok, out = sw.remote(
            remote.begin_switch(
                holder,
                s.watchdog_s,
                previous=sw.plan.boot_default,
                lease_s=lease_s,
                run_id=str(holder["run"]),
                toplevel=sw.toplevel,
                failed_units=str(SystemdFailedUnits().command()),
            )
        )
    begun = split_keyed(out.splitlines())
    if not ok or "LOCKED-BY-US" not in begun.get("lock", []):
        _fail(sw, _lock_message(out))
        return None
    return begun


@dataclass
class Verdict:
    """The switch's outcome so far, as the steps found it."""

    status: HostStatus = HostStatus.FAILED
    reason: str = "interrupted"
    decided: bool = False  # set by the watchdog's rollback when the switch broke off


@contextmanager
def _watchdog(sw: Switch, verdict: Verdict) -> Iterator[None]:
    """The watchdog the first round trip armed. The steps disarm it (persisting) or roll back
    (a failed gate). If the switch breaks off instead (Ctrl-C, SIGTERM, an error), the previous
    generation is put back now, explicitly; should that fail too, the armed watchdog does it."""
    previous = sw.plan.boot_default
    try:
        yield
    except Interrupted as stop:  # nixos-rebuild was killed with this greenlet
        verdict.status, verdict.reason = _roll_back(sw, previous, f"interrupted by {stop}")
    except Exception as exc:
        broke = f"the switch broke off ({type(exc).__name__}: {exc})"
        verdict.status, verdict.reason = _roll_back(sw, previous, broke)
        verdict.decided = True
        raise


@contextmanager
def _held_lock(sw: Switch, holder: dict[str, Any]) -> Iterator[Verdict]:
    """While the deploy lock is held. At the end, whatever happened: journal the run, release
    the lock and read what the host runs and boots, in one round trip; then record the outcome
    as the host shows it."""
    verdict = Verdict()
    try:
        yield verdict
    except BaseException as exc:
        if not verdict.decided and not isinstance(exc, GeneratorExit):
            verdict.status, verdict.reason = HostStatus.FAILED, f"{type(exc).__name__}: {exc}"
        _cleanup(sw, "finish the switch", lambda: _finish(sw, holder, verdict))
        raise
    _cleanup(sw, "finish the switch", lambda: _finish(sw, holder, verdict))


def _finish(sw: Switch, holder: dict[str, Any], verdict: Verdict) -> None:
    rec = run_context(sw.state).recorder
    ended = datetime.now(timezone.utc).isoformat(timespec="seconds")
    entry = {
        "run": holder["run"],
        "revision": sw.revision,
        "toplevel": sw.toplevel,
        "previous": sw.before,
        "deployer": holder["who"],
        "started": holder["since"],
        "ended": ended,
        "result": verdict.status.value,
        "reason": verdict.reason or None,
    }
    system = probe.command([SYSTEM.part()])
    with sw.phase("finish"):
        _ok, lines = sw.remote(f"{remote.finish(entry, str(holder['run']))}; {system}")
    after = NixosSystem().process(lines.splitlines())
    status, reason = observed_outcome(
        verdict.status, verdict.reason, after, sw.toplevel, sw.plan.boot_default
    )
    if sw.reading is not None and status is HostStatus.SWITCHED:
        with sw.phase("read"):
            read_ok, read = sw.reading.get()
        if read_ok:  # this run's verify uses it, with the system as it is now
            observed = areas.observe(read.splitlines()).with_values(**{SYSTEM.key: after})
            run_context(sw.state).after_switch[sw.host.name] = observed
    elif sw.reading is not None:
        sw.reading.kill()
    known = after if isinstance(after, SystemState) else SystemState()
    outcome = HostOutcome(
        status,
        before=sw.before,
        after=known.current,
        generation=known.generation,
        revision=sw.revision,
        error=reason or None,
    )
    outcome.details["reboot_needed"] = known.reboot_needed
    outcome.details["phases"] = sw.phases
    if status is HostStatus.SWITCHED and known.reboot_needed:
        outcome.details["reboot"] = _reboot(sw, sw.settings.reboot)
    if status is not HostStatus.SWITCHED:
        sw.log(f"{status.value}: {reason}", error=True)
    rec.record(sw.host.name, outcome)


def _armed(sw: Switch, begun: dict[str, list[str]]) -> tuple[HostStatus, str]:
    """With the lock held: check what the first round trip found, then switch."""
    if "ON-HOST" not in begun.get("closure", []):
        return (
            HostStatus.FAILED,
            "the new generation is not in the host's store after the build and copy; nothing "
            f"was activated (check: nix-store --check-validity {sw.toplevel})",
        )
    if "ARMED" not in begun.get("watchdog", []):
        return HostStatus.FAILED, "could not arm the rollback watchdog (systemd-run failed)"
    listed = SystemdFailedUnits().process(begun.get("failed_units", []))
    if isinstance(listed, Unknown):  # the gate could not tell old failures from new ones
        sw.remote(remote.disarm_watchdog())
        return HostStatus.FAILED, f"before the switch: {listed}"
    sw.failed_before = listed
    return _switch(sw)


def _switch(sw: Switch) -> tuple[HostStatus, str]:
    """From an armed watchdog to a persisted generation, or back to the boot default."""
    boot_default = sw.plan.boot_default
    settings = sw.settings
    watchdog_s = settings.watchdog_s
    started = int(time.time()) - CLOCK_SKEW_S
    with sw.phase("test"):
        test = sw.run(sw.plan.test_argv)
    stc = None
    if not test.ok:  # what the host says switch-to-configuration did, not nixos-rebuild's code
        _ok, journal = sw.remote(remote.observe_activation(started))
        stc = remote.activation_status(journal)
    # Exit 4 also counts units that had failed before this switch; the gate tells them apart.
    if not test.ok and not (stc == 4 and sw.failed_before):
        return _roll_back(
            sw, boot_default, test_failure(test.returncode, stc, test.last_error_line())
        )
    with sw.phase("gate"):
        result = sw.gate(settings.gate_timeout_s, settings.gate_settle_s)
    if not result.reachable:
        reason = f"SSH did not come back within {settings.gate_timeout_s} s of activation"
        if not boot_default:
            return HostStatus.FAILED, f"{reason}; no earlier generation to return to"
        return _await_watchdog(sw, boot_default, watchdog_s, reason)
    if result.failed:
        return _roll_back(sw, boot_default, "gate failed: " + "; ".join(result.failed))
    with sw.phase("persist"):
        ok, out = sw.remote(remote.persist(sw.toplevel, sw.revision, armed=bool(boot_default)))
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
    declared = Declared.from_json(sw.plan.declared)
    ctx = Context(
        host=sw.host.name, now=datetime.now(timezone.utc), flake_checkout=settings.flake_checkout
    )
    script = data_layer_script(declared, ctx)
    sw.reading = gevent.spawn(sw.remote, script)
    return HostStatus.SWITCHED, ""


def test_failure(returncode: int, stc: int | None, said: str) -> str:
    """Why ``nixos-rebuild test`` failed: from switch-to-configuration's exit code as the host's
    journal has it (``stc``), or, when the host did not say (None), only that it failed.

    >>> test_failure(1, 4, "warning: error(s) occurred while switching to the new configuration")
    'switch-to-configuration test exited 4 on the host (units failed to start); nixos-rebuild test exited 1: warning: error(s) occurred while switching to the new configuration'
    >>> test_failure(255, None, "ssh: connect to host nas port 22: Connection refused")
    'nixos-rebuild test exited 255, and the host does not say how switch-to-configuration ended: ssh: connect to host nas port 22: Connection refused'
    """
    if stc is None:
        return (
            f"nixos-rebuild test exited {returncode}, and the host does not say how "
            f"switch-to-configuration ended: {said}"
        )
    meaning = EXIT_MEANING.get(stc, "error")
    return (
        f"switch-to-configuration test exited {stc} on the host ({meaning}); "
        f"nixos-rebuild test exited {returncode}: {said}"
    )


def observed_outcome(
    status: HostStatus,
    reason: str,
    after: SystemState | Unknown,
    toplevel: str,
    previous: str | None,
) -> tuple[HostStatus, str]:
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
    ok, _ = sw.remote(remote.restore(boot_default))  # and disarms the watchdog
    system = sw.system()
    current = system.current if isinstance(system, SystemState) else None
    if current == boot_default:
        return HostStatus.ROLLED_BACK, reason
    if not ok:  # the connection may be gone: the watchdog is the last resort
        return _await_watchdog(sw, boot_default, sw.settings.watchdog_s, reason)
    return HostStatus.FAILED, f"{reason}; the rollback left it on {current}"


def _await_watchdog(
    sw: Switch, boot_default: str, watchdog_s: int, reason: str
) -> tuple[HostStatus, str]:
    """Wait for the watchdog to restore the boot default, then confirm it over a fresh connection."""
    sw.log(f"waiting up to {watchdog_s + 60} s for the watchdog to restore the previous generation")

    def restored() -> bool | None:
        result = sw.gate(5)
        return True if result.reachable and result.current == boot_default else None

    if poll_until(restored, watchdog_s + 60, every_s=2):
        return HostStatus.ROLLED_BACK, f"{reason}; the watchdog restored the previous generation"
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
