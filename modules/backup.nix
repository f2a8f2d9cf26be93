# restic (3-2-1): each job fleet.nix gives this host, once per repository (the NAS, offsite), on
# its tier's schedule, pruned to its retention. A failed run starts backup-alert@, which logs
# the failure at error priority (Prometheus/alerting pick it up from the journal).
{ config, lib, pkgs, fleet, hostName, ... }:
let
  jobs = lib.filterAttrs (_: j: builtins.elem hostName j.hosts) fleet.backups;
  keep = j: lib.mapAttrsToList (period: n: "--keep-${period} ${toString n}") j.keep;
  # One restic job per (job, repository): "documents-nas", "documents-offsite".
  targets = j: lib.imap0 (i: repo: { name = if i == 0 then "nas" else "offsite"; inherit repo; }) j.repositories;
  instances = builtins.listToAttrs (builtins.concatLists (lib.mapAttrsToList (name: j:
    map (t: { name = "${name}-${t.name}"; value = j // { repository = t.repo; }; }) (targets j)) jobs));
in
{
  config = lib.mkMerge [
    {
      services.restic.backups = lib.mapAttrs (name: j: {
        repository = j.repository;
        paths = j.paths;
        passwordFile = config.sops.secrets.restic-password.path;
        initialize = true;
        timerConfig = { OnCalendar = j.schedule; Persistent = true; };
        pruneOpts = keep j;
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
      sops.secrets.restic-password = {
        owner = "root";
        mode = "0400";
        key = "${hostName}/restic-password";
      };
    })
  ];
}
