"""Verify a host's data layer against what its flake declares, with facts read at that moment."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import gevent
from pyinfra import logger
from pyinfra.api.command import FunctionCommand, PyinfraCommand
from pyinfra.api.facts import FactBase
from pyinfra.api.host import Host
from pyinfra.api.operation import operation
from pyinfra.api.state import State

from facts.nb import NbNotebooks
from facts.network import ListeningSockets
from facts.nixos import FlakeCheckout, NixosSystem
from facts.restic import ResticJobs
from facts.secrets import SecretFiles
from facts.syncthing import SyncthingStatus
from facts.systemd import SystemdFailedUnits, SystemdTimers, SystemdUnits
from nixfleet import process
from nixfleet.checks import Severity
from nixfleet.checks.context import Context, Observed
from nixfleet.declared import Declared
from nixfleet.models import SystemState
from nixfleet.report import recorder
from nixfleet.verification import HostVerification, verify

SECRETS_DIR = "/run/secrets"


@dataclass(frozen=True)
class FactCall:
    """One fact to read for verification, and the Observed field it fills."""

    key: str
    fact: type[FactBase[Any]]
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
        FactCall("system", NixosSystem),
        FactCall("checkout", FlakeCheckout, {"path": flake_checkout}) if flake_checkout else None,
        FactCall("failed_units", SystemdFailedUnits),
        FactCall("timers", SystemdTimers) if jobs else None,
        FactCall("units", SystemdUnits, {"units": units}) if units else None,
        FactCall(
            "syncthing",
            SyncthingStatus,
            {
                "config_dir": st.config_dir,
                "gui_address": st.gui_address,
                "folders": [f"{f.id}={f.path}" for f in st.folders.values()],
            },
        )
        if st
        else None,  # fmt: skip
        FactCall(
            "notebooks", NbNotebooks, {"paths": sorted(n.path for n in declared.notebooks.values())}
        )
        if declared.notebooks
        else None,
        FactCall("restic", ResticJobs, {"jobs": jobs}) if jobs else None,
        FactCall("secrets", SecretFiles, {"directory": SECRETS_DIR, "paths": outside})
        if declared.secrets
        else None,
        FactCall("listeners", ListeningSockets),
    ]
    return [c for c in calls if c is not None and c.key in wanted]


def observed_from(values: dict[str, Any]) -> Observed:
    """Assemble facts' values (missing ones stay empty) into an Observed."""
    conv: dict[str, Callable[[Any], Any]] = {
        "system": SystemState.coerce, "checkout": dict, "failed_units": tuple, "timers": tuple,
        "listeners": tuple,
    }  # fmt: skip
    return Observed(**{k: conv.get(k, lambda v: v)(v) for k, v in values.items()})


def observe(host: Host, calls: list[FactCall]) -> Observed:
    """Read the facts over pyinfra's connection. A fact that cannot be read yields its empty
    default, which the checks then flag; facts never change the host."""
    return observed_from(
        {c.key: host.get_fact(c.fact, _ignore_errors=True, **c.kwargs) for c in calls}
    )


def fresh_script(calls: list[FactCall]) -> str:
    """One shell script running several facts' commands, each section headed ``@@@ <key>``."""
    parts = []
    for c in calls:
        fact = c.fact()
        command = str(fact.command(**c.kwargs))
        needs = fact.requires_command(**c.kwargs)
        guard = f"command -v {needs} >/dev/null && " if needs else ""
        parts.append(f"echo '@@@ {c.key}'; {guard}( {command} ) 2>/dev/null")
    return "; ".join(parts) + "; true"


def observed_from_script(calls: list[FactCall], stdout: str) -> Observed:
    """Parse what :func:`fresh_script` printed."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in stdout.splitlines():
        if line.startswith("@@@ "):
            current = sections.setdefault(line[4:].strip(), [])
        elif current is not None:
            current.append(line)
    values = {}
    for c in calls:
        lines = sections.get(c.key, [])
        fact = c.fact()
        values[c.key] = fact.process(lines) if any(x.strip() for x in lines) else fact.default()
    return observed_from(values)


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
        deploy_hint=context.get("deploy_hint", "pyinfra inventory/home.py deploys/all.py"),
    )
    decl = Declared.from_json(declared)
    result: HostVerification = verify(
        decl, observe(host, fact_calls(decl, ctx.flake_checkout)), ctx
    )
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
    the operation runs, so after a switch they describe the new generation. The host fails when
    an error-severity check fails.

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
         timeout_s: float) -> GateResult:  # fmt: skip
    """Run the gate checks over a new SSH connection (not pyinfra's, which outlives an sshd that
    no longer accepts connections). Retries until ``timeout_s``, as the network may be restarting."""
    ids = sorted({"nixos.current-system", "systemd.failed-units", *gates})
    calls = fact_calls(declared, context.flake_checkout, only=ids)
    deadline = time.monotonic() + timeout_s
    while True:
        result = process.run([*ssh_argv, fresh_script(calls)], timeout=max(5.0, timeout_s))
        if result.returncode != 255:
            break
        if time.monotonic() > deadline:
            return GateResult(False)
        gevent.sleep(1)
    observed = observed_from_script(calls, result.stdout)
    checks = verify(declared, observed, context).checks
    failed = tuple(f"{c.id}: {c.message}" for c in checks
                   if c.id in ids and not c.ok and c.severity is Severity.ERROR)  # fmt: skip
    return GateResult(True, failed, observed.system.current)
