"""The fleet plan: what a deploy would do to each host, found without touching any host.

Per host: ``unchanged``, ``changed``, ``offline`` or ``eval-error``. For a changed host: the
package changes between its current closure and the new one, the units that would stop, restart
or start (from the unit files, as switch-to-configuration decides), the configuration revision
old → new, and whether a reboot would be needed. The new closures are built on the controller;
the hosts are only read, over one SSH connection each.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nixfleet import flake, nix, probe, process, reach, remote
from nixfleet.areas.nixos import SYSTEM
from nixfleet.errors import NixfleetError
from nixfleet.models import SystemState
from nixfleet.probe import Part, Unknown
from nixfleet.settings import HostSettings
from nixfleet.table import aligned

PROBE = probe.command([SYSTEM.part(), Part("plan", "plan", timeout_s=60)])
UNITS = "etc/systemd/system"
_VERSIONED = re.compile(r"^(?P<name>.+?)-(?P<version>\d[^-]*(?:-.*)?)$")


@dataclass
class HostPlan:
    host: str
    status: str  # unchanged | changed | offline | refused | eval-error | unknown (unreadable)
    reason: str = ""
    current: str | None = None
    desired: str | None = None
    revision: dict[str, str | None] = field(default_factory=dict)
    packages: dict[str, list[str]] = field(default_factory=dict)
    units: dict[str, list[str]] = field(default_factory=dict)
    reboot_needed: bool | None = None


def package_changes(old: Iterable[str], new: Iterable[str]) -> dict[str, list[str]]:
    """Compare two closures (store paths) by package name and version.

    >>> package_changes(["/nix/store/a-openssl-3.0.1", "/nix/store/b-zsh-5.9"],
    ...                 ["/nix/store/c-openssl-3.0.2", "/nix/store/d-git-2.39.5"])
    {'added': ['git-2.39.5'], 'removed': ['zsh-5.9'], 'changed': ['openssl: 3.0.1 -> 3.0.2']}
    """

    def index(paths: Iterable[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for p in paths:
            base = p.rsplit("/", 1)[-1].split("-", 1)[-1]
            m = _VERSIONED.match(base)
            name, version = (m["name"], m["version"]) if m else (base, "")
            out.setdefault(name, set()).add(version)
        return out

    a, b = index(old), index(new)
    added = sorted(f"{n}-{'/'.join(sorted(b[n]))}".rstrip("-") for n in b.keys() - a.keys())
    removed = sorted(f"{n}-{'/'.join(sorted(a[n]))}".rstrip("-") for n in a.keys() - b.keys())
    changed = sorted(
        f"{n}: {'/'.join(sorted(a[n]))} -> {'/'.join(sorted(b[n]))}"
        for n in a.keys() & b.keys()
        if a[n] != b[n]
    )
    return {"added": added, "removed": removed, "changed": changed}


def unit_changes(
    old: dict[str, str],
    new: dict[str, str],
    wanted: set[str],
    active: set[str],
    no_restart: set[str],
) -> dict[str, list[str]]:
    """What switch-to-configuration would do, from the units' content hashes.

    >>> unit_changes({"a.service": "1", "b.service": "1"}, {"a.service": "2", "c.timer": "1"},
    ...              wanted={"c.timer"}, active={"a.service", "b.service"}, no_restart=set())
    {'stop': ['b.service'], 'restart': ['a.service'], 'start': ['c.timer']}
    """
    stop = sorted(u for u in old.keys() - new.keys() if u in active)
    restart, start = [], []
    for unit in sorted(new):
        if unit.endswith("@.service"):
            continue
        if unit not in old:
            if unit in wanted:
                start.append(unit)
        elif old[unit] != new[unit]:
            if unit in active and unit not in no_restart:
                restart.append(unit)
            elif unit not in active and unit in wanted:
                start.append(unit)
    return {"stop": stop, "restart": restart, "start": start}


def _local_units(toplevel: Path) -> tuple[dict[str, str], set[str], set[str]]:
    units, wanted, no_restart = {}, set(), set()
    directory = toplevel / UNITS
    if directory.is_dir():
        for f in directory.iterdir():
            if f.is_file() and not f.is_symlink():
                data = f.read_bytes()
                units[f.name] = hashlib.sha256(data).hexdigest()
                if b"X-RestartIfChanged=false" in data:
                    no_restart.add(f.name)
            elif f.is_dir() and f.name.endswith(".wants"):
                wanted |= {w.name for w in f.iterdir()}
    return units, wanted, no_restart


def plan_host(name: str, data: dict[str, Any], batch: list[str], run: flake.FlakeRun) -> HostPlan:
    """Plan one host (safe to run for every host at once, in greenlets, sharing ``run``)."""
    settings = HostSettings.from_data(name, data)
    try:
        desired = run.evaluate(settings.flake.path, settings.flake.attr, batch)
    except NixfleetError as error:
        return HostPlan(name, "eval-error", str(error))
    probe_command = remote.as_root(PROBE, settings.use_remote_sudo)
    read = process.run([*settings.ssh.fresh_argv(connect_timeout=3), probe_command], timeout=90)
    if read.returncode == 255:
        status, why = reach.classify(read.stderr)
        return HostPlan(name, status.value, why, desired=desired.toplevel)
    replies = probe.parse(read.stdout.splitlines())
    system = SYSTEM.value(replies.get(SYSTEM.key) or probe.missing(SYSTEM.key))
    found = replies.get("plan") or probe.missing("plan")
    if isinstance(system, Unknown) or found.failure:
        unread = (
            system if isinstance(system, Unknown) else Unknown("read the host", found.failure or "")
        )
        return HostPlan(name, "unknown", str(unread), desired=desired.toplevel)
    assert isinstance(system, SystemState)
    records = found.records()
    plan = HostPlan(
        name,
        "unchanged",
        current=system.current,
        desired=desired.toplevel,
        revision={"old": system.revision, "new": desired.revision or None},
    )
    if system.current == desired.toplevel:
        return plan
    plan.status = "changed"
    built = process.run(nix.build_toplevel(settings.flake))
    if not built.ok:
        plan.reason = f"build failed: {built.last_error_line()}"
        return plan
    new = Path(json.loads(built.stdout)[0]["outputs"]["out"])
    closure = process.run(nix.closure(str(new))).stdout.split()
    old_closure = records.read("closure")
    plan.packages = package_changes(old_closure.text.split() if old_closure else [], closure)
    old_units = {u: h for h, _, u in (row.partition(" ") for row in records.all("unit")) if u}
    units, wanted, no_restart = _local_units(new)
    listed = records.read("active")
    active = (
        {line.split()[0] for line in listed.text.splitlines() if line.split()} if listed else set()
    )
    plan.units = unit_changes(old_units, units, wanted, active, no_restart)
    booted = [b.strip() for b in records.all("booted")]
    if any(booted):
        mine = [str((new / f).resolve()) for f in ("kernel", "initrd", "kernel-modules")]
        plan.reboot_needed = booted != mine
    return plan


def to_json(plans: list[HostPlan]) -> dict[str, Any]:
    return {"hosts": {p.host: asdict(p) for p in plans}}


def table(plans: list[HostPlan]) -> str:
    """The plan for people: one line per host, details under changed hosts.

    >>> print(table([HostPlan("a-host-name-of-thirty-letters1", "unchanged"),
    ...              HostPlan("nas", "changed", revision={"old": "3e3a8a5280c7aa", "new": None},
    ...                       units={"restart": ["syncthing.service"]})]))
    nixfleet plan: 1 changed, 1 unchanged
      a-host-name-of-thirty-letters1  unchanged
      nas                             changed
        revision  3e3a8a5280c7 -> unknown
        restart   syncthing.service
        reboot    unknown
    """
    counts: dict[str, int] = {}
    for p in plans:
        counts[p.status] = counts.get(p.status, 0) + 1
    lines = ["nixfleet plan: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))]
    ordered = sorted(plans, key=lambda p: p.host)
    host_lines = aligned([[p.host, p.status, p.reason] for p in ordered])
    for host_plan, line in zip(ordered, host_lines, strict=True):
        lines.append(line)
        if host_plan.status == "changed":
            lines += aligned(_details(host_plan), indent=4)
    return "\n".join(lines)


def _details(p: HostPlan) -> list[list[str]]:
    """A changed host's revision, unit actions, package changes and reboot, as table rows."""
    old, new = ((p.revision.get(k) or "unknown")[:12] for k in ("old", "new"))
    rows = [["revision", f"{old} -> {new}"]]
    acting = [action for action in ("stop", "restart", "start") if p.units.get(action)]
    rows += [[action, " ".join(p.units[action])] for action in acting]
    if pk := p.packages:
        counted = (
            f"{len(pk['changed'])} changed, {len(pk['added'])} added, {len(pk['removed'])} removed"
        )
        rows.append(["packages", counted + "".join(f"; {c}" for c in pk["changed"][:5])])
    reboot = {True: "needed", False: "not needed", None: "unknown"}[p.reboot_needed]
    return [*rows, ["reboot", reboot]]
