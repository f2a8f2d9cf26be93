"""nb notebooks, read with git alone: nb may commit and push even from read-only commands."""

from __future__ import annotations

import shlex

from pyinfra.api.facts import FactBase
from typing_extensions import override

from nixfleet.observed.nb import Notebook, parse_notebooks

# Reads only: no fetch (offline, no network), so ahead/behind are against the last fetch/push.
_NOTEBOOK = r"""
echo "@@ notebook $nb"
if [ ! -d "$nb" ]; then echo exists=no; continue; fi
echo exists=yes
g() { git -c safe.directory="$nb" -C "$nb" "$@"; }
[ -d "$nb/.git" ] && echo git=yes || { echo git=no; continue; }
b=$(g rev-parse --abbrev-ref HEAD 2>/dev/null); echo "branch=$b"
echo "remote=$(g remote get-url origin 2>/dev/null)"
g status --porcelain 2>/dev/null | head -n 50 | sed 's/^/dirty=/'
{ [ -d "$nb/.git/rebase-merge" ] || [ -d "$nb/.git/rebase-apply" ]; } && echo rebase=yes || echo rebase=no
if g rev-parse -q --verify "refs/remotes/origin/$b" >/dev/null; then
  echo upstream=yes
  echo "ahead_behind=$(g rev-list --left-right --count "HEAD...origin/$b" | tr '\t' ' ')"
  echo "oldest_unpushed=$(g log --format=%ct "origin/$b..HEAD" | tail -n 1)"
else
  echo upstream=no
  echo "ahead_behind=$(g rev-list --count HEAD 2>/dev/null || echo 0) 0"
  echo "oldest_unpushed=$(g log --format=%ct HEAD 2>/dev/null | tail -n 1)"
fi
g grep -nE '^(<<<<<<< |>>>>>>> )' HEAD -- 2>/dev/null | sed "s/^HEAD://; s/^\([^:]*:[0-9]*\):.*/marker=\1/" | head -n 50
(cd "$nb" && find . -path ./.git -prune -o -name '*--conflicted-copy*' -print | head -n 50 | sed 's/^/copy=/')
echo "last_commit=$(g log -1 --format=%ct 2>/dev/null)"
echo "last_fetch=$(stat -c %Y "$nb/.git/FETCH_HEAD" 2>/dev/null)"
"""


class NbNotebooks(FactBase[dict[str, Notebook]]):
    """
    Returns, for each notebook path, its branch, remote URL, uncommitted files, whether a rebase
    is stuck, commits ahead of/behind the remote branch (as of the last fetch or push; nothing is
    fetched), when the oldest unpushed commit was made, tracked files with committed conflict
    markers, ``--conflicted-copy`` files, and the last commit and fetch times.

    + paths: the notebooks' directories (``~/.nb/<name>``)

    .. code:: python

        {"/home/alice/.nb/home": Notebook(branch="main", remote="root@vps:/srv/git/notebooks/home.git",
                                          ahead=0, behind=0, markers=(), …)}
    """

    default = dict

    @override
    def requires_command(self, paths: list[str]) -> str:
        return "git"

    @override
    def command(self, paths: list[str]) -> str:
        names = " ".join(shlex.quote(p) for p in paths)
        return f"for nb in {names}; do {_NOTEBOOK}\ndone"

    @override
    def process(self, output: list[str]) -> dict[str, Notebook]:
        return parse_notebooks(output)
