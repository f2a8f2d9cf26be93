"""Everything the checks read: the declared state, the observed state, and the run's context."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from nixfleet.declared import Declared
from nixfleet.models import SystemState
from nixfleet.observed.nb import Notebook
from nixfleet.observed.network import Listener
from nixfleet.observed.restic import ResticJob
from nixfleet.observed.secrets import SecretFile
from nixfleet.observed.syncthing import SyncthingState
from nixfleet.observed.systemd import Timer, UnitStatus
from nixfleet.probe import Unknown

DEPLOY_HINT = "pyinfra inventory/home.py deploys/all.py"  # the deploy command findings suggest


@dataclass(frozen=True)
class Observed:
    """One host's facts, read fresh in one verification pass. A fact that was read but could
    not be is :class:`Unknown`; one that was not asked for (nothing declared needs it) keeps
    its empty value, and no check looks at it."""

    system: SystemState | Unknown = field(default_factory=SystemState)
    checkout: dict[str, str] | Unknown = field(default_factory=dict)
    failed_units: tuple[str, ...] | Unknown = ()
    timers: tuple[Timer, ...] | Unknown = ()
    units: dict[str, UnitStatus] | Unknown = field(default_factory=dict)
    syncthing: SyncthingState | Unknown | None = None
    notebooks: dict[str, Notebook] | Unknown = field(default_factory=dict)
    restic: dict[str, ResticJob] | Unknown = field(default_factory=dict)
    secrets: dict[str, SecretFile | Unknown] | Unknown = field(default_factory=dict)
    listeners: tuple[Listener, ...] | Unknown = ()


@dataclass(frozen=True)
class Context:
    """What the checks compare against besides the declarations."""

    host: str
    now: datetime
    toplevel: str | None = None  # the flake's toplevel for this host
    flake_revision: str | None = None
    flake_checkout: str | None = "/etc/nixos"
    backup_max_age: dict[str, Any] = field(default_factory=dict)  # job -> duration (host data)
    nb_push_grace: timedelta = timedelta(hours=1)
    deploy_hint: str = DEPLOY_HINT
    # After `nixos-rebuild test` (the safe switch's gate) the boot default is still the old one.
    expect_boot_default: bool = True
    # Units that had already failed before a switch: not that switch's doing.
    failed_before: frozenset[str] = frozenset()
    # The safe switch's gate: every unit that failed after the switch counts, even one that a
    # more specific check reports in a verify (Syncthing, restic, nb).
    gating: bool = False


@dataclass(frozen=True)
class Subjects:
    declared: Declared
    observed: Observed
    context: Context
