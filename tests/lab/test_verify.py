"""End to end: deploys/verify.py flags each injected fault with the right check id on the right
host, and nothing else. Faults are made by hand over ssh, as a user would, then undone."""

from __future__ import annotations

import json

from conftest import RESTIC_ENV, Lab

from nixfleet.lab import manager

ST_API = (
    'api() { k=$(sed -n "s#.*<apikey>\\(.*\\)</apikey>.*#\\1#p" /home/alice/.config/syncthing/config.xml); '
    'curl -fsS -X "$1" -H "X-API-Key: $k" "http://127.0.0.1:8384/rest/$2" ${3:+-d "$3"} >/dev/null; }; '
)
NB = "/home/alice/.nb/home"


def as_alice(command: str) -> str:
    return f"runuser -u alice -- sh -c '{command}'"


def pause_nb_sync(lab: Lab, host: str) -> None:
    """Stop the host's nb sync timer and wait out a sync already running: stopping a timer does
    not stop the service it started, and a sync in flight would push what the test commits."""
    lab.wait_for(
        host,
        "systemctl stop nb-sync-home.timer; systemctl is-active nb-sync-home.service",
        "inactive",
    )


def test_a_settled_lab_verifies_clean_and_writes_every_report(settled: Lab) -> None:
    result = settled.settle()
    assert result.returncode == 0
    assert set(result.findings["hosts"]) == set(settled.names)
    assert all(h["ok"] for h in result.findings["hosts"].values())
    prom = (settled.paths.root.parent / ".fleet/node-exporter/nixfleet.prom").read_text()
    for metric in ("nixfleet_check_ok{", "nixfleet_backup_last_snapshot_timestamp_seconds{",
                   "nixfleet_sync_conflicts{", "nixfleet_notebook_unpushed_commits{"):  # fmt: skip
        assert metric in prom
    assert 'nixfleet_check_ok{check="restic.snapshot-age",host="server",severity="error"} 1' in prom
    assert (
        'nixfleet_restore_drill_last_success_timestamp_seconds{backup="documents-nas",host="laptop"}'
        in prom
    )
    assert 'nixfleet_check_ok{check="backup.3-2-1",host="laptop",severity="error"} 1' in prom
    # Each host's own metrics are in its node exporter's textfile directory too.
    on_host = settled.console("laptop", "cat /var/lib/prometheus-node-exporter-text/nixfleet.prom")
    assert 'nixfleet_check_ok{check="backup.3-2-1",host="laptop",severity="error"} 1' in on_host
    assert 'host="server"' not in on_host


BACKED_UP = {"desktop", "laptop", "server", "vps"}


def test_drills_pass_and_3_2_1_holds_for_every_declared_path(settled: Lab) -> None:
    lab = settled
    tmp_before = lab.console("laptop", "ls -A /tmp /var/tmp")
    drill = lab.drill()
    assert drill.returncode == 0, drill.output
    assert set(drill.drills) == BACKED_UP  # the nas has no job: nothing to drill
    jobs = drill.by_job()
    assert {h for h, _ in jobs} == BACKED_UP
    for (host, job), got in jobs.items():
        assert got["ok"], (host, job, got["reason"])
        assert got["snapshot"] and got["subset"].endswith("/10"), (host, job)
        assert set(got["files"].values()) <= {"match", "changed"}, (host, job, got["files"])
        # (The lab's Immich and Jellyfin media directories are empty: nothing to compare.)
        assert "match" in got["files"].values() or job.startswith("media-"), (host, job)
    # The subset read rotates from run to run.
    again = lab.drill("--limit", "laptop").by_job()
    assert again["laptop", "documents-nas"]["subset"] != jobs["laptop", "documents-nas"]["subset"]
    # Nothing was left behind.
    assert lab.console("laptop", "ls -A /tmp /var/tmp") == tmp_before
    result = lab.verify()
    assert result.returncode == 0 and not result.failing(), result.failing()
    for host in BACKED_UP:
        rule = result.check(host, "backup.3-2-1")
        assert rule["ok"] and rule["details"], host
        assert all(p["copies"] == 3 and p["media"] == ["device", "local", "offsite"]
                   for p in rule["details"].values()), host  # fmt: skip
        assert result.check(host, "backup.restore-drill")["ok"], host


def test_a_damaged_nas_repository_fails_the_drill_naming_the_job(clean_after: Lab) -> None:
    lab = clean_after
    repo = "/srv/restic/laptop-documents"
    # Every pack of laptop's NAS copy damaged (a copy of the repository is kept to mend it).
    lab.console("nas", f"cp -a {repo} /srv/laptop-documents.good && "
                       f"find {repo}/data -type f -exec truncate -s 64 {{}} +")  # fmt: skip
    try:
        drill = lab.drill("--limit", "laptop")
        verified = lab.verify("--limit", "laptop")
    finally:
        lab.console("nas", f"rm -rf {repo} && mv /srv/laptop-documents.good {repo}")
        lab.drill("--limit", "laptop")
    assert drill.returncode != 0
    jobs = drill.by_job()
    bad, good = jobs["laptop", "documents-nas"], jobs["laptop", "documents-offsite"]
    assert not bad["ok"] and good["ok"]
    # Damaged packs hold the snapshot's trees too: listing, restoring or checking fails.
    assert any(f"restic {step}" in bad["reason"] or "missing" in bad["reason"]
               for step in ("ls", "restore", "check")), bad["reason"]  # fmt: skip
    assert "runtime/" not in bad["reason"], bad["reason"]  # restic's own words, not a stack frame
    assert "error: drill documents-nas:" in drill.output
    check = verified.check("laptop", "backup.restore-drill")
    assert not check["ok"] and "documents-nas" in check["message"]


def test_no_secret_value_appears_in_any_output_or_report(settled: Lab) -> None:
    result = settled.verify()
    texts = [result.output, (settled.state_dir / "last-verify.json").read_text(),
             (settled.paths.root.parent / ".fleet/node-exporter/nixfleet.prom").read_text()]  # fmt: skip
    secrets = [
        settled.console(h, "cat /run/secrets/restic-password") for h in ("desktop", "server", "vps")
    ]
    secrets.append(
        settled.console(
            "desktop",
            "sed -n 's#.*<apikey>\\(.*\\)</apikey>.*#\\1#p' /home/alice/.config/syncthing/config.xml",
        )
    )
    assert all(len(s) >= 16 for s in secrets)
    for secret in secrets:
        assert not any(secret in text for text in texts)


def test_conflicting_edits_are_flagged_on_every_peer(clean_after: Lab) -> None:
    lab = clean_after
    lab.console("desktop", as_alice("echo base > /home/alice/Documents/plan.txt"))
    lab.wait_for("laptop", "cat /home/alice/Documents/plan.txt", "base")
    for host in ("desktop", "laptop"):
        lab.console(host, ST_API + "api PATCH config/folders/documents '{\"paused\":true}'")
    lab.console("desktop", as_alice("echo from-desktop > /home/alice/Documents/plan.txt"))
    lab.console("laptop", as_alice("echo from-laptop > /home/alice/Documents/plan.txt"))
    for host in ("desktop", "laptop"):
        lab.console(host, ST_API + "api PATCH config/folders/documents '{\"paused\":false}'")
    lab.wait_for("server", "ls /home/alice/Documents | grep -c sync-conflict", "1")
    lab.wait_for("desktop", "ls /home/alice/Documents | grep -c sync-conflict", "1")
    lab.wait_for("laptop", "ls /home/alice/Documents | grep -c sync-conflict", "1")
    result = lab.verify()
    assert result.failing() == {h: {"syncthing.conflicts"} for h in ("desktop", "laptop", "server")}
    assert result.returncode == 0  # a conflict is a warning: the data is all there
    assert "plan.sync-conflict-" in result.check("laptop", "syncthing.conflicts")["message"]
    # Resolved: the copies go on every peer (a deletion made while a peer still pulls the copy
    # can be overtaken by it), until none is left anywhere.
    copies = "ls /home/alice/Documents | grep -c sync-conflict"
    for host in ("desktop", "laptop", "server"):
        lab.wait_for(
            host, f"rm -f /home/alice/Documents/plan.sync-conflict-*; sleep 1; {copies}", "0"
        )
    for host in ("desktop", "laptop", "server"):
        lab.wait_for(host, copies, "0")


def test_syncthing_stopped_on_the_laptop(clean_after: Lab) -> None:
    lab = clean_after
    lab.console("laptop", "systemctl stop syncthing.service")
    try:
        lab.wait_for("desktop", ST_API + "api GET system/ping && echo up", "up")
        result = lab.verify()
        assert result.failing() == {
            "laptop": {"syncthing.running"},
            "desktop": {"syncthing.peers-connected"},
            "server": {"syncthing.peers-connected"},
        }
        assert result.returncode != 0  # syncthing.running is an error
        assert (
            "peer laptop is disconnected"
            in result.check("server", "syncthing.peers-connected")["message"]
        )
    finally:
        lab.console("laptop", "systemctl start syncthing.service syncthing-init.service")


def test_a_local_notebook_commit_not_pushed(clean_after: Lab) -> None:
    lab = clean_after
    pause_nb_sync(lab, "laptop")
    try:
        lab.console(
            "laptop",
            as_alice(
                f"cd {NB} && echo idea >> ideas.md && git add ideas.md && git commit -qm idea"
            ),
        )
        result = lab.verify()
        assert result.failing() == {"laptop": {"nb.pushed"}}
        assert result.check("laptop", "nb.pushed")["severity"] == "warn"  # fresh: not yet late
    finally:
        lab.console("laptop", "systemctl start nb-sync-home.service nb-sync-home.timer")


def test_conflict_markers_committed_in_a_note(clean_after: Lab) -> None:
    lab = clean_after
    marked = "<<<<<<< HEAD\\nmine\\n=======\\ntheirs\\n>>>>>>> 1234567 ([nb] Sync)\\n"
    pause_nb_sync(lab, "laptop")  # or it pulls the markers too, as nb would
    try:
        lab.console("desktop", as_alice(f'cd {NB} && printf "{marked}" > merged.md && git add merged.md '
                                    "&& git commit -qm sync"))  # fmt: skip
        lab.console(
            "desktop", "systemctl start nb-sync-home.service"
        )  # nb pushes markers, as it does
        result = lab.verify()
        assert result.failing() == {"desktop": {"nb.conflicts"}}
        assert "merged.md" in result.check("desktop", "nb.conflicts")["message"]
        lab.console(
            "desktop", as_alice(f"cd {NB} && git rm -q merged.md && git commit -qm resolve")
        )
        lab.console("desktop", "systemctl start nb-sync-home.service")
    finally:
        lab.console("laptop", "systemctl start nb-sync-home.service nb-sync-home.timer")


def test_a_secret_with_mode_0644(clean_after: Lab) -> None:
    lab = clean_after
    lab.console("vps", "chmod 0644 /run/secrets/restic-password")
    try:
        result = lab.verify()
        assert result.failing() == {"vps": {"secrets.mode"}}
        assert result.returncode != 0
    finally:
        lab.console("vps", "chmod 0400 /run/secrets/restic-password")


def test_a_snapshot_older_than_the_schedule_allows(clean_after: Lab) -> None:
    lab = clean_after
    lab.backdate_backups("vps", "forgejo", "/var/lib/forgejo", "/var/lib/postgresql")
    try:
        result = lab.verify()
        # The NAS copy is stale: so is the local copy 3-2-1 counts (the offsite one is fresh).
        assert result.failing() == {"vps": {"restic.snapshot-age", "backup.3-2-1"}}
        assert (
            "is 2.0 d old (limit 26.0 h)" in result.check("vps", "restic.snapshot-age")["message"]
        )
        rule = result.check("vps", "backup.3-2-1")
        assert "has no fresh local copy" in rule["message"] and "offsite" not in rule["message"]
        assert rule["details"]["/var/lib/forgejo"]["media"] == ["device", "offsite"]
    finally:
        lab.console("vps", "systemctl start restic-backups-forgejo-nas.service")


BACKED_UP = {"desktop", "laptop", "server", "vps"}
OFFSITE_ENV = ("RESTIC_PASSWORD_FILE=/run/secrets/restic-password "
               "RESTIC_REPOSITORY_FILE=/run/secrets/rendered/restic-repository-{job}-offsite")  # fmt: skip


def test_a_missing_offsite_copy_breaks_3_2_1_for_every_path_it_held(clean_after: Lab) -> None:
    """The offsite storage lost every repository (an emptied bucket)."""
    lab = clean_after
    lab.console("offsite", "mv /srv/offsite /srv/offsite.away && mkdir /srv/offsite")
    try:
        result = lab.verify()
    finally:
        lab.console("offsite", "rm -rf /srv/offsite && mv /srv/offsite.away /srv/offsite")
    backed_up = BACKED_UP
    # Over REST a repository that is not there has no key either: restic says "wrong password
    # or no key found", so its locks cannot be read either.
    assert result.failing() == {
        h: {"restic.snapshot-age", "restic.repo-locked", "backup.3-2-1"} for h in backed_up
    }
    for host in backed_up:
        rule = result.check(host, "backup.3-2-1")
        assert rule["severity"] == "error" and "no fresh offsite copy" in rule["message"]
        paths = {p: got for p, got in rule["details"].items() if p != "problems"}
        assert paths, host
        for path, got in paths.items():
            assert (got["copies"], got["media"]) == (2, ["device", "local"]), (host, path)
            offsite = [r for n, r in got["repositories"].items() if r["media"] == "offsite"]
            assert offsite and all("no key found" in r["status"] for r in offsite), offsite


def test_an_unreachable_offsite_is_a_3_2_1_error_for_every_path_it_holds(
    clean_after: Lab,
) -> None:
    lab = clean_after
    manager.stop_host(lab.paths, "offsite")
    try:
        result = lab.verify()
    finally:
        manager.start_host(lab.paths, "offsite")
    # Only the hosts that back up offsite; the nas (no backups of its own) stays clean. Nor can
    # the offsite repositories' locks be read (as with the nas down, in test_safety).
    assert result.failing() == {
        h: {"restic.snapshot-age", "restic.repo-locked", "backup.3-2-1"} for h in BACKED_UP
    }
    for host in BACKED_UP:
        rule = result.check(host, "backup.3-2-1")
        assert rule["severity"] == "error", host
        paths = {p: got for p, got in rule["details"].items() if p != "problems"}
        assert paths, host
        for path, got in paths.items():
            assert got["media"] == ["device", "local"], (host, path)
            offsite = [r for r in got["repositories"].values() if r["media"] == "offsite"]
            assert offsite and all("cannot be reached" in r["status"] for r in offsite), offsite
        assert "cannot be reached" in rule["message"], rule["message"]
        # The repository is named without the host's credentials.
        assert "rest:https://" + host + ":***@offsite/" in json.dumps(rule), rule


def test_a_client_cannot_forget_or_delete_its_offsite_snapshots(clean_after: Lab) -> None:
    """Append-only offsite: a compromised client, with its own credentials, can neither forget
    its snapshots with restic nor delete the repository's files over HTTP; nothing is lost."""
    lab = clean_after
    env = OFFSITE_ENV.format(job="documents")
    count = f"{env} restic snapshots -q --json | jq length"
    before = lab.console("desktop", count)
    assert int(before) >= 1
    forget = lab.console(
        "desktop", f"ids=$({env} restic snapshots -q --json | jq -r '.[].id'); "
                   f"{env} restic forget $ids >/tmp/forget.out 2>&1; echo rc=$?; "
                   "grep -m1 -o 'server response: 403 Forbidden' /tmp/forget.out"
    )  # fmt: skip
    assert forget.splitlines() == ["rc=1", "server response: 403 Forbidden"], forget
    # Straight at the REST API, with the same credentials: a key, a snapshot, a pack, the config.
    delete = (
        'url=$(sed "s/^rest://" /run/secrets/rendered/restic-repository-documents-offsite); '
        'v2="Accept: application/vnd.x.restic.rest.v2"; '
        'first() { curl -sf -H "$v2" "$url/$1/" | jq -r ".[0].name"; }; '
        'for f in "keys/$(first keys)" "snapshots/$(first snapshots)" "data/$(first data)" config; do '
        'curl -s -o /dev/null -w "%{http_code}\\n" -X DELETE "$url/$f"; done'
    )
    assert lab.console("desktop", delete).split() == ["403"] * 4
    assert lab.console("desktop", count) == before
    assert lab.console("desktop", f"{env} restic check -q >/dev/null 2>&1; echo $?") == "0"


def test_the_nas_applies_the_retention_of_the_offsite_copies(clean_after: Lab) -> None:
    """Clients cannot forget offsite; the nas prunes their copies to the job's retention
    through the storage's maintenance endpoint. forgejo keeps 14 daily snapshots (restic's
    --keep-daily: the newest of each of the last 14 days that have one)."""
    lab = clean_after
    env = OFFSITE_ENV.format(job="forgejo")
    snapshots = f"{env} restic snapshots -q --json"
    # The vps (as its job would, on 16 earlier days) adds snapshots: appending is allowed.
    lab.console("vps", f"for d in $(seq 15 30); do {env} restic backup -q --time "
                       "\"$(date -d \"$d days ago\" '+%Y-%m-%d %H:%M:%S')\" "
                       "/var/lib/forgejo /var/lib/postgresql || exit 1; done")  # fmt: skip
    before = lab.console("vps", f"{snapshots} | jq -r '.[].id'").split()
    oldest = lab.console("vps", f"{snapshots} | jq -r 'min_by(.time).id'")
    newest = lab.console("vps", f"{snapshots} | jq -r 'max_by(.time).id'")
    assert len(before) >= 17
    unit = "restic-backups-retention-vps-forgejo-offsite.service"
    lab.console("nas", f"systemctl start {unit}")
    assert lab.console("nas", f"systemctl show -p Result --value {unit}") == "success"
    after = lab.console("vps", f"{snapshots} | jq -r '.[].id'").split()
    assert len(after) == 14 and oldest not in after and newest in after, (before, after)
    # The prune-only job is the nas's own: verified by restic.last-run, not as a backup of it.
    result = lab.verify()
    assert result.failing() == {}
    assert "retention-vps-forgejo-offsite" in result.check("nas", "restic.last-run")["details"]


def test_a_stale_restic_lock(clean_after: Lab) -> None:
    lab = clean_after
    env = RESTIC_ENV.format(job="desktop-documents")
    try:
        # A backup that holds its lock while it waits on stdin, killed -9: its lock stays behind.
        lab.console("desktop", f"cd /tmp && (sleep 300 | {env} restic backup -q --stdin >/dev/null 2>&1 &) ; "
                           "sleep 4; pkill -9 -x restic; pkill -x sleep; true")  # fmt: skip
        result = lab.verify()
        assert result.failing() == {"desktop": {"restic.repo-locked"}}
        assert "stale lock" in result.check("desktop", "restic.repo-locked")["message"]
    finally:
        lab.console("desktop", f"{env} restic unlock -q")


def test_a_failed_backup_service(clean_after: Lab) -> None:
    lab = clean_after
    cache = "/var/cache/restic-backups-state-nas"
    lab.console("server", f"rm -rf {cache} && touch {cache} && "
                      "(systemctl start restic-backups-state-nas.service; true)")  # fmt: skip
    try:
        result = lab.verify()
        assert result.failing() == {"server": {"restic.last-run"}}
        assert result.returncode != 0
        # ...and the failure raised the alert (OnFailure=).
        assert "restic-backups-state-nas.service failed" in lab.console(
            "server", "cat /var/lib/nixfleet/alerts/log"
        )
    finally:
        lab.console("server", f"rm -f {cache} && systemctl reset-failed && "
                          "systemctl start restic-backups-state-nas.service")  # fmt: skip


def test_a_process_listening_on_8080(clean_after: Lab) -> None:
    lab = clean_after
    lab.console(
        "nas", "systemd-run -q --unit=probe-8080 python3 -m http.server 8080 --bind 0.0.0.0"
    )
    try:
        lab.wait_for("nas", "ss -Hltn 'sport = :8080' | wc -l", "1")
        result = lab.verify()
        assert result.failing() == {"nas": {"network.exposed-ports"}}
        assert (
            "8080/tcp is open on 0.0.0.0 by python3"
            in result.check("nas", "network.exposed-ports")["message"]
        )
    finally:
        lab.console("nas", "systemctl stop probe-8080")
