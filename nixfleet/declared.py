"""What the flake declares for a host, as the checks need it (evaluated by declared.nix)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXPRESSION = (Path(__file__).parent / "declared.nix").read_text()


@dataclass(frozen=True)
class SyncthingFolder:
    id: str
    path: str
    devices: tuple[str, ...] = ()
    versioning: str | None = None
    max_conflicts: int | None = None


@dataclass(frozen=True)
class Syncthing:
    user: str
    config_dir: str
    gui_address: str
    devices: dict[str, str] = field(default_factory=dict)  # name -> device ID
    folders: dict[str, SyncthingFolder] = field(default_factory=dict)  # by folder id


@dataclass(frozen=True)
class ResticJob:
    name: str
    repository: str | None
    paths: tuple[str, ...]
    password_file: str | None
    timer: dict[str, Any] | None
    prune_opts: tuple[str, ...] = ()

    @property
    def service(self) -> str:
        return f"restic-backups-{self.name}.service"

    @property
    def timer_unit(self) -> str:
        return f"restic-backups-{self.name}.timer"


@dataclass(frozen=True)
class Notebook:
    name: str
    path: str
    user: str
    remote: str | None
    branch: str


@dataclass(frozen=True)
class Secret:
    name: str
    owner: str
    group: str
    mode: str
    path: str


@dataclass(frozen=True)
class Declared:
    """One host's declared data layer. Empty collections mean "not declared"."""

    syncthing: Syncthing | None = None
    restic: dict[str, ResticJob] = field(default_factory=dict)
    notebooks: dict[str, Notebook] = field(default_factory=dict)
    secrets: dict[str, Secret] = field(default_factory=dict)
    tcp_ports: frozenset[int] = frozenset()
    udp_ports: frozenset[int] = frozenset()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Declared:
        """Build from declared.nix's JSON for one host.

        >>> Declared.from_json({"ports": {"tcp": [22], "udp": []}}).tcp_ports
        frozenset({22})
        """
        st = data.get("syncthing")
        syncthing = None
        if st:
            folders = {
                f["id"]: SyncthingFolder(
                    f["id"],
                    f["path"],
                    tuple(f.get("devices") or ()),
                    f.get("versioning"),
                    f.get("maxConflicts"),
                )  # fmt: skip
                for f in (st.get("folders") or {}).values()
            }
            devices = {n: d.get("id", "") for n, d in (st.get("devices") or {}).items()}
            syncthing = Syncthing(st["user"], st["configDir"], st["guiAddress"], devices, folders)
        restic = {
            n: ResticJob(
                n,
                j.get("repository"),
                tuple(j.get("paths") or ()),
                j.get("passwordFile"),
                j.get("timerConfig"),
                tuple(j.get("pruneOpts") or ()),
            )  # fmt: skip
            for n, j in (data.get("restic") or {}).items()
        }
        notebooks = {
            n: Notebook(
                n, b["path"], b.get("user", "root"), b.get("remote"), b.get("branch", "main")
            )
            for n, b in (data.get("notebooks") or {}).items()
        }
        secrets = {
            n: Secret(n, s["owner"], s["group"], str(s["mode"]), s["path"])
            for n, s in (data.get("secrets") or {}).items()
        }
        ports = data.get("ports") or {}
        return cls(syncthing, restic, notebooks, secrets,
                   frozenset(int(p) for p in ports.get("tcp") or ()),
                   frozenset(int(p) for p in ports.get("udp") or ()))  # fmt: skip
