# vps: stands in for Forgejo, holding the notebooks' bare git remotes; its state is backed up daily.
{ host, ... }:
let backup = import ./backup-client.nix;
in
(import ../lib/merge.nix).all [
  {
    networking.firewall.allowedTCPPorts = [ 443 ];
    nixfleet.gitRemotes = [ "/srv/git/notebooks/home.git" ];
    systemd.tmpfiles.directories = [ "/var/lib/forgejo" ];
  }
  (backup.job { name = "vps-state"; paths = [ "/var/lib/forgejo" "/srv/git" ]; schedule = "daily"; keep = "14d"; })
  backup.secret
]
