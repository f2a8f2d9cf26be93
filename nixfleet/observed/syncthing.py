"""Syncthing as its REST API reports it (1.19 and 2.x shapes), plus conflict copies on disk."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from nixfleet.observed.sections import split

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


@dataclass(frozen=True)
class SyncthingState:
    """``state`` is ``running``, ``not-running``, ``not-installed``, ``no-config``,
    ``no-permission`` or ``no-curl``; the rest is filled only while it runs."""

    state: str
    version: str = ""
    device_id: str = ""
    peers: dict[str, Peer] = field(default_factory=dict)
    folders: dict[str, Folder] = field(default_factory=dict)

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


def parse_state(output: list[str]) -> SyncthingState:
    """Parse the sections of ``facts.syncthing.SyncthingStatus``'s command."""
    sections = split(output)
    state = next((s.args[0] for s in sections if s.name == "state" and s.args), "not-running")
    if state != "running":
        return SyncthingState(state)
    api = {s.args[0]: _json(s.text) for s in sections if s.name == "api" and s.args}
    per_folder: dict[str, dict[str, Any]] = {}
    for s in sections:
        if s.name in ("folder-status", "folder-errors", "completion", "conflicts") and s.args:
            entry = per_folder.setdefault(s.args[0], {})
            entry[s.name] = list(s.lines) if s.name == "conflicts" else _json(s.text)
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
        st = extra.get("folder-status") or {}
        errs = (extra.get("folder-errors") or {}).get("errors") or []
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
            conflicts=tuple(p for p in extra.get("conflicts", []) if p and is_conflict_copy(p)),
        )
    version = (api.get("system/version") or {}).get("version", "")
    return SyncthingState("running", version, my_id, peers, folders)
