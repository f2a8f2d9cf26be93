"""The notebooks' remote (vps, standing in for Forgejo): every notebook remote repository exists."""

from __future__ import annotations

import pytest

from nixfleet.areas import nb

ROLE = "notebook-remote"


def test_notebook_remotes_exist(host, fleet_host, request: pytest.FixtureRequest) -> None:
    from conftest import _fleet

    paths = sorted({n.remote.split(":", 1)[1] for h in _fleet(request.config) for n in h.declared[nb.AREA].values()
                    if n.remote and f"@{fleet_host.name}:" in n.remote})  # fmt: skip
    assert paths, f"no notebook remote names {fleet_host.name}"
    missing = [p for p in paths if not host.file(f"{p}/HEAD").exists]
    assert not missing, f"{fleet_host.name}: notebook remotes missing: {missing}"
