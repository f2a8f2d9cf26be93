"""Verify a host's data layer against what its flake declares, with facts read at that moment."""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime, timedelta, timezone
from typing import Any

from pyinfra import logger
from pyinfra.api.command import FunctionCommand, PyinfraCommand
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
from nixfleet.checks import Severity
from nixfleet.checks.context import Context, Observed
from nixfleet.declared import Declared
from nixfleet.models import SystemState
from nixfleet.report import recorder
from nixfleet.verification import HostVerification, verify

SECRETS_DIR = "/run/secrets"


def observe(host: Host, declared: Declared, flake_checkout: str | None) -> Observed:
    """Read every fact the declared subjects need, and only those. Facts never change the host;
    a fact that cannot be read yields its empty default, which the checks then flag."""

    def fact(cls: Any, **kwargs: Any) -> Any:
        return host.get_fact(cls, _ignore_errors=True, **kwargs)

    st = declared.syncthing
    jobs = sorted(declared.restic)
    units = [u for j in declared.restic.values() for u in (j.service, j.timer_unit)]
    outside = sorted(
        s.path for s in declared.secrets.values() if not s.path.startswith(SECRETS_DIR + "/")
    )
    return Observed(
        system=SystemState.coerce(fact(NixosSystem)),
        checkout=dict(fact(FlakeCheckout, path=flake_checkout)) if flake_checkout else {},
        failed_units=tuple(fact(SystemdFailedUnits)),
        timers=tuple(fact(SystemdTimers)) if jobs else (),
        units=fact(SystemdUnits, units=units) if units else {},
        syncthing=fact(
            SyncthingStatus,
            config_dir=st.config_dir,
            gui_address=st.gui_address,
            folders=[f"{f.id}={f.path}" for f in st.folders.values()],
        )
        if st
        else None,  # fmt: skip
        notebooks=fact(NbNotebooks, paths=sorted(n.path for n in declared.notebooks.values()))
        if declared.notebooks
        else {},
        restic=fact(ResticJobs, jobs=jobs) if jobs else {},
        secrets=fact(SecretFiles, directory=SECRETS_DIR, paths=outside) if declared.secrets else {},
        listeners=tuple(fact(ListeningSockets)),
    )


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
    result: HostVerification = verify(decl, observe(host, decl, ctx.flake_checkout), ctx)
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
