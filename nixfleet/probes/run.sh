#!/usr/bin/env bash
# Run a probe's parts at once on the host, then print how each one went, framed so that nothing
# a part prints can be taken for structure: every line starts with BOUNDARY (random per run),
# and a part's stdout and stderr are base64-encoded.
#
#   run.sh BOUNDARY [KEY TIMEOUT_S BODY NARGS ARG...]...
#
# Prints "B begin KEY...", then per part "B part KEY RC TIMEOUT_S OUT_B64 ERR_B64" (RC is the
# part's exit status, 124 if timeout(1) stopped it; "none" if it left no status), then "B end". A part's BODY is a
# bash program; it runs as `bash -c BODY KEY ARG...` with no stdin. This script always exits 0:
# its output says what happened.
set -u
boundary=$1
shift
t=$(mktemp -d) || { printf '%s error could-not-make-a-temporary-directory\n' "$boundary"; exit 0; }
trap 'rm -rf "$t"' EXIT
keys=()
limits=()
i=0
while [ $# -ge 4 ]; do
  key=$1 limit=$2 body=$3 n=$4
  shift 4
  args=("${@:1:$n}")
  shift "$n"
  keys+=("$key")
  limits+=("$limit")
  (
    timeout -k 2 "$limit" bash -c "$body" "$key" "${args[@]}" >"$t/$i.out" 2>"$t/$i.err" </dev/null
    echo $? >"$t/$i.rc"
  ) &
  i=$((i + 1))
done
wait
printf '%s begin %s\n' "$boundary" "${keys[*]}"
for j in "${!keys[@]}"; do
  rc=none
  [ -s "$t/$j.rc" ] && rc=$(<"$t/$j.rc")
  out=$(base64 -w0 <"$t/$j.out")
  err=$(tail -c 2000 "$t/$j.err" | base64 -w0)
  printf '%s part %s %s %s %s %s\n' "$boundary" "${keys[$j]}" "$rc" "${limits[$j]}" "${out:--}" "${err:--}"
done
printf '%s end\n' "$boundary"
