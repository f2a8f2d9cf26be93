"""The nixos area: what the host runs and boots (current, booted and boot-default generations,
the revision), the flake checkout nixfleet keeps on it, and its deploy lock.

Checks: ``nixos.current-system`` and ``nixos.revision``. Probes: ``system.sh``, ``checkout.sh``
and ``lock.sh``.
"""

from __future__ import annotations

import json
from typing import Any

from nixfleet.area import Area, CheckSpec, Context, Reading, Subjects
from nixfleet.checks import Check, Problem, Severity, unreadable, verdict
from nixfleet.models import Generation, SystemState
from nixfleet.probe import Part, Records, Reply, Unknown

PROFILE = "/nix/var/nix/profiles/system"
REVISIONS_DIR = "/var/lib/nixfleet/revisions"


WHAT = "read which system the host runs and boots"


def parse_system(records: Records) -> SystemState:
    """What ``system.sh`` recorded.

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


class System(Reading[SystemState]):
    """What the host runs and boots (``system.sh``)."""

    key = "system"
    what = WHAT

    def part(self) -> Part:
        return Part(self.key, "system", (PROFILE, REVISIONS_DIR))

    def parse(self, reply: Reply) -> SystemState:
        return parse_system(reply.records())


class Checkout(Reading[dict[str, str]]):
    """The flake checkout push_flake manages (``checkout.sh``): ``state`` is ``absent``,
    ``empty``, ``git`` (with ``revision`` and ``dirty``), ``foreign`` or ``no-git``."""

    key = "checkout"
    what = "read the flake checkout"

    def part(self, path: str = "/etc/nixos") -> Part:
        return Part(self.key, "checkout", (path,))

    def parse(self, reply: Reply) -> dict[str, str]:
        records = reply.records()
        found = {
            k: v for k in ("state", "revision", "dirty") if (v := records.first(k)) is not None
        }
        if "state" not in found:
            raise ValueError("no state recorded")
        return found


LOCK_UNIT = "nixfleet-deploy-lock"
HOLDER_FILE = "/run/nixfleet/deploy-lock.json"


class Lock(Reading[dict[str, str]]):
    """Who holds the deploy lock (``lock.sh``): ``{}`` when nobody does; a record that is not
    JSON is ``{"who": "unknown (…)"}``."""

    key = "lock"
    what = "read the deploy lock"

    def part(self) -> Part:
        return Part(self.key, "lock", (f"{LOCK_UNIT}.service", HOLDER_FILE))

    def parse(self, reply: Reply) -> dict[str, str]:
        records = reply.records()
        if records.first("state") != "active":
            return {}
        text = (records.first("holder") or "").strip()
        try:
            data = json.loads(text) if text else {}
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, dict) or not data:
            return {"who": "unknown (unreadable lock record)"}
        return {str(k): str(v) for k, v in data.items()}


SYSTEM, CHECKOUT, LOCK = System(), Checkout(), Lock()


def current_system(s: Subjects) -> Check:
    system, want = s.observed[SYSTEM], s.context.toplevel
    if bad := unreadable("nixos.current-system", system, details={"declared": want}):
        return bad
    assert not isinstance(system, Unknown)
    details = {"current": system.current, "declared": want, "boot_default": system.profile}
    problems = []
    if not system.current:
        problems.append(Problem("system", "no NixOS system is active; deploy the host"))
    elif want and system.current != want:
        problems.append(
            Problem(
                "system",
                f"runs {_name(system.current)} but the flake declares {_name(want)}; deploy it "
                f"({s.context.deploy_hint} --limit {s.context.host})",
            )
        )
    elif s.context.expect_boot_default and system.profile and system.current != system.profile:
        problems.append(
            Problem(
                "boot",
                f"runs {_name(system.current)} but boots {_name(system.profile)}; switch to the boot "
                "default or roll the profile back",
            )
        )
    return verdict("nixos.current-system", problems, f"runs {_name(system.current)}", details)


def revision(s: Subjects) -> Check | None:
    """The flake revision pushed to the host's checkout is the flake's current one, unmodified."""
    path, want = s.context.flake_checkout, s.context.flake_revision
    if not path or not want:
        return None
    checkout, system = s.observed[CHECKOUT], s.observed[SYSTEM]
    if bad := unreadable("nixos.revision", checkout, details={"checkout": path, "flake": want}):
        return bad
    assert not isinstance(checkout, Unknown)
    running = None if isinstance(system, Unknown) else system.revision
    details = {
        "checkout": path,
        "flake": want,
        "host": checkout.get("revision"),
        "running": running,
    }
    problems = []
    if checkout.get("state") != "git":
        problems.append(
            Problem(
                path,
                f"{path} holds no flake checkout ({checkout.get('state')}); deploy the host",
                Severity.WARN,
            )
        )
    elif checkout.get("revision") != want:
        problems.append(
            Problem(
                path,
                f"{path} is at {str(checkout.get('revision'))[:12]}, the flake at "
                f"{want[:12]}; deploy the host",
                Severity.WARN,
            )
        )
    elif checkout.get("dirty") == "yes":
        problems.append(
            Problem(path, f"{path} has local edits; commit them to the flake repo", Severity.WARN)
        )
    return verdict("nixos.revision", problems, f"{path} is at {want[:12]}", details, Severity.WARN)


def _name(path: str | None) -> str:
    return path.rsplit("/", 1)[-1] if path else "nothing"


def _reads(_declared: None, ctx: Context) -> list[Part | None]:
    return [SYSTEM.part(), CHECKOUT.part(ctx.flake_checkout) if ctx.flake_checkout else None]


def _nothing(_data: Any) -> None:
    return None


AREA: Area[None] = Area(
    name="nixos",
    order=10,
    nix="",  # the toplevel and revision are read for every host anyway
    declare=_nothing,
    readings=(SYSTEM, CHECKOUT, LOCK),
    reads=_reads,
    checks=(
        CheckSpec("nixos.current-system", current_system),
        CheckSpec("nixos.revision", revision),
    ),
)
