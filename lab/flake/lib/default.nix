# nixosSystem for the lab: a host's declarations from fleet data (lib/fleet.nix, shared with the
# real modules), merged with its role's stand-in services, then its toplevel derived from them.
# installedSystem is what the host was installed with, before nixfleet's first deploy: only
# base.nix (identity, SSH, users, the deploy user and sudo, nix-daemon), as a user installs a
# minimal NixOS with their own user and SSH, then deploys the rest; a NAS also has its storage
# (nas.nix), which exists before any client backs up to it. A service host (the offsite
# repository's stand-in) is installed with its service and never deployed.
{ self, fleet, fleetLib, monitoring, rebuildScript, overrides }:
let
  inherit (import ./merge.nix) merge all;
  roleModules = {
    workstation = [ ];
    server = [ ];
    vps = [ ../modules/forgejo.nix ];
    nas = [ ../modules/nas.nix ];
    generic = [ ];
    service = [ ../modules/offsite.nix ];
  };
  installedModules = { nas = [ ../modules/nas.nix ]; service = [ ../modules/offsite.nix ]; };
  # A lab host that stands in for a service outside the fleet (lab.json's `services`: the
  # offsite repository): identity, SSH and Nix from base.nix, and its service; no fleet data.
  serviceHost = hostName: {
    inherit hostName;
    role = "service";
    deployUser = "root";
    users = [ ];
    syncthing = null;
    ports = { tcp = [ 443 8443 ]; udp = [ ]; };
  };
  unitModules = [ ../modules/restic.nix ../modules/syncthing-units.nix ../modules/notebooks.nix
    ../modules/prometheus-units.nix ];

  # The lab's own programs (lib/bin), one store path that units name, as NixOS units name the
  # store paths of their scripts.
  labTools = derivation {
    name = "nixfleet-lab-tools";
    system = "x86_64-linux";
    builder = "/bin/sh";
    src = ./bin;
    args = [ "-c" "PATH=/usr/bin:/bin; mkdir -p $out/bin && cp $src/* $out/bin/ && chmod 0555 $out/bin/*" ];
  };

  system = { hostName, installed }:
    let
      fleetHost = if fleet.hosts ? ${hostName} then fleetLib { inherit fleet hostName; } else serviceHost hostName;
      args = { inherit fleet fleetHost labTools monitoring; };
      modules = [ ../modules/base.nix ]
        ++ (if installed then installedModules.${fleetHost.role} or [ ]
            else [ ../modules/data.nix ../modules/monitoring.nix ] ++ roleModules.${fleetHost.role});
      hostOverrides = if installed then { } else overrides.${hostName} or { };
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
        system.build.toplevel = import ./toplevel.nix { inherit config labTools nixosRebuild; };
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
{
  nixosSystem = hostName: system { inherit hostName; installed = false; };
  installedSystem = hostName: system { inherit hostName; installed = true; };
}
