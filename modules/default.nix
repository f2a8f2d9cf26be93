# Shared by every host: users, SSH with keys only, a firewall that opens only what the host
# declares in fleet.nix, Nix, git, secrets, and the data-layer and monitoring modules.
{ config, lib, fleet, fleetHost, hostName, ... }:
let
  me = fleet.hosts.${hostName};
in
{
  imports = [ ./deploy.nix ./nb.nix ./syncthing.nix ./backup.nix ./monitoring.nix ../home ];

  networking.hostName = hostName;

  users.users = lib.genAttrs me.users (name: {
    isNormalUser = true;
    description = fleet.users.${name}.fullName;
    extraGroups = [ "wheel" ];
    openssh.authorizedKeys.keys = fleet.users.${name}.sshKeys;
  });

  services.openssh = {
    enable = true;
    settings = {
      PasswordAuthentication = false;
      KbdInteractiveAuthentication = false;
      PermitRootLogin = "prohibit-password";
    };
  };

  # Only what fleet.nix says this host exposes (SSH is opened by services.openssh.openFirewall,
  # which defaults to true).
  networking.firewall = {
    enable = true;
    allowedTCPPorts = fleetHost.ports.tcp;
    allowedUDPPorts = fleetHost.ports.udp;
  };

  nix.settings.experimental-features = [ "nix-command" "flakes" ];
  nix.gc = { automatic = true; options = "--delete-older-than 30d"; };

  # push_flake keeps the flake's revision in /etc/nixos as a git checkout.
  programs.git.enable = true;

  sops.defaultSopsFile = ../secrets/secrets.yaml;
  # Each host's age identity, made when the host is added (its recipient is in .sops.yaml).
  sops.age.keyFile = "/var/lib/sops-nix/key.txt";
}
