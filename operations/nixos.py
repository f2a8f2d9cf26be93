"""Operations for NixOS hosts: send the flake to the host, and rebuild it from the flake."""

from __future__ import annotations

import dataclasses
import secrets
import shlex
from collections.abc import Generator, Mapping

from pyinfra import logger
from pyinfra.api.command import FileUploadCommand, FunctionCommand, PyinfraCommand, StringCommand
from pyinfra.api.exceptions import OperationError
from pyinfra.api.host import Host
from pyinfra.api.operation import operation
from pyinfra.api.state import State
from pyinfra.context import host, state

from facts.nixos import DeployLock, FlakeCheckout, NixosSystem
from nixfleet import process, remote
from nixfleet.models import Action, HostOutcome, HostStatus, SystemState
from nixfleet.probe import Unknown
from nixfleet.remote import lock_message
from nixfleet.run import run_context
from operations.switch import SwitchPlan, safe_switch


def _fail(state: State, host: Host, message: str) -> bool:
    """Fail only this host, with a one-line message (an exception would stop every host)."""
    host.log_styled(f"error: {message}", fg="red", log_func=logger.error)
    run_context(state).recorder.record(host.name, HostOutcome(HostStatus.FAILED, error=message))
    return False


@operation()
def push_flake(
    bundle: str, revision: str, path: str = "/etc/nixos", upload_dir: str | None = None
) -> Generator[PyinfraCommand, None, None]:
    """
    Put the flake's exact git revision in a checkout on the host, and touch nothing else.

    The flake travels as a git bundle over pyinfra's own connection, so the host needs git but
    no access to the repository. A checkout with local edits, or a directory of files nixfleet
    did not put there, is left alone and fails the host with a message saying what to do.

    + bundle: a git bundle of the flake's HEAD, made on the controller
    + revision: the commit the checkout must be at
    + path: the checkout on the host
    + upload_dir: where the bundle waits on the host: a new directory only root can enter,
      removed afterwards (default: a fresh random one under /tmp)

    **Example:**

    .. code:: python

        nixos.push_flake(
            name="Send the flake to /etc/nixos",
            bundle=".fleet/cache/flake-b9a5….bundle",
            revision="b9a501e59e9fa035d466b3873be067ffae6a7f9d",
        )
    """
    if len(revision) != 40:
        raise OperationError(f"push_flake: revision must be a full commit id, not {revision!r}")
    checkout = host.get_fact(FlakeCheckout, path=path)
    if isinstance(checkout, Unknown):
        yield FunctionCommand(_fail, (f"{checkout}; nothing was changed",), {})
        return
    kind = checkout.get("state")
    if kind == "git" and checkout.get("revision") == revision and checkout.get("dirty") == "no":
        host.noop(f"{path} is at {revision[:12]}")
        return
    problems = {
        "no-git": "git is not installed; add it to the host's configuration "
        "(programs.git.enable = true)",
        "foreign": f"{path} holds files nixfleet does not manage; move them into "
        f"the flake, then remove {path}",
        None: f"could not read {path}",
    }
    if kind in problems:
        yield FunctionCommand(_fail, (problems[kind],), {})
        return
    if checkout.get("dirty") == "yes":
        yield FunctionCommand(
            _fail,
            (
                f"{path} has local edits; commit them to the flake repo, or discard "
                f"them with `git -C {path} checkout -- . && git -C {path} clean -fd`",
            ),
            {},
        )
        return
    q = shlex.quote
    # mkdir (not -p) fails if the path exists: nobody else can have put anything there.
    private = upload_dir or f"/tmp/nixfleet-flake-{secrets.token_hex(8)}"
    remote_bundle = f"{private}/flake.bundle"
    yield StringCommand(f"mkdir -m 0700 {q(private)}")
    yield FileUploadCommand(bundle, remote_bundle)
    yield StringCommand(
        f"git init -q {q(path)} && git -C {q(path)} fetch -q {q(remote_bundle)} HEAD"
        f" && git -C {q(path)} -c advice.detachedHead=false"
        f" checkout -q --force --detach {q(revision)};"
        f" rc=$?; rm -rf {q(private)}; exit $rc"
    )


def _rebuild_step(
    state: State,
    host: Host,
    argv: list[str],
    env: Mapping[str, str],
    action: str,
    toplevel: str,
    revision: str,
    before: str | None,
    plan: SwitchPlan | None = None,
) -> bool:
    """Run nixos-rebuild on the controller for this host, then read back what the host runs.
    ``switch`` with a ``plan`` runs the safe switch (operations/switch.py)."""
    if plan is not None and action == "switch":
        return safe_switch(state, host, env, toplevel, revision, before, plan)
    run_context(state).flake.await_prebuilds()
    if state.print_input:
        logger.info(f"{host.print_prefix}(controller) >>> {shlex.join(argv)}")
    result = process.run(argv, env=env)
    if state.print_output or not result.ok:
        for line in (result.stderr + result.stdout).splitlines():
            logger.info(f"{host.print_prefix}(controller) {line}")
    read = host.get_fact(NixosSystem, _ignore_errors=True)
    act = Action(action)
    if isinstance(read, Unknown):
        message = f"nixos-rebuild {action} exited {result.returncode}; afterwards, {read}"
        host.log_styled(f"error: {message}", fg="red", log_func=logger.error)
        run_context(state).recorder.record(
            host.name, HostOutcome(HostStatus.FAILED, before=before, error=message)
        )
        return False
    after = SystemState.coerce(read)
    # What the host shows afterwards: it runs (switch, test) and boots (switch, boot) toplevel.
    landed = [after.current] * act.activates + [after.profile] * act.sets_profile
    outcome = HostOutcome(
        HostStatus.SWITCHED,
        before=before,
        after=after.current,
        generation=after.generation,
        revision=revision,
    )
    if result.ok and all(p == toplevel for p in landed):
        _record_revision(state, host, toplevel, revision)
        run_context(state).recorder.record(host.name, outcome)
        return True
    outcome.status = HostStatus.FAILED
    outcome.error = (
        f"nixos-rebuild {action} exited {result.returncode}: {result.last_error_line()}"
        if not result.ok
        else f"nixos-rebuild {action} succeeded but the host runs {after.current} and boots "
        f"{after.profile}, not {toplevel}"
    )
    host.log_styled(f"error: {outcome.error}", fg="red", log_func=logger.error)
    run_context(state).recorder.record(host.name, outcome)
    return False


def _record_revision(state: State, host: Host, toplevel: str, revision: str) -> None:
    host.run_shell_command(
        StringCommand(remote.record_revision(toplevel, revision)),
        **remote.escalation(bool(host.data.get("use_remote_sudo"))),
    )


def rebuild_command(
    argv: list[str],
    env: Mapping[str, str],
    action: Action,
    toplevel: str,
    revision: str,
    before: str | None,
    plan: SwitchPlan | None = None,
) -> PyinfraCommand:
    return FunctionCommand(
        _rebuild_step,
        (argv, dict(env), action.value, toplevel, revision, before),
        {"plan": plan} if plan is not None else {},
    )


@operation()
def rebuild(
    argv: list[str],
    toplevel: str,
    revision: str = "",
    action: str = "switch",
    env: Mapping[str, str] | None = None,
    error: str | None = None,
    safe: SwitchPlan | None = None,
) -> Generator[PyinfraCommand, None, None]:
    """
    Make the host run ``toplevel`` by running ``nixos-rebuild`` on the controller, unless it
    already does. "Already" compares the evaluated toplevel with ``/run/current-system`` (or,
    for ``boot``, with the boot-default profile), so ``--dry`` shows exactly this comparison.

    + argv: the nixos-rebuild command line (see ``nixfleet.nix.nixos_rebuild``)
    + toplevel: the store path ``nix eval`` gives for this host's toplevel
    + revision: the flake revision it was evaluated from
    + action: ``switch``, ``boot`` or ``test``
    + env: extra environment for nixos-rebuild, such as ``NIX_SSHOPTS``
    + error: why this host cannot be rebuilt (e.g. its configuration does not evaluate); fails it
    + safe: for ``switch``, run the safe switch (operations/switch.py) with this plan: the
      host's settings (watchdog_s, gate_timeout_s, gate_settle_s, gates, reboot), its
      declarations, the ``nixos-rebuild test`` command and what to run before the watchdog

    **Example:**

    .. code:: python

        nixos.rebuild(
            name="nixos-rebuild switch",
            argv=["nixos-rebuild", "switch", "--flake", ".#nas", "--target-host", "root@nas"],
            toplevel="/nix/store/8z88a1x1…-nixos-system-nas-24.11",
        )
    """
    if action not in ("switch", "boot", "test"):
        raise OperationError(f"rebuild: unsupported action {action!r}; use switch, boot or test")
    act = Action(action)
    if error:
        yield FunctionCommand(_fail, (error,), {})
        return
    lock = host.get_fact(DeployLock)
    if isinstance(lock, Unknown):
        yield FunctionCommand(_fail, (f"{lock}; nothing was changed",), {})
        return
    if lock.get("run") and lock.get("run") != run_context(state).recorder.report.id:
        yield FunctionCommand(
            _fail, (lock_message(lock),), {}
        )  # even if it already runs `toplevel`
        return
    read = host.get_fact(NixosSystem)
    if isinstance(read, Unknown):
        yield FunctionCommand(_fail, (f"{read}; nothing was changed",), {})
        return
    system = SystemState.coerce(read)
    running = system.current if act.activates else system.profile
    if running == toplevel:
        host.noop(f"already runs {toplevel}")
        run_context(state).recorder.record(
            host.name,
            HostOutcome(
                HostStatus.UNCHANGED,
                before=system.current,
                after=system.current,
                generation=system.generation,
                revision=system.revision,
            ),
        )
        return
    plan = dataclasses.replace(safe, boot_default=system.profile) if safe is not None else None
    yield rebuild_command(argv, env or {}, act, toplevel, revision, system.current, plan)
