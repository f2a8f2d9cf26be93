"""Restore drills, the pyinfra way: one operation that rehearses a restore of every backup job
of a host (nixfleet/drill.py), in one round trip, and records how each went."""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any

from pyinfra import logger
from pyinfra.api.command import FunctionCommand, PyinfraCommand, StringCommand
from pyinfra.api.host import Host
from pyinfra.api.operation import operation
from pyinfra.api.state import State
from pyinfra.context import host

from nixfleet import drill, probe, remote
from nixfleet.area import Declared
from nixfleet.areas import restic
from nixfleet.run import run_context


def _drill_step(state: State, host: Host, jobs: Mapping[str, list[str]], sudo: bool) -> bool:
    parts = [drill.part(job, paths) for job, paths in sorted(jobs.items())]
    try:
        ok, output = host.run_shell_command(
            StringCommand(probe.command(parts)), _timeout=drill.TIMEOUT_S + 60,
            **remote.escalation(sudo),
        )  # fmt: skip
        lines, why = output.stdout_lines, "no answer from the host"
    except Exception as exc:  # the connection died: every drill of this host failed, saying so
        lines, why = [], f"no answer from the host ({exc})"
    results = drill.results(probe.parse(lines), list(jobs), why)
    run_context(state).recorder.drills[host.name] = results
    for r in results:
        if r.ok:
            host.log_styled(f"drill {r.job}: ok (snapshot {r.snapshot}, data {r.subset} read)",
                            log_func=logger.info)  # fmt: skip
        else:
            host.log_styled(f"error: drill {r.job}: {r.reason}", fg="red", log_func=logger.error)
    return all(r.ok for r in results)


@operation(is_idempotent=False)
def restore_drills(
    declared: Mapping[str, Any], sudo: bool = False
) -> Generator[PyinfraCommand, None, None]:
    """
    Rehearse a restore of every restic job the host declares: a sample of files from each
    job's newest snapshot restored into a private temporary directory and compared with the
    live files, and a rotating subset of the repository's data read back. Never writes to a
    repository or a live file. The host fails when any job's drill fails.

    + declared: the host's declarations (``Desired.declared``, the JSON of ``declared.nix``)
    + sudo: run the drills with sudo (a host reached as a normal user)

    **Example:**

    .. code:: python

        drill.restore_drills(name="Restore drills", declared=desired.declared)
    """
    jobs = {  # prune-only jobs (another host's retention) have nothing of their own to restore
        n: list(j.paths) for n, j in Declared.from_json(declared)[restic.AREA].items() if j.backs_up
    }
    if not jobs:
        host.noop("no backup job to drill")
        return
    yield FunctionCommand(_drill_step, (jobs, sudo), {})
