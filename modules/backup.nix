# restic (3-2-1): each job fleet.nix gives this host, once per repository (the NAS, offsite), on
# its tier's schedule, pruned to its retention (lib/fleet.nix works the instances out:
# documents-nas, documents-offsite, …). A failed run starts backup-alert@, which logs the
# failure at error priority (Prometheus/alerting pick it up from the journal).
{ config, lib, pkgs, fleetHost, ... }:
let
  inherit (lib) mkOption types;
  instances = fleetHost.backups;
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
        inherit (b) repository paths pruneOpts;
        passwordFile = config.sops.secrets.restic-password.path;
        initialize = true;
        timerConfig = { OnCalendar = b.schedule; Persistent = true; };
      }) instances;
    }
    {
      systemd.services = lib.mapAttrs' (name: _: lib.nameValuePair "restic-backups-${name}" {
        unitConfig.OnFailure = [ "backup-alert@%n.service" ];
      }) instances;
    }
    (lib.mkIf (instances != { }) {
      systemd.services."backup-alert@" = {
        description = "Alert: %i failed";
        serviceConfig.Type = "oneshot";
        script = "${pkgs.util-linux}/bin/logger -p user.err -t backup-alert \"$1 failed\"";
        scriptArgs = "%i";
      };
      sops.secrets.restic-password = { inherit (fleetHost.secrets.restic-password) owner group mode key; };
    })
  ];
}
