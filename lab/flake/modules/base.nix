# Every lab host: identity, SSH, the firewall fleet.nix declares, its users, its sops secrets
# file, and the backup-failure alert.
{ fleetHost, ... }:
let
  inherit (builtins) attrValues concatMap listToAttrs map;
  homeOf = user: if user == "root" then "/root" else "/home/${user}";
  owned = user: path: { inherit path user; };
  # What the apps and Syncthing would create on NixOS: the declared folders and backed-up paths.
  folderDirs = if fleetHost.syncthing == null then [ ]
    else map (f: owned fleetHost.syncthing.user f.path) (attrValues fleetHost.syncthing.folders);
  underHome = p: builtins.match "${fleetHost.home}/.*" p != null;
  backupDirs = concatMap (b: map (p: owned (if underHome p then fleetHost.user else "root") p) b.paths)
    (attrValues fleetHost.backups);
in
{
  networking.hostName = fleetHost.hostName;
  # sops-nix: the fleet's encrypted secrets (made by `nixfleet lab up`, encrypted to an admin key
  # and each host's age key). Each secret's `key` selects its value: this host's, by name.
  sops.defaultSopsFile = if builtins.pathExists ../secrets.yaml then ../secrets.yaml else null;
  sops.age.keyFile = "/var/lib/sops-nix/key.txt";
  # As on NixOS: services.openssh.openFirewall adds 22 to what the host declares.
  networking.firewall.allowedTCPPorts = [ 22 ] ++ fleetHost.ports.tcp;
  networking.firewall.allowedUDPPorts = fleetHost.ports.udp;
  services.openssh.enable = true;

  users.users = listToAttrs (map (u: { name = u; value = { isNormalUser = true; home = homeOf u; }; }) fleetHost.users);
  systemd.tmpfiles.directories = map (d: if d.user == "root" then d.path else d) (folderDirs ++ backupDirs);

  environment.etc."nixfleet/role".text = "${fleetHost.role}\n";

  # A failed backup raises an alert: restic units name this template in OnFailure=.
  systemd.services."nixfleet-alert@" = {
    description = "nixfleet: record the failure of %i";
    serviceConfig = {
      Type = "oneshot";
      ExecStart = "/bin/sh -c 'mkdir -p /var/lib/nixfleet/alerts && echo \"$(date -Is) %i failed\" >> /var/lib/nixfleet/alerts/log && logger -p user.err -t nixfleet-alert \"%i failed\"'";
    };
  };
}
