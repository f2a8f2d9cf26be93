# shellcheck shell=bash
# systemd's view, as JSON or `systemctl show` blocks:
#   systemd.sh failed                  units that failed, or crashed and wait to restart (JSON)
#   systemd.sh timers                  every timer with its last and next elapse (JSON)
#   systemd.sh show PROPS UNIT...      the properties PROPS (comma-separated) of each UNIT
# The exit status is systemctl's.
what=$1
shift
case $what in
  failed) exec systemctl list-units --all --state=failed,auto-restart --output=json --no-pager ;;
  timers) exec systemctl list-timers --all --output=json --no-pager ;;
  show) props=$1; shift; exec systemctl show --timestamp=unix -p "$props" -- "$@" ;;
  *) echo "systemd.sh: unknown read $what" >&2; exit 2 ;;
esac
