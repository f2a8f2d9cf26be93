# shellcheck shell=bash
# What the plan compares a new closure with: the current system's closure, its unit files
# (name and content hash), the active units, and the booted kernel, initrd and modules.
#   plan.sh
c=$(readlink /run/current-system) || { rec current ""; exit 0; }
rec current "$c"
sub closure nix-store -qR "$c" || exit
units=$c/etc/systemd/system
if [ -d "$units" ]; then
  for f in "$units"/*; do
    [ -f "$f" ] || continue
    rec unit "$(sha256sum <"$f" | cut -c1-64) ${f##*/}"
  done
fi
sub active systemctl list-units --all --plain --no-legend --no-pager --state=active,activating,reloading || exit
for f in kernel initrd kernel-modules; do rec booted "$(readlink -f "/run/booted-system/$f")"; done
exit 0
