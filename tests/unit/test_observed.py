"""Parsing the facts' output, captured from the real tools in the lab (tests/data/README.md).

Syncthing 1.19.2, restic 0.14.0, systemd 252, git 2.39, iproute2 6.1. The newer shapes that
cannot be captured here (Syncthing 2.x connections, restic 0.17+ exit codes) are built from the
tools' documentation and say so.
"""

from __future__ import annotations

from datetime import datetime, timezone

from facts.nb import NbNotebooks
from facts.network import ListeningSockets
from facts.restic import ResticJobs
from facts.secrets import SecretFiles
from facts.syncthing import SyncthingStatus
from facts.systemd import SystemdFailedUnits, SystemdTimers, SystemdUnits
from nixfleet.areas.restic import classify, redact
from nixfleet.areas.syncthing import parse_connections
from tests.unit.framing import lines, tool

DESKTOP_ID = "544OYPQ-VEMZDNZ-5TPA6BK-GGBAWNV-V52M2LI-MSV6OSF-JA5KMJ6-5DIHFQ3"
LAPTOP_ID = "TV2BLLV-PP7EKYU-KOP43JF-ADMKD4Z-7KSCIJG-6PGHLQS-S2WAUJG-TTAQ2AY"


# systemd 252


def test_timers_give_absolute_times_and_none_for_never() -> None:
    timers = {
        t.unit: t
        for t in SystemdTimers().process(
            tool(SystemdTimers.key, "systemd/list-timers-desktop.json")
        )
    }
    restic = timers["restic-backups-desktop.timer"]
    assert restic.activates == "restic-backups-desktop.service"
    assert restic.next_us == 1795641459258812 and restic.last_us == 1795640853768961
    assert timers["systemd-tmpfiles-clean.timer"].last_us is None  # 0 means never
    assert timers["apt-daily.timer"].next_us is None  # masked: null


def test_failed_units() -> None:
    assert (
        SystemdFailedUnits().process(tool(SystemdFailedUnits.key, "systemd/failed-none.json")) == ()
    )
    failed = SystemdFailedUnits().process(
        tool(SystemdFailedUnits.key, "systemd/failed-restic.json")
    )
    assert failed == ("restic-backups-desktop.service",)


def test_show_blocks_by_unit() -> None:
    units = SystemdUnits().process(tool(SystemdUnits.key, "systemd/show-desktop.txt"))
    backup = units["restic-backups-desktop.service"]
    assert (backup.result, backup.active_state, backup.exec_main_status) == (
        "success",
        "inactive",
        0,
    )
    assert backup.exec_main_start == 1795640858 and backup.ever_ran
    assert units["syncthing-init.service"].sub_state == "exited"
    assert units["restic-backups-desktop.timer"].active_state == "active"
    missing = units["no-such.service"]
    assert missing.load_state == "not-found" and not missing.ever_ran
    assert missing.result == "success"  # systemd says success for a unit that never ran


def test_show_failed_backup() -> None:
    units = SystemdUnits().process(tool(SystemdUnits.key, "systemd/show-restic-failed.txt"))
    failed = units["restic-backups-desktop.service"]
    assert (failed.result, failed.active_state) == ("exit-code", "failed")
    assert not failed.ever_ran  # ExecStartPre (restic init) failed before the main process
    assert units["nixfleet-alert@restic-backups-desktop.service.service"].ever_ran


# secrets and sockets


def test_secret_files_have_metadata_only() -> None:
    files = SecretFiles().process(lines("secrets/desktop.probe"))
    key = files["/run/secrets/nb-ssh-key"]
    assert (key.owner, key.group, key.mode, key.size, key.name) == (
        "alice",
        "alice",
        "400",
        399,
        "nb-ssh-key",
    )
    assert len(files) == 4


def test_listening_sockets_leave_out_loopback() -> None:
    sockets = ListeningSockets().process(lines("network/listeners-desktop.probe"))
    assert [(s.proto, s.address, s.port, s.process) for s in sockets] == [
        ("tcp", "0.0.0.0", 22, "sshd"),
        ("tcp", "::", 22, "sshd"),
        ("tcp", "10.250.0.11", 22000, "syncthing"),
    ]
    assert sockets[2].pid == 370


# restic 0.14


def test_restic_jobs_ok_and_not_configured() -> None:
    jobs = ResticJobs().process(lines("restic/jobs-server-ok.probe"))
    media = jobs["server-media"]
    assert media.state == "ok" and media.repository == "sftp:root@nas:/srv/restic/server-media"
    assert media.latest is not None
    assert media.latest.paths == ("/srv/media",) and media.latest.hostname == "server"
    assert media.latest.time == datetime(2026, 11, 25, 21, 7, 36, 991708, tzinfo=timezone.utc)
    assert jobs["undeclared"].state == "not-configured"


def test_restic_errors_are_distinct_states() -> None:
    def state(name: str) -> str:
        return ResticJobs().process(lines(f"restic/jobs-desktop-{name}.probe"))["desktop"].state

    assert state("wrong-password") == "wrong-password"
    assert state("missing-repository") == "missing-repository"
    assert state("unreachable") == "unreachable"
    assert state("ok") == "ok"


def test_restic_stale_lock_has_a_dead_pid() -> None:
    job = ResticJobs().process(lines("restic/jobs-desktop-stale-lock.probe"))["desktop"]
    (lock,) = job.locks
    assert (lock.hostname, lock.pid, lock.exclusive, lock.alive) == ("desktop", 622, False, "no")


def test_restic_017_exit_codes() -> None:
    # restic ≥ 0.17 exit codes (restic's docs, "Exit status codes"): 10 no repository, 11 lock failed, 12 wrong password.
    assert classify(10, "Fatal: repository does not exist") == "missing-repository"
    assert classify(12, "Fatal: wrong password or no key found") == "wrong-password"
    assert classify(11, "Fatal: unable to create lock in backend") == "error"
    assert classify(124, "") == "unreachable"  # our `timeout 60`


def test_repository_passwords_are_masked() -> None:
    assert (
        redact("Fatal: unable to open rest:https://u:hunter2@nas/x")
        == "Fatal: unable to open rest:https://u:***@nas/x"
    )


# nb (git 2.39)


def test_notebook_pushed_and_missing() -> None:
    books = NbNotebooks().process(lines("nb/desktop-pushed.probe"))
    home = books["/home/alice/.nb/home"]
    assert (home.branch, home.remote, home.ahead, home.behind, home.has_upstream) == (
        "main", "root@vps:/srv/git/notebooks/home.git", 0, 0, True,
    )  # fmt: skip
    assert home.dirty == () and home.markers == () and home.last_fetch == 1795640993
    assert not books["/home/alice/.nb/missing"].exists


def test_notebook_with_committed_markers() -> None:
    home = NbNotebooks().process(lines("nb/laptop-markers-committed.probe"))["/home/alice/.nb/home"]
    assert home.markers == ("index.md:1", "index.md:5")
    assert home.ahead == 0  # nb pushed the markers: that is what it does


def test_notebook_unpushed_dirty_and_conflicted_copy() -> None:
    home = NbNotebooks().process(lines("nb/laptop-unpushed-dirty-copy.probe"))[
        "/home/alice/.nb/home"
    ]
    assert (home.ahead, home.oldest_unpushed) == (2, 1795641046)
    assert home.dirty == ("?? todo.md",)
    assert home.conflicted_copies == ("photo--conflicted-copy.png",)


# Syncthing 1.19.2


def syncthing(name: str):  # type: ignore[no-untyped-def]
    return SyncthingStatus().process(lines(f"syncthing/{name}.probe"))


def test_syncthing_healthy() -> None:
    st = syncthing("desktop-healthy")
    assert st.running and st.version == "v1.19.2-ds1" and st.device_id == DESKTOP_ID
    assert DESKTOP_ID not in st.peers  # 1.19 lists the local device too; it is dropped
    assert len(st.peers) == 2 and all(p.connected for p in st.peers.values())
    docs = st.folders["documents"]
    assert (docs.path, docs.state, docs.paused, docs.need_files, docs.errors) == (
        "/home/alice/Documents", "idle", False, 0, 0,
    )  # fmt: skip
    assert (docs.versioning, docs.max_conflicts, docs.completion, docs.conflicts) == (
        "simple",
        10,
        100,
        (),
    )


def test_syncthing_peer_down() -> None:
    st = syncthing("desktop-laptop-down")
    laptop = st.peers[LAPTOP_ID]
    assert not laptop.connected and laptop.name == "laptop"


def test_syncthing_folder_paused_and_conflict() -> None:
    assert syncthing("desktop-folder-paused").folders["documents"].paused
    conflict = syncthing("desktop-conflict").folders["documents"]
    assert conflict.conflicts == (
        "/home/alice/Documents/report.sync-conflict-20261125-211118-TV2BLLV.txt",
    )


def test_syncthing_not_running() -> None:
    st = syncthing("laptop-not-running")
    assert st.state == "not-running" and not st.running and st.peers == {}


def test_syncthing_2x_connections_shape() -> None:
    # 2.x (Syncthing's /rest/system/connections docs): no entry for the local device; primary/secondary connections, with the
    # top-level address mirrored for compatibility.
    data = {
        "connections": {
            LAPTOP_ID: {
                "connected": True, "paused": False, "address": "",
                "primary": {"address": "10.250.0.12:22000", "type": "tcp-client"},
                "secondary": [{"address": "10.250.0.12:22000", "type": "tcp-client"}],
            }
        },
        "total": {},
    }  # fmt: skip
    rows = parse_connections(data, DESKTOP_ID)
    assert rows == {LAPTOP_ID: {"connected": True, "paused": False, "address": "10.250.0.12:22000"}}
