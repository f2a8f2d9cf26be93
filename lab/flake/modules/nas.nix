# nas: the local backup target. Clients reach its repositories over SFTP as root (lab.json's
# `repositories`); the offsite copy is on the offsite host (offsite.nix).
{ ... }:
{
  systemd.tmpfiles.directories = [ "/srv/restic" ];
}
