# shellcheck shell=bash
# Shared by every probe part (prepended to its body). A part prints records, each one
# "NAME=VALUE" ended by a NUL byte: NAME is chosen by the script, VALUE may hold anything but
# NUL (which no file name, argument or shell variable can hold), so no value can forge a record.

# rec NAME VALUE: one record.
rec() { printf '%s=%s\0' "$1" "$2"; }

# each NAME < NUL-separated items: one record per item.
each() {
  local item
  while IFS= read -r -d '' item; do rec "$1" "$item"; done
}

T=$(mktemp -d) || exit 70
trap 'rm -rf "$T"' EXIT

# sub NAME COMMAND [ARG...]: run one read and record how it went: NAME.rc (its exit status),
# NAME.err (the tail of its stderr) and NAME.out (its stdout, base64, so it may hold NULs).
sub() {
  local name=$1 rc
  shift
  "$@" >"$T/out" 2>"$T/err"
  rc=$?
  rec "$name.rc" "$rc"
  rec "$name.err" "$(tail -c 1000 "$T/err" | tr -d '\0')"
  rec "$name.out" "$(base64 -w0 <"$T/out")"
  # Say on the part's own stderr which read failed, in case the part gives up because of it.
  [ "$rc" = 0 ] || printf '%s exited %s: %s\n' "$*" "$rc" "$(tail -n 1 "$T/err")" >&2
  return "$rc"
}

# arg PATH: PATH as a command's operand that cannot be taken for an option (a leading - gets ./).
arg() { case $1 in -*) printf './%s' "$1" ;; *) printf '%s' "$1" ;; esac; }
