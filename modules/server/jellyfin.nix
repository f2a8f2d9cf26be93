# Jellyfin: media, behind Caddy. The NixOS module has no option for the address it listens on
# (Jellyfin keeps it in its own network.xml), so its port stays out of the firewall
# (openFirewall = false) and is reached only through Caddy.
{ ... }:
{
  services.jellyfin = {
    enable = true;
    openFirewall = false;
  };
}
