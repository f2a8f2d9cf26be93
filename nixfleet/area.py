"""What a data area is: one part of a host's data layer, declared once in ``nixfleet/areas/``.

An area (the NixOS system, systemd, Syncthing, nb, restic, secrets, the network) holds, in one
module:

- what it needs from the flake's declarations: a Nix function of a host's ``config`` giving
  plain JSON (:attr:`Area.nix`), and its reader (:attr:`Area.declare`);
- its reads of the host: :class:`Reading` objects, each an on-host probe part and the parser
  of its reply, and which of them its checks need on a host (:attr:`Area.reads`);
- its checks, each with a stable id (:class:`CheckSpec`);
- its metrics, with their help text.

``nixfleet.areas`` finds every area module; the data layer, verification, the gate, the plan,
reports and Prometheus output ask it, never a list of their own. See docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

from nixfleet.checks import Check
from nixfleet.probe import Part, Reply, Unknown

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
D = TypeVar("D")

DEPLOY_HINT = "pyinfra inventory/home.py deploys/all.py"  # the deploy command findings suggest
NOT_READ = "no answer from the host (the connection failed or was cut short)"


class Reading(Generic[T_co]):
    """One read of a host: a probe part (``part``) and the parser of its reply (``parse``). Its
    value is what the part observed, or :class:`~nixfleet.probe.Unknown` saying what could not
    be read and why: never an empty default. Subclasses give ``key``, ``what``, ``part`` and
    ``parse``; ``facts/`` wraps each one in a pyinfra fact."""

    key: ClassVar[str]  # the probe part's key, and where its value is kept
    what: ClassVar[str]  # completes "could not …"

    def part(self, *args: Any, **kwargs: Any) -> Part:
        raise NotImplementedError

    def parse(self, reply: Reply) -> T_co | Unknown:
        """The value of a part that ran and exited 0; raising means it printed what does not
        parse."""
        raise NotImplementedError

    def value(self, reply: Reply) -> T_co | Unknown:
        """:meth:`parse`, with a failed part or a parse error turned into Unknown."""
        if reply.failure:
            return Unknown(self.what, reply.failure)
        try:
            return self.parse(reply)
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            return Unknown(self.what, f"the output does not parse ({type(exc).__name__}: {exc})")


@dataclass(frozen=True)
class Observed:
    """One host's reads from one pass, by reading key. A reading looked up that the pass does
    not hold (the host never answered, or nothing asked for it) is Unknown.

    >>> from nixfleet.areas.network import LISTENERS
    >>> print(Observed()[LISTENERS])
    could not list listening sockets: no answer from the host (the connection failed or was cut short)
    """

    values: Mapping[str, object] = field(default_factory=dict)

    def __getitem__(self, reading: Reading[T]) -> T | Unknown:
        if reading.key not in self.values:
            return Unknown(reading.what, NOT_READ)
        return self.values[reading.key]  # type: ignore[return-value]

    def with_values(self, **values: object) -> Observed:
        return Observed({**self.values, **values})


@dataclass(frozen=True)
class Declared:
    """One host's declarations, by area (from ``declared.nix``'s JSON). ``declared[area]`` is
    that area's own typed declarations."""

    values: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Declared:
        """From ``declared.nix``'s JSON for one host.

        >>> from nixfleet.areas.network import AREA as NETWORK
        >>> Declared.from_json({"network": {"tcp": [22], "udp": []}})[NETWORK].tcp
        frozenset({22})
        """
        from nixfleet import areas  # the registry imports every area, which import this module

        return areas.declared(data or {})

    def __getitem__(self, area: Area[D]) -> D:
        if area.name in self.values:
            return self.values[area.name]  # type: ignore[return-value]
        return area.declare(None)


@dataclass(frozen=True)
class Context:
    """What the checks compare against besides the declarations."""

    host: str
    now: datetime
    toplevel: str | None = None  # the flake's toplevel for this host
    flake_revision: str | None = None
    flake_checkout: str | None = "/etc/nixos"
    backup_max_age: Mapping[str, timedelta] = field(default_factory=dict)  # job -> max age
    nb_push_grace: timedelta = timedelta(hours=1)
    drill_max_age: timedelta = timedelta(days=7)  # the last successful restore drill, at most
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
    """What every check is given: the declarations, the reads, and the context."""

    declared: Declared
    observed: Observed
    context: Context
    owned_units: frozenset[str] = frozenset()  # units some area's checks report on


@dataclass(frozen=True)
class Metric:
    name: str
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class CheckSpec:
    """One check: its stable id, and the function that judges it (None: nothing to check)."""

    id: str
    run: Callable[[Subjects], Check | None]


@dataclass(frozen=True)
class Area(Generic[D]):
    """One data area. ``order`` places its checks in reports (lower first)."""

    name: str
    order: int
    nix: str  # a Nix function `config: <JSON value>`, evaluated once per host with the others
    declare: Callable[[Any], D]  # that JSON (None: nothing declared) -> its declarations
    readings: Sequence[Reading[Any]]  # every read it owns
    reads: Callable[[D, Context], Iterable[Part | None]]  # the parts its checks need here
    checks: Sequence[CheckSpec] = ()
    metrics: Callable[[Subjects], Iterable[Metric]] = lambda _s: ()
    help: Mapping[str, str] = field(default_factory=dict)  # metric name -> HELP text
    units: Callable[[D], Iterable[str]] = lambda _d: ()  # systemd units its checks report on

    def __post_init__(self) -> None:
        for spec in self.checks:
            if spec.id.split(".", 1)[0] != self.name:
                raise ValueError(f"area {self.name}: check id {spec.id} is not {self.name}.*")
