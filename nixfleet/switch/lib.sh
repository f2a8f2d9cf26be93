# shellcheck shell=bash
# Shared by the safe switch's on-host programs (prepended to each). Every value they use comes
# in as a positional argument; nothing from the host is ever run as code. The first two are
# always the watchdog's and the deploy lock's unit names; the program's own follow.
#   <program>.sh WATCHDOG_UNIT LOCK_UNIT ARG...

# shellcheck disable=SC2034 # LOCK_UNIT is used by the programs this is prepended to
WATCHDOG=$1 LOCK_UNIT=$2
shift 2

# disarm: stop the watchdog's timer; print FIRED if its rollback already started, else DISARMED.
disarm() {
  local started
  systemctl stop "$WATCHDOG.timer" 2>/dev/null
  started=$(systemctl show -p ExecMainStartTimestampMonotonic --value "$WATCHDOG.service" 2>/dev/null)
  if [ -n "$started" ] && [ "$started" != 0 ]; then echo FIRED; else echo DISARMED; fi
}

# activate UNIT TOPLEVEL ACTION: switch-to-configuration ACTION of TOPLEVEL in a transient unit,
# as nixos-rebuild runs it, so that it outlives the SSH connection; its exit status is STC's.
activate() {
  systemd-run -q --unit="$1" --collect --pipe --wait --service-type=exec \
    -E LOCALE_ARCHIVE -E NIXOS_INSTALL_BOOTLOADER "$2/bin/switch-to-configuration" "$3"
}

# record DIR TOPLEVEL REVISION: remember which flake revision built TOPLEVEL, for toplevels that
# cannot say (`nixos-version --configuration-revision` is unset).
record() {
  mkdir -p "$1" && printf '%s\n' "$3" >"$1/${2##*/}"
}

# journal FILE LINE [PREVIOUS_HOLDER_FILE]: append LINE (one JSON object) to the deployment
# journal; with a holder file, its record goes in as "previous_holder_b64" (host text, base64).
journal() {
  mkdir -p "${1%/*}" || return
  if [ -n "${3:-}" ]; then
    printf '%s, "previous_holder_b64": "%s"}\n' "${2%\}}" "$(base64 -w0 "$3" 2>/dev/null)" >>"$1"
  else
    printf '%s\n' "$2" >>"$1"
  fi
}
