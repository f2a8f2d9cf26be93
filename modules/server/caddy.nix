# Caddy: the only listener on 443 (TLS from ACME); it proxies to the apps on loopback.
{ config, lib, hostName, ... }:
let
  sites = {
    server = {
      "photos.example.org" = "127.0.0.1:${toString config.services.immich.port}";
      "media.example.org" = "127.0.0.1:8096";
    };
    vps = { "git.example.org" = "127.0.0.1:${toString config.services.forgejo.settings.server.HTTP_PORT}"; };
  };
in
{
  services.caddy = {
    enable = true;
    virtualHosts = lib.mapAttrs (_: upstream: { extraConfig = "reverse_proxy ${upstream}"; })
      (sites.${hostName} or { });
  };
}
