# Immich: photos, on loopback behind Caddy; its media are tier 3 (weekly backup).
{ ... }:
{
  services.immich = {
    enable = true;
    host = "127.0.0.1";
    port = 2283;
    mediaLocation = "/var/lib/immich";
  };
}
