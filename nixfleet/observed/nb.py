"""nb notebooks, read with git directly (nb itself may commit and push even when asked to read)."""

from __future__ import annotations

from dataclasses import dataclass, field

from nixfleet.probe import Read, Records, redact

# The git reads of probes/nb.sh, each filling part of a Notebook.
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
    """One notebook of ``probes/nb.sh``."""
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
    """What ``probes/nb.sh`` recorded, keyed by notebook path."""
    return {path: parse_notebook(path, rec) for path, rec in records.groups("notebook")}
