# Every lab host: identity, SSH, secrets material, and the backup-failure alert.
{ host, ... }:
{
  networking.hostName = host.name;
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
