# Forgejo: the notebooks' git remote (SSH) and web UI, on loopback behind Caddy.
{ config, ... }:
{
  services.forgejo = {
    enable = true;
    database.type = "postgres";
    database.passwordFile = config.sops.secrets.forgejo-db-password.path;
    settings.server = {
      DOMAIN = "git.example.org";
      ROOT_URL = "https://git.example.org/";
      HTTP_ADDR = "127.0.0.1";
      HTTP_PORT = 3000;
      SSH_PORT = 22; # git over the host's own sshd (services.openssh)
    };
  };
  sops.secrets.forgejo-db-password = { owner = "forgejo"; mode = "0400"; key = "vps/forgejo-db-password"; };
}
