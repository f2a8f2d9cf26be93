"""nb notebooks, read with git directly (nb itself may commit and push even when asked to read)."""

from __future__ import annotations

from dataclasses import dataclass

from nixfleet.observed.sections import split


@dataclass(frozen=True)
class Notebook:
    """One notebook's git state. Times are epoch seconds; ``None`` when it never happened."""

    path: str
    exists: bool
    is_git: bool = False
    branch: str = ""
    remote: str = ""
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


def _int(value: str) -> int | None:
    return int(value) if value.strip().lstrip("-").isdigit() else None


def parse_notebooks(output: list[str]) -> dict[str, Notebook]:
    """Parse the sections of ``facts.nb.NbNotebooks``'s command, keyed by notebook path."""
    found: dict[str, Notebook] = {}
    for section in split(output):
        if section.name != "notebook" or not section.args:
            continue
        path = section.args[0]
        values: dict[str, str] = {}
        lists: dict[str, list[str]] = {"dirty": [], "marker": [], "copy": []}
        for line in section.lines:
            key, _, value = line.partition("=")
            if key in lists:
                lists[key].append(value)
            else:
                values[key] = value
        if values.get("exists") != "yes":
            found[path] = Notebook(path, exists=False)
            continue
        ahead, _, behind = values.get("ahead_behind", "").partition(" ")
        found[path] = Notebook(
            path=path,
            exists=True,
            is_git=values.get("git") == "yes",
            branch=values.get("branch", ""),
            remote=values.get("remote", ""),
            dirty=tuple(lists["dirty"]),
            rebase_in_progress=values.get("rebase") == "yes",
            has_upstream=values.get("upstream") == "yes",
            ahead=_int(ahead) or 0,
            behind=_int(behind) or 0,
            oldest_unpushed=_int(values.get("oldest_unpushed", "")),
            markers=tuple(lists["marker"]),
            conflicted_copies=tuple(lists["copy"]),
            last_commit=_int(values.get("last_commit", "")),
            last_fetch=_int(values.get("last_fetch", "")),
        )
    return found
