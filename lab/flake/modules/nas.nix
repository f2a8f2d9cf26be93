# nas: the backup target. Clients reach its repositories over SFTP as root; the lab keeps the
# offsite copy here too, in a directory of its own (lab.json's `repositories`).
{ ... }:
{
  systemd.tmpfiles.directories = [ "/srv/restic" "/srv/offsite" ];
}
