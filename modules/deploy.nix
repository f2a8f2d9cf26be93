# How nixfleet reaches a host, by the fleet users' keys only (the SSH settings in default.nix
# refuse passwords): as root, or, for a host with `deployUser` in fleet.nix (the vps), as that
# normal user with passwordless sudo, with root login over SSH refused. nixfleet then runs every
# remote step with sudo (use_remote_sudo), and copies closures as that user, which nix-daemon
# must trust (nix.settings.trusted-users) to accept paths that are not signed.
{ lib, fleet, fleetHost, ... }:
let
  keys = builtins.concatLists (map (u: u.sshKeys) (builtins.attrValues fleet.users));
  user = fleetHost.deployUser;
in
if user == "root" then {
  users.users.root.openssh.authorizedKeys.keys = keys;
} else {
  users.users.${user} = {
    isNormalUser = true;
    description = "nixfleet deployments";
    openssh.authorizedKeys.keys = keys;
  };
  security.sudo.extraRules = [{
    users = [ user ];
    commands = [{ command = "ALL"; options = [ "NOPASSWD" ]; }];
  }];
  nix.settings.trusted-users = [ "root" user ];
  services.openssh.settings.PermitRootLogin = lib.mkForce "no";
}
