# restic (3-2-1): each job fleet.nix gives this host, once per repository (the NAS, offsite), on
# its tier's schedule, pruned to its retention (lib/fleet.nix works the instances out:
# documents-nas, documents-offsite, …). A failed run starts backup-alert@, which logs the
# failure at error priority (Prometheus/alerting pick it up from the journal).
{ config, lib, pkgs, fleetHost, ... }:
let
  inherit (lib) mkOption types;
  instances = fleetHost.backups;
  # nixfleet's restore drill (nixfleet/drill.py), the very program `nixfleet drill` runs: restores
  # a sample into a private directory, compares it with the live files, reads a rotating tenth of
  # the data, and leaves the outcome in /var/lib/nixfleet/drills for backup.restore-drill.
  drill = pkgs.writeShellScript "nixfleet-restore-drill" (lib.concatMapStrings builtins.readFile [
    ../nixfleet/probes/lib.sh
    ../nixfleet/areas/restic-unit.sh
    ../nixfleet/areas/drill.sh
  ]);
in
{
  # nixfleet's backup.3-2-1 check reads which medium each instance's repository is on.
  options.nixfleet.backups = mkOption {
    description = "Each restic instance's copy, for the 3-2-1 rule.";
    default = { };
    type = types.attrsOf (types.submodule {
      options.media = mkOption {
        type = types.enum [ "local" "offsite" ];
        description = "The medium the instance's repository is on.";
      };
    });
  };

  config = lib.mkMerge [
    { nixfleet.backups = lib.mapAttrs (_: b: { inherit (b) media; }) instances; }
    {
      services.restic.backups = lib.mapAttrs (_: b: {
        # pruneOpts is empty where the repository is append-only for clients (the offsite one).
        inherit (b) repository paths pruneOpts;
        passwordFile = config.sops.secrets.restic-password.path;
        # The offsite bucket's key for this host (AWS_ACCESS_KEY_ID=…, AWS_SECRET_ACCESS_KEY=…).
        environmentFile = if b.credentials == null then null else config.sops.secrets.${b.credentials}.path;
        initialize = true;
        timerConfig = { OnCalendar = b.schedule; Persistent = true; };
      }) instances;
    }
    {
      # Where the clients may only append (offsite), this host applies each job's retention:
      # prune-only jobs (no paths), with the client's password and the bucket's maintenance key.
      services.restic.backups = lib.mapAttrs (_: r: {
        inherit (r) repository pruneOpts;
        paths = [ ];
        passwordFile = config.sops.secrets.${r.password}.path;
        environmentFile = if r.credentials == null then null else config.sops.secrets.${r.credentials}.path;
        timerConfig = { OnCalendar = r.schedule; Persistent = true; };
      }) fleetHost.retention;
    }
    {
      systemd.services = lib.mapAttrs' (name: _: lib.nameValuePair "restic-backups-${name}" {
        unitConfig.OnFailure = [ "backup-alert@%n.service" ];
      }) (instances // fleetHost.retention);
    }
    (lib.mkIf (instances // fleetHost.retention != { }) {
      systemd.services."backup-alert@" = {
        description = "Alert: %i failed";
        serviceConfig.Type = "oneshot";
        script = "${pkgs.util-linux}/bin/logger -p user.err -t backup-alert \"$1 failed\"";
        scriptArgs = "%i";
      };
    })
    (lib.mkIf (fleetHost.retention != { }) {
      sops.secrets = lib.mapAttrs (_: s: { inherit (s) owner group mode key; })
        (lib.filterAttrs (name: _: lib.any (r: r.password == name || r.credentials == name)
          (lib.attrValues fleetHost.retention)) fleetHost.secrets);
    })
    (lib.mkIf (instances != { }) {
      # A weekly restore drill of every job, between nixfleet's own runs (drill_max_age is 7 days).
      systemd.services.nixfleet-restore-drill = {
        description = "nixfleet restore drill of every backup job";
        path = [ pkgs.coreutils pkgs.findutils pkgs.gnugrep pkgs.gnused pkgs.openssh pkgs.systemd ];
        serviceConfig.Type = "oneshot";
        script = lib.concatStrings (lib.mapAttrsToList (name: b:
          "${drill} ${lib.escapeShellArgs ([ name "5" "10" "/var/lib/nixfleet/drills" ] ++ b.paths)} >/dev/null\n")
          instances);
      };
      systemd.timers.nixfleet-restore-drill = {
        wantedBy = [ "timers.target" ];
        timerConfig = { OnCalendar = "weekly"; Persistent = true; RandomizedDelaySec = "1h"; };
      };
      sops.secrets = lib.mapAttrs (_: s: { inherit (s) owner group mode key; })
        (lib.filterAttrs (name: _: name == "restic-password" || lib.any (b: b.credentials == name) (lib.attrValues instances))
          fleetHost.secrets);
    })
  ];
}
