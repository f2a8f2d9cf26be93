# The lab's fleet: a flake with no inputs that stands in for the user's NixOS configuration repo.
#
# It reads the same fleet data as the real flake (fleet.nix, copied in by `nixfleet lab up`) and
# works out each host's declarations with the same helper (lib/fleet.nix). lab.json holds the
# only lab facts on top, all data: each host's lab address, generated Syncthing device ID and
# notebook key, the lab's restic repository bases, and the benchmark's generic hosts.
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
      inherit (import ./lib/merge.nix) update;
      json = f: if builtins.pathExists f then builtins.fromJSON (builtins.readFile f) else { };
      # `nixfleet lab up` copies fleet.nix and lib/fleet.nix in; inside the nixfleet repo (as in
      # `make check`) the template reads the repo's own.
      local = own: repo: if builtins.pathExists own then own else repo;
      data = import (local ./fleet.nix ../../fleet.nix);
      lab = json ./lab.json;
      # Lab facts of a host fleet.nix no longer has (a retired one) are dropped with it; the
      # generic benchmark hosts, which carry a role of their own, stay.
      labHosts = lab.hosts or { };
      kept = builtins.filter (n: data.hosts ? ${n} || labHosts.${n} ? role) (builtins.attrNames labHosts);
      fleet = update data (lab // { hosts = builtins.listToAttrs (map (n: { name = n; value = labHosts.${n}; }) kept); });
      fleetLib = import (local ./lib/fleet.nix ../../lib/fleet.nix);
      # The fleet's alert rules and scrape configuration, as the real modules/monitoring.nix
      # takes them, with the lab's short waits.
      monitoring = import (local ./lib/monitoring.nix ../../lib/monitoring.nix) { inherit fleet; lab = true; };
      # The lab's stand-in nixos-rebuild, as config.system.build.nixos-rebuild: what the real
      # tools build and re-exec unless told --fast / --no-reexec.
      rebuildScript = local ./lib/nixos-rebuild ../bin/nixos-rebuild;
      overrides = json ./overrides.json;
      lib = import ./lib { inherit self fleet fleetLib monitoring rebuildScript overrides; };
    in
    {
      inherit fleet;
      nixosConfigurations = builtins.mapAttrs (name: _: lib.nixosSystem name) fleet.hosts;
      # What `nixfleet lab up` installs on each host before its first deploy (lib/default.nix).
      # It also installs the hosts that stand in for services outside the fleet (lab.json's
      # `services`), which nothing deploys afterwards.
      lab.installedConfigurations = builtins.mapAttrs (name: _: lib.installedSystem name)
        (fleet.hosts // fleet.services or { });
      lab.installed = builtins.mapAttrs (_: s: s.config.system.build.toplevel) self.lab.installedConfigurations;
    };
}
