"""Syncthing as its REST API reports it (1.19 and 2.x shapes), plus conflict copies on disk."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from nixfleet.probe import Records

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
    """What ``probes/syncthing.sh`` recorded."""
    state = records.first("state") or "unknown"
    if state != "running":
        return SyncthingState(state, error=(records.first("error") or "").strip())
    unread: dict[str, str] = {}
    api = {e: _api(records, f"api:{e}", unread, e) for e in
           ("system/version", "system/status", "system/connections", "stats/device",
            "config/folders", "config/devices")}  # fmt: skip
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
        peers[device] = Peer(device, names.get(device, ""), row["connected"], row["paused"],
                             row["address"], None if seen in (None, NEVER) else seen)  # fmt: skip
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
