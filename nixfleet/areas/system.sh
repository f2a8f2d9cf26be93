# shellcheck shell=bash
# What the host runs and boots: current, booted, the boot-default profile and its generations,
# the NixOS version, the flake revision, and whether a reboot is needed.
#   system.sh PROFILE REVISIONS_DIR
# A missing /run/current-system is a state (not NixOS, or not yet activated), not an error;
# failing to list the profile's generations is an error.
profile=$1 revisions=$2
c=$(readlink /run/current-system)
rec current "$c"
rec booted "$(readlink /run/booted-system)"
[ -e "$profile" ] && rec profile "$(readlink -f "$profile")"
rec profile_link "$(readlink "$profile")"
dir=$(dirname "$profile")
if [ -d "$dir" ]; then
  find "$dir" -maxdepth 1 -type l -name "$(basename "$profile")-*-link" -printf 'generation=%f %l\0' || exit
fi
if [ -n "$c" ]; then
  rec version "$(cat "$c/nixos-version" 2>/dev/null)"
  r=$("$c/sw/bin/nixos-version" --configuration-revision 2>/dev/null) || r=$(cat "$revisions/${c##*/}" 2>/dev/null)
  rec revision "$r"
  if [ -e /run/booted-system ]; then
    reboot=no
    for f in kernel initrd kernel-modules; do
      [ "$(readlink -f "/run/booted-system/$f")" = "$(readlink -f "$c/$f")" ] || reboot=yes
    done
    rec reboot_needed "$reboot"
  fi
fi
exit 0
