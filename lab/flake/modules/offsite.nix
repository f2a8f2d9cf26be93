# offsite: the lab's stand-in for offsite object storage (B2/S3), a service outside the fleet
# that nixfleet never deploys. A restic REST server, Debian's rclone (`rclone serve restic`):
# HTTPS with a certificate from a CA of its own (which the clients trust), htpasswd
# authentication, each client confined to its own directory (--private-repos), and append-only:
# a client may add snapshots and remove its own locks, never delete data. `nixfleet lab up` puts
# the key, certificate and htpasswd in /var/lib/offsite, on this host's disk only.
{ ... }:
{
  systemd.tmpfiles.directories = [ "/srv/offsite" ];
  systemd.services.offsite-restic = {
    description = "Offsite restic repositories (rclone serve restic, append-only)";
    wantedBy = [ "multi-user.target" ];
    after = [ "network.target" ];
    # rclone serves a local path: it needs no remote, so no config file.
    environment.RCLONE_CONFIG = "/var/lib/offsite/rclone.conf";
    serviceConfig = {
      ExecStart = builtins.concatStringsSep " " [
        "/usr/bin/rclone serve restic /srv/offsite --addr :443"
        "--append-only --private-repos --htpasswd /var/lib/offsite/htpasswd"
        "--cert /var/lib/offsite/cert.pem --key /var/lib/offsite/key.pem"
      ];
      Restart = "on-failure";
    };
  };
}
