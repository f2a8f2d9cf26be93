# shellcheck shell=bash
# restic-unit.sh: a restic job as its unit runs it, shared by the parts that use a job's
# repository (restic.sh reads it, drill.sh rehearses a restore from it).
# unit_env JOB: from restic-backups-JOB.service (as the NixOS module sets it): the repository
# and password file from its Environment, the restic program its ExecStart runs (NixOS puts no
# bare restic on PATH), the variables of its EnvironmentFile= (an s3 repository's keys), and
# for sftp one multiplexed SSH connection. Records `repository` and
# `password_file`; on failure records `state` (and `error`) and returns 1. Sets restic, repo,
# pwf, to, port, path and opt, and exports RESTIC_REPOSITORY and RESTIC_PASSWORD_FILE.
unit_env() {
  sub env systemctl show -p LoadState -p Environment -p EnvironmentFiles -p ExecStart -- "restic-backups-$1.service" || return 1
  load=$(sed -n 's/^LoadState=//p' "$T/out")
  # ExecStart={ path=… ; argv[]=/nix/store/…-restic-0.18.0/bin/restic backup … ; … }: the first
  # absolute path of a program named restic (NixOS may put systemd-inhibit before it).
  restic=$(sed -n 's/^ExecStart=//p' "$T/out" | tr ' ' '\n' | sed 's/^[a-z_]*\(\[\]\)\{0,1\}=//' |
    grep -m1 -E '^/[^;]*/restic$')
  sed -n 's/^Environment=//p' "$T/out" >"$T/env.line"
  if ! xargs -n1 printf '%s\0' <"$T/env.line" >"$T/env" 2>"$T/xargs.err"; then
    rec state error
    rec error "cannot split the unit's Environment: $(tail -c 200 "$T/xargs.err")"
    return 1
  fi
  repo='' pwf=''
  while IFS= read -r -d '' kv; do
    case $kv in
      RESTIC_REPOSITORY=*) repo=${kv#*=} ;;
      RESTIC_REPOSITORY_FILE=*) repo=$(cat -- "${kv#*=}") || { rec state error; rec error "cannot read ${kv#*=}"; return 1; } ;;
      RESTIC_PASSWORD_FILE=*) pwf=${kv#*=} ;;
    esac
  done <"$T/env"
  # EnvironmentFiles=/run/secrets/restic-offsite (ignore_errors=no): KEY=VALUE lines, read as
  # data (never run), exported for restic (NixOS's environmentFile holds the offsite keys).
  sed -n 's/^EnvironmentFiles=\(.*\) (ignore_errors=[a-z]*)$/\1/p' "$T/out" >"$T/env.files"
  while IFS= read -r f; do
    [ -n "$f" ] || continue
    if [ ! -r "$f" ]; then rec state error; rec error "cannot read the job's EnvironmentFile $f"; return 1; fi
    while IFS= read -r line || [ -n "$line" ]; do
      case $line in '' | '#'* | ';'*) continue ;; esac
      k=${line%%=*} v=${line#*=}
      # Upper-case names only (restic's own, AWS_*, B2_*): never this program's variables.
      case $k in '' | T | PATH | *[!A-Z0-9_]* | [0-9]*) continue ;; esac
      case $v in \"*\" | \'*\') v=${v:1:${#v}-2} ;; esac
      export "$k=$v"
    done <"$f"
  done <"$T/env.files"
  rec repository "$repo"
  rec password_file "$pwf"
  if [ "$load" != loaded ] || [ -z "$repo" ]; then rec state not-configured; return 1; fi
  if [ -z "$restic" ] || [ ! -x "$restic" ]; then rec state not-installed; rec error "${restic:-no restic} in the job's unit"; return 1; fi
  if [ ! -r "$pwf" ]; then rec state no-password-file; return 1; fi
  export RESTIC_REPOSITORY=$repo RESTIC_PASSWORD_FILE=$pwf
  to='' port='' path='' opt=''
  # shellcheck disable=SC2034  # path is for the part that runs after this library
  case $repo in
    sftp://*) to=${repo#sftp://}; path=${to#*/}; to=${to%%/*}
              case $to in *:*) port=${to##*:}; to=${to%:*} ;; esac ;;
    sftp:*) to=${repo#sftp:}; path=${to#*:}; to=${to%%:*} ;;
    local:*) path=${repo#local:} ;;
    /*) path=$repo ;;
  esac
  # restic splits sftp.command at spaces: a host or port that could add ssh options is refused.
  case $to in -* | *[[:space:]]*) rec state error; rec error "the sftp host may not start with - or hold spaces"; return 1 ;; esac
  case $port in *[!0-9]*) rec state error; rec error "the sftp port is not a number"; return 1 ;; esac
  [ -n "$to" ] && opt="sftp.command=ssh $to${port:+ -p $port} -o ControlMaster=auto -o ControlPath=$T/cm -o ControlPersist=10 -s sftp"
  return 0
}

# r TIMEOUT ARG...: restic with the job's program and connection, without locks or cache.
r() { timeout "$1" "$restic" --no-lock --no-cache ${opt:+-o "$opt"} "${@:2}"; }
