# The fleet's monitoring, as data (builtins only, no nixpkgs): Prometheus's alert rules and
# scrape configuration, shared by the real module (modules/monitoring.nix) and the lab's
# stand-in (lab/flake/modules/monitoring.nix), so the lab runs the very rules the fleet does.
#
#   (import ./lib/monitoring.nix { fleet = import ./fleet.nix; }).rules.groups
#   => [ { name = "nixfleet"; rules = [ { alert = "NixfleetBackupStale"; expr = "…"; … } … ]; } ]
#
# The metrics come from two places. `nixfleet verify` writes each host's data-layer metrics
# into that host's node exporter textfile directory (`nixfleet_*`, labelled `host`); the node
# exporter serves them with its own (`node_textfile_scrape_error`), and Prometheus adds `up`
# per target. The verify writes timestamps and limits, not ages, so every age below keeps
# growing between two verifies; `nixfleet_verify_last_run_timestamp_seconds` says how old the
# rest is. A read the verify could not make leaves no number (its check fails instead).
#
# `lab = true` shortens only the waits (`for:`, scrape and evaluation intervals), so that a
# fault in the lab fires within seconds; the expressions and thresholds are the same.
{ fleet, lab ? false }:
let
  mon = fleet.monitoring;
  # "26h" → 93600: fleet.nix's durations (s, m, h, d) in seconds.
  seconds = d:
    let
      m = builtins.match "([0-9]+)([smhd])" d;
      n = builtins.fromJSON (builtins.head m);
      unit = { s = 1; m = 60; h = 3600; d = 86400; }.${builtins.elemAt m 1};
    in
    if m == null then throw "fleet.monitoring: '${d}' is not a duration such as 26h, 90m or 7d" else n * unit;
  wait = real: short: if lab then short else real;
  alert = name: severity: for: expr: summary: description: {
    alert = name;
    inherit expr;
    ${if for == null then null else "for"} = for;
    labels = { inherit severity; };
    annotations = { inherit summary description; };
  };
in
{
  # services.prometheus.globalConfig and .alertmanagers (Alertmanager beside Prometheus).
  globalConfig = {
    scrape_interval = wait "30s" "5s";
    scrape_timeout = wait "10s" "5s";
    evaluation_interval = wait "30s" "5s";
  };
  alertmanagers = [{ static_configs = [{ targets = [ "127.0.0.1:9093" ]; }]; }];
  # Alertmanager's route to one receiver: a notification per alert and host, again while it
  # fires (every 4 h) and once it clears (the receiver's send_resolved).
  route = receiver: {
    inherit receiver;
    group_by = [ "alertname" "host" ];
    group_wait = wait "30s" "1s";
    group_interval = wait "5m" "1s";
    repeat_interval = "4h";
  };

  # One static target per host, labelled with its fleet name (`host`), which `up` carries too.
  # The target's label wins over the one in the host's textfile (honor_labels is off, so that
  # becomes exported_host, dropped here): a host cannot pass its numbers off as another's.
  scrapeConfigs = targets: [
    {
      job_name = "node";
      static_configs = map (host: { targets = [ targets.${host} ]; labels = { inherit host; }; })
        (builtins.attrNames targets);
      metric_relabel_configs = [{ action = "labeldrop"; regex = "exported_host"; }];
    }
    # Alertmanager beside Prometheus: whether the alerts can still reach anyone.
    {
      job_name = "alertmanager";
      static_configs = [{ targets = [ "127.0.0.1:9093" ]; labels.host = mon.server; }];
    }
  ];

  rules.groups = [{
    name = "nixfleet";
    rules = [
      (alert "NixfleetHostDown" "critical" (wait "5m" "10s")
        ''up{job="node"} == 0''
        "{{ $labels.host }} is down"
        "Prometheus has not reached the node exporter of {{ $labels.host }} ({{ $labels.instance }}): the host is off, off the network, or the exporter is stopped. Its data-layer numbers cannot be read meanwhile.")
      (alert "NixfleetBackupStale" "critical" null
        ''time() - nixfleet_backup_last_snapshot_timestamp_seconds > on(host, backup) group_left(media) nixfleet_backup_max_age_seconds{media!="offsite"}''
        "backup {{ $labels.backup }} on {{ $labels.host }} is older than its schedule allows"
        "The newest snapshot of {{ $labels.backup }} on {{ $labels.host }} is {{ $value | humanizeDuration }} old. See journalctl -u restic-backups-{{ $labels.backup }} on the host.")
      (alert "NixfleetOffsiteCopyOverdue" "critical" null
        ''time() - nixfleet_backup_last_snapshot_timestamp_seconds > on(host, backup) group_left(media) nixfleet_backup_max_age_seconds{media="offsite"}''
        "the offsite copy {{ $labels.backup }} of {{ $labels.host }} is overdue"
        "The newest offsite snapshot of {{ $labels.backup }} on {{ $labels.host }} is {{ $value | humanizeDuration }} old: the 3-2-1 rule lacks its offsite copy. See journalctl -u restic-backups-{{ $labels.backup }}.")
      (alert "NixfleetBackupFailed" "critical" null
        ''nixfleet_backup_last_run_ok == 0''
        "the last run of backup {{ $labels.backup }} on {{ $labels.host }} failed"
        "restic-backups-{{ $labels.backup }}.service failed on {{ $labels.host }}; see journalctl -u restic-backups-{{ $labels.backup }} there.")
      (alert "NixfleetRestoreDrillOverdue" "warning" null
        ''time() - nixfleet_restore_drill_last_success_timestamp_seconds > on(host, backup) nixfleet_restore_drill_max_age_seconds''
        "no recent restore drill of {{ $labels.backup }} on {{ $labels.host }}"
        "The last successful restore drill of {{ $labels.backup }} on {{ $labels.host }} was {{ $value | humanizeDuration }} ago; run nixfleet drill.")
      (alert "NixfleetSyncConflicts" "warning" null
        ''nixfleet_sync_conflicts > 0''
        "Syncthing conflicts in {{ $labels.folder }} on {{ $labels.host }}"
        "{{ $value }} .sync-conflict copies in folder {{ $labels.folder }} on {{ $labels.host }}; keep one version of each and delete the other.")
      (alert "NixfleetSyncPeerDisconnected" "warning" (wait "1h" "10s")
        ''nixfleet_sync_peer_connected == 0''
        "{{ $labels.host }} has not reached its Syncthing peer {{ $labels.peer }} for over an hour"
        "Syncthing on {{ $labels.host }} sees {{ $labels.peer }} disconnected or paused; check that {{ $labels.peer }} is on and runs Syncthing.")
      (alert "NixfleetNotebookUnpushed" "warning" null
        ''nixfleet_notebook_unpushed_commits > 0 and on(host, notebook) (time() - nixfleet_notebook_oldest_unpushed_timestamp_seconds > on(host, notebook) nixfleet_notebook_push_grace_seconds)''
        "notebook {{ $labels.notebook }} on {{ $labels.host }} is unpushed beyond its grace"
        "{{ $value }} commits of notebook {{ $labels.notebook }} on {{ $labels.host }} are not on its remote; run nb sync there.")
      (alert "NixfleetCheckFailing" ''{{ if eq $labels.severity "error" }}critical{{ else }}warning{{ end }}'' null
        ''nixfleet_check_ok == 0''
        "nixfleet check {{ $labels.check }} fails on {{ $labels.host }}"
        "The last nixfleet verify found {{ $labels.check }} failing on {{ $labels.host }}; nixfleet verify --limit {{ $labels.host }} says why.")
      (alert "NixfleetVerifyStale" "warning" (wait "10m" "10s")
        ''time() - nixfleet_verify_last_run_timestamp_seconds > ${toString (seconds mon.verifyMaxAge)} or on(host) (up{job="node"} == 1 unless on(host) nixfleet_verify_last_run_timestamp_seconds)''
        "the data-layer numbers of {{ $labels.host }} are stale"
        "No nixfleet verify has written {{ $labels.host }}'s metrics for over ${mon.verifyMaxAge} (or ever): what its other alerts show may be out of date. Run nixfleet verify.")
      (alert "NixfleetAlertsUndelivered" "critical" (wait "5m" "10s")
        ''up{job="alertmanager"} == 0 or increase(alertmanager_notifications_failed_total[15m]) > 0''
        "alerts from {{ $labels.host }} are not reaching anyone"
        "Alertmanager on {{ $labels.host }} is down or cannot deliver its notifications: until it is fixed, alerts show only in Prometheus and Grafana. See journalctl -u alertmanager there.")
      (alert "NixfleetMetricsUnreadable" "critical" null
        ''node_textfile_scrape_error == 1''
        "the node exporter of {{ $labels.host }} cannot read its textfiles"
        "A file in ${mon.textfileDirectory} on {{ $labels.host }} could not be read or parsed, so its nixfleet metrics are missing; see the exporter's journal there.")
    ];
  }];
}
