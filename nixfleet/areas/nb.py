"""The nb area: nb notebooks, read with git directly (nb itself may commit and push even when
asked to read), against the notebooks the flake declares (``nixfleet.notebooks``).

Checks: ``nb.clean``, ``nb.pushed`` and ``nb.conflicts``. Probe: ``nb.sh``. Metric:
``nixfleet_notebook_unpushed_commits``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from nixfleet.area import Area, CheckSpec, Context, Metric, Reading, Subjects
from nixfleet.checks import Check, Problem, Severity, unread_problem, unreadable, verdict
from nixfleet.probe import Part, Read, Records, Reply, Unknown, redact

# The git reads of nb.sh, each filling part of a Notebook.
READS = ("branch", "remote", "status", "ahead_behind", "unpushed", "markers", "copies")
# Exit statuses that are answers, not failures: `git config --get` of an unset key,
# `git symbolic-ref -q` on a detached HEAD, `git grep` with no match.
_ANSWERS = {"remote": {1}, "branch": {1}, "markers": {1}}


@dataclass(frozen=True)
class Notebook:
    """One notebook's git state. Times are epoch seconds; ``None`` when it never happened.
    ``unread`` names each read that failed (``status``, ``ahead_behind``, ``unpushed``,
    ``markers``, ``copies``, …) with why; what it would have filled is not known."""

    path: str
    exists: bool
    is_git: bool = False
    branch: str = ""
    remote: str = ""  # credentials masked
    dirty: tuple[str, ...] = ()
    rebase_in_progress: bool = False
    has_upstream: bool = False
    ahead: int = 0
    behind: int = 0
    oldest_unpushed: int | None = None
    markers: tuple[str, ...] = ()  # "file:line" of committed conflict markers
    conflicted_copies: tuple[str, ...] = ()
    last_commit: int | None = None
    last_fetch: int | None = None
    unread: dict[str, str] = field(default_factory=dict)


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.lstrip("-").isdigit() else None


def porcelain_paths(raw: bytes) -> list[str]:
    """Paths of ``git status --porcelain -z`` (``XY path``; renames carry the old path next).

    >>> porcelain_paths(b" M a\\nb\\x00R  new\\x00old\\x00?? c\\x00")
    [' M a\\nb', 'R  new', '?? c']
    """
    items = raw.split(b"\0")
    out, i = [], 0
    while i < len(items):
        item = items[i]
        if len(item) >= 3:
            out.append(item.decode("utf-8", "backslashreplace"))
            i += 2 if item[:1] in (b"R", b"C") else 1
        else:
            i += 1
    return out


def grep_markers(raw: bytes) -> list[str]:
    """``file:line`` of each hit of ``git grep -z -n … HEAD`` (``HEAD:path\\0line\\0text\\n``);
    a file name may hold newlines, never NUL.

    >>> grep_markers(b"HEAD:we\\nird\\x002\\x00<<<<<<< x\\nHEAD:b\\x007\\x00>>>>>>> y\\n")
    ['we\\nird:2', 'b:7']
    """
    found, rest = [], raw
    while rest:
        name, sep, rest = rest.partition(b"\0")
        line, sep2, rest = rest.partition(b"\0")
        if not (sep and sep2) or not line.isdigit():
            raise ValueError("git grep -z printed a hit without a NUL-separated line number")
        _text, _nl, rest = rest.partition(b"\n")
        path = name.decode("utf-8", "backslashreplace").removeprefix("HEAD:")
        found.append(f"{path}:{int(line)}")
    return found


def parse_notebook(path: str, rec: Records) -> Notebook:
    """One notebook of ``nb.sh``."""
    if rec.first("exists") != "yes":
        return Notebook(path, exists=False)
    if rec.first("git") != "yes":
        return Notebook(path, exists=True)
    unread: dict[str, str] = {}
    git_dir = rec.read("git_dir")
    if git_dir is None or git_dir.failure:
        why = f"git rev-parse: {git_dir.failure if git_dir else 'it did not run'}"
        return Notebook(path, exists=True, is_git=True, unread=dict.fromkeys(READS, why))

    def read(name: str) -> Read | None:
        got = rec.read(name)
        if got is not None and got.failure and got.rc not in _ANSWERS.get(name, set()):
            unread[name] = f"git {name.replace('_', ' ')}: {got.failure}"
            return None
        return got

    def text(name: str) -> str:
        got = read(name)
        return got.text.strip() if got else ""

    branch, remote = text("branch"), text("remote")
    status = read("status")
    dirty = tuple(porcelain_paths(status.out)) if status else ()
    ahead = behind = 0
    upstream = rec.first("upstream") == "yes"
    if upstream:
        counts = text("ahead_behind").split()
        if "ahead_behind" not in unread:
            if len(counts) != 2 or not all(c.isdigit() for c in counts):
                unread["ahead_behind"] = f"git rev-list --count printed {' '.join(counts)!r}"
            else:
                ahead, behind = int(counts[0]), int(counts[1])
    unpushed = [t for t in text("unpushed").split() if t.isdigit()]
    if not upstream:
        ahead = len(unpushed)
    markers_read = read("markers")
    markers: list[str] = []
    if markers_read and markers_read.rc == 0:
        try:
            markers = grep_markers(markers_read.out)
        except ValueError as exc:
            unread["markers"] = str(exc)
    copies = read("copies")
    return Notebook(
        path=path,
        exists=True,
        is_git=True,
        branch=branch,
        remote=redact(remote),
        dirty=dirty,
        rebase_in_progress=rec.first("rebase") == "yes",
        has_upstream=upstream,
        ahead=ahead,
        behind=behind,
        oldest_unpushed=int(unpushed[-1]) if unpushed else None,
        markers=tuple(markers),
        conflicted_copies=tuple(
            p.decode("utf-8", "backslashreplace").removeprefix(path).lstrip("/")
            for p in (copies.out.split(b"\0") if copies else [])
            if p
        ),
        last_commit=_int(text("last_commit")),
        last_fetch=_int(rec.first("last_fetch")),
        unread=unread,
    )


def parse_notebooks(records: Records) -> dict[str, Notebook]:
    """What ``nb.sh`` recorded, keyed by notebook path."""
    return {path: parse_notebook(path, rec) for path, rec in records.groups("notebook")}


@dataclass(frozen=True)
class DeclaredNotebook:
    name: str
    path: str
    user: str
    remote: str | None
    branch: str


NIX = """c: builtins.mapAttrs
  (name: n: { path = n.path; user = n.user or "root"; remote = n.remote or null; branch = n.branch or "main"; })
  (c.nixfleet.notebooks or { })"""


def declare(data: Any) -> dict[str, DeclaredNotebook]:
    """The declared notebooks by name, from :data:`NIX`'s JSON.

    >>> declare({"home": {"path": "/h/.nb/home"}})["home"].branch
    'main'
    """
    return {
        n: DeclaredNotebook(
            n, b["path"], b.get("user", "root"), b.get("remote"), b.get("branch", "main")
        )
        for n, b in (data or {}).items()
    }


class Notebooks(Reading[dict[str, Notebook]]):
    """For each notebook path: its branch, remote URL (credentials masked), uncommitted files,
    whether a rebase is stuck, commits ahead of/behind the remote branch (as of the last fetch
    or push; nothing is fetched), when the oldest unpushed commit was made, committed conflict
    markers, ``--conflicted-copy`` files, the last commit and fetch times, and ``unread``.

    + paths: the notebooks' directories (``~/.nb/<name>``)
    """

    key = "notebooks"
    what = "read the nb notebooks"

    def part(self, paths: list[str]) -> Part:
        return Part(self.key, "nb", tuple(paths))

    def parse(self, reply: Reply) -> dict[str, Notebook]:
        return parse_notebooks(reply.records())


NOTEBOOKS = Notebooks()


# The git reads each check needs (see nb.sh).
NEEDS = {
    "nb.clean": ("status",),
    "nb.pushed": ("branch", "ahead_behind", "unpushed"),
    "nb.conflicts": ("markers", "copies"),
}


def _pairs(
    s: Subjects, check_id: str, problems: list[Problem]
) -> Iterator[tuple[str, Notebook | None]]:
    """Each declared notebook with what was read of it; one whose reads for ``check_id``
    failed becomes an error problem instead."""
    books = s.observed[NOTEBOOKS]
    assert not isinstance(books, Unknown)
    for name, nb in sorted(s.declared[AREA].items()):
        got = books.get(nb.path)
        if got is not None:
            missed = unread_problem(name, f"notebook {name}", got.unread, NEEDS[check_id])
            if missed:
                problems.append(missed)
                continue
        yield name, got


def clean(s: Subjects) -> Check | None:
    if not s.declared[AREA]:
        return None
    if bad := unreadable("nb.clean", s.observed[NOTEBOOKS]):
        return bad
    problems: list[Problem] = []
    details = {}
    for name, got in _pairs(s, "nb.clean", problems):
        if got is None or not got.exists or not got.is_git:
            problems.append(
                Problem(name, f"notebook {name} is missing; redeploy or `nb notebooks add`")
            )
            continue
        details[name] = {"dirty": list(got.dirty), "rebase_in_progress": got.rebase_in_progress}
        if got.rebase_in_progress:
            problems.append(
                Problem(
                    name,
                    f"notebook {name} is stuck in a rebase; finish it with `nb git rebase --continue`",
                )
            )
        elif got.dirty:
            files = ", ".join(d.split(maxsplit=1)[-1] for d in got.dirty[:3])
            problems.append(
                Problem(
                    name,
                    f"notebook {name} has uncommitted changes ({files}); run nb sync",
                    Severity.WARN,
                )
            )
    return verdict("nb.clean", problems, "notebooks are committed", details, Severity.WARN)


def pushed(s: Subjects) -> Check | None:
    if not s.declared[AREA]:
        return None
    if bad := unreadable("nb.pushed", s.observed[NOTEBOOKS]):
        return bad
    problems: list[Problem] = []
    details = {}
    now = s.context.now
    for name, got in _pairs(s, "nb.pushed", problems):
        if got is None or not got.exists or not got.is_git:
            continue
        details[name] = {
            "ahead": got.ahead,
            "behind": got.behind,
            "upstream": got.has_upstream,
            "last_fetch": got.last_fetch,
        }
        if got.ahead:
            since = datetime.fromtimestamp(got.oldest_unpushed or now.timestamp(), timezone.utc)
            late = now - since > s.context.nb_push_grace
            problems.append(
                Problem(
                    name,
                    f"notebook {name} has {got.ahead} unpushed commits since {since:%Y-%m-%d %H:%M}Z; "
                    f"run nb sync (is {got.remote or 'the remote'} reachable?)",
                    Severity.ERROR if late else Severity.WARN,
                )
            )
    return verdict("nb.pushed", problems, "notebooks are pushed", details)


def conflicts(s: Subjects) -> Check | None:
    if not s.declared[AREA]:
        return None
    if bad := unreadable("nb.conflicts", s.observed[NOTEBOOKS]):
        return bad
    problems: list[Problem] = []
    details = {}
    for name, got in _pairs(s, "nb.conflicts", problems):
        if got is None or not got.exists:
            continue
        details[name] = {
            "markers": list(got.markers),
            "conflicted_copies": list(got.conflicted_copies),
        }
        if got.markers:
            files = sorted({m.split(":", 1)[0] for m in got.markers})
            problems.append(
                Problem(
                    name,
                    f"notebook {name} has committed conflict markers in "
                    f"{', '.join(files)}; resolve them with nb edit",
                )
            )
        if got.conflicted_copies:
            problems.append(
                Problem(
                    name,
                    f"notebook {name} has conflicted copies "
                    f"({got.conflicted_copies[0].lstrip('./')}); keep one version "
                    "and delete the other",
                )
            )
    return verdict("nb.conflicts", problems, "no conflicts in notebooks", details)


def metrics(s: Subjects) -> list[Metric]:
    """Per declared notebook: unpushed commits and when the oldest was made, where they could be
    counted, and how long they may stay unpushed (``nb_push_grace``)."""
    books = s.observed[NOTEBOOKS]
    host, grace = s.context.host, s.context.nb_push_grace.total_seconds()
    out = []
    for name, decl in sorted(s.declared[AREA].items()):
        labels = {"host": host, "notebook": name}
        out.append(Metric("nixfleet_notebook_push_grace_seconds", labels, grace))
        book = None if isinstance(books, Unknown) else books.get(decl.path)
        if book and book.exists and not ({"ahead_behind", "unpushed"} & set(book.unread)):
            out.append(Metric("nixfleet_notebook_unpushed_commits", labels, float(book.ahead)))
            if book.ahead and book.oldest_unpushed is not None:
                out.append(
                    Metric(
                        "nixfleet_notebook_oldest_unpushed_timestamp_seconds",
                        labels,
                        float(book.oldest_unpushed),
                    )
                )
    return out


def _reads(d: dict[str, DeclaredNotebook], _ctx: Context) -> list[Part | None]:
    return [NOTEBOOKS.part(sorted(n.path for n in d.values()))] if d else []


AREA: Area[dict[str, DeclaredNotebook]] = Area(
    name="nb",
    order=40,
    nix=NIX,
    declare=declare,
    readings=(NOTEBOOKS,),
    reads=_reads,
    checks=(
        CheckSpec("nb.clean", clean),
        CheckSpec("nb.pushed", pushed),
        CheckSpec("nb.conflicts", conflicts),
    ),
    metrics=metrics,
    help={
        "nixfleet_notebook_unpushed_commits": "Commits in an nb notebook not yet pushed to its remote.",
        "nixfleet_notebook_oldest_unpushed_timestamp_seconds": (
            "When the oldest commit of an nb notebook not yet on its remote was made."
        ),
        "nixfleet_notebook_push_grace_seconds": "How long notes may stay unpushed (nb_push_grace).",
    },
)
