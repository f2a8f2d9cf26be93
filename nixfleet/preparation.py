"""What a deploy file prepares for one host: its settings, the flake's evaluation, the run report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyinfra import logger
from pyinfra.api.host import Host
from pyinfra.api.state import State

from nixfleet import run
from nixfleet.errors import NixfleetError
from nixfleet.models import Desired
from nixfleet.rebuild import Flavour
from nixfleet.report import Recorder
from nixfleet.settings import HostSettings


@dataclass(frozen=True)
class Prepared:
    settings: HostSettings
    recorder: Recorder
    desired: Desired | None
    error: str | None
    revision: str | None
    flavour: Flavour | None = None  # of the host's nixos-rebuild, when deploying


def prepare(state: State, host: Host, *, deploying: bool) -> Prepared:
    """Validate the host's data, evaluate the flake (once for all selected hosts) and hook the
    run report into pyinfra. Bad data raises a one-line error before any host is touched."""
    ctx = run.run_context(state)
    recorder = run.attach(state, host)
    data: dict[str, Any] = host.data.dict()  # type: ignore[no-untyped-call]
    settings = HostSettings.from_data(host.name, data)
    recorder.deploying = recorder.deploying or deploying
    if settings.prometheus_textfile:
        recorder.textfile = Path(settings.prometheus_textfile)
    same_flake = run.hosts_by_flake(state).get(str(data.get("flake")), [])
    batch = [attr for attr, _elsewhere in same_flake]
    planning = run.is_dry_run()
    if deploying and not settings.allow_dirty and not planning:
        ctx.flake.refuse_dirty(settings.flake.path)
    try:
        desired = ctx.flake.evaluate(settings.flake.path, settings.flake.attr, batch)
        flavour = ctx.rebuild_flavour(settings.nixos_rebuild) if deploying else None
    except NixfleetError as error:
        if deploying and not planning:
            raise  # nothing is touched anywhere when one host's configuration does not evaluate
        host.log_styled(f"eval-error: {error}", fg="red", log_func=logger.error)
        return Prepared(settings, recorder, None, str(error), None)
    if deploying and not planning:
        ctx.flake.prebuild(settings.flake.path, [a for a, elsewhere in same_flake if not elsewhere])
    revision = ctx.flake.revision(settings.flake.path)
    run.describe(recorder, settings.flake.path, settings.action.value, revision)
    return Prepared(settings, recorder, desired, None, revision, flavour)
