# Syncthing (tier 2): the folders and devices fleet.nix declares for this host (lib/fleet.nix),
# with versioning and conflict copies kept; the GUI and REST API on loopback only.
{ config, lib, fleetHost, ... }:
let
  st = fleetHost.syncthing;
in
{
  config = lib.mkIf (st != null) {
    services.syncthing = {
      enable = true;
      inherit (st) user group dataDir;
      guiAddress = "127.0.0.1:8384";
      # Devices and folders not declared here are removed: a retired device is dropped.
      overrideDevices = true;
      overrideFolders = true;
      key = config.sops.secrets.syncthing-key.path;
      cert = config.sops.secrets.syncthing-cert.path;
      settings = {
        devices = lib.mapAttrs (_: d: { inherit (d) id; addresses = [ "tcp://${d.address}:22000" "dynamic" ]; }) st.devices;
        folders = lib.mapAttrs (_: f: { inherit (f) id path devices versioning maxConflicts; }) st.folders;
      };
    };
    sops.secrets = lib.mapAttrs (_: s: { inherit (s) owner group mode key; })
      (lib.filterAttrs (name: _: lib.hasPrefix "syncthing-" name) fleetHost.secrets);
  };
}
