"""nb notebooks, read with git alone: nb may commit and push even from read-only commands (the
pyinfra face of :mod:`nixfleet.areas.nb`)."""

from __future__ import annotations

from facts.probed import ProbeFact
from nixfleet.areas import nb
from nixfleet.areas.nb import Notebook


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

    reading = nb.NOTEBOOKS
