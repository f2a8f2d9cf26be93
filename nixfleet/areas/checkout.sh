# shellcheck shell=bash
# The flake checkout push_flake manages: state (absent, empty, git, foreign or no-git); for a git
# checkout its revision and whether it has local edits. A git read that fails is an error.
#   checkout.sh PATH
d=$1
if ! command -v git >/dev/null; then rec state no-git; exit 0; fi
if [ ! -e "$d" ]; then rec state absent; exit 0; fi
if [ -d "$d/.git" ]; then
  rec state git
  g() { git -c safe.directory="$d" -C "$d" "$@"; }
  rev=$(g rev-parse -q --verify HEAD) || { echo "git rev-parse HEAD failed in $d" >&2; exit 1; }
  rec revision "$rev"
  status=$(g status --porcelain) || exit
  if [ -z "$status" ]; then rec dirty no; else rec dirty yes; fi
  exit 0
fi
entries=$(find "$d" -mindepth 1 -maxdepth 1 -printf x | head -c 1) || exit
if [ -z "$entries" ]; then rec state empty; else rec state foreign; fi
