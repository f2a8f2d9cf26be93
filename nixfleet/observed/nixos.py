"""What a host's NixOS system is: current, booted and boot-default generations, revision."""

from __future__ import annotations

import shlex

from nixfleet.models import Generation, SystemState

PROFILE = "/nix/var/nix/profiles/system"
REVISIONS_DIR = "/var/lib/nixfleet/revisions"

SYSTEM_SCRIPT = f"""\
p={PROFILE}
c=$(readlink /run/current-system 2>/dev/null)
echo "current=$c"
echo "booted=$(readlink /run/booted-system 2>/dev/null)"
[ -e $p ] && echo "profile=$(readlink -f $p)"
echo "profile_link=$(readlink $p 2>/dev/null)"
find /nix/var/nix/profiles -maxdepth 1 -type l -name 'system-*-link' -printf 'generation=%f %l\\n' 2>/dev/null
[ -n "$c" ] && echo "version=$(cat "$c/nixos-version" 2>/dev/null)"
[ -n "$c" ] && echo "revision=$("$c/sw/bin/nixos-version" --configuration-revision 2>/dev/null \
  || cat "{REVISIONS_DIR}/${{c##*/}}" 2>/dev/null)"
if [ -n "$c" ] && [ -e /run/booted-system ]; then r=no
  for f in kernel initrd kernel-modules; do
    [ "$(readlink -f /run/booted-system/$f)" = "$(readlink -f "$c/$f")" ] || r=yes; done
  echo "reboot_needed=$r"; fi
true"""


def record_revision(toplevel: str, revision: str) -> str:
    """Remember on the host which flake revision built ``toplevel``, for toplevels that cannot say
    (``nixos-version --configuration-revision`` is unset)."""
    name = toplevel.rsplit("/", 1)[-1]
    return f"mkdir -p {REVISIONS_DIR} && echo {shlex.quote(revision)} > {REVISIONS_DIR}/{name}"


def parse_system(output: list[str]) -> SystemState:
    """Parse the ``key=value`` lines of :class:`NixosSystem`'s command.

    >>> s = parse_system(["current=/nix/store/a-sys", "profile_link=system-2-link",
    ...                   "generation=system-1-link /nix/store/z-sys",
    ...                   "generation=system-2-link /nix/store/a-sys"])
    >>> s.generation, [g.number for g in s.generations], s.generations[1].current
    (2, [1, 2], True)
    """
    values: dict[str, str] = {}
    links: list[tuple[int, str]] = []
    for line in output:
        key, _, value = line.partition("=")
        value = value.strip()
        if key == "generation":
            name, _, path = value.partition(" ")
            number = name.removeprefix("system-").removesuffix("-link")
            if number.isdigit():
                links.append((int(number), path))
        elif value:
            values[key] = value
    link = values.get("profile_link", "")
    number = link.removeprefix("system-").removesuffix("-link")
    current_gen = int(number) if number.isdigit() else None
    return SystemState(
        current=values.get("current"),
        booted=values.get("booted"),
        profile=values.get("profile"),
        generation=current_gen,
        generations=tuple(Generation(n, p, n == current_gen) for n, p in sorted(links)),
        revision=values.get("revision"),
        version=values.get("version"),
        reboot_needed={"yes": True, "no": False}.get(values.get("reboot_needed", "")),
    )
