# Syncthing (tier 2): the folders and devices fleet.nix declares, with versioning and conflict
# copies kept; the GUI and REST API on loopback only.
{ config, lib, fleet, hostName, ... }:
let
  folders = lib.filterAttrs (_: f: builtins.elem hostName f.hosts) fleet.syncthing.folders;
  peers = lib.unique (builtins.concatLists (map (f: f.hosts) (builtins.attrValues folders)));
  user = builtins.head (fleet.hosts.${hostName}.users ++ [ "root" ]);
  home = config.users.users.${user}.home;
in
{
  config = lib.mkIf (folders != { }) {
    services.syncthing = {
      enable = true;
      inherit user;
      dataDir = home;
      guiAddress = "127.0.0.1:8384";
      overrideDevices = true;
      overrideFolders = true;
      key = config.sops.secrets.syncthing-key.path;
      cert = config.sops.secrets.syncthing-cert.path;
      settings = {
        devices = lib.genAttrs (lib.remove hostName peers) (peer: { id = fleet.hosts.${peer}.syncthingId; });
        folders = lib.mapAttrs (id: f: {
          inherit id;
          path = lib.replaceStrings [ "~" ] [ home ] f.path;
          devices = lib.remove hostName f.hosts;
          versioning = { type = "staggered"; params.maxAge = "2592000"; };
          maxConflicts = 10;
        }) folders;
      };
    };
    sops.secrets.syncthing-key = { owner = user; mode = "0400"; key = "${hostName}/syncthing-key"; };
    sops.secrets.syncthing-cert = { owner = user; mode = "0400"; key = "${hostName}/syncthing-cert"; };
  };
}
