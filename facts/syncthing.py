"""Syncthing's state, read from its REST API on the host (the API key never leaves the host)."""

from __future__ import annotations

import shlex

from pyinfra.api.facts import FactBase
from typing_extensions import override

from nixfleet.observed.syncthing import SyncthingState, parse_state

_ENDPOINTS = (
    "system/version system/status system/connections stats/device config/folders config/devices"
)


class SyncthingStatus(FactBase[SyncthingState]):
    """
    Returns Syncthing's state: whether it runs, its version and device ID, each peer (connected,
    paused, last seen) and each folder (state, needFiles, errors, completion, versioning,
    maxConflicts, and the ``.sync-conflict-*`` files under the folder's path).

    The API key is read from ``config.xml`` on the host and handed to curl on stdin, so it
    appears in no command line, output or log. States: ``running``, ``not-installed``,
    ``no-config``, ``no-permission``, ``no-curl``, ``not-running``.

    + config_dir: Syncthing's config directory (NixOS: ``services.syncthing.configDir``)
    + gui_address: the GUI/REST address (``127.0.0.1:8384``, or a Unix socket path)
    + folders: ``id=path`` for each declared folder, to look for conflict copies in

    .. code:: python

        SyncthingState(state="running", version="v1.19.2-ds1", device_id="NTCVUQN-…",
                       peers={"ORMAUNQ-…": Peer(connected=True, …)},
                       folders={"documents": Folder(state="idle", need_files=0, …)})
    """

    @staticmethod
    def default() -> SyncthingState:
        return SyncthingState("unknown")

    @override
    def command(
        self,
        config_dir: str = "/var/lib/syncthing/.config/syncthing",
        gui_address: str = "127.0.0.1:8384",
        folders: list[str] | None = None,
    ) -> str:
        q = shlex.quote
        if gui_address.startswith("/"):
            base, sock = "http://localhost", f"--unix-socket {q(gui_address)} "
        else:
            host, _, port = gui_address.rpartition(":")
            host = "127.0.0.1" if host in ("0.0.0.0", "", "[::]") else host
            base, sock = f"http://{host}:{port}", ""
        pairs = " ".join(q(f) for f in folders or [])
        return (
            f"cfg={q(config_dir)}; "
            "command -v syncthing >/dev/null || { echo '@@ state not-installed'; exit 0; }; "
            "command -v curl >/dev/null || { echo '@@ state no-curl'; exit 0; }; "
            '[ -e "$cfg/config.xml" ] || { echo "@@ state no-config"; exit 0; }; '
            '[ -r "$cfg/config.xml" ] || { echo "@@ state no-permission"; exit 0; }; '
            "key=$(sed -n 's#.*<apikey>\\(.*\\)</apikey>.*#\\1#p' \"$cfg/config.xml\"); "
            f"api() {{ printf 'X-API-Key: %s\\n' \"$key\" | curl -fsS --connect-timeout 1 --max-time 3 {sock}-H @- "
            f'"{base}/rest/$1"; rc=$?; echo; return $rc; }}; '
            "api system/ping >/dev/null 2>&1 || { echo '@@ state not-running'; exit 0; }; "
            "echo '@@ state running'; "
            f'for e in {_ENDPOINTS}; do echo "@@ api $e"; api "$e"; done; '
            f"for pair in {pairs}; do id=${{pair%%=*}}; path=${{pair#*=}}; "
            'echo "@@ folder-status $id"; api "db/status?folder=$id"; '
            'echo "@@ folder-errors $id"; api "folder/errors?folder=$id"; '
            'echo "@@ completion $id"; api "db/completion?folder=$id"; '
            'echo "@@ conflicts $id"; '
            "find \"$path\" -name '*.sync-conflict-*' -not -path '*/.stversions/*' 2>/dev/null | head -n 200; "
            "done"
        )

    @override
    def process(self, output: list[str]) -> SyncthingState:
        return parse_state(output)
