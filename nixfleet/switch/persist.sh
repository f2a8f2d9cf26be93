# shellcheck shell=bash
# After the gate passed: disarm the watchdog (when ARMED is 1; print FIRED and stop if its
# rollback already began), then make TOPLEVEL the boot default as `nixos-rebuild boot` does once
# the closure is on the host, record which flake revision built it, and print PERSISTED. Each
# step prints its marker when done (PROFILE-SET, BOOT-ENTRY-SET, RECORDED), so a failure names
# the step.
#   persist.sh ARMED PROFILE TOPLEVEL REVISIONS_DIR REVISION
armed=$1 profile=$2 toplevel=$3 revisions=$4 revision=$5
if [ "$armed" = 1 ]; then
  state=$(disarm)
  echo "$state"
  [ "$state" = DISARMED ] || exit 0
fi
nix-env -p "$profile" --set "$toplevel" && echo PROFILE-SET || exit
activate nixos-rebuild-switch-to-configuration "$toplevel" boot && echo BOOT-ENTRY-SET || exit
record "$revisions" "$toplevel" "$revision" && echo RECORDED || exit
echo PERSISTED
