# shellcheck shell=bash
# The end of a safe switch: append the run to the deployment journal, then release the deploy
# lock if this run holds it (another run's lock is left alone).
#   finish.sh JOURNAL ENTRY_JSON HOLDER_FILE RUN_ID
journal_file=$1 entry=$2 holder=$3 run=$4
journal "$journal_file" "$entry"
if grep -qF "\"run\": \"$run\"" "$holder" 2>/dev/null; then
  systemctl stop "$LOCK_UNIT.service" 2>/dev/null
  rm -f "$holder"
fi
exit 0
