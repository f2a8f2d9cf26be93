# shellcheck shell=bash
# A restore drill of one restic job (run after restic-unit.sh, which finds the job's repository
# and restic program in its unit):
#   drill.sh JOB SAMPLE SUBSETS STATE_DIR PATH...
# From the newest snapshot this host made of the job's PATHs, restore SAMPLE of its regular
# files into a private temporary directory, and compare each one's SHA-256 with the live file
# when that has not changed since the snapshot; then `restic check --read-data-subset=K/SUBSETS`,
# K rotating from run to run (kept in STATE_DIR/JOB.subset). It never writes to the repository
# (--no-lock, --no-cache), never touches the live files, and records no file's contents: only
# each sampled path and whether it matched. The outcome goes to STATE_DIR/JOB.last (for the
# backup.restore-drill check): last_run, last_result and, on success, last_success (epoch s).
# A snapshot with no regular file (empty directories) has nothing to compare; its data is read.
# Records: job, snapshot, snapshot_time, subset, then per file `file` + `verdict` (match, differs,
# changed, missing), the reads (snapshots, ls, restore, check), and `result` (ok or failed).
me=$(cat /proc/sys/kernel/hostname)
name=$1 sample=$2 subsets=$3 state=$4
shift 4
rec job "$name"
case $sample$subsets in *[!0-9]*) rec result failed; rec reason "SAMPLE and SUBSETS must be numbers"; exit 0 ;; esac
mkdir -p -- "$state" || { rec result failed; rec reason "cannot make $state"; exit 0; }
finish() {
  local now prev=""
  now=$(date +%s)
  [ -r "$state/$name.last" ] && prev=$(sed -n 's/^last_success=\([0-9]*\)$/\1/p' "$state/$name.last")
  [ "$1" = ok ] && prev=$now
  printf 'last_run=%s\nlast_result=%s\nlast_success=%s\n' "$now" "$1" "$prev" >"$state/$name.last.new" &&
    mv -f -- "$state/$name.last.new" "$state/$name.last"
  rec result "$1"
  [ -z "${2:-}" ] || rec reason "$2"
  [ -z "${to:-}" ] || ssh -o ControlPath="$T/cm" -O exit "$to" >/dev/null 2>&1
  exit 0
}
# said: restic's own words in the last read's stderr, without its retries and the stack frames
# it prints after an error (the tail `sub` keeps would show only those), e.g.
# "EOF: ReadFull(<data/2ee208bb5b>)".
said() {
  grep -vE 'retrying|^[[:space:]]|\.(go|s):[0-9]+$|^(github\.com|golang\.org|runtime|main)[./]' "$T/err" |
    head -n 2 | paste -sd '|' | sed 's/|/: /' | cut -c1-300
}
# failed READ MESSAGE: the drill failed at READ, in restic's words.
failed() {
  rec "$1.said" "$(said)"
  finish failed "$2"
}
unit_env "$name" || finish failed "the job's repository could not be used"
set -- "${@/#/--path=}"
sub snapshots r 120 snapshots --json --latest 1 --host "$me" "$@" || failed snapshots "restic snapshots failed"
# One line of JSON; ids are hex, so a path in it cannot pose as one.
id=$(grep -o '"id":"[0-9a-f]\{64\}"' "$T/out" | tail -n 1 | cut -d'"' -f4)
when=$(grep -o '"time":"[^"]*"' "$T/out" | tail -n 1 | cut -d'"' -f4)
[ -n "$id" ] || finish failed "no snapshot by this host holds the job's paths"
rec snapshot "${id:0:8}"
rec snapshot_time "$when"
snap_epoch=$(date -d "$when" +%s) || finish failed "cannot read the snapshot's time"
sub ls r 300 ls --json "$id" || failed ls "restic ls failed"
# Regular files whose JSON path needs no unescaping (others are simply not sampled).
grep '"type":"file"' "$T/out" | grep -v '\\' | grep -o '"path":"[^"]*"' | cut -d'"' -f4 |
  shuf -n "$sample" >"$T/sample"
restore=$(mktemp -d) || finish failed "cannot make a private directory"
trap 'rm -rf "$T" "$restore"' EXIT
bad=0
# A snapshot of empty directories has no file to compare: its data is still read below.
if [ -s "$T/sample" ]; then
  includes=()
  while IFS= read -r f; do includes+=("--include=$f"); done <"$T/sample"
  sub restore r 600 restore "$id" --target "$restore" "${includes[@]}" ||
    rec restore.said "$(said)"
fi
while IFS= read -r f; do
  rec file "$f"
  if [ ! -f "$restore$f" ]; then rec verdict missing; bad=1; continue; fi
  live_mtime=$(stat -c %Y -- "$f" 2>/dev/null) || { rec verdict changed; continue; }
  if [ "$live_mtime" -gt "$snap_epoch" ]; then rec verdict changed; continue; fi
  a=$(sha256sum <"$restore$f" | cut -d' ' -f1)
  b=$(sha256sum <"$f" | cut -d' ' -f1)
  if [ "$a" = "$b" ]; then rec verdict match; else rec verdict differs; bad=1; fi
done <"$T/sample"
k=$(cat "$state/$name.subset" 2>/dev/null)
case $k in '' | *[!0-9]*) k=0 ;; esac
k=$((k % subsets + 1))
echo "$k" >"$state/$name.subset"
rec subset "$k/$subsets"
sub check r 900 check --read-data-subset="$k/$subsets" || failed check "restic check --read-data-subset=$k/$subsets found the repository damaged or unreadable"
[ "$bad" = 0 ] || finish failed "restored files are missing or differ from the live ones"
finish ok
