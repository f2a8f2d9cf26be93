# PLACEHOLDER: replace this file with the output of `nixos-generate-config --show-hardware-config`
# on laptop itself. It only says enough for the configuration to evaluate.
{ ... }:
{
  fileSystems."/" = { device = "/dev/disk/by-label/nixos"; fsType = "ext4"; };
  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;
}
