# Monitoring as the real modules/monitoring.nix declares it, from the same fleet data
# (lib/fleet.nix's `monitoring`) and the same rules (lib/monitoring.nix, with the lab's short
# waits): the node exporter with its textfile collector on every host; on the monitoring server,
# Prometheus scraping every host, and Alertmanager beside it, on loopback. The units come from
# prometheus-units.nix.
#
# Lab only: Alertmanager's receiver is a webhook on the server's loopback that records every
# notification it gets (nixfleet.lab.alertWebhook; the real flake mails or pushes them).
{ fleetHost, monitoring, ... }:
let
  inherit (import ../lib/merge.nix) merge;
  m = fleetHost.monitoring;
  p = m.prometheus;
  webhook = { port = 9095; log = "/var/lib/nixfleet-alert-webhook/alerts.jsonl"; };
  exporter = {
    services.prometheus.exporters.node = {
      enable = true;
      port = m.exporterPort;
      enabledCollectors = [ "textfile" ];
      extraFlags = [ "--collector.textfile.directory=${m.textfileDirectory}" ];
    };
    # Written by nixfleet verify (root), read by the exporter's own user.
    systemd.tmpfiles.directories = [ m.textfileDirectory ];
  };
  server = {
    services.prometheus = {
      enable = true;
      inherit (p) port;
      listenAddress = "0.0.0.0";
      inherit (monitoring) globalConfig alertmanagers;
      scrapeConfigs = monitoring.scrapeConfigs p.targets;
      rules = [ (builtins.toJSON monitoring.rules) ];
      alertmanager = {
        enable = true;
        listenAddress = "127.0.0.1";
        port = 9093;
        # No cluster: a single Alertmanager, which would otherwise listen on 9094 everywhere.
        extraFlags = [ "--cluster.listen-address=" ];
        configuration = {
          route = monitoring.route "webhook";
          receivers = [{
            name = "webhook";
            webhook_configs = [{ url = "http://127.0.0.1:${toString webhook.port}/"; send_resolved = true; }];
          }];
        };
      };
    };
    nixfleet.lab.alertWebhook = webhook;
  };
in
if m == null then { } else merge exporter (if p == null then { } else server)
