"""restic backup jobs as their client host sees them: repository, latest snapshot, locks."""

from __future__ import annotations

import shlex

from pyinfra.api.facts import FactBase
from typing_extensions import override

from nixfleet.observed.restic import ResticJob, parse_jobs

# Per job: take the repository and password file from the job's unit environment (as the
# NixOS module sets them), then read without locking (--no-lock) and without a cache: the latest
# snapshot, then (if that worked) the lock files. The jobs run at once. For an sftp repository
# every read shares one multiplexed SSH connection (a private ControlMaster), so a job costs one
# SSH handshake with the repository's host; lock files are listed with sftp (sftp and local
# repositories) rather than by a second restic process, and only read (decrypted) if present.
_JOB = r"""
job() {
echo "@@ job $1"
env=$(systemctl show -p Environment --value "restic-backups-$1.service" 2>/dev/null)
repo=; pwf=
for kv in $env; do kv=${kv#\"}; kv=${kv%\"}; case $kv in
  RESTIC_REPOSITORY=*) repo=${kv#*=} ;; RESTIC_REPOSITORY_FILE=*) repo=$(cat "${kv#*=}" 2>/dev/null) ;;
  RESTIC_PASSWORD_FILE=*) pwf=${kv#*=} ;; esac; done
echo "repository=$repo"; echo "password_file=$pwf"
if [ -z "$repo" ]; then echo "@@ state not-configured"; return; fi
if [ ! -r "$pwf" ]; then echo "@@ state no-password-file"; return; fi
export RESTIC_REPOSITORY="$repo" RESTIC_PASSWORD_FILE="$pwf"
d=$(mktemp -d); to=; port=; path=
case $repo in
  sftp://*) to=${repo#sftp://}; path=${to#*/}; to=${to%%/*}
            case $to in *:*) port=${to##*:}; to=${to%:*} ;; esac ;;
  sftp:*) to=${repo#sftp:}; path=${to#*:}; to=${to%%:*} ;;
  local:*) path=${repo#local:} ;;
  /*) path=$repo ;;
esac
opt=${to:+sftp.command=ssh $to${port:+ -p $port} -o ControlMaster=auto -o ControlPath=$d/cm -o ControlPersist=10 -s sftp}
r() { timeout 60 restic --no-lock --no-cache ${opt:+-o} ${opt:+"$opt"} "$@"; }
r_short() { timeout 5 restic --no-lock --no-cache ${opt:+-o} ${opt:+"$opt"} "$@"; }
r snapshots --json --latest 1 >"$d/out" 2>"$d/err"; rc=$?
echo "@@ snapshots $1 rc=$rc"; cat "$d/out"; echo; echo "@@ stderr $1"; tail -n 5 "$d/err"
if [ $rc = 0 ]; then
  if [ -n "$to" ]; then
    ids=$(printf 'ls -1 "%s/locks"\n' "$path" | sftp -q -b - ${port:+-P "$port"} -o ControlPath="$d/cm" "$to" 2>/dev/null | sed -n 's#.*/locks/##p')
  elif [ -n "$path" ]; then ids=$(ls -1 "$path/locks" 2>/dev/null)
  else ids=$(r list locks 2>/dev/null); fi
  for id in $ids; do
    # A lock can vanish between listing and reading it (its backup ended), and restic then
    # retries the read for minutes: bound it. A lock that cannot be read is left out.
    lock=$(r_short cat lock "$id" 2>/dev/null | tr -d '\n')
    h=$(printf '%s' "$lock" | sed -n 's/.*"hostname": *"\([^"]*\)".*/\1/p')
    p=$(printf '%s' "$lock" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
    alive=unknown
    if [ "$h" = "$(hostname)" ]; then kill -0 "$p" 2>/dev/null && alive=yes || alive=no; fi
    echo "@@ lock $1 id=$id alive=$alive"; echo "$lock"
  done
fi
[ -z "$to" ] || ssh -o ControlPath="$d/cm" -O exit "$to" >/dev/null 2>&1
rm -rf "$d"
}
"""


class ResticJobs(FactBase[dict[str, ResticJob]]):
    """
    Returns, for each backup job declared on the host, its repository (from the job's unit
    environment, passwords in URLs masked), whether it is reachable, the latest snapshot (time,
    paths, host) and any locks, with whether each lock's process is still alive.

    The repository password is read by restic on the host from the job's password file. A wrong
    password, a missing repository and an unreachable one are distinct states.

    + jobs: the job names (``services.restic.backups.<name>``)

    .. code:: python

        {"desktop": ResticJob(name="desktop", state="ok", repository="sftp:root@nas:/srv/restic/desktop",
                              latest=Snapshot(time=datetime(…), paths=("/home/alice/Documents",), …))}
    """

    default = dict

    @override
    def requires_command(self, jobs: list[str]) -> str:
        return "restic"

    @override
    def command(self, jobs: list[str]) -> str:
        names = " ".join(shlex.quote(j) for j in jobs)
        return (
            f'{_JOB}t=$(mktemp -d); i=0; for j in {names}; do job "$j" >"$t/$i" & i=$((i+1)); done; '
            f'wait; i=0; for j in {names}; do cat "$t/$i"; i=$((i+1)); done; rm -rf "$t"'
        )

    @override
    def process(self, output: list[str]) -> dict[str, ResticJob]:
        return parse_jobs(output)
