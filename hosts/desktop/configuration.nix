# desktop: a workstation (notes, documents, backups of both).
{ ... }:
{
  imports = [ ./hardware-configuration.nix ../../modules/nvim.nix ];
  system.stateVersion = "25.11";
}
