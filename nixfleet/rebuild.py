"""nixos-rebuild as users have it: the legacy bash script or nixos-rebuild-ng, told apart once
per run, and the flags each takes. Pure functions, except :func:`probe_argv`'s result, which
:mod:`nixfleet.run` runs once per program.

Neither flavour has ``--version``, and ``--help`` runs man in both. An unknown option tells them
apart: the legacy script says ``unknown option `--x'`` and exits 1, ng's argparse says
``unrecognized arguments`` and exits 2.

>>> flavour_of("nixos-rebuild", 2, "error: unrecognized arguments: --nixfleet-flavour-probe")
<Flavour.NG: 'ng'>
>>> flags(Flavour.LEGACY, sudo=True, user=["--no-reexec", "-L"])
['--use-remote-sudo', '--fast', '-L']
>>> flags(Flavour.NG, sudo=True, user=["--fast", "--use-substitutes"])
['--sudo', '--no-reexec', '--use-substitutes']
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from nixfleet.errors import NixfleetError

PROBE_FLAG = "--nixfleet-flavour-probe"


class Flavour(Enum):
    LEGACY = "legacy"  # nixos-rebuild.sh, in nixpkgs until 25.11
    NG = "ng"  # nixos-rebuild-ng, the system tool from 25.11


def probe_argv(program: str) -> list[str]:
    """A command line both flavours refuse, each in its own way, without doing anything."""
    return [program, PROBE_FLAG]


def flavour_of(program: str, returncode: int, stderr: str) -> Flavour:
    """Which flavour refused :func:`probe_argv` as ``returncode`` and ``stderr`` show; anything
    else is not a nixos-rebuild nixfleet knows, and is one line saying so."""
    if returncode == 2 and "unrecognized arguments" in stderr:
        return Flavour.NG
    if returncode == 1 and "unknown option" in stderr:
        return Flavour.LEGACY
    said = next((line.strip() for line in reversed(stderr.splitlines()) if line.strip()), "")
    raise NixfleetError(
        f"{program}: neither nixos-rebuild nor nixos-rebuild-ng (`{program} {PROBE_FLAG}` "
        f"exited {returncode}: {said[-160:] or 'no message'}); set `nixos_rebuild` in host data"
    )


# The same meaning, spelled per flavour: legacy rejects ng's spellings, ng warns on legacy's.
_SPELLING = {
    "--fast": {Flavour.LEGACY: "--fast", Flavour.NG: "--no-reexec"},
    "--no-reexec": {Flavour.LEGACY: "--fast", Flavour.NG: "--no-reexec"},
    "--use-remote-sudo": {Flavour.LEGACY: "--use-remote-sudo", Flavour.NG: "--sudo"},
    "--sudo": {Flavour.LEGACY: "--use-remote-sudo", Flavour.NG: "--sudo"},
}
# What nixfleet itself passes or decides: a host's flags may not say otherwise.
RESERVED = frozenset(
    {
        "--flake", "--no-flake", "--target-host", "--build-host", "--rollback",
        "--specialisation", "-c", "--profile-name", "-p", "--file", "-f", "--attr", "-A",
        "switch", "boot", "test", "build", "dry-build", "dry-activate", "build-vm",
        "list-generations", "repl", "edit",
    }
)  # fmt: skip


def check_flags(host: str, user: Sequence[str]) -> None:
    """Refuse, with one line, a flag that would fight what nixfleet passes."""
    for flag in user:
        name = flag.split("=", 1)[0]
        if name in RESERVED:
            raise NixfleetError(
                f"{host}: nixos_rebuild_flags has {flag!r}, which nixfleet sets itself; "
                "use flake, flake_attr, build_host or action in host data instead"
            )


def flags(flavour: Flavour, sudo: bool, user: Sequence[str] = ()) -> list[str]:
    """The flags for one run: sudo as this flavour spells it, then the host's own flags with
    the flavour-specific ones respelled."""
    out = [_SPELLING["--sudo"][flavour]] if sudo else []
    for flag in user:
        spelled = _SPELLING.get(flag, {}).get(flavour, flag)
        if not (flag in _SPELLING and spelled in out):  # `--sudo` twice is once; `--option` is not
            out.append(spelled)
    return out
