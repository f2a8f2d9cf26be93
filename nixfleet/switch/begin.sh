# shellcheck shell=bash
# The first step of a safe switch, in one round trip: take the deploy lock, check that the new
# generation's closure is already in the host's store, and arm the rollback watchdog. Prints the
# sections "@@@ lock" (LOCKED-BY-US, or "LOCKED <holder, base64>" and exit 75), "@@@ closure"
# (ON-HOST or MISSING; then nothing is armed) and "@@@ watchdog" (ARMED or NOT-ARMED).
#   begin.sh LOCK_FILE HOLDER_FILE JOURNAL LEASE_S HOLDER_JSON TAKEOVER_JSON TOPLEVEL WATCHDOG_S PREVIOUS DESCRIPTION
lockfile=$1 holder=$2 journal_file=$3 lease=$4 record=$5 takeover=$6
toplevel=$7 seconds=$8 previous=$9 description=${10}

busy() {
  echo "LOCKED $(base64 -w0 "$holder" 2>/dev/null)"
  exit 75 # EX_TEMPFAIL
}

echo '@@@ lock'
mkdir -p "${lockfile%/*}" "${holder%/*}" || exit
# systemd-run refuses a unit name that is already loaded: that is what makes taking the lock
# atomic (--collect: a failed lock unit does not linger). The flock guards the file for others.
# The lease (RuntimeMaxSec) stops a lock whose deployer died.
systemd-run -q --unit="$LOCK_UNIT" --collect -p RuntimeMaxSec="$lease" --service-type=exec \
  flock -n -E 75 "$lockfile" sleep infinity 2>/dev/null || busy
systemctl is-active -q "$LOCK_UNIT.service" || busy
# A holder record with no lock held is a run that died (its watchdog or lease released the
# lock): taking over is journalled, naming it.
if [ -s "$holder" ]; then journal "$journal_file" "$takeover" "$holder"; fi
printf '%s\n' "$record" >"$holder"
echo LOCKED-BY-US

echo '@@@ closure'
if [ -n "$toplevel" ] && ! nix-store --check-validity "$toplevel" >/dev/null 2>&1; then
  echo MISSING
  exit 0
fi
echo ON-HOST

echo '@@@ watchdog'
if [ "$seconds" = 0 ] || [ -z "$previous" ]; then
  echo ARMED # nothing to return to: there is nothing to arm
  exit 0
fi
# No shell in the unit: systemd would expand $ and ; itself. When it fires it re-activates the
# previous generation and, by Conflicts=, stops the deploy lock.
arm() {
  systemd-run -q --unit="$WATCHDOG" --on-active="${seconds}s" \
    --timer-property=AccuracySec=100ms -p Conflicts="$LOCK_UNIT.service" \
    --description="$description" -E LOCALE_ARCHIVE -E NIXOS_INSTALL_BOOTLOADER \
    "$previous/bin/switch-to-configuration" switch
}
# A watchdog left by an earlier run is cleared, and arming retried, only if the first try fails.
if { arm || {
  systemctl stop "$WATCHDOG.timer"
  systemctl reset-failed "$WATCHDOG.service" "$WATCHDOG.timer"
  arm
}; } >/dev/null 2>&1; then echo ARMED; else echo NOT-ARMED; fi
