# services.restic.backups.<name> → restic-backups-<name>.{service,timer}, as NixOS's restic module
# makes them (nixos/modules/services/backup/restic.nix in nixpkgs), plus OnFailure= so that a failed backup raises an alert.
{ config, labTools, ... }:
let
  backups = config.services.restic.backups or { };
  # As NixOS: with no paths (and no dynamicFilesFrom) the job does not back up, only prunes.
  doBackup = b: (b.paths or [ ]) != [ ];
  unit = name: b: {
    "restic-backups-${name}" = {
      description = "restic backup ${name}";
      after = [ "network-online.target" ];
      onFailure = [ "nixfleet-alert@%n.service" ];
      restartIfChanged = false;
      # As NixOS: RESTIC_REPOSITORY and RESTIC_REPOSITORY_FILE from whichever is set (restic
      # refuses both), and environmentFile as EnvironmentFile=.
      environment = {
        RESTIC_PASSWORD_FILE = b.passwordFile;
        RESTIC_CACHE_DIR = "/var/cache/restic-backups-${name}";
      } // (if b.repository or null == null then { } else { RESTIC_REPOSITORY = b.repository; })
        // (if b.repositoryFile or null == null then { } else { RESTIC_REPOSITORY_FILE = b.repositoryFile; });
      serviceConfig = {
        Type = "oneshot";
        ${if b.environmentFile or null == null then null else "EnvironmentFile"} = b.environmentFile;
        RuntimeDirectory = "restic-backups-${name}";
        CacheDirectory = "restic-backups-${name}";
        CacheDirectoryMode = "0700";
        ExecStartPre = (if doBackup b then [
          "${labTools}/bin/write-lines /run/restic-backups-${name}/includes ${builtins.concatStringsSep " " b.paths}"
        ] else [ ]) ++ (if b.initialize or false
              then [ "/bin/sh -c '/usr/bin/restic cat config >/dev/null 2>&1 || /usr/bin/restic init'" ] else [ ]);
        ExecStart = (if doBackup b then [ "/usr/bin/restic backup --files-from=/run/restic-backups-${name}/includes" ] else [ ])
          ++ (if b.pruneOpts or [ ] != [ ]
              then [ "/usr/bin/restic unlock" "/usr/bin/restic forget --prune ${builtins.concatStringsSep " " b.pruneOpts}" ]
              else [ ]);
      };
    };
  };
  timer = name: b: {
    "restic-backups-${name}" = {
      wantedBy = [ "timers.target" ];
      timerConfig = b.timerConfig;
    };
  };
  mapJobs = f: builtins.foldl' (a: b: a // b) { } (builtins.attrValues (builtins.mapAttrs f backups));
in
{
  systemd.services = mapJobs unit;
  systemd.timers = mapJobs (name: b: if b.timerConfig or null == null then { } else timer name b);
}
