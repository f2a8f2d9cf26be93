# nixosSystem for the lab: a host's declarations from fleet data (lib/fleet.nix, shared with the
# real modules), merged with its role's stand-in services, then its toplevel derived from them.
{ self, fleet, fleetLib, rebuildScript, overrides }:
let
  inherit (import ./merge.nix) merge all;
  roleModules = {
    workstation = [ ];
    server = [ ];
    vps = [ ../modules/forgejo.nix ];
    nas = [ ../modules/nas.nix ];
    generic = [ ];
  };
  unitModules = [ ../modules/restic.nix ../modules/syncthing-units.nix ../modules/notebooks.nix ];

  nixosSystem = hostName:
    let
      fleetHost = fleetLib { inherit fleet hostName; };
      args = { inherit fleet fleetHost; };
      modules = [ ../modules/base.nix ../modules/data.nix ] ++ roleModules.${fleetHost.role};
      hostOverrides = overrides.${hostName} or { };
      declared = all ((map (m: import m args) modules) ++ [ (hostOverrides.settings or { }) ]);
      withUnits = all ([ declared ] ++ map (m: import m (args // { config = declared; })) unitModules);
      config = merge withUnits {
        # From the flake's git revision. Deliberately kept out of the toplevel, so a commit that
        # changes one host does not change every host's closure.
        system.configurationRevision = self.rev or "dirty";
        system.nixos.version = "24.11.lab";
        nixfleet.lab.faults = hostOverrides.faults or [ ];
        nixfleet.lab.bench = hostOverrides.bench or null;
      };
    in
    {
      config = merge config {
        system.build.toplevel = import ./toplevel.nix { inherit config; };
        system.build.nixos-rebuild = nixosRebuild;
      };
    };
  nixosRebuild = derivation {
    name = "nixos-rebuild-lab";
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ "-c" "PATH=/usr/bin:/bin; mkdir -p $out/bin && cp ${rebuildScript} $out/bin/nixos-rebuild && chmod 0555 $out/bin/nixos-rebuild" ];
  };
in
{ inherit nixosSystem; }
