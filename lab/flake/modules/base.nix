# Every lab host: identity, SSH, its sops secrets file, and the backup-failure alert.
{ host, ... }:
{
  networking.hostName = host.name;
  # sops-nix: the fleet's encrypted secrets (made by `nixfleet lab up`, encrypted to an admin key
  # and each host's age key). Each secret's `key` selects its value: this host's, by name.
  sops.defaultSopsFile = if builtins.pathExists ../secrets.yaml then ../secrets.yaml else null;
  sops.age.keyFile = "/var/lib/sops-nix/key.txt";
  networking.firewall.allowedTCPPorts = [ 22 ];
  services.openssh.enable = true;

  environment.etc."nixfleet/role".text = "${builtins.concatStringsSep " " host.groups}\n";

  # A failed backup raises an alert: restic units name this template in OnFailure=.
  systemd.services."nixfleet-alert@" = {
    description = "nixfleet: record the failure of %i";
    serviceConfig = {
      Type = "oneshot";
      ExecStart = "/bin/sh -c 'mkdir -p /var/lib/nixfleet/alerts && echo \"$(date -Is) %i failed\" >> /var/lib/nixfleet/alerts/log && logger -p user.err -t nixfleet-alert \"%i failed\"'";
    };
  };
}
