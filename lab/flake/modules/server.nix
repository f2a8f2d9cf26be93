# server: Immich and Jellyfin (their data and state), a Syncthing peer, weekly media and daily state backups.
args@{ host, ... }:
let backup = import ./backup-client.nix;
in
(import ../lib/merge.nix).all [
  {
    networking.firewall.allowedTCPPorts = [ 443 ];
    users.users.syncthing = { isSystemUser = true; home = "/var/lib/syncthing"; };
    systemd.tmpfiles.directories = [ "/srv/media/photos" "/srv/media/videos" "/var/lib/immich" "/var/lib/jellyfin" ];
  }
  (import ./syncthing.nix (args // { user = "syncthing"; dataDir = "/var/lib/syncthing"; documents = "/var/lib/syncthing/documents"; }))
  (backup.job { name = "server-media"; paths = [ "/srv/media" ]; schedule = "weekly"; keep = "90d"; })
  (backup.job { name = "server-state"; paths = [ "/var/lib/immich" "/var/lib/jellyfin" ]; schedule = "daily"; keep = "14d"; })
  backup.secret
]
