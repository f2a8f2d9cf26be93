# The lab's fleet: a flake with no inputs that stands in for the user's NixOS configuration repo.
#
# There is no nixpkgs and no NixOS module system here (the lab has no internet). Each host's
# `config` is a plain attribute set that uses the same option paths as NixOS
# (services.syncthing.settings, services.restic.backups, sops.secrets, …), so the `nix eval`
# queries nixfleet runs work unchanged on a real NixOS flake. `system.build.toplevel` is a real
# derivation built from those declarations: /etc files, systemd units, and a
# switch-to-configuration that honours the NixOS contract (lib/switch-to-configuration.sh).
{
  outputs = { self }:
    let
      fleet = builtins.fromJSON (builtins.readFile ./hosts.json);
      overrides =
        if builtins.pathExists ./overrides.json
        then builtins.fromJSON (builtins.readFile ./overrides.json)
        else { };
      lib = import ./lib { inherit self fleet overrides; };
    in
    {
      nixosConfigurations = builtins.listToAttrs (map
        (host: { name = host.name; value = lib.nixosSystem host; })
        fleet.hosts);
    };
}
