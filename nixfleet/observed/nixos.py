"""What a host's NixOS system is: current, booted and boot-default generations, revision."""

from __future__ import annotations

import shlex

from nixfleet.models import Generation, SystemState
from nixfleet.probe import Part, Records, Reply, Unknown

PROFILE = "/nix/var/nix/profiles/system"
REVISIONS_DIR = "/var/lib/nixfleet/revisions"


WHAT = "read which system the host runs and boots"


def system_part() -> Part:
    """The probe part that reads what the host runs and boots (``probes/system.sh``)."""
    return Part("system", "system", (PROFILE, REVISIONS_DIR))


def system_of(reply: Reply) -> SystemState | Unknown:
    """What :func:`system_part` found, or why it could not."""
    if reply.failure:
        return Unknown(WHAT, reply.failure)
    return parse_system(reply.records())


def record_revision(toplevel: str, revision: str) -> str:
    """Remember on the host which flake revision built ``toplevel``, for toplevels that cannot say
    (``nixos-version --configuration-revision`` is unset)."""
    name = toplevel.rsplit("/", 1)[-1]
    return f"mkdir -p {REVISIONS_DIR} && echo {shlex.quote(revision)} > {REVISIONS_DIR}/{name}"


def parse_system(records: Records) -> SystemState:
    """What ``probes/system.sh`` recorded.

    >>> s = parse_system(Records([("current", "/nix/store/a-sys"), ("profile_link", "system-2-link"),
    ...                           ("generation", "system-1-link /nix/store/z-sys"),
    ...                           ("generation", "system-2-link /nix/store/a-sys")]))
    >>> s.generation, [g.number for g in s.generations], s.generations[1].current
    (2, [1, 2], True)
    """
    links: list[tuple[int, str]] = []
    for value in records.all("generation"):
        name, _, path = value.partition(" ")
        number = name.rsplit("-", 2)[-2] if name.count("-") >= 2 else ""
        if number.isdigit():
            links.append((int(number), path))

    def get(key: str) -> str | None:
        return (records.first(key) or "").strip() or None

    link = (get("profile_link") or "").rsplit("-", 2)
    current_gen = int(link[-2]) if len(link) == 3 and link[-2].isdigit() else None
    return SystemState(
        current=get("current"),
        booted=get("booted"),
        profile=get("profile"),
        generation=current_gen,
        generations=tuple(Generation(n, p, n == current_gen) for n, p in sorted(links)),
        revision=get("revision"),
        version=get("version"),
        reboot_needed={"yes": True, "no": False}.get(get("reboot_needed") or ""),
    )
