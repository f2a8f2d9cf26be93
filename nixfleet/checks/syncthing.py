"""syncthing.running, .peers-connected, .folder-state, .conflicts and .max-conflicts."""

from __future__ import annotations

from nixfleet.checks import Check, Problem, Severity, unread_problem, unreadable, verdict
from nixfleet.checks.context import Subjects
from nixfleet.observed.syncthing import Folder, SyncthingState
from nixfleet.probe import Unknown


def running(s: Subjects) -> Check | None:
    if not s.declared.syncthing:
        return None
    st = s.observed.syncthing
    if bad := unreadable("syncthing.running", st):
        return bad
    assert not isinstance(st, Unknown)
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
        why = f" ({st.error})" if st and st.error else ""
        problems.append(Problem("syncthing", f"Syncthing is {state}{why}; {fix}"))
    return verdict("syncthing.running", problems, f"Syncthing {details['version']} runs", details)


def _running(s: Subjects) -> bool:
    st = s.observed.syncthing
    return bool(s.declared.syncthing and isinstance(st, SyncthingState) and st.running)


def _unread_api(s: Subjects, check_id: str, *endpoints: str) -> Check | None:
    """The failed check when a REST call it needs did not answer."""
    assert isinstance(s.observed.syncthing, SyncthingState)
    problem = unread_problem(
        "syncthing", "Syncthing's REST API", s.observed.syncthing.unread, endpoints
    )
    return verdict(check_id, [problem], "") if problem else None


def peers_connected(s: Subjects) -> Check | None:
    if not _running(s):
        return None
    assert s.declared.syncthing and isinstance(s.observed.syncthing, SyncthingState)
    needs = ("system/status", "system/connections", "stats/device", "config/devices")
    if bad := _unread_api(s, "syncthing.peers-connected", *needs):
        return bad
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
    assert s.declared.syncthing and isinstance(s.observed.syncthing, SyncthingState)
    return [
        (fid, s.observed.syncthing.folders.get(fid)) for fid in sorted(s.declared.syncthing.folders)
    ]


def folder_state(s: Subjects) -> Check | None:
    if not _running(s):
        return None
    if bad := _unread_api(s, "syncthing.folder-state", "system/status", "config/folders"):
        return bad
    problems, details = [], {}
    for fid, got in _declared_folders(s):
        if got is None:
            problems.append(Problem(fid, f"folder {fid} is not configured in Syncthing; redeploy "
                                         "(syncthing-init applies the declared folders)"))  # fmt: skip
            continue
        if missed := unread_problem(fid, f"the state of folder {fid}", got.unread,
                                    ("status", "errors", "completion")):  # fmt: skip
            problems.append(missed)
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
    if bad := _unread_api(s, "syncthing.conflicts", "system/status", "config/folders"):
        return bad
    problems: list[Problem] = []
    details: dict[str, list[str]] = {}
    for fid, got in _declared_folders(s):
        if got is None:
            continue  # syncthing.folder-state reports it
        if missed := unread_problem(fid, f"folder {fid}", got.unread, ("conflicts",)):
            problems.append(missed)
            continue
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
    if bad := _unread_api(s, "syncthing.max-conflicts", "system/status", "config/folders"):
        return bad
    problems, details = [], {}
    for fid, got in _declared_folders(s):
        if got is None:
            continue
        details[fid] = got.max_conflicts
        if got.max_conflicts == 0:
            problems.append(Problem(fid, f"folder {fid} has maxConflicts=0: a conflicting edit is "
                                         "silently deleted; set maxConflicts (e.g. 10)"))  # fmt: skip
    return verdict("syncthing.max-conflicts", problems, "conflict copies are kept", details)
