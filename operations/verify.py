"""Verify a host's data layer against what its flake declares, with facts read at that moment."""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import gevent
from pyinfra import logger
from pyinfra.api.command import FunctionCommand, PyinfraCommand
from pyinfra.api.host import Host
from pyinfra.api.operation import operation
from pyinfra.api.state import State

from facts.datalayer import FACTS, DataLayer
from nixfleet import process
from nixfleet.checks import Severity
from nixfleet.checks.context import DEPLOY_HINT, Context, Observed
from nixfleet.declared import Declared
from nixfleet.probe import Unknown
from nixfleet.report import recorder
from nixfleet.verification import HostVerification, verify

SECRETS_DIR = "/run/secrets"


@dataclass(frozen=True)
class FactCall:
    """One fact to read for verification (a key of ``facts.datalayer.FACTS``, which is also the
    Observed field it fills), and its arguments."""

    key: str
    kwargs: dict[str, Any] = field(default_factory=dict)


# Which facts each area's checks read (by check id prefix).
NEEDS = {
    "nixos": ("system", "checkout"),
    "systemd": ("failed_units",),
    "syncthing": ("syncthing",),
    "nb": ("notebooks",),
    "restic": ("timers", "units", "restic"),
    "secrets": ("secrets",),
    "network": ("listeners",),
}


def fact_calls(
    declared: Declared, flake_checkout: str | None, only: Iterable[str] | None = None
) -> list[FactCall]:
    """The facts the declared subjects need (all checks, or only the check ids in ``only``)."""
    wanted = {k for area, keys in NEEDS.items() for k in keys
              if only is None or any(c.split(".", 1)[0] == area for c in only)}  # fmt: skip
    st = declared.syncthing
    jobs = sorted(declared.restic)
    units = [u for j in declared.restic.values() for u in (j.service, j.timer_unit)]
    outside = sorted(
        s.path for s in declared.secrets.values() if not s.path.startswith(SECRETS_DIR + "/")
    )
    calls = [
        FactCall("system"),
        FactCall("checkout", {"path": flake_checkout}) if flake_checkout else None,
        FactCall("failed_units"),
        FactCall("timers") if jobs else None,
        FactCall("units", {"units": units}) if units else None,
        FactCall(
            "syncthing",
            {
                "config_dir": st.config_dir,
                "gui_address": st.gui_address,
                "folders": [(f.id, f.path) for f in st.folders.values()],
            },
        )
        if st
        else None,  # fmt: skip
        FactCall("notebooks", {"paths": sorted(n.path for n in declared.notebooks.values())})
        if declared.notebooks
        else None,
        FactCall("restic", {"jobs": {n: list(j.paths) for n, j in declared.restic.items()}})
        if jobs
        else None,
        FactCall("secrets", {"directory": SECRETS_DIR, "paths": outside})
        if declared.secrets
        else None,
        FactCall("listeners"),
    ]
    return [c for c in calls if c is not None and c.key in wanted]


def observed_from(values: dict[str, Any], asked: Iterable[str]) -> Observed:
    """Assemble facts' values into an Observed. A fact that was ``asked`` for but is not in
    ``values`` (the host never answered) is Unknown, never its empty default."""
    fields = {
        key: values[key] if key in values else Unknown(FACTS[key].what, NO_ANSWER)
        for key in asked
        if key in Observed.__dataclass_fields__
    }
    return Observed(**fields)


NO_ANSWER = "no answer from the host (the connection failed or was cut short)"


def observe(host: Host, calls: list[FactCall]) -> Observed:
    """Read the facts over pyinfra's connection, all in one round trip; facts never change the
    host. A fact that could not be read is Unknown, and the checks that need it fail."""
    values = host.get_fact(DataLayer, facts=_spec(calls), _ignore_errors=True)
    return observed_from(values or {}, [c.key for c in calls])


def _spec(calls: list[FactCall]) -> dict[str, dict[str, Any]]:
    return {c.key: c.kwargs for c in calls}


def data_layer_script(declared: Declared, flake_checkout: str | None) -> tuple[str, list[str]]:
    """The command that reads every fact verification needs, in one round trip, and the keys
    of the facts it reads."""
    calls = fact_calls(declared, flake_checkout)
    return str(DataLayer().command(_spec(calls))), [c.key for c in calls]


# What a safe switch read at its end (after the new generation became the boot default), kept
# for this run's verify operation so that it does not read the same facts a second time.
_after_switch: dict[str, Observed] = {}


def remember(host_name: str, values: dict[str, Any], asked: Iterable[str]) -> None:
    """Keep the facts a safe switch read at its end for ``host_name``'s verify in this run."""
    _after_switch[host_name] = observed_from(values, asked)


def _verify_step(
    state: State, host: Host, declared: dict[str, Any], context: dict[str, Any]
) -> bool:
    """Read the facts now (after any activation), run every check, record and log the findings."""
    ctx = Context(
        host=host.name,
        now=datetime.now(timezone.utc),
        toplevel=context.get("toplevel"),
        flake_revision=context.get("flake_revision"),
        flake_checkout=context.get("flake_checkout"),
        backup_max_age=dict(context.get("backup_max_age") or {}),
        nb_push_grace=timedelta(seconds=float(context.get("nb_push_grace_s", 3600))),
        deploy_hint=context.get("deploy_hint", DEPLOY_HINT),
    )
    decl = Declared.from_json(declared)
    observed = _after_switch.pop(host.name, None) or observe(
        host, fact_calls(decl, ctx.flake_checkout)
    )
    result: HostVerification = verify(decl, observed, ctx)
    recorder().record_verification(result)
    for check in result.checks:
        if not check.ok:
            log = logger.error if check.severity is Severity.ERROR else logger.warning
            host.log_styled(f"{check.severity.value}: {check.id}: {check.message}",
                            fg="red" if log is logger.error else "yellow", log_func=log)  # fmt: skip
    return result.ok


@operation(is_idempotent=False)
def data_layer(
    declared: dict[str, Any], context: dict[str, Any]
) -> Generator[PyinfraCommand, None, None]:
    """
    Check the host's NixOS system, systemd units, Syncthing, nb notebooks, restic backups,
    secrets and open ports against what its flake declares. Read-only. The facts are read when
    the operation runs, in one round trip; on a host that ``nixos.rebuild`` just switched, they
    are those its safe switch read last, after the new generation became the boot default. The
    host fails when an error-severity check fails.

    + declared: the host's declared data layer (``Desired.declared``, from ``nixfleet/declared.nix``)
    + context: ``toplevel``, ``flake_revision``, ``flake_checkout``, ``backup_max_age``
      (job → duration), ``nb_push_grace_s``, ``deploy_hint``

    **Example:**

    .. code:: python

        verify.data_layer(
            name="Verify the data layer",
            declared=desired.declared,
            context={"toplevel": desired.toplevel, "flake_revision": desired.revision},
        )
    """
    yield FunctionCommand(_verify_step, (declared, context), {})


@dataclass(frozen=True)
class GateResult:
    """What the gate checks found over a fresh SSH connection; ``reachable`` is False if none came."""

    reachable: bool
    failed: tuple[str, ...] = ()  # "id: message" of each failing error-severity gate
    current: str | None = None


def gate(ssh_argv: list[str], declared: Declared, context: Context, gates: Iterable[str],
         timeout_s: float, settle_s: float = 0) -> GateResult:  # fmt: skip
    """Run the gate checks over a new SSH connection (not pyinfra's, which outlives an sshd that
    no longer accepts connections). Retries until ``timeout_s``, as the network may be
    restarting. Then it watches for ``settle_s``: it reads again every 2 s, so a unit that
    started and crashed (or restarts) a few seconds later, or an sshd that went away, fails it.
    Every read is a new connection; the first failing read decides."""
    ids = sorted({"nixos.current-system", "systemd.failed-units", *gates})
    calls = fact_calls(declared, context.flake_checkout, only=ids)
    command = DataLayer().command(_spec(calls))

    def read(timeout: float) -> process.Result:
        return process.run([*ssh_argv, command], timeout=max(1.0, timeout))

    def judged(result: process.Result) -> GateResult:
        observed = observed_from(
            DataLayer().process(result.stdout.splitlines()), [c.key for c in calls]
        )
        checks = verify(declared, observed, context).checks
        failed = tuple(f"{c.id}: {c.message}" for c in checks
                       if c.id in ids and not c.ok and c.severity is Severity.ERROR)  # fmt: skip
        system = observed.system
        return GateResult(True, failed, None if isinstance(system, Unknown) else system.current)

    deadline = time.monotonic() + timeout_s
    while True:
        result = read(deadline - time.monotonic())
        if result.returncode not in (255, process.TIMED_OUT):  # an answer, good or bad
            break
        if time.monotonic() >= deadline:
            return GateResult(False)
        gevent.sleep(1)
    verdict = judged(result)
    settled = time.monotonic() + settle_s
    while not verdict.failed and time.monotonic() < settled:
        gevent.sleep(min(2.0, max(0.0, settled - time.monotonic())))
        result = read(10)
        if result.returncode in (255, process.TIMED_OUT):
            return GateResult(False)  # sshd went away while the gate watched
        verdict = judged(result)
    return verdict
