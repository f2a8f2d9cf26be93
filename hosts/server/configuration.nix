# server: the home server (Immich, Jellyfin), behind Caddy on 443.
{ ... }:
{
  imports = [
    ./hardware-configuration.nix
    ../../modules/server/caddy.nix
    ../../modules/server/immich.nix
    ../../modules/server/jellyfin.nix
  ];
  system.stateVersion = "25.11";
}
