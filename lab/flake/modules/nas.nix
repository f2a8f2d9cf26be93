# nas: the backup target. Clients reach /srv/restic over SFTP as root.
{ ... }:
{
  systemd.tmpfiles.directories = [ "/srv/restic" ];
}
