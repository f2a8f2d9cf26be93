# Syncthing on the hosts that share `documents`: devices and folders declared as on NixOS.
{ host, byName, user, dataDir, documents }:
let
  peers = builtins.filter (n: n != host.name && byName ? ${n}) [ "desktop" "laptop" "server" ];
  device = n: { id = byName.${n}.syncthing_id; addresses = [ "tcp://${byName.${n}.address}:22000" ]; };
in
{
  networking.firewall.allowedTCPPorts = [ 22000 ];
  services.syncthing = {
    enable = true;
    inherit user dataDir;
    group = user;
    configDir = "${dataDir}/.config/syncthing";
    guiAddress = "127.0.0.1:8384";
    cert = "/run/secrets/syncthing-cert";
    key = "/run/secrets/syncthing-key";
    settings = {
      options = { listenAddresses = [ "tcp://${host.address}:22000" ]; globalAnnounceEnabled = false;
        localAnnounceEnabled = false; relaysEnabled = false; natEnabled = false; urAccepted = -1; };
      devices = builtins.listToAttrs (map (n: { name = n; value = device n; }) peers);
      folders.documents = {
        id = "documents";
        path = documents;
        devices = peers;
        versioning = { type = "simple"; params.keep = "5"; };
        maxConflicts = 10;
      };
    };
  };
  sops.secrets."syncthing-cert" = { owner = user; group = user; mode = "0400"; };
  sops.secrets."syncthing-key" = { owner = user; group = user; mode = "0400"; };
}
