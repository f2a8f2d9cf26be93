# nas: the backup target. The restic repositories live under /srv/restic, written over sftp by
# the user `restic`, which only the fleet's hosts' keys can log in as.
{ fleet, ... }:
{
  imports = [ ./hardware-configuration.nix ];
  users.users.restic = {
    isSystemUser = true;
    group = "restic";
    home = "/srv/restic";
    createHome = true;
    shell = "/run/current-system/sw/bin/nologin";
    openssh.authorizedKeys.keys = builtins.concatLists (map (u: u.sshKeys) (builtins.attrValues fleet.users));
  };
  users.groups.restic = { };
  system.stateVersion = "25.11";
}
