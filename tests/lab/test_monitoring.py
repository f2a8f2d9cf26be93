"""End to end: monitoring as a user sees it. Prometheus on the server scrapes every host's node
exporter over the lab network; a fault the verify finds makes its alert fire, read from
Prometheus's API and from what Alertmanager's webhook received, and the alert clears once the
fault is fixed. The lab's rules are the fleet's, with waits of seconds."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from conftest import Lab

from nixfleet.lab import manager
from nixfleet.poll import poll_until

TEXTFILES = "/var/lib/prometheus-node-exporter-text"
WEBHOOK_LOG = "/var/lib/nixfleet-alert-webhook/alerts.jsonl"


def address(lab: Lab, host: str) -> str:
    return next(h.address for h in lab.hosts if h.name == host)


def api(lab: Lab, path: str) -> Any:
    """GET Prometheus's API on the server, from the controller, over the lab network."""
    url = f"http://{address(lab, 'server')}:9090/api/v1/{path}"
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.load(answer)["data"]


def firing(lab: Lab) -> set[tuple[str, ...]]:
    """(alertname, host, and the label that names the subject) of every firing alert."""
    subject = ("check", "peer", "backup", "folder", "notebook")
    return {
        (a["labels"]["alertname"], a["labels"].get("host", ""),
         *(a["labels"][k] for k in subject if k in a["labels"]))
        for a in api(lab, "alerts")["alerts"]
        if a["state"] == "firing"
    }  # fmt: skip


def received(lab: Lab) -> list[tuple[str, str, str]]:
    """(status, alertname, host) of every alert in every notification the webhook recorded."""
    text = lab.console("server", f"cat {WEBHOOK_LOG} 2>/dev/null || true")
    return [
        (a["status"], a["labels"]["alertname"], a["labels"].get("host", ""))
        for line in text.splitlines()
        for a in json.loads(line)["alerts"]
    ]


def eventually(what: str, holds: Callable[[], bool], timeout_s: float = 60) -> None:
    if not poll_until(lambda: True if holds() else None, timeout_s, every_s=1, sleep=time.sleep):
        raise AssertionError(f"not within {timeout_s:.0f} s: {what}")


def test_prometheus_scrapes_every_host_over_the_lab_network(settled: Lab) -> None:
    lab = settled
    targets = api(lab, "targets")["activeTargets"]
    nodes = [t for t in targets if t["labels"]["job"] == "node"]
    assert {t["labels"]["host"] for t in nodes} == set(lab.names)
    assert [t["labels"]["host"] for t in targets if t["labels"]["job"] == "alertmanager"] == [
        "server"
    ]
    eventually("every target up", lambda: all(
        t["health"] == "up" for t in api(lab, "targets")["activeTargets"]))  # fmt: skip
    for t in nodes:  # at the host's fleet address, on the exporter's declared port
        assert t["scrapeUrl"].endswith(":9100/metrics"), t["scrapeUrl"]
    # Each host's exporter serves that host's own nixfleet metrics, read without error.
    for host in lab.names:
        url = f"http://{address(lab, host)}:9100/metrics"
        with urllib.request.urlopen(url, timeout=10) as answer:
            text = answer.read().decode()
        assert f'nixfleet_verify_last_run_timestamp_seconds{{host="{host}"}}' in text
        assert "node_textfile_scrape_error 0" in text
    # A settled fleet raises nothing.
    eventually("no alert fires on a settled lab", lambda: not firing(lab))


def test_syncthing_stopped_on_the_laptop_fires_alerts_that_clear_once_it_runs(
    clean_after: Lab,
) -> None:
    lab = clean_after
    lab.console("laptop", "systemctl stop syncthing.service")
    try:
        assert lab.verify().failing()["laptop"] == {"syncthing.running"}
        expected = {
            ("NixfleetCheckFailing", "laptop", "syncthing.running"),
            ("NixfleetSyncPeerDisconnected", "desktop", "laptop"),
            ("NixfleetSyncPeerDisconnected", "server", "laptop"),
        }
        eventually("the alerts fire", lambda: expected <= firing(lab))
        eventually("Alertmanager delivers them to the webhook", lambda: {
            ("firing", "NixfleetCheckFailing", "laptop"),
            ("firing", "NixfleetSyncPeerDisconnected", "desktop"),
        } <= set(received(lab)))  # fmt: skip
    finally:
        lab.console("laptop", "systemctl start syncthing.service")
    lab.settle()
    eventually("the alerts clear", lambda: not (expected & firing(lab)))
    eventually("the webhook hears that they are resolved", lambda: {
        ("resolved", "NixfleetCheckFailing", "laptop"),
        ("resolved", "NixfleetSyncPeerDisconnected", "desktop"),
    } <= set(received(lab)))  # fmt: skip


def test_a_stale_backup_fires_until_a_fresh_snapshot_is_taken(clean_after: Lab) -> None:
    lab = clean_after
    lab.backdate_backups("vps", "forgejo", "/var/lib/forgejo", "/var/lib/postgresql")
    stale = ("NixfleetBackupStale", "vps", "forgejo-nas")
    try:
        assert "restic.snapshot-age" in lab.verify().failing()["vps"]
        eventually("the stale backup fires", lambda: stale in firing(lab))
        # Its offsite copy is fresh: that one stays quiet.
        assert ("NixfleetOffsiteCopyOverdue", "vps", "forgejo-offsite") not in firing(lab)
        eventually("the webhook gets it", lambda: (
            "firing", "NixfleetBackupStale", "vps") in received(lab))  # fmt: skip
    finally:
        lab.console("vps", "systemctl start restic-backups-forgejo-nas.service")
    lab.settle()
    eventually("it clears", lambda: stale not in firing(lab))


def test_a_host_that_goes_down_fires_until_it_is_back(clean_after: Lab) -> None:
    lab = clean_after
    manager.stop_host(lab.paths, "nas")
    try:
        eventually("the nas is down", lambda: ("NixfleetHostDown", "nas") in firing(lab))
        eventually("the webhook gets it", lambda: (
            "firing", "NixfleetHostDown", "nas") in received(lab))  # fmt: skip
    finally:
        manager.start_host(lab.paths, "nas")
        for host in lab.names:  # backups that ran while the nas was away failed
            lab.console(host, "systemctl reset-failed")
    eventually("it is back", lambda: ("NixfleetHostDown", "nas") not in firing(lab))


def test_metrics_the_exporter_cannot_read_or_that_are_gone_raise_alerts(clean_after: Lab) -> None:
    lab = clean_after
    # A textfile the exporter cannot parse: the host's metrics are not served, and that fires.
    lab.console("nas", f"echo 'not a metric' > {TEXTFILES}/broken.prom")
    try:
        eventually("unreadable metrics fire", lambda: (
            "NixfleetMetricsUnreadable", "nas") in firing(lab))  # fmt: skip
    finally:
        lab.console("nas", f"rm -f {TEXTFILES}/broken.prom")
    eventually("it clears", lambda: ("NixfleetMetricsUnreadable", "nas") not in firing(lab))
    # The metrics gone while the host answers: as good as never verified.
    lab.console("desktop", f"rm -f {TEXTFILES}/nixfleet.prom")
    eventually("the missing verify fires", lambda: (
        "NixfleetVerifyStale", "desktop") in firing(lab))  # fmt: skip
    lab.settle()
    eventually("a verify clears it", lambda: ("NixfleetVerifyStale", "desktop") not in firing(lab))


def test_metrics_that_cannot_be_written_are_an_error_finding(clean_after: Lab) -> None:
    lab = clean_after
    lab.console("nas", f"rm -rf {TEXTFILES}")
    try:
        result = lab.verify()
        assert result.failing() == {"nas": {"monitoring.textfile"}}
        message = result.check("nas", "monitoring.textfile")["message"]
        assert f"could not write the metrics to {TEXTFILES}/nixfleet.prom" in message
        assert "is not a directory" in message and result.returncode != 0
    finally:
        lab.console("nas", f"mkdir -p {TEXTFILES}")


def test_an_alertmanager_that_is_down_is_an_alert_in_prometheus(clean_after: Lab) -> None:
    lab = clean_after
    undelivered = ("NixfleetAlertsUndelivered", "server")
    lab.console("server", "systemctl stop alertmanager.service")
    try:
        eventually("Prometheus says the alerts reach nobody", lambda: undelivered in firing(lab))
    finally:
        lab.console("server", "systemctl start alertmanager.service")
    eventually("it clears once Alertmanager runs", lambda: undelivered not in firing(lab))
