# How nixfleet reaches every host: root over SSH, by the fleet users' keys only (the SSH
# settings in default.nix refuse passwords).
{ fleet, ... }:
{
  users.users.root.openssh.authorizedKeys.keys =
    builtins.concatLists (map (u: u.sshKeys) (builtins.attrValues fleet.users));
}
