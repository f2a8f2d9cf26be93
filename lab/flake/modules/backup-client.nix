# Helpers for restic jobs that back up to the nas over SFTP, following the user's schedule:
# `schedule` is the declared OnCalendar (daily, weekly) and `keep` how long snapshots are kept.
{
  job = { name, paths, schedule, keep }: {
    services.restic.backups.${name} = {
      repository = "sftp:root@nas:/srv/restic/${name}";
      inherit paths;
      passwordFile = "/run/secrets/restic-password";
      initialize = true;
      # The lab shortens the timers (OnBootSec, OnUnitInactiveSec) so backups really run
      # during a demo; the declared schedule, OnCalendar, is what freshness is judged against.
      timerConfig = { OnCalendar = schedule; Persistent = true; OnBootSec = "3s"; OnUnitInactiveSec = "1h"; };
      pruneOpts = [ "--keep-within ${keep}" ];
    };
  };
  secret = {
    sops.secrets."restic-password" = { owner = "root"; group = "root"; mode = "0400"; };
  };
}
