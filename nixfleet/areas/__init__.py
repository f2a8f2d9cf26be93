"""The registry of data areas: every module here with an ``AREA`` (a :class:`~nixfleet.area.Area`).

Adding an area is adding one module (and, if it reads with a new on-host program, that
``<name>.sh`` beside it): nothing else lists the areas. Everything below is found from ``AREA``s:

>>> [a.name for a in areas()]
['nixos', 'systemd', 'syncthing', 'nb', 'restic', 'backup', 'secrets', 'network', 'monitoring']
>>> check_ids()[:3]
('nixos.current-system', 'nixos.revision', 'systemd.failed-units')
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from nixfleet import probe
from nixfleet.area import Area, CheckSpec, Context, Declared, Observed, Reading
from nixfleet.probe import Part


@cache
def areas() -> tuple[Area[Any], ...]:
    """Every area, in report order."""
    found = []
    for module in pkgutil.iter_modules(__path__):
        area = getattr(importlib.import_module(f"{__name__}.{module.name}"), "AREA", None)
        if isinstance(area, Area):
            found.append(area)
    return tuple(sorted(found, key=lambda a: (a.order, a.name)))


@cache
def readings() -> Mapping[str, Reading[Any]]:
    """Every reading, by key (two areas may not claim one key)."""
    out: dict[str, Reading[Any]] = {}
    for area in areas():
        for reading in area.readings:
            if reading.key in out and out[reading.key] is not reading:
                raise ValueError(f"area {area.name}: reading key {reading.key} is taken")
            out[reading.key] = reading
    return out


def checks() -> tuple[CheckSpec, ...]:
    return tuple(spec for area in areas() for spec in area.checks)


@cache
def check_ids() -> tuple[str, ...]:
    """Every check id, in report order."""
    return tuple(spec.id for spec in checks())


def area_of(check_id: str) -> Area[Any]:
    name = check_id.split(".", 1)[0]
    return next(a for a in areas() if a.name == name)


# When the verify read the host: an alert tells from it that the other numbers have grown old.
VERIFIED = "nixfleet_verify_last_run_timestamp_seconds"


def metric_help() -> dict[str, str]:
    """HELP text of every metric (the areas' and ``nixfleet_check_ok``)."""
    out = {
        "nixfleet_check_ok": "1 if the nixfleet check passed on the host, else 0 (its severity).",
        VERIFIED: "When nixfleet verify last read the host.",
    }
    for area in areas():
        out.update(area.help)
    return out


def expression() -> str:
    """``declared.nix``: a Nix function of one ``nixosConfigurations`` entry giving what every
    area needs from it, as JSON (each area's ``nix`` applied to ``config``)."""
    fields = "".join(
        f"  {a.name} = ({a.nix.strip()}) c;\n".replace("\n", "\n  ").rstrip(" ")
        for a in areas()
        if a.nix
    )
    return (
        "# What nixfleet's checks need from one host's evaluated configuration, as plain JSON.\n"
        "# Built by nixfleet.areas.expression() from each area's `nix`; every path is read with\n"
        "# a default, so a host that does not declare a subject simply has none.\n"
        "host:\nlet\n  c = host.config;\nin\n{\n"
        "  toplevel = c.system.build.toplevel.outPath;\n"
        "  revision = c.system.configurationRevision or null;\n"
        f"{fields}}}\n"
    )


def declared(data: Mapping[str, Any]) -> Declared:
    """Each area's declarations, from :func:`expression`'s JSON for one host."""
    return Declared({a.name: a.declare(data.get(a.name)) for a in areas()})


def parts(decl: Declared, ctx: Context, only: Iterable[str] | None = None) -> list[Part]:
    """The probe parts the checks need on this host (all checks, or those in ``only``). A read
    two areas need is asked for once; a declaration a part cannot use becomes a part that fails
    saying why, so that its read is Unknown rather than the probe never running."""
    wanted = None if only is None else {c.split(".", 1)[0] for c in only}
    out: dict[str, Part] = {}
    for area in areas():
        if wanted is not None and area.name not in wanted:
            continue
        try:
            asked = [p for p in area.reads(decl[area], ctx) if p is not None]
        except ValueError as exc:
            asked = [Part(r.key, "refuse", (str(exc),)) for r in area.readings[:1]]
        for part in asked:
            if out.setdefault(part.key, part) != part:
                raise ValueError(f"area {area.name} reads {part.key} unlike another area")
    return list(out.values())


def observe(output: Iterable[str]) -> Observed:
    """The reads a probe printed (:func:`nixfleet.probe.command`), for every part its frame
    announced. One it never answered for is Unknown, as is one that failed or does not parse;
    with no frame at all, every read is (``Observed`` says so when one is looked up)."""
    known = readings()
    replies = probe.parse(output)
    return Observed({k: known[k].value(r) for k, r in replies.items() if k in known})


def owned_units(decl: Declared) -> frozenset[str]:
    """The systemd units some area's checks report on (others' failures are systemd's)."""
    return frozenset(u for a in areas() for u in a.units(decl[a]))
