# shellcheck shell=bash
# Metadata of every entry in the secrets directory and of the other given paths: owner, group,
# mode and size, never contents. A directory that cannot be listed, or an entry that cannot be
# stat'ed, is an error; a missing one is a state.
#   secrets.sh DIR [PATH...]
dir=$1
shift
stat_one() {
  rec file "$1"
  stat -L --printf 'owner=%U\0group=%G\0mode=%a\0size=%s\0' -- "$1" 2>"$T/stat.err" ||
    rec error "$(tail -c 300 "$T/stat.err")"
}
if [ -e "$dir" ]; then
  find -L "$(arg "$dir")" -mindepth 1 -maxdepth 1 -print0 >"$T/list" || exit
  while IFS= read -r -d '' f; do stat_one "$f"; done <"$T/list"
else
  rec missing_dir "$dir"
fi
for f in "$@"; do
  if [ -e "$f" ] || [ -L "$f" ]; then stat_one "$f"; else rec absent "$f"; fi
done
exit 0
