# shellcheck shell=bash
# Who holds the host's nixfleet deploy lock: the lock unit's state and, while it is active, the
# holder record. A systemctl that cannot answer is an error.
#   lock.sh UNIT HOLDER_FILE
state=$(systemctl is-active "$1")
[ -n "$state" ] || exit 1
rec state "$state"
if [ "$state" = active ] && [ -e "$2" ]; then
  holder=$(cat "$2") || exit
  rec holder "$holder"
fi
exit 0
