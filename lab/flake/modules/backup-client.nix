# Helpers for restic jobs that back up to the nas over SFTP, following the user's schedule.
{
  job = { name, paths, schedule, keep }: {
    services.restic.backups.${name} = {
      repository = "sftp:root@nas:/srv/restic/${name}";
      inherit paths;
      passwordFile = "/run/secrets/restic-password";
      initialize = true;
      timerConfig = { OnCalendar = schedule; Persistent = true; };
      pruneOpts = [ "--keep-within ${keep}" ];
    };
  };
  secret = {
    sops.secrets."restic-password" = { owner = "root"; group = "root"; mode = "0400"; };
  };
}
