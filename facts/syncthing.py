"""Syncthing's state, read from its REST API on the host (the pyinfra face of
:mod:`nixfleet.areas.syncthing`; the API key never leaves the host)."""

from __future__ import annotations

from facts.probed import ProbeFact
from nixfleet.areas import syncthing
from nixfleet.areas.syncthing import SyncthingState


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

    reading = syncthing.STATUS
