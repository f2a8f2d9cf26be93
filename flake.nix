# The fleet's NixOS configuration: five hosts from one flake, their data from ./fleet.nix.
#
#   nixfleet check --flake .      # the first command on a real machine (then: nix flake lock)
#   pyinfra inventory/home.py deploys/all.py
#
# flake.lock cannot be made on an offline machine; `nix flake lock` writes it on the first
# online run, and from then on every host builds from the same pinned inputs.
{
  description = "A personal NixOS fleet: desktop, laptop, home server, VPS and NAS";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";
    home-manager = {
      url = "github:nix-community/home-manager/release-25.11";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    sops-nix = {
      url = "github:Mic92/sops-nix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs = { self, nixpkgs, home-manager, sops-nix }:
    let
      fleet = import ./fleet.nix;
      host = hostName: nixpkgs.lib.nixosSystem {
        # fleetHost: what fleet.nix declares for this host (lib/fleet.nix), shared with the lab.
        specialArgs = { inherit fleet hostName; fleetHost = import ./lib/fleet.nix { inherit fleet hostName; }; };
        modules = [
          ./hosts/${hostName}/configuration.nix
          ./modules
          sops-nix.nixosModules.sops
          home-manager.nixosModules.home-manager
          { system.configurationRevision = self.rev or null; }
        ];
      };
    in
    {
      nixosConfigurations = builtins.mapAttrs (name: _: host name) fleet.hosts;
    };
}
