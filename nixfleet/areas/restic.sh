# shellcheck shell=bash
# restic backup jobs as their client host sees them, all jobs at once. Per job: the repository
# and password file from the job's unit environment (as the NixOS module sets them), and the
# restic program its ExecStart runs (NixOS puts no bare restic on PATH), then,
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
  sub env systemctl show -p LoadState -p Environment -p ExecStart -- "restic-backups-$name.service" || return
  load=$(sed -n 's/^LoadState=//p' "$T/out")
  # ExecStart={ path=… ; argv[]=/nix/store/…-restic-0.18.0/bin/restic backup … ; … }: the first
  # absolute path of a program named restic (NixOS may put systemd-inhibit before it).
  restic=$(sed -n 's/^ExecStart=//p' "$T/out" | tr ' ' '\n' | sed 's/^[a-z_]*\(\[\]\)\{0,1\}=//' |
    grep -m1 -E '^/[^;]*/restic$')
  sed -n 's/^Environment=//p' "$T/out" >"$T/env.line"
  if ! xargs -n1 printf '%s\0' <"$T/env.line" >"$T/env" 2>"$T/xargs.err"; then
    rec state error
    rec error "cannot split the unit's Environment: $(tail -c 200 "$T/xargs.err")"
    return
  fi
  repo='' pwf=''
  while IFS= read -r -d '' kv; do
    case $kv in
      RESTIC_REPOSITORY=*) repo=${kv#*=} ;;
      RESTIC_REPOSITORY_FILE=*) repo=$(cat -- "${kv#*=}") || { rec state error; rec error "cannot read ${kv#*=}"; return; } ;;
      RESTIC_PASSWORD_FILE=*) pwf=${kv#*=} ;;
    esac
  done <"$T/env"
  rec repository "$repo"
  rec password_file "$pwf"
  if [ "$load" != loaded ] || [ -z "$repo" ]; then rec state not-configured; return; fi
  if [ -z "$restic" ] || [ ! -x "$restic" ]; then rec state not-installed; rec error "${restic:-no restic} in the job's unit"; return; fi
  if [ ! -r "$pwf" ]; then rec state no-password-file; return; fi
  export RESTIC_REPOSITORY=$repo RESTIC_PASSWORD_FILE=$pwf
  local to='' port='' path='' opt=''
  case $repo in
    sftp://*) to=${repo#sftp://}; path=${to#*/}; to=${to%%/*}
              case $to in *:*) port=${to##*:}; to=${to%:*} ;; esac ;;
    sftp:*) to=${repo#sftp:}; path=${to#*:}; to=${to%%:*} ;;
    local:*) path=${repo#local:} ;;
    /*) path=$repo ;;
  esac
  # restic splits sftp.command at spaces: a host or port that could add ssh options is refused.
  case $to in -* | *[[:space:]]*) rec state error; rec error "the sftp host may not start with - or hold spaces"; return ;; esac
  case $port in *[!0-9]*) rec state error; rec error "the sftp port is not a number"; return ;; esac
  [ -n "$to" ] && opt="sftp.command=ssh $to${port:+ -p $port} -o ControlMaster=auto -o ControlPath=$T/cm -o ControlPersist=10 -s sftp"
  r() { timeout "$1" "$restic" --no-lock --no-cache ${opt:+-o "$opt"} "${@:2}"; }
  sub snapshots r 60 snapshots --json --latest 1 --host "$me"
  local rc=$?
  if [ $rc = 0 ]; then list_locks; fi
  [ -z "$to" ] || ssh -o ControlPath="$T/cm" -O exit "$to" >/dev/null 2>&1
}

# The repository's lock ids, one per line. sftp's batch language has quoting of its own, so a
# path that holds quotes, backslashes or newlines is listed by restic instead.
lock_ids() {
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
  if ! lock_ids >"$T/locks" 2>"$T/locks.err"; then
    rec locks_error "$(tail -c 300 "$T/locks.err")"
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
