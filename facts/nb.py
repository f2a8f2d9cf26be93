"""nb notebooks, read with git alone: nb may commit and push even from read-only commands."""

from __future__ import annotations

from typing_extensions import override

from facts.probed import ProbeFact
from nixfleet.observed.nb import Notebook, parse_notebooks
from nixfleet.probe import Part, Reply


class NbNotebooks(ProbeFact[dict[str, Notebook]]):
    """
    Returns, for each notebook path, its branch, remote URL (credentials masked), uncommitted
    files, whether a rebase is stuck, commits ahead of/behind the remote branch (as of the last
    fetch or push; nothing is fetched), when the oldest unpushed commit was made, tracked files
    with committed conflict markers, ``--conflicted-copy`` files, the last commit and fetch
    times, and ``unread``: each git read that failed, with why.

    + paths: the notebooks' directories (``~/.nb/<name>``)

    .. code:: python

        {"/home/alice/.nb/home": Notebook(branch="main", remote="root@vps:/srv/git/notebooks/home.git",
                                          ahead=0, behind=0, markers=(), unread={}, …)}
    """

    key = "notebooks"
    what = "read the nb notebooks"

    @override
    def part(self, paths: list[str]) -> Part:
        return Part(self.key, "nb", tuple(paths))

    @override
    def parse(self, reply: Reply) -> dict[str, Notebook]:
        return parse_notebooks(reply.records())
