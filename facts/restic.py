"""restic backup jobs as their client host sees them: repository, latest snapshot, locks."""

from __future__ import annotations

import shlex

from pyinfra.api.facts import FactBase
from typing_extensions import override

from nixfleet.observed.restic import ResticJob, parse_jobs

# Per job: take the repository and password file from the job's unit environment (as the
# NixOS module sets them), then read without locking (--no-lock) and without a cache.
_JOB = r"""
echo "@@ job $job"
env=$(systemctl show -p Environment --value "restic-backups-$job.service" 2>/dev/null)
repo=; pwf=
for kv in $env; do kv=${kv#\"}; kv=${kv%\"}; case $kv in
  RESTIC_REPOSITORY=*) repo=${kv#*=} ;; RESTIC_REPOSITORY_FILE=*) repo=$(cat "${kv#*=}" 2>/dev/null) ;;
  RESTIC_PASSWORD_FILE=*) pwf=${kv#*=} ;; esac; done
echo "repository=$repo"; echo "password_file=$pwf"
if [ -z "$repo" ]; then echo "@@ state not-configured"; continue; fi
if [ ! -r "$pwf" ]; then echo "@@ state no-password-file"; continue; fi
export RESTIC_REPOSITORY="$repo" RESTIC_PASSWORD_FILE="$pwf"
err=$(mktemp); out=$(timeout 60 restic --no-lock --no-cache snapshots --json --latest 1 2>"$err")
rc=$?; echo "@@ snapshots $job rc=$rc"; echo "$out"; echo "@@ stderr $job"; tail -n 5 "$err"; rm -f "$err"
if [ $rc = 0 ]; then
  for id in $(timeout 60 restic --no-lock --no-cache list locks 2>/dev/null); do
    lock=$(timeout 60 restic --no-lock --no-cache cat lock "$id" 2>/dev/null | tr -d '\n')
    h=$(printf '%s' "$lock" | sed -n 's/.*"hostname": *"\([^"]*\)".*/\1/p')
    p=$(printf '%s' "$lock" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
    alive=unknown
    if [ "$h" = "$(hostname)" ]; then kill -0 "$p" 2>/dev/null && alive=yes || alive=no; fi
    echo "@@ lock $job id=$id alive=$alive"; echo "$lock"
  done
fi
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
        return f"for job in {names}; do {_JOB}\ndone"

    @override
    def process(self, output: list[str]) -> dict[str, ResticJob]:
        return parse_jobs(output)
