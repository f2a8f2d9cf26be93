"""The syncthing area: Syncthing as its REST API reports it (1.19 and 2.x shapes), plus
conflict copies on disk, against the declared devices and folders.

Checks: ``syncthing.running``, ``.peers-connected``, ``.folder-state``, ``.conflicts`` and
``.max-conflicts``. Probe: ``syncthing.sh``. Metric: ``nixfleet_sync_conflicts``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from nixfleet.area import Area, CheckSpec, Context, Metric, Reading, Subjects
from nixfleet.checks import Check, Problem, Severity, unread_problem, unreadable, verdict
from nixfleet.probe import Part, Records, Reply, Unknown

CONFLICT = re.compile(
    r"^(?P<base>.*)\.sync-conflict-(?P<date>\d{8})-(?P<time>\d{6})-(?P<dev>[A-Z2-7]{7})(?P<ext>\.[^./]*)?$"
)
NEVER = "1970-01-01T00:00:00Z"


@dataclass(frozen=True)
class Peer:
    device_id: str
    name: str = ""
    connected: bool = False
    paused: bool = False
    address: str = ""
    last_seen: str | None = None  # RFC 3339; None if never seen


@dataclass(frozen=True)
class Folder:
    id: str
    path: str = ""
    paused: bool = False
    state: str = ""  # idle, scanning, syncing, error, … ("" while paused)
    error: str = ""
    need_files: int = 0
    errors: int = 0
    completion: float | None = None
    versioning: str = ""  # the versioning type, "" for none
    max_conflicts: int | None = None
    devices: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    unread: dict[str, str] = field(default_factory=dict)  # status, errors, completion, conflicts


@dataclass(frozen=True)
class SyncthingState:
    """``state`` is ``running``, ``not-running``, ``not-installed``, ``no-config``,
    ``no-permission`` or ``no-curl``; the rest is filled only while it runs."""

    state: str
    version: str = ""
    device_id: str = ""
    peers: dict[str, Peer] = field(default_factory=dict)
    folders: dict[str, Folder] = field(default_factory=dict)
    error: str = ""  # why it is not running, as curl said
    unread: dict[str, str] = field(default_factory=dict)  # REST endpoint -> why it failed

    @property
    def running(self) -> bool:
        return self.state == "running"


def is_conflict_copy(path: str) -> bool:
    """Whether a file name is Syncthing's conflict copy of another file.

    >>> is_conflict_copy("a/report.sync-conflict-20261125-201747-3SGOT7Q.txt")
    True
    >>> is_conflict_copy("a/report.txt")
    False
    """
    return bool(CONFLICT.match(path.rsplit("/", 1)[-1]))


def _json(text: str) -> Any:
    text = text.strip()
    return json.loads(text) if text else None


def parse_connections(data: dict[str, Any], my_id: str) -> dict[str, dict[str, Any]]:
    """Per-device connection rows; 1.19 lists the local device too (skipped), 2.x does not."""
    rows: dict[str, dict[str, Any]] = {}
    for device, row in (data.get("connections") or {}).items():
        if device == my_id:
            continue
        primary = row.get("primary") or {}
        rows[device] = {
            "connected": bool(row.get("connected")),
            "paused": bool(row.get("paused")),
            "address": row.get("address") or primary.get("address") or "",
        }
    return rows


def _api(rec: Records, name: str, unread: dict[str, str], label: str) -> Any:
    """The JSON one REST call (or folder read) returned; None, noted in ``unread``, if it failed."""
    got = rec.read(name)
    if got is None:
        unread[label] = "not read"
        return None
    if got.failure:
        unread[label] = f"GET {label}: {got.failure}"
        return None
    try:
        return _json(got.text)
    except ValueError as exc:
        unread[label] = f"GET {label} returned what is not JSON ({exc})"
        return None


def parse_state(records: Records) -> SyncthingState:
    """What ``syncthing.sh`` recorded."""
    state = records.first("state") or "unknown"
    if state != "running":
        return SyncthingState(state, error=(records.first("error") or "").strip())
    unread: dict[str, str] = {}
    api = {
        e: _api(records, f"api:{e}", unread, e)
        for e in (
            "system/version",
            "system/status",
            "system/connections",
            "stats/device",
            "config/folders",
            "config/devices",
        )
    }
    per_folder: dict[str, dict[str, Any]] = {}
    folder_unread: dict[str, dict[str, str]] = {}
    for fid, rec in records.groups("folder"):
        entry, missed = per_folder.setdefault(fid, {}), folder_unread.setdefault(fid, {})
        for name in ("status", "errors", "completion"):
            entry[name] = _api(rec, name, missed, name)
        scan = rec.read("conflicts")
        where = rec.first("path") or ""
        if scan is None or scan.failure:
            why = scan.failure if scan else "not scanned"
            missed["conflicts"] = f"scan {where} for conflict copies: {why}"
        else:
            found = [p.decode("utf-8", "backslashreplace") for p in scan.out.split(b"\0") if p]
            entry["conflicts"] = [p for p in found if is_conflict_copy(p)]
    status = api.get("system/status") or {}
    my_id = status.get("myID", "")
    stats = api.get("stats/device") or {}
    names = {d["deviceID"]: d.get("name", "") for d in api.get("config/devices") or []}
    peers = {}
    for device, row in parse_connections(api.get("system/connections") or {}, my_id).items():
        seen = (stats.get(device) or {}).get("lastSeen")
        peers[device] = Peer(
            device,
            names.get(device, ""),
            row["connected"],
            row["paused"],
            row["address"],
            None if seen in (None, NEVER) else seen,
        )
    folders = {}
    for cfg in api.get("config/folders") or []:
        fid = cfg["id"]
        extra = per_folder.get(fid, {})
        st = extra.get("status") or {}
        errs = (extra.get("errors") or {}).get("errors") or []
        comp = extra.get("completion") or {}
        folders[fid] = Folder(
            id=fid,
            path=cfg.get("path", ""),
            paused=bool(cfg.get("paused")),
            state=st.get("state", ""),
            error=st.get("error", "") or "",
            need_files=int(st.get("needFiles", 0) or 0),
            errors=max(int(st.get("errors", 0) or 0), len(errs)),
            completion=comp.get("completion"),
            versioning=(cfg.get("versioning") or {}).get("type", "") or "",
            max_conflicts=cfg.get("maxConflicts"),
            devices=tuple(d["deviceID"] for d in cfg.get("devices", []) if d["deviceID"] != my_id),
            conflicts=tuple(extra.get("conflicts", ())),
            unread=folder_unread.get(fid, {}),  # only declared folders are read
        )
    version = (api.get("system/version") or {}).get("version", "")
    return SyncthingState("running", version, my_id, peers, folders, unread=unread)


# What the flake declares: services.syncthing's devices and folders.
@dataclass(frozen=True)
class DeclaredFolder:
    id: str
    path: str
    devices: tuple[str, ...] = ()
    versioning: str | None = None
    max_conflicts: int | None = None


@dataclass(frozen=True)
class Declaration:
    user: str
    config_dir: str
    gui_address: str
    devices: dict[str, str] = field(default_factory=dict)  # name -> device ID
    folders: dict[str, DeclaredFolder] = field(default_factory=dict)  # by folder id


NIX = """c: let
  syncthing = c.services.syncthing or { };
  st = syncthing.settings or { };
  deviceName = d: if builtins.isString d then d else d.name or "";
in
  if !(syncthing.enable or false) then null else {
    user = syncthing.user or "syncthing";
    configDir = syncthing.configDir or "${syncthing.dataDir or "/var/lib/syncthing"}/.config/syncthing";
    guiAddress = syncthing.guiAddress or "127.0.0.1:8384";
    devices = builtins.mapAttrs (name: d: { id = d.id or ""; }) (st.devices or { });
    folders = builtins.mapAttrs
      (name: f: {
        id = f.id or name;
        path = f.path or name;
        devices = map deviceName (f.devices or [ ]);
        versioning = (f.versioning or { }).type or null;
        maxConflicts = f.maxConflicts or null;
      })
      (st.folders or { });
  }"""


def declare(st: Any) -> Declaration | None:
    """Syncthing's declarations from :data:`NIX`'s JSON (None: Syncthing is not enabled).

    >>> declare({"user": "u", "configDir": "/c", "guiAddress": "127.0.0.1:8384",
    ...          "folders": {"docs": {"id": "docs", "path": "/d"}}}).folders["docs"].path
    '/d'
    """
    if not st:
        return None
    folders = {
        f["id"]: DeclaredFolder(
            f["id"],
            f["path"],
            tuple(f.get("devices") or ()),
            f.get("versioning"),
            f.get("maxConflicts"),
        )
        for f in (st.get("folders") or {}).values()
    }
    devices = {n: d.get("id", "") for n, d in (st.get("devices") or {}).items()}
    return Declaration(st["user"], st["configDir"], st["guiAddress"], devices, folders)


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


class Status(Reading[SyncthingState]):
    """Syncthing's state: whether it runs, its version and device ID, each peer and each
    declared folder with its ``.sync-conflict-*`` files, plus ``unread``: each REST call or
    folder scan that failed, with why. The API key stays on the host (curl reads it on stdin).

    + config_dir: Syncthing's config directory (NixOS: ``services.syncthing.configDir``)
    + gui_address: the GUI/REST address (``127.0.0.1:8384``, or a Unix socket path)
    + folders: ``(id, path)`` of each declared folder, to look for conflict copies in
    """

    key = "syncthing"
    what = "read Syncthing's state"

    def part(
        self,
        config_dir: str = "/var/lib/syncthing/.config/syncthing",
        gui_address: str = "127.0.0.1:8384",
        folders: list[tuple[str, str]] | None = None,
    ) -> Part:
        base, sock = rest_endpoint(gui_address)
        pairs = [value for folder in folders or [] for value in folder]
        return Part(self.key, "syncthing", (config_dir, base, sock, *pairs))

    def parse(self, reply: Reply) -> SyncthingState:
        return parse_state(reply.records())


STATUS = Status()


def running(s: Subjects) -> Check | None:
    if not s.declared[AREA]:
        return None
    st = s.observed[STATUS]
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


def _live(s: Subjects) -> tuple[Declaration, SyncthingState] | None:
    """The declarations and the state, where Syncthing is declared and runs."""
    declared, st = s.declared[AREA], s.observed[STATUS]
    if declared and isinstance(st, SyncthingState) and st.running:
        return declared, st
    return None


def _unread_api(st: SyncthingState, check_id: str, *endpoints: str) -> Check | None:
    """The failed check when a REST call it needs did not answer."""
    problem = unread_problem("syncthing", "Syncthing's REST API", st.unread, endpoints)
    return verdict(check_id, [problem], "") if problem else None


# The REST calls that tell whether each peer is connected.
PEER_READS = ("system/status", "system/connections", "stats/device", "config/devices")


def peers_connected(s: Subjects) -> Check | None:
    if not (live := _live(s)):
        return None
    declared, st = live
    if bad := _unread_api(st, "syncthing.peers-connected", *PEER_READS):
        return bad
    peers = st.peers
    problems, details = [], {}
    for name, device_id in sorted(declared.devices.items()):
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
            problems.append(
                Problem(
                    name,
                    f"peer {name} is {state}{seen}; check that it is on and runs Syncthing",
                    Severity.WARN,
                )
            )
    return verdict(
        "syncthing.peers-connected", problems, "all peers connected", details, Severity.WARN
    )


def _declared_folders(declared: Declaration, st: SyncthingState) -> list[tuple[str, Folder | None]]:
    """Each declared folder id with what Syncthing reports for it (None: not configured)."""
    return [(fid, st.folders.get(fid)) for fid in sorted(declared.folders)]


def folder_state(s: Subjects) -> Check | None:
    if not (live := _live(s)):
        return None
    if bad := _unread_api(live[1], "syncthing.folder-state", "system/status", "config/folders"):
        return bad
    problems, details = [], {}
    for fid, got in _declared_folders(*live):
        if got is None:
            problems.append(
                Problem(
                    fid,
                    f"folder {fid} is not configured in Syncthing; redeploy "
                    "(syncthing-init applies the declared folders)",
                )
            )
            continue
        if missed := unread_problem(
            fid, f"the state of folder {fid}", got.unread, ("status", "errors", "completion")
        ):
            problems.append(missed)
            continue
        details[fid] = {
            "state": got.state,
            "paused": got.paused,
            "need_files": got.need_files,
            "errors": got.errors,
            "completion": got.completion,
        }
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
            problems.append(
                Problem(
                    fid,
                    f"folder {fid} still needs {got.need_files} files; is a peer with them online?",
                    Severity.WARN,
                )
            )
    return verdict("syncthing.folder-state", problems, "all folders in sync", details)


def conflicts(s: Subjects) -> Check | None:
    if not (live := _live(s)):
        return None
    if bad := _unread_api(live[1], "syncthing.conflicts", "system/status", "config/folders"):
        return bad
    problems: list[Problem] = []
    details: dict[str, list[str]] = {}
    for fid, got in _declared_folders(*live):
        if got is None:
            continue  # syncthing.folder-state reports it
        if missed := unread_problem(fid, f"folder {fid}", got.unread, ("conflicts",)):
            problems.append(missed)
            continue
        details[fid] = list(got.conflicts)
        if got.conflicts:
            first = got.conflicts[0].rsplit("/", 1)[-1]
            problems.append(
                Problem(
                    fid,
                    f"{len(got.conflicts)} conflict copies in {fid} ({first}); "
                    "merge them into the original and delete the copies",
                    Severity.WARN,
                )
            )
    return verdict("syncthing.conflicts", problems, "no conflict copies", details, Severity.WARN)


def max_conflicts(s: Subjects) -> Check | None:
    if not (live := _live(s)):
        return None
    if bad := _unread_api(live[1], "syncthing.max-conflicts", "system/status", "config/folders"):
        return bad
    problems, details = [], {}
    for fid, got in _declared_folders(*live):
        if got is None:
            continue
        details[fid] = got.max_conflicts
        if got.max_conflicts == 0:
            problems.append(
                Problem(
                    fid,
                    f"folder {fid} has maxConflicts=0: a conflicting edit is "
                    "silently deleted; set maxConflicts (e.g. 10)",
                )
            )
    return verdict("syncthing.max-conflicts", problems, "conflict copies are kept", details)


def metrics(s: Subjects) -> list[Metric]:
    """Conflict copies per declared folder, where the folder was scanned, and whether each
    declared peer is connected, where the connections were read; only while Syncthing runs."""
    st, declared = s.observed[STATUS], s.declared[AREA]
    if not declared or not isinstance(st, SyncthingState) or not st.running:
        return []
    host = s.context.host
    out = [
        Metric(
            "nixfleet_sync_conflicts", {"host": host, "folder": fid}, float(len(folder.conflicts))
        )
        for fid, folder in sorted(st.folders.items())
        if "conflicts" not in folder.unread and fid in declared.folders
    ]
    if not (set(PEER_READS) & set(st.unread)):
        for name, device_id in sorted(declared.devices.items()):
            peer = st.peers.get(device_id)
            connected = bool(peer and peer.connected and not peer.paused)
            out.append(
                Metric(
                    "nixfleet_sync_peer_connected", {"host": host, "peer": name}, float(connected)
                )
            )
    return out


def _reads(d: Declaration | None, _ctx: Context) -> list[Part | None]:
    if not d:
        return []
    return [STATUS.part(d.config_dir, d.gui_address, [(f.id, f.path) for f in d.folders.values()])]


AREA: Area[Declaration | None] = Area(
    name="syncthing",
    order=30,
    nix=NIX,
    declare=declare,
    readings=(STATUS,),
    reads=_reads,
    checks=(
        CheckSpec("syncthing.running", running),
        CheckSpec("syncthing.peers-connected", peers_connected),
        CheckSpec("syncthing.folder-state", folder_state),
        CheckSpec("syncthing.conflicts", conflicts),
        CheckSpec("syncthing.max-conflicts", max_conflicts),
    ),
    metrics=metrics,
    help={
        "nixfleet_sync_conflicts": "Syncthing conflict copies in a folder.",
        "nixfleet_sync_peer_connected": "1 if Syncthing is connected to the declared peer, else 0.",
    },
    units=lambda d: ["syncthing.service"] if d else [],
)
