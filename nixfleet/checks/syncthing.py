"""syncthing.running, .peers-connected, .folder-state, .conflicts and .max-conflicts."""

from __future__ import annotations

from nixfleet.checks import Check, Problem, Severity, verdict
from nixfleet.checks.context import Subjects
from nixfleet.observed.syncthing import Folder


def running(s: Subjects) -> Check | None:
    if not s.declared.syncthing:
        return None
    st = s.observed.syncthing
    state = st.state if st else "unknown"
    details = {"state": state, "version": st.version if st else ""}
    problems = []
    if state != "running":
        fix = {
            "not-installed": "install syncthing (services.syncthing.enable)",
            "no-curl": "install curl on the host so nixfleet can read the REST API",
            "no-permission": "nixfleet must read the config as root or the syncthing user",
            "no-config": "start syncthing once so it writes its config",
        }.get(state, "start it: systemctl start syncthing; then see journalctl -u syncthing")
        problems.append(Problem("syncthing", f"Syncthing is {state}; {fix}"))
    return verdict("syncthing.running", problems, f"Syncthing {details['version']} runs", details)


def _running(s: Subjects) -> bool:
    return bool(s.declared.syncthing and s.observed.syncthing and s.observed.syncthing.running)


def peers_connected(s: Subjects) -> Check | None:
    if not _running(s):
        return None
    assert s.declared.syncthing and s.observed.syncthing
    peers = s.observed.syncthing.peers
    problems, details = [], {}
    for name, device_id in sorted(s.declared.syncthing.devices.items()):
        peer = peers.get(device_id)
        state = (
            "connected"
            if peer and peer.connected
            else "paused"
            if peer and peer.paused
            else "disconnected"
        )
        details[name] = {"state": state, "last_seen": peer.last_seen if peer else None}
        if state != "connected":
            seen = f" (last seen {peer.last_seen})" if peer and peer.last_seen else " (never seen)"
            problems.append(Problem(name, f"peer {name} is {state}{seen}; check that it is on and "
                                          "runs Syncthing", Severity.WARN))  # fmt: skip
    return verdict(
        "syncthing.peers-connected", problems, "all peers connected", details, Severity.WARN
    )


def _declared_folders(s: Subjects) -> list[tuple[str, Folder | None]]:
    """Each declared folder id with what Syncthing reports for it (None: not configured)."""
    assert s.declared.syncthing and s.observed.syncthing
    return [
        (fid, s.observed.syncthing.folders.get(fid)) for fid in sorted(s.declared.syncthing.folders)
    ]


def folder_state(s: Subjects) -> Check | None:
    if not _running(s):
        return None
    assert s.declared.syncthing and s.observed.syncthing
    problems, details = [], {}
    for fid, got in _declared_folders(s):
        if got is None:
            problems.append(Problem(fid, f"folder {fid} is not configured in Syncthing; redeploy "
                                         "(syncthing-init applies the declared folders)"))  # fmt: skip
            continue
        details[fid] = {"state": got.state, "paused": got.paused, "need_files": got.need_files,
                        "errors": got.errors, "completion": got.completion}  # fmt: skip
        if got.paused:
            problems.append(Problem(fid, f"folder {fid} is paused; resume it in Syncthing"))
        elif got.state == "error" or got.error:
            problems.append(
                Problem(
                    fid,
                    f"folder {fid} is in error: {got.error or got.state}; see the Syncthing log",
                )
            )
        elif got.errors:
            problems.append(
                Problem(fid, f"folder {fid} has {got.errors} file errors; see /rest/folder/errors")
            )
        elif got.need_files and got.state == "idle":
            problems.append(Problem(fid, f"folder {fid} still needs {got.need_files} files; is a peer "
                                         "with them online?", Severity.WARN))  # fmt: skip
    return verdict("syncthing.folder-state", problems, "all folders in sync", details)


def conflicts(s: Subjects) -> Check | None:
    if not _running(s):
        return None
    assert s.observed.syncthing
    problems, details = [], {}
    for fid, got in sorted(s.observed.syncthing.folders.items()):
        details[fid] = list(got.conflicts)
        if got.conflicts:
            first = got.conflicts[0].rsplit("/", 1)[-1]
            problems.append(Problem(fid, f"{len(got.conflicts)} conflict copies in {fid} ({first}); "
                                         "merge them into the original and delete the copies",
                                    Severity.WARN))  # fmt: skip
    return verdict("syncthing.conflicts", problems, "no conflict copies", details, Severity.WARN)


def max_conflicts(s: Subjects) -> Check | None:
    if not _running(s):
        return None
    assert s.declared.syncthing and s.observed.syncthing
    problems, details = [], {}
    for fid, got in _declared_folders(s):
        if got is None:
            continue
        details[fid] = got.max_conflicts
        if got.max_conflicts == 0:
            problems.append(Problem(fid, f"folder {fid} has maxConflicts=0: a conflicting edit is "
                                         "silently deleted; set maxConflicts (e.g. 10)"))  # fmt: skip
    return verdict("syncthing.max-conflicts", problems, "conflict copies are kept", details)
