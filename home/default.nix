# The user's home, with home-manager: git identity, nb and neovim, for every user of the host.
{ lib, pkgs, fleet, hostName, ... }:
{
  home-manager.useGlobalPkgs = true;
  home-manager.users = lib.genAttrs fleet.hosts.${hostName}.users (name: {
    programs.git = {
      enable = true;
      settings.user = { name = fleet.users.${name}.fullName; email = fleet.users.${name}.email; };
    };
    programs.neovim.enable = true;
    home.packages = [ pkgs.nb ];
    home.stateVersion = "25.11";
  });
}
