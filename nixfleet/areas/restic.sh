# shellcheck shell=bash
# restic backup jobs as their client host sees them, all jobs at once. Per job: its unit's
# repository, password file and restic program (restic-unit.sh's unit_env, run before this), then,
# without locks or cache, the newest snapshot this host made of each set of paths (the caller
# picks the one of the job's paths), and the repository's lock files (listed, then each read
# and checked for a live process here).
#   restic.sh [JOB NPATHS PATH...]...   (the PATHs are not used here; they keep the contract)
# For an sftp repository every read shares one multiplexed SSH connection (a private
# ControlMaster), so a job costs the backup host one SSH handshake.
me=$(cat /proc/sys/kernel/hostname)

job() {
  local name=$1
  shift
  T=$(mktemp -d) || exit 70  # this job's own (it runs beside the others)
  rec job "$name"
  unit_env "$name" || return
  sub snapshots r 60 snapshots --json --latest 1 --host "$me"
  local rc=$?
  if [ $rc = 0 ]; then list_locks; fi
  [ -z "$to" ] || ssh -o ControlPath="$T/cm" -O exit "$to" >/dev/null 2>&1
}

# rest_ls URL TYPE: the names a REST server lists of a repository's TYPE (its v2 API:
# [{"name": …, "size": …}]), one per line. The URL holds the credentials, so curl reads it from
# its config on stdin, never from argv.
rest_ls() {
  local u="${1%/}/$2/"
  u=${u//\\/\\\\} u=${u//\"/\\\"}
  printf 'url = "%s"\nheader = "Accept: application/vnd.x.restic.rest.v2"\nsilent\nshow-error\nfail\nmax-time = 20\n' "$u" |
    curl -K - | grep -o '"name": *"[0-9a-f]*"' | sed 's/.*"\([0-9a-f]*\)"$/\1/'
  return "${PIPESTATUS[1]}"
}

# The repository's lock ids, one per line: over sftp, from the directory, or over REST, without
# restic (each restic run derives the repository key again, which costs a CPU half a second).
# sftp's batch language has quoting of its own, so a path that holds quotes, backslashes or
# newlines is listed by restic instead.
lock_ids() {
  # shellcheck disable=SC2154  # repo comes from restic-unit.sh's unit_env
  case $repo in rest:http*) rest_ls "${repo#rest:}" locks; return ;; esac
  case $path in *[\"\\]* | *$'\n'*) r 30 list locks; return ;; esac
  if [ -n "$to" ]; then
    printf 'ls -1 "%s/locks"\n' "$path" |
      sftp -q -b - ${port:+-P "$port"} -o ControlPath="$T/cm" "$to" | sed -n 's#.*/locks/##p'
    return "${PIPESTATUS[1]}"
  elif [ -n "$path" ]; then
    find "$(arg "$path")/locks" -mindepth 1 -maxdepth 1 -printf '%f\n'
  else
    r 30 list locks
  fi
}

list_locks() {
  local rc=0 err
  lock_ids >"$T/locks" 2>"$T/locks.err" || rc=$?
  if [ "$rc" != 0 ]; then
    # Never an empty reason: an empty one would read as "no error".
    err=$(tail -c 300 "$T/locks.err")
    rec locks_error "${err:-listing the locks exited $rc}"
    return
  fi
  local id h p alive
  while IFS= read -r id; do
    [ -n "$id" ] || continue
    rec lock "$id"
    # A lock can vanish between listing and reading (its backup ended), and restic then
    # retries the read for minutes: bound it, and list again to tell "gone" from "unreadable".
    if ! sub read r 5 cat lock "$id"; then
      lock_ids 2>/dev/null | grep -qxF -- "$id" || rec gone yes
      continue
    fi
    # restic writes the lock as JSON, so a quote inside a value is escaped: these cannot be forged.
    h=$(sed -n 's/.*"hostname": *"\([^"]*\)".*/\1/p' "$T/out" | head -n 1)
    p=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$T/out" | head -n 1)
    alive=unknown
    if [ "$h" = "$me" ] && [ -n "$p" ]; then
      if kill -0 "$p" 2>/dev/null; then alive=yes; else alive=no; fi
    fi
    rec alive "$alive"
  done <"$T/locks"
}

i=0
while [ $# -ge 2 ]; do
  name=$1 n=$2
  shift 2
  { job "$name" "${@:1:$n}"; rm -rf "$T"; } >"$T/job.$i" &
  shift "$n"
  i=$((i + 1))
done
wait
for ((j = 0; j < i; j++)); do cat "$T/job.$j"; done
exit 0
