"""The pyinfra inventory, read outside a pyinfra run (for ``nixfleet plan`` and testinfra)."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from typing import Any

from nixfleet.errors import NixfleetError


def load(path: str, limit: Sequence[str] = ()) -> list[tuple[str, dict[str, Any]]]:
    """``(name, data)`` of each host, with group data applied; ``limit`` takes host globs or
    group names, as pyinfra's ``--limit`` does."""
    from pyinfra.api.config import Config
    from pyinfra.api.state import State
    from pyinfra.context import ctx_config, ctx_state
    from pyinfra_cli.inventory import make_inventory

    if not os.path.exists(path):
        raise NixfleetError(f"inventory {path} does not exist; pass -i inventory/<file>.py")
    with ctx_state.use(State()), ctx_config.use(Config()):  # type: ignore[no-untyped-call]
        inventory = make_inventory(path, cwd=os.getcwd())
    hosts = [(h.name, h.data.dict(), set(h.groups)) for h in inventory]
    if limit:
        hosts = [
            (n, d, g)
            for n, d, g in hosts
            if any(fnmatch.fnmatch(n, pat) or pat in g for pat in limit)
        ]
        if not hosts:
            raise NixfleetError(f"no host matches --limit {' '.join(limit)}")
    return [(n, d) for n, d, _ in hosts]
