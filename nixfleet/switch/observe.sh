# shellcheck shell=bash
# How the last switch-to-configuration run by nixos-rebuild ended, as the host's journal says
# (systemd's own messages about the transient unit, which --collect does not erase): prints
# STC-STATUS=<exit code>, STC-STATUS=0 for a clean exit, or STC-STATUS=unknown.
#   observe.sh UNIT SINCE_EPOCH
status=$(journalctl --no-pager -o cat -u "$1.service" --since "@$2" 2>/dev/null |
  sed -n -e 's/^.*: Main process exited, code=exited, status=\([0-9][0-9]*\)\/.*$/\1/p' \
    -e 's/^.*: Deactivated successfully\.$/0/p' | tail -n 1)
echo "STC-STATUS=${status:-unknown}"
