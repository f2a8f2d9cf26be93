# offsite: the lab's stand-in for offsite object storage (B2/S3), a service outside the fleet
# that nixfleet never deploys. A restic REST server, Debian's rclone (`rclone serve restic`):
# HTTPS with a certificate from a CA of its own (which the clients trust), htpasswd
# authentication, each client confined to its own directory (--private-repos), and append-only:
# a client may add snapshots and remove its own locks, never delete data. A second endpoint
# (:8443, its own htpasswd) holds the one key that may delete: the host that applies the
# retention (fleet.nix's appendOnly) prunes through it. `nixfleet lab up` puts the key,
# certificate and htpasswd files in /var/lib/offsite, on this host's disk only.
{ ... }:
{
  systemd.tmpfiles.directories = [ "/srv/offsite" ];
  systemd.services = let
    serve = description: flags: {
      inherit description;
      wantedBy = [ "multi-user.target" ];
      after = [ "network.target" ];
      # rclone serves a local path: it needs no remote, so no config file.
      environment.RCLONE_CONFIG = "/var/lib/offsite/rclone.conf";
      serviceConfig = {
        ExecStart = builtins.concatStringsSep " " ([ "/usr/bin/rclone serve restic /srv/offsite" ] ++ flags
          ++ [ "--cert /var/lib/offsite/cert.pem --key /var/lib/offsite/key.pem" ]);
        Restart = "on-failure";
      };
    };
  in {
    offsite-restic = serve "Offsite restic repositories for the clients (append-only)"
      [ "--addr :443 --append-only --private-repos --htpasswd /var/lib/offsite/htpasswd" ];
    offsite-restic-maintenance = serve "Offsite restic repositories for their retention (may delete)"
      [ "--addr :8443 --htpasswd /var/lib/offsite/htpasswd-maintenance" ];
  };
}
