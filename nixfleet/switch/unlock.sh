# shellcheck shell=bash
# `nixfleet unlock`: release the deploy lock whoever holds it, and journal it with the holder's
# record. Prints UNLOCKED or NOT-LOCKED.
#   unlock.sh HOLDER_FILE JOURNAL ENTRY_JSON
holder=$1 journal_file=$2 entry=$3
if systemctl is-active -q "$LOCK_UNIT.service" || [ -s "$holder" ]; then
  journal "$journal_file" "$entry" "$holder"
  systemctl stop "$LOCK_UNIT.service"
  rm -f "$holder"
  echo UNLOCKED
else
  echo NOT-LOCKED
fi
