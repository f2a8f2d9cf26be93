# services.prometheus (its exporters and Alertmanager) → systemd units, as nixpkgs'
# nixos/modules/services/monitoring/prometheus/{default,alertmanager}.nix and
# exporters/node.nix make them: the same flags, a config file in the store, state under
# /var/lib (prometheus2, alertmanager), and none of them root. Here each runs as a DynamicUser,
# as NixOS's Alertmanager does (NixOS gives Prometheus and the node exporter static users,
# prometheus and node-exporter, which the lab would have to add to every host). Binaries are
# Debian's, from the lab's /usr (there is no nixpkgs). NixOS renders Alertmanager's
# configuration through envsubst first; the lab's has no variable in it.
{ config, ... }:
let
  inherit (builtins) concatStringsSep map toFile toJSON;
  prom = config.services.prometheus or { };
  node = prom.exporters.node or { enable = false; };
  am = prom.alertmanager or { enable = false; };
  hook = config.nixfleet.lab.alertWebhook or null;
  # JSON is YAML: Prometheus and Alertmanager read these as NixOS writes them (from toJSON too).
  rules = map (r: toFile "prometheus.rules" r) (prom.rules or [ ]);
  prometheusYml = toFile "prometheus.yml" (toJSON {
    global = prom.globalConfig or { };
    scrape_configs = prom.scrapeConfigs or [ ];
    rule_files = rules;
    alerting.alertmanagers = prom.alertmanagers or [ ];
  });
  alertmanagerYml = toFile "alertmanager.yml" (toJSON am.configuration);
  hardened = {
    DynamicUser = true;
    ProtectHome = true;
    ProtectSystem = "strict";
    PrivateTmp = true;
    NoNewPrivileges = true;
    Restart = "always";
  };
in
{
  systemd.services =
    (if !(node.enable or false) then { } else {
      prometheus-node-exporter = {
        description = "Prometheus exporter for machine metrics";
        wantedBy = [ "multi-user.target" ];
        after = [ "network.target" ];
        serviceConfig = hardened // {
          ExecStart = concatStringsSep " " ([ "/usr/bin/prometheus-node-exporter" ]
            ++ map (c: "--collector.${c}") (node.enabledCollectors or [ ])
            ++ [ "--web.listen-address=${node.listenAddress or "0.0.0.0"}:${toString node.port}" ]
            ++ node.extraFlags or [ ]);
        };
      };
    })
    // (if !(prom.enable or false) then { } else {
      prometheus = {
        description = "Prometheus monitoring system and time series database";
        wantedBy = [ "multi-user.target" ];
        after = [ "network.target" ];
        serviceConfig = hardened // {
          ExecStart = "/usr/bin/prometheus --config.file=${prometheusYml} --storage.tsdb.path=/var/lib/prometheus2/data/ --web.listen-address=${prom.listenAddress}:${toString prom.port}";
          StateDirectory = "prometheus2";
          WorkingDirectory = "/var/lib/prometheus2";
        };
      };
    })
    // (if !(am.enable or false) then { } else {
      alertmanager = {
        description = "Prometheus Alertmanager";
        wantedBy = [ "multi-user.target" ];
        after = [ "network.target" ];
        serviceConfig = hardened // {
          ExecStart = concatStringsSep " " ([
            "/usr/bin/prometheus-alertmanager --config.file=${alertmanagerYml}"
            "--web.listen-address=${am.listenAddress}:${toString am.port} --storage.path=/var/lib/alertmanager"
          ] ++ am.extraFlags or [ ]);
          StateDirectory = "alertmanager";
        };
      };
    })
    // (if hook == null then { } else {
      nixfleet-alert-webhook = {
        description = "nixfleet lab: record the alerts Alertmanager sends";
        wantedBy = [ "multi-user.target" ];
        after = [ "network.target" ];
        serviceConfig = hardened // {
          ExecStart = "/usr/bin/python3 ${../lib/alert-webhook.py} ${toString hook.port} ${hook.log}";
          StateDirectory = "nixfleet-alert-webhook";
        };
      };
    });
}
