"""One function per Nix-side command nixfleet runs, each returning an argv list. Pure."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from nixfleet.models import Action, FlakeRef

NIX = ["nix", "--extra-experimental-features", "nix-command flakes"]


def local_flake(path: str) -> str:
    """A flake reference Nix reads as a local path (``lab/flake`` alone would be a registry name).

    >>> local_flake("lab/flake"), local_flake(".lab/flake"), local_flake("github:o/r")
    ('./lab/flake', '.lab/flake', 'github:o/r')
    """
    return path if path.startswith(("/", ".")) or ":" in path else f"./{path}"


def absolute_flake(path: str) -> str:
    """A local flake as an absolute path, so that it means the same from any directory.

    >>> absolute_flake("github:o/r"), absolute_flake("/srv/fleet")
    ('github:o/r', '/srv/fleet')
    """
    return path if ":" in path else os.path.abspath(path)


def nix_string(text: str) -> str:
    r"""``text`` as a Nix string literal: nothing in it can end the string or interpolate.

    >>> print(nix_string('a"b${c}\\d'))
    "a\"b\${c}\\d"
    """
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${")
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + '"'


def eval_hosts(flake: str, attrs: Sequence[str], expression: str) -> list[str]:
    """Evaluate ``expression`` (a function of one ``nixosConfigurations`` entry) for each host, in
    one ``nix eval`` process, giving ``{"<host>": <value>}``.

    >>> eval_hosts(".", ["nas"], "h: 1")[-3:-1]
    ['.#nixosConfigurations', '--apply']
    """
    names = nix_string(json.dumps(sorted(attrs)))
    apply = (
        f"cs: let f = ({expression}); in builtins.listToAttrs "
        f"(map (n: {{ name = n; value = f cs.${{n}}; }}) (builtins.fromJSON {names}))"
    )
    return [*NIX, "eval", "--json", f"{flake}#nixosConfigurations", "--apply", apply]


def nixos_rebuild(
    action: Action,
    flake: FlakeRef,
    target: str | None,
    *,
    program: str = "nixos-rebuild",
    build_host: str | None = None,
    flags: Sequence[str] = (),
) -> list[str]:
    """The nixos-rebuild command line nixfleet runs on the controller for one host. ``flags``
    are spelled for the program's flavour already (:func:`nixfleet.rebuild.flags`).

    >>> nixos_rebuild(Action.SWITCH, FlakeRef(".", "nas"), "root@nas", flags=["--sudo"])
    ['nixos-rebuild', 'switch', '--flake', '.#nas', '--target-host', 'root@nas', '--sudo']
    """
    argv = [program, action.value, "--flake", str(flake)]
    if target:
        argv += ["--target-host", target]
    if build_host:
        argv += ["--build-host", build_host]
    return argv + list(flags)


def build_toplevel(flake: FlakeRef) -> list[str]:
    """Build a host's toplevel on the controller (Nix 2.8 has no --print-out-paths: use --json)."""
    return [*NIX, "build", "--no-link", "--json", flake.toplevel_attr()]


def build_toplevels(flake: str, attrs: Sequence[str]) -> list[str]:
    """Build several hosts' toplevels in one ``nix build``: the flake is evaluated once and the
    builds run side by side (up to nix.conf's ``max-jobs``).

    >>> build_toplevels(".", ["nas", "vps"])[3:]
    ['build', '--no-link', '.#nixosConfigurations."nas".config.system.build.toplevel', '.#nixosConfigurations."vps".config.system.build.toplevel']
    """
    return [
        *NIX,
        "build",
        "--no-link",
        *(FlakeRef(flake, a).toplevel_attr() for a in sorted(attrs)),
    ]


def copy_closure(target: str, path: str) -> list[str]:
    """Copy ``path`` and its closure to ``target``'s store (over ssh, with ``NIX_SSHOPTS``), as
    nixos-rebuild's copy step does; paths already there are skipped.

    >>> copy_closure("root@nas", "/nix/store/x-nixos-system-nas")
    ['nix-copy-closure', '--to', 'root@nas', '/nix/store/x-nixos-system-nas']
    """
    return ["nix-copy-closure", "--to", target, path]


def copy_between(source: str, target: str, path: str) -> list[str]:
    """Copy ``path`` and its closure from one host's store straight to another's, run on the
    controller (as nixos-rebuild-ng copies from ``--build-host`` to ``--target-host``).

    >>> copy_between("root@builder", "root@nas", "/nix/store/x-nixos-system-nas")[3:8]
    ['copy', '--from', 'ssh://root@builder', '--to', 'ssh://root@nas']
    """
    return [*NIX, "copy", "--from", f"ssh://{source}", "--to", f"ssh://{target}", path]


def closure(path: str) -> list[str]:
    return ["nix-store", "-qR", path]


def git_head(flake: str) -> list[str]:
    return ["git", "-C", flake, "rev-parse", "HEAD"]


def git_status(flake: str) -> list[str]:
    """Uncommitted changes to tracked files (untracked files are invisible to Nix anyway)."""
    return ["git", "-C", flake, "status", "--porcelain", "--untracked-files=no"]


def git_bundle(flake: str, dest: str) -> list[str]:
    """A git bundle holding HEAD and its history: what push_flake sends to each host."""
    return ["git", "-C", flake, "bundle", "create", "--quiet", dest, "HEAD"]
