"""Domain objects: actions, flake references, what a host runs, and how a host's run ended."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class Action(str, enum.Enum):
    """The nixos-rebuild actions nixfleet runs."""

    SWITCH = "switch"
    BOOT = "boot"
    TEST = "test"
    DRY_ACTIVATE = "dry-activate"
    BUILD = "build"

    @property
    def sets_profile(self) -> bool:
        """switch and boot make a new system profile generation."""
        return self in (Action.SWITCH, Action.BOOT)

    @property
    def activates(self) -> bool:
        """switch and test point /run/current-system at the new generation."""
        return self in (Action.SWITCH, Action.TEST)


class HostStatus(str, enum.Enum):
    SWITCHED = "switched"
    UNCHANGED = "unchanged"
    ROLLED_BACK = "rolled-back"
    FAILED = "failed"
    OFFLINE = "offline"  # refused connections and timeouts: deferred
    REFUSED = "refused"  # host key mismatch or failed authentication: a failure


@dataclass(frozen=True)
class FlakeRef:
    """A flake and one of its NixOS configurations, as nixos-rebuild's ``--flake path#attr``.

    >>> FlakeRef.parse(".lab/flake#desktop")
    FlakeRef(path='.lab/flake', attr='desktop')
    >>> FlakeRef(".", "nas").toplevel_attr()
    '.#nixosConfigurations."nas".config.system.build.toplevel'
    """

    path: str
    attr: str

    @classmethod
    def parse(cls, ref: str) -> FlakeRef:
        path, sep, attr = ref.partition("#")
        if not sep or not attr:
            raise ValueError(f"flake reference {ref!r} has no #host part")
        return cls(path, attr)

    def __str__(self) -> str:
        return f"{self.path}#{self.attr}"

    def toplevel_attr(self) -> str:
        return f'{self.path}#nixosConfigurations."{self.attr}".config.system.build.toplevel'


@dataclass(frozen=True)
class Desired:
    """What the flake declares for one host: its toplevel, the flake revision, and its data layer
    (the JSON of ``nixfleet/declared.nix``, read by ``nixfleet.declared.Declared.from_json``)."""

    toplevel: str
    revision: str
    declared: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Generation:
    """One system profile generation on a host."""

    number: int
    path: str
    current: bool = False


@dataclass(frozen=True)
class SystemState:
    """What a host runs now (from ``facts.nixos.NixosSystem``)."""

    current: str | None = None
    booted: str | None = None
    profile: str | None = None
    generation: int | None = None
    generations: tuple[Generation, ...] = ()
    revision: str | None = None
    version: str | None = None
    reboot_needed: bool | None = None  # booted vs current kernel, initrd, modules; None: unknown

    def to_json(self) -> dict[str, object]:
        """Plain data, as pyinfra's ``fact`` command and ``--json`` print it."""
        return asdict(self)

    @classmethod
    def coerce(cls, value: object) -> SystemState:
        """Accept the fact's value, or its JSON form (as pyinfra's spec tests fake it).

        >>> SystemState.coerce({"current": "/nix/store/a", "generation": 2}).generation
        2
        """
        if isinstance(value, SystemState):
            return value
        keys = (
            "current",
            "booted",
            "profile",
            "generation",
            "revision",
            "version",
            "reboot_needed",
        )
        data = {k: value.get(k) for k in keys}  # type: ignore[attr-defined]
        gens = value.get("generations") or ()  # type: ignore[attr-defined]
        return cls(
            **data,
            generations=tuple(Generation(g["number"], g["path"], g["current"]) for g in gens),
        )


@dataclass
class HostOutcome:
    """How one host's run ended; one entry of the run report."""

    status: HostStatus
    before: str | None = None
    after: str | None = None
    generation: int | None = None
    duration_s: float = 0.0
    error: str | None = None
    revision: str | None = None
    details: dict[str, object] = field(default_factory=dict)
