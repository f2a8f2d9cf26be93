"""Syncthing's state, read from its REST API on the host (the API key never leaves the host)."""

from __future__ import annotations

import re

from typing_extensions import override

from facts.probed import ProbeFact
from nixfleet.observed.syncthing import SyncthingState, parse_state
from nixfleet.probe import Part, Reply

_HOST_PORT = re.compile(r"^(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):(?P<port>\d{1,5})$")


def rest_endpoint(gui_address: str) -> tuple[str, str]:
    """The base URL and Unix socket ("" for none) that reach Syncthing's REST API on the host,
    from ``services.syncthing.guiAddress``. A wildcard address is reached on loopback. An
    address that is neither ``host:port`` nor a socket path raises ValueError.

    >>> rest_endpoint("0.0.0.0:8384"), rest_endpoint("[::1]:8384")
    (('http://127.0.0.1:8384', ''), ('http://[::1]:8384', ''))
    >>> rest_endpoint("/run/syncthing/gui.sock")
    ('http://localhost', '/run/syncthing/gui.sock')
    >>> rest_endpoint("127.0.0.1:8384; rm -rf /")
    Traceback (most recent call last):
    ...
    ValueError: guiAddress '127.0.0.1:8384; rm -rf /' is neither host:port nor a socket path
    """
    if gui_address.startswith("/"):
        return "http://localhost", gui_address
    m = _HOST_PORT.match(gui_address.removeprefix("http://").removeprefix("https://"))
    if not m or m["host"].startswith("-"):
        raise ValueError(f"guiAddress {gui_address!r} is neither host:port nor a socket path")
    host = m["host"]
    if host in ("0.0.0.0", "", "[::]"):
        host = "127.0.0.1"
    return f"http://{host}:{m['port']}", ""


class SyncthingStatus(ProbeFact[SyncthingState]):
    """
    Returns Syncthing's state: whether it runs, its version and device ID, each peer (connected,
    paused, last seen) and each declared folder (state, needFiles, errors, completion,
    versioning, maxConflicts, and the ``.sync-conflict-*`` files under the folder's path), plus
    ``unread``: each REST call or folder scan that failed, with why.

    The API key is read from ``config.xml`` on the host and handed to curl on stdin, so it
    appears in no command line, output or log. States: ``running``, ``not-installed``,
    ``no-config``, ``no-permission``, ``no-curl``, ``not-running``.

    + config_dir: Syncthing's config directory (NixOS: ``services.syncthing.configDir``)
    + gui_address: the GUI/REST address (``127.0.0.1:8384``, or a Unix socket path)
    + folders: ``(id, path)`` of each declared folder, to look for conflict copies in

    .. code:: python

        SyncthingState(state="running", version="v1.19.2-ds1", device_id="NTCVUQN-…",
                       peers={"ORMAUNQ-…": Peer(connected=True, …)},
                       folders={"documents": Folder(state="idle", need_files=0, …)})
    """

    key = "syncthing"
    what = "read Syncthing's state"

    @override
    def part(
        self,
        config_dir: str = "/var/lib/syncthing/.config/syncthing",
        gui_address: str = "127.0.0.1:8384",
        folders: list[tuple[str, str]] | None = None,
    ) -> Part:
        base, sock = rest_endpoint(gui_address)
        pairs = [value for folder in folders or [] for value in folder]
        return Part(self.key, "syncthing", (config_dir, base, sock, *pairs))

    @override
    def parse(self, reply: Reply) -> SyncthingState:
        return parse_state(reply.records())
