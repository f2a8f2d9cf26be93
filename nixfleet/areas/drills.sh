# shellcheck shell=bash
# The last restore drill of each job, as drill.sh left it on the host:
#   drills.sh STATE_DIR JOB...
# Per job: `job`, then `last_run`, `last_result` (ok or failed) and `last_success` (epoch
# seconds; empty if none), or `none` when no drill has run. Only digits and ok/failed are read
# from the file, so its contents cannot forge a record.
dir=$1
shift
for job in "$@"; do
  rec job "$job"
  f=$dir/$job.last
  if [ ! -e "$f" ]; then rec none yes; continue; fi
  if ! sub file cat -- "$f"; then continue; fi
  rec last_run "$(sed -n 's/^last_run=\([0-9]*\)$/\1/p' "$T/out")"
  rec last_result "$(sed -n 's/^last_result=\(ok\|failed\)$/\1/p' "$T/out")"
  rec last_success "$(sed -n 's/^last_success=\([0-9]*\)$/\1/p' "$T/out")"
done
