"""The offline check: every inventory host maps to a flake output that evaluates. No host is
contacted; CI runs it against the lab flake, users against their own."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nixfleet import nix, process
from nixfleet.flake import _nix_error

DRV = "h: h.config.system.build.toplevel.drvPath"


@dataclass(frozen=True)
class HostCheck:
    host: str
    attr: str
    ok: bool
    message: str


def check(
    hosts: Sequence[tuple[str, dict[str, Any]]], flake_override: str | None = None
) -> list[HostCheck]:
    """For each ``(name, data)``: does ``nixosConfigurations.<flake_attr or name>`` exist in its
    flake, and does its toplevel evaluate (to a derivation; nothing is built)?"""
    results: list[HostCheck] = []
    by_flake: dict[str, list[tuple[str, str]]] = {}
    for name, data in hosts:
        flake = nix.local_flake(flake_override or str(data.get("flake") or "."))
        by_flake.setdefault(flake, []).append((name, str(data.get("flake_attr") or name)))
    for flake, members in by_flake.items():
        listed = process.run(
            [
                *nix.NIX,
                "eval",
                "--json",
                f"{flake}#nixosConfigurations",
                "--apply",
                "builtins.attrNames",
            ]
        )
        if not listed.ok:
            error = _nix_error(listed.stderr)
            results += [
                HostCheck(n, a, False, f"flake {flake} does not evaluate: {error}")
                for n, a in members
            ]
            continue
        outputs = set(json.loads(listed.stdout))
        for name, attr in members:
            if attr not in outputs:
                results.append(
                    HostCheck(
                        name,
                        attr,
                        False,
                        f"{flake} has no nixosConfigurations.{attr}; "
                        f"it has {', '.join(sorted(outputs)) or 'none'}",
                    )
                )
                continue
            drv = process.run(nix.eval_hosts(flake, [attr], DRV))
            message = json.loads(drv.stdout)[attr] if drv.ok else _nix_error(drv.stderr)
            results.append(HostCheck(name, attr, drv.ok, message))
    return results
