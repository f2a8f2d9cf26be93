# shellcheck shell=bash
# Roll back now: make PREVIOUS the boot default again explicitly (the profile may already point
# at the new generation when persisting failed half-way), activate it and write its boot entry
# (switch-to-configuration switch), then disarm the watchdog. Never "whatever the profile points
# to". Exits with the rollback's status.
#   restore.sh PROFILE PREVIOUS
profile=$1 previous=$2
if [ "$(readlink -f "$profile")" = "$previous" ] || nix-env -p "$profile" --set "$previous"; then
  activate nixfleet-rollback "$previous" switch
  rc=$?
else
  rc=$?
fi
disarm
exit "$rc"
