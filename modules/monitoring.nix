# Monitoring (fleet.nix's `monitoring`): on every host, Prometheus's node exporter with its
# textfile collector, where `nixfleet verify` leaves the host's data-layer metrics; on the
# monitoring server, Prometheus scraping every host, the fleet's alert rules (lib/monitoring.nix,
# shared with the lab), Alertmanager mailing what fires, and Grafana with nixfleet's dashboard.
# The firewall opens the exporter's and Prometheus's ports (lib/fleet.nix's `ports`); Alertmanager
# and Grafana stay on loopback (ssh -L 3000:127.0.0.1:3000 server, or a Caddy site).
{ config, lib, pkgs, fleet, fleetHost, hostName, ... }:
let
  m = fleetHost.monitoring;
  p = m.prometheus;
  monitoring = import ../lib/monitoring.nix { inherit fleet; };
  alerts = fleet.monitoring.alerts;

  # Alerts by e-mail (fleet.nix's monitoring.alerts), per alert and host, and again when they
  # clear. The SMTP password is $SMTP_PASSWORD, from the sops environment file
  # below, which the module substitutes (envsubst) when Alertmanager starts: in no store path.
  alertmanagerConfig = {
    global = {
      smtp_smarthost = alerts.smarthost;
      smtp_from = alerts.from;
      smtp_auth_username = alerts.from;
      smtp_auth_password = "$SMTP_PASSWORD";
    };
    route = monitoring.route "owner";
    receivers = [{ name = "owner"; email_configs = [{ inherit (alerts) to; send_resolved = true; }]; }];
  };
  # Grafana's data source (this Prometheus) and nixfleet's dashboard, provisioned.
  datasource = {
    name = "Prometheus";
    uid = "prometheus";
    type = "prometheus";
    url = "http://127.0.0.1:${toString p.port}";
    isDefault = true;
  };
  dashboards = {
    name = "nixfleet";
    options.path = pkgs.linkFarm "nixfleet-dashboards" [
      { name = "nixfleet.json"; path = ./dashboards/nixfleet.json; }
    ];
  };
in
{
  config = lib.mkIf (m != null) (lib.mkMerge [
    {
      services.prometheus.exporters.node = {
        enable = true;
        port = m.exporterPort;
        enabledCollectors = [ "textfile" ];
        # Outside /home: the exporter runs with ProtectHome.
        extraFlags = [ "--collector.textfile.directory=${m.textfileDirectory}" ];
      };
      # Written by nixfleet verify as root, read by the exporter's own user.
      systemd.tmpfiles.rules = [ "d ${m.textfileDirectory} 0755 root root - -" ];

      # The exporter's port is open (allowedTCPPorts, from lib/fleet.nix) to monitoring.scrapeFrom
      # only: its own chain, put first in nixos-fw, refuses everyone else before the accept rule.
      networking.firewall.extraCommands = ''
        ip46tables -N nixfleet-metrics 2>/dev/null || ip46tables -F nixfleet-metrics
        ip46tables -A nixfleet-metrics -i lo -j RETURN
        ${lib.concatMapStrings (net: "${if lib.hasInfix ":" net then "ip6tables" else "iptables"} -w -A nixfleet-metrics -s ${net} -j RETURN\n") m.scrapeFrom}
        ip46tables -A nixfleet-metrics -j nixos-fw-refuse
        ip46tables -I nixos-fw 1 -p tcp --dport ${toString m.exporterPort} -j nixfleet-metrics
      '';
      networking.firewall.extraStopCommands = ''
        ip46tables -D nixos-fw -p tcp --dport ${toString m.exporterPort} -j nixfleet-metrics 2>/dev/null || true
        ip46tables -F nixfleet-metrics 2>/dev/null || true
        ip46tables -X nixfleet-metrics 2>/dev/null || true
      '';
    }
    (lib.mkIf (p != null) {
      services.prometheus = {
        enable = true;
        inherit (p) port;
        inherit (monitoring) globalConfig alertmanagers;
        scrapeConfigs = monitoring.scrapeConfigs p.targets;
        # promtool checks them at build time (checkConfig); make test unit-tests every rule.
        rules = [ (builtins.toJSON monitoring.rules) ];
      };

      services.prometheus.alertmanager = {
        enable = true;
        listenAddress = "127.0.0.1";
        port = 9093;
        # One Alertmanager, no cluster: nothing listens on 9094.
        extraFlags = [ "--cluster.listen-address=" ];
        environmentFile = config.sops.secrets.alertmanager-smtp.path;
        configuration = alertmanagerConfig;
      };
      sops.secrets.alertmanager-smtp = { owner = "root"; group = "root"; mode = "0400"; key = "${hostName}/alertmanager-smtp"; };

      services.grafana = {
        enable = true;
        settings.server = { http_addr = "127.0.0.1"; http_port = 3000; };
        provision = {
          enable = true;
          datasources.settings.datasources = [ datasource ];
          dashboards.settings.providers = [ dashboards ];
        };
      };
    })
  ]);
}
