# Every lab host: identity, SSH, the firewall fleet.nix declares, its users (and the deploy user
# with passwordless sudo, as modules/deploy.nix declares it), Nix with its daemon, the programs
# on PATH, its sops secrets file, and the backup-failure alert.
{ fleet, fleetHost, ... }:
let
  inherit (builtins) concatLists concatStringsSep listToAttrs map;
  keysOf = u: fleet.users.${u}.sshKeys or [ ];
  allKeys = concatLists (map keysOf (builtins.attrNames (fleet.users or { })));
  deployUser = fleetHost.deployUser;
  asRoot = deployUser == "root";
  homeOf = user: if user == "root" then "/root" else "/home/${user}";
  pkiFiles = if builtins.pathExists ../pki then builtins.attrNames (builtins.readDir ../pki) else [ ];
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

  users.users = listToAttrs (map (u: {
    name = u;
    value = { isNormalUser = true; home = homeOf u; openssh.authorizedKeys.keys = keysOf u; };
  }) fleetHost.users)
  // (if asRoot then { } else {
    ${deployUser} = { isNormalUser = true; home = homeOf deployUser; openssh.authorizedKeys.keys = allKeys; };
  });

  # As NixOS: a non-interactive SSH session's PATH is the setuid wrappers, then the system path
  # (there through bash's /etc/bashrc and PAM's /etc/pam/environment; here sshd sets it). Root
  # may log in by key, except on a host deployed as a normal user (modules/deploy.nix).
  environment.etc."ssh/sshd_config.d/nixfleet-host.conf".text = ''
    SetEnv PATH=/run/wrappers/bin:/run/current-system/sw/bin
    PermitRootLogin ${if asRoot then "prohibit-password" else "no"}
  '';
  # git for the /etc/nixos checkout (programs.git.enable in modules/default.nix); Syncthing's
  # package where it runs (services.syncthing adds it). NixOS's own defaults: lib/system-path.nix.
  environment.systemPackages = [ "git" ] ++ (if fleetHost.syncthing == null then [ ] else [ "syncthing" ]);

  # security.sudo, as NixOS writes /etc/sudoers (no secure_path: sudo keeps the caller's PATH).
  security.wrappers.sudo.source = "/usr/bin/sudo";
  environment.etc.sudoers = {
    mode = "0440";
    text = concatStringsSep "\n" ([
      "Defaults env_keep+=SSH_AUTH_SOCK"
      "root ALL=(ALL:ALL) SETENV: ALL"
      "%wheel ALL=(ALL:ALL) SETENV: ALL"
    ] ++ (if asRoot then [ ] else [ "${deployUser} ALL=(ALL:ALL) NOPASSWD: ALL" ])) + "\n";
  };

  # Nix with its daemon, so that a deploy user nix-daemon trusts can copy closures in.
  environment.etc."nix/nix.conf".text = ''
    experimental-features = nix-command flakes
    sandbox = false
    build-users-group =
    substituters =
    flake-registry = /etc/nix/registry-empty.json
    trusted-users = root${if asRoot then "" else " ${deployUser}"}
  '';
  systemd.services.nix-daemon = {
    description = "Nix Daemon";
    wantedBy = [ "multi-user.target" ];
    serviceConfig = { ExecStart = "/usr/bin/nix-daemon"; KillMode = "process"; };
  };

  environment.etc."nixfleet/role".text = "${fleetHost.role}\n";

  # security.pki.certificateFiles, as NixOS builds /etc/ssl/certs/ca-certificates.crt from them.
  # The lab has no internet: the bundle is only the CAs of the lab's own services (pki/*.pem,
  # made by `nixfleet lab up`), such as the offsite repository's.
  security.pki.certificateFiles = map (f: ../pki + "/${f}") pkiFiles;
  environment.etc.${if pkiFiles == [ ] then null else "ssl/certs/ca-certificates.crt"}.text =
    builtins.concatStringsSep "" (map (f: builtins.readFile (../pki + "/${f}")) pkiFiles);

  # A failed backup raises an alert: restic units name this template in OnFailure=.
  systemd.services."nixfleet-alert@" = {
    description = "nixfleet: record the failure of %i";
    serviceConfig = {
      Type = "oneshot";
      ExecStart = "/bin/sh -c 'mkdir -p /var/lib/nixfleet/alerts && echo \"$(date -Is) %i failed\" >> /var/lib/nixfleet/alerts/log && logger -p user.err -t nixfleet-alert \"%i failed\"'";
    };
  };
}
