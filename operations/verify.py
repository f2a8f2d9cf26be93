"""Verify a host's data layer against what its flake declares, with facts read at that moment."""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

import gevent
from pyinfra import logger
from pyinfra.api.command import FunctionCommand, PyinfraCommand, StringCommand
from pyinfra.api.host import Host
from pyinfra.api.operation import operation
from pyinfra.api.state import State

from facts.datalayer import DataLayer
from nixfleet import areas, probe, process, prometheus, remote
from nixfleet.area import Context, Declared, Observed
from nixfleet.areas import monitoring
from nixfleet.areas.nixos import SYSTEM
from nixfleet.checks import Severity
from nixfleet.poll import poll_until
from nixfleet.probe import Part, Unknown
from nixfleet.run import run_context
from nixfleet.settings import HostSettings
from nixfleet.verification import HostVerification, verify


def parts_for(declared: Declared, ctx: Context, only: Iterable[str] | None = None) -> list[Part]:
    """The probe parts the checks need on this host (all checks, or the ids in ``only``)."""
    return areas.parts(declared, ctx, only)


def observe(host: Host, parts: list[Part]) -> Observed:
    """Read them over pyinfra's connection, all in one round trip; facts never change the host.
    A read that could not happen is Unknown, and the checks that need it fail."""
    observed = host.get_fact(DataLayer, parts=parts, _ignore_errors=True)
    return observed if isinstance(observed, Observed) else Observed()


def data_layer_script(declared: Declared, ctx: Context) -> str:
    """The command that reads every part verification needs, in one round trip."""
    return probe.command(parts_for(declared, ctx))


def _publish(
    host: Host, exporter: monitoring.Exporter, result: HostVerification, sudo: bool
) -> HostVerification:
    """Write the host's metrics where its node exporter reads them (one round trip), and add
    how that went to its findings as ``monitoring.textfile``."""
    directory = exporter.textfile_directory
    if directory is None:
        written = monitoring.no_directory(exporter)
    else:
        part = monitoring.write_part(directory, prometheus.render([result]))
        try:
            _ok, output = host.run_shell_command(
                StringCommand(probe.command([part])), **remote.escalation(sudo)
            )
            reply = probe.parse(output.stdout_lines).get(part.key)
        except Exception as exc:  # the connection died: the metrics were not written
            logger.debug(f"{host.name}: writing the textfile: {exc}")
            reply = None
        written = monitoring.written(directory, reply)
    return replace(result, checks=(*result.checks, written))


def _verify_step(
    state: State,
    host: Host,
    declared: Mapping[str, Any],
    settings: HostSettings,
    toplevel: str | None,
    revision: str | None,
) -> bool:
    """Read the facts now (after any activation), run every check, record and log the findings."""
    ctx = settings.check_context(datetime.now(timezone.utc), toplevel, revision)
    decl = Declared.from_json(declared)
    run = run_context(state)
    observed = run.after_switch.pop(host.name, None) or observe(host, parts_for(decl, ctx))
    result: HostVerification = verify(decl, observed, ctx)
    exporter = decl[monitoring.AREA]
    if exporter is not None:
        result = _publish(host, exporter, result, settings.use_remote_sudo)
    run.recorder.record_verification(result)
    for check in result.checks:
        if not check.ok:
            log = logger.error if check.severity is Severity.ERROR else logger.warning
            host.log_styled(
                f"{check.severity.value}: {check.id}: {check.message}",
                fg="red" if log is logger.error else "yellow",
                log_func=log,
            )
    return result.ok


@operation(is_idempotent=False)
def data_layer(
    declared: Mapping[str, Any],
    settings: HostSettings,
    toplevel: str | None = None,
    revision: str | None = None,
) -> Generator[PyinfraCommand, None, None]:
    """
    Check the host's NixOS system, systemd units, Syncthing, nb notebooks, restic backups,
    secrets and open ports against what its flake declares. The facts are read when the
    operation runs, in one round trip; on a host that ``nixos.rebuild`` just switched, they are
    those its safe switch read last, after the new generation became the boot default. The only
    write is the host's own metrics, into its node exporter's textfile directory, atomically
    (``monitoring.textfile`` says how that went). The host fails when an error-severity check
    fails.

    + declared: the host's declarations (``Desired.declared``, the JSON of ``declared.nix``)
    + settings: the host's validated settings (``HostSettings``): where its flake checkout is,
      ``backup_max_age``, ``nb_push_grace``, ``deploy_hint``
    + toplevel: the toplevel the flake declares for the host
    + revision: the flake revision its checkout should be at

    **Example:**

    .. code:: python

        verify.data_layer(
            name="Verify the data layer",
            declared=desired.declared,
            settings=HostSettings.from_data(host.name, host.data.dict()),
            toplevel=desired.toplevel,
            revision=desired.revision,
        )
    """
    yield FunctionCommand(_verify_step, (declared, settings, toplevel, revision), {})


@dataclass(frozen=True)
class GateResult:
    """What the gate checks found over a fresh SSH connection; ``reachable`` is False if none came."""

    reachable: bool
    failed: tuple[str, ...] = ()  # "id: message" of each failing error-severity gate
    current: str | None = None


def gate(
    ssh_argv: list[str],
    declared: Declared,
    context: Context,
    gates: Iterable[str],
    timeout_s: float,
    settle_s: float = 0,
    sudo: bool = False,
) -> GateResult:
    """Run the gate checks over a new SSH connection (not pyinfra's, which outlives an sshd that
    no longer accepts connections). Retries until ``timeout_s``, as the network may be
    restarting. Then it watches for ``settle_s``: it reads again every 2 s, so a unit that
    started and crashed (or restarts) a few seconds later, or an sshd that went away, fails it.
    Every read is a new connection; the first failing read decides."""
    ids = sorted({"nixos.current-system", "systemd.failed-units", *gates})
    command = remote.as_root(probe.command(parts_for(declared, context, only=ids)), sudo)

    def read(timeout: float) -> process.Result:
        return process.run([*ssh_argv, command], timeout=max(1.0, timeout))

    def judged(result: process.Result) -> GateResult:
        observed = areas.observe(result.stdout.splitlines())
        checks = verify(declared, observed, context, only=ids).checks
        failed = tuple(
            f"{c.id}: {c.message}" for c in checks if not c.ok and c.severity is Severity.ERROR
        )
        system = observed[SYSTEM]
        return GateResult(True, failed, None if isinstance(system, Unknown) else system.current)

    deadline = time.monotonic() + timeout_s

    def answer() -> process.Result | None:  # an answer, good or bad; not ssh failing
        result = read(deadline - time.monotonic())
        return None if result.returncode in (255, process.TIMED_OUT) else result

    first = poll_until(answer, timeout_s)
    if first is None:
        return GateResult(False)
    latest = judged(first)
    if latest.failed or settle_s <= 0:
        return latest

    def watch() -> GateResult | None:  # stop at the first failing read
        nonlocal latest
        result = read(10)
        if result.returncode in (255, process.TIMED_OUT):
            return GateResult(False)  # sshd went away while the gate watched
        latest = judged(result)
        return latest if latest.failed else None

    gevent.sleep(min(2.0, settle_s))
    return poll_until(watch, max(0.0, settle_s - 2.0), every_s=2.0) or latest
