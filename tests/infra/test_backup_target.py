"""The backup target (nas): every repository the fleet's restic jobs name exists."""

from __future__ import annotations

import pytest

from nixfleet.areas import restic

ROLE = "backup-target"


def test_repositories_exist(host, fleet_host, request: pytest.FixtureRequest) -> None:
    from conftest import _fleet  # the whole fleet: the jobs live on the other hosts

    paths = [j.repository.split(":", 2)[2] for h in _fleet(request.config) for j in h.declared[restic.AREA].values()
             if j.repository and f"@{fleet_host.name}:" in j.repository]  # fmt: skip
    assert paths, f"no restic repository names {fleet_host.name}"
    missing = [p for p in paths if not host.file(f"{p}/config").exists]
    assert not missing, f"{fleet_host.name}: restic repositories missing: {missing}"
