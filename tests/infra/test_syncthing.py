"""Hosts that declare Syncthing: it runs as its own user, syncs on 22000, and its GUI/REST API
listens on loopback only."""

from __future__ import annotations

from nixfleet.areas import syncthing
from nixfleet.areas.network import is_loopback

ROLE = "syncthing"


def test_runs_as_its_own_user(host, fleet_host) -> None:
    user = fleet_host.declared[syncthing.AREA].user
    procs = host.process.filter(comm="syncthing")
    assert procs, f"{fleet_host.name}: Syncthing is not running"
    assert {p.user for p in procs} == {user}, (
        f"{fleet_host.name}: Syncthing runs as {[p.user for p in procs]}, not {user}"
    )
    assert user != "root"


def test_listens_for_peers_on_22000(host, fleet_host) -> None:
    listening = [
        s
        for s in host.socket.get_listening_sockets()
        if s.startswith("tcp://") and s.endswith(":22000")
    ]
    assert listening, f"{fleet_host.name}: Syncthing does not listen on 22000"


def test_gui_and_rest_api_on_loopback_only(host, fleet_host) -> None:
    port = fleet_host.declared[syncthing.AREA].gui_address.rsplit(":", 1)[-1]
    sockets = [s for s in host.socket.get_listening_sockets() if s.endswith(f":{port}")]
    assert sockets, f"{fleet_host.name}: the Syncthing GUI/REST API is not listening on {port}"
    exposed = [s for s in sockets if not is_loopback(s.partition("://")[2].rpartition(":")[0])]
    assert not exposed, (
        f"{fleet_host.name}: the Syncthing GUI/REST API is reachable from outside: {exposed}"
    )
