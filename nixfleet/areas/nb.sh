# shellcheck shell=bash
# nb notebooks, read with git alone (nb itself may commit and push even when asked to read), and
# offline: nothing is fetched, so ahead/behind are as of the last fetch or push. Each git read is
# recorded with its exit status (lib.sh `sub`), so a read that fails is told from "nothing there".
#   nb.sh PATH...
for nb in "$@"; do
  rec notebook "$nb"
  if [ ! -d "$nb" ]; then rec exists no; continue; fi
  rec exists yes
  if [ ! -e "$nb/.git" ]; then rec git no; continue; fi
  rec git yes
  g() { git -c safe.directory="$nb" -c core.quotePath=false -C "$nb" "$@"; }
  # The reads below take some exit statuses as answers ("no such ref"): only once git itself
  # has answered for this repository can those be trusted.
  sub git_dir g rev-parse --absolute-git-dir || continue
  if g rev-parse -q --verify HEAD >/dev/null 2>&1; then rec born yes; else rec born no; fi
  sub branch g symbolic-ref -q --short HEAD
  sub remote g config --get remote.origin.url
  sub status g status --porcelain -z --untracked-files=all
  if [ -d "$nb/.git/rebase-merge" ] || [ -d "$nb/.git/rebase-apply" ]; then rec rebase yes; else rec rebase no; fi
  b=$(g symbolic-ref -q --short HEAD)
  if [ -n "$b" ] && g rev-parse -q --verify "refs/remotes/origin/$b" >/dev/null 2>&1; then
    rec upstream yes
    sub ahead_behind g rev-list --left-right --count "HEAD...refs/remotes/origin/$b" --
    sub unpushed g log --format=%ct "refs/remotes/origin/$b..HEAD" --
  else
    rec upstream no
    if g rev-parse -q --verify HEAD >/dev/null 2>&1; then
      sub unpushed g log --format=%ct HEAD --
    fi
  fi
  if g rev-parse -q --verify HEAD >/dev/null 2>&1; then
    sub markers g grep -I -z -n -E '^(<<<<<<< |>>>>>>> )' HEAD --
    sub last_commit g log -1 --format=%ct HEAD --
  fi
  sub copies find "$(arg "$nb")" -mindepth 1 -name .git -prune -o -name '*--conflicted-copy*' -print0
  [ -e "$nb/.git/FETCH_HEAD" ] && rec last_fetch "$(stat -c %Y -- "$nb/.git/FETCH_HEAD")"
done
exit 0
