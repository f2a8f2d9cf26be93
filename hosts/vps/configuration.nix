# vps: Forgejo (the notebooks' remote), behind Caddy on 443.
{ ... }:
{
  imports = [ ./hardware-configuration.nix ../../modules/server/caddy.nix ../../modules/server/forgejo.nix ];
  system.stateVersion = "25.11";
}
