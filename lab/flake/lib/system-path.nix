# /run/current-system/sw: the programs a host's PATH holds, as NixOS's system-path builds them
# from environment.systemPackages. There is no nixpkgs here, so each package is the Debian package
# of the same tool on this machine, linked by path (lib/system-path.sh). The list stands for what
# NixOS puts there by default (nixos/modules/config/system-path.nix: its required and default
# packages; iproute2 and friends from tasks/network-interfaces.nix; systemd, nix and the
# nixos-* tools from their modules), then what the host itself declares. Nothing else: restic,
# jq or sops are not on a NixOS host's PATH unless it declares them, so they are not here either.
{ packages, version, nixosRebuild }:
let
  defaults = [
    # required packages
    "coreutils" "bash" "findutils" "gawk" "mawk" "grep" "sed" "tar" "gzip" "xz-utils" "zstd"
    "bzip2" "less" "netcat-openbsd" "procps" "util-linux" "mount" "bsdutils" "debianutils"
    "libc-bin" "diffutils" "login" "acl" "attr" "cpio" "curl" "openssh-client" "passwd" "kmod"
    # default packages
    "perl-base" "rsync" "strace" "nano"
    # from other default modules
    "iproute2" "iputils-ping" "hostname" "systemd" "nix-bin"
  ];
  nixosVersion = derivation {
    name = "nixos-version-${version}";
    system = "x86_64-linux";
    builder = "/bin/sh";
    src = ./nixos-version.sh;
    args = [ "-c" "PATH=/usr/bin:/bin; mkdir -p $out/bin && sed 's|@version@|${version}|' $src > $out/bin/nixos-version && chmod 0555 $out/bin/nixos-version" ];
  };
in
derivation {
  name = "system-path";
  system = "x86_64-linux";
  builder = "/bin/sh";
  args = [ ./system-path.sh ];
  packages = builtins.concatStringsSep " " (defaults ++ packages);
  extra = "${nixosVersion} ${nixosRebuild}";
}
