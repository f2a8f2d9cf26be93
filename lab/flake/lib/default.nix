# nixosSystem for the lab: merge a host's modules, then derive its toplevel from the result.
{ self, fleet, overrides }:
let
  inherit (import ./merge.nix) merge all;
  byName = builtins.listToAttrs (map (h: { name = h.name; value = h; }) fleet.hosts);
  roleModules = {
    desktop = [ ../modules/workstation.nix ];
    laptop = [ ../modules/workstation.nix ];
    server = [ ../modules/server.nix ];
    vps = [ ../modules/vps.nix ];
    nas = [ ../modules/nas.nix ];
  };

  nixosSystem = host:
    let
      args = { inherit host byName; };
      modules = [ ../modules/base.nix ../modules/restic.nix ../modules/syncthing-units.nix
                  ../modules/notebooks.nix ] ++ (roleModules.${host.name} or [ ]);
      hostOverrides = overrides.${host.name} or { };
      declared = all ((map (m: import m args) (builtins.filter (m: !(isUnitModule m)) modules))
        ++ [ (hostOverrides.settings or { }) ]);
      withUnits = all ([ declared ]
        ++ map (m: import m (args // { config = declared; })) (builtins.filter isUnitModule modules));
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
      config = merge config { system.build.toplevel = import ./toplevel.nix { inherit config; }; };
    };
  isUnitModule = m: builtins.elem m [ ../modules/restic.nix ../modules/syncthing-units.nix ../modules/notebooks.nix ];
in
{ inherit nixosSystem; }
