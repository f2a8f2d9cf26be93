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
  # A daemon of its own, started at boot, hardened as the NixOS modules harden theirs; its state
  # (if any) under /var/lib/<stateDirectory>.
  daemon = name: enabled: description: argv: stateDirectory: if !enabled then { } else {
    ${name} = {
      inherit description;
      wantedBy = [ "multi-user.target" ];
      after = [ "network.target" ];
      serviceConfig = {
        ExecStart = concatStringsSep " " argv;
        DynamicUser = true;
        ProtectHome = true;
        ProtectSystem = "strict";
        PrivateTmp = true;
        NoNewPrivileges = true;
        Restart = "always";
      } // (if stateDirectory == null then { } else {
        StateDirectory = stateDirectory;
        WorkingDirectory = "/var/lib/${stateDirectory}";
      });
    };
  };
in
{
  systemd.services =
    daemon "prometheus-node-exporter" (node.enable or false) "Prometheus exporter for machine metrics"
      ([ "/usr/bin/prometheus-node-exporter" ]
        ++ map (c: "--collector.${c}") (node.enabledCollectors or [ ])
        ++ [ "--web.listen-address=${node.listenAddress or "0.0.0.0"}:${toString node.port}" ]
        ++ node.extraFlags or [ ])
      null
    // daemon "prometheus" (prom.enable or false) "Prometheus monitoring system and time series database"
      [ "/usr/bin/prometheus --config.file=${prometheusYml} --storage.tsdb.path=/var/lib/prometheus2/data/"
        "--web.listen-address=${prom.listenAddress or "0.0.0.0"}:${toString (prom.port or 9090)}" ]
      "prometheus2"
    // daemon "alertmanager" (am.enable or false) "Prometheus Alertmanager"
      ([ "/usr/bin/prometheus-alertmanager --config.file=${alertmanagerYml}"
         "--web.listen-address=${am.listenAddress or ""}:${toString (am.port or 9093)} --storage.path=/var/lib/alertmanager" ]
        ++ am.extraFlags or [ ])
      "alertmanager"
    // daemon "nixfleet-alert-webhook" (hook != null) "nixfleet lab: record the alerts Alertmanager sends"
      [ "/usr/bin/python3 ${../lib/alert-webhook.py}" (toString hook.port) hook.log ]
      "nixfleet-alert-webhook";
}
