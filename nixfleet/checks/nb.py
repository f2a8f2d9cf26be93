"""nb.clean, nb.pushed and nb.conflicts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

from nixfleet.checks import Check, Problem, Severity, unread_problem, unreadable, verdict
from nixfleet.checks.context import Subjects
from nixfleet.observed.nb import Notebook
from nixfleet.probe import Unknown

# The git reads each check needs (see probes/nb.sh).
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
    assert not isinstance(s.observed.notebooks, Unknown)
    for name, nb in sorted(s.declared.notebooks.items()):
        got = s.observed.notebooks.get(nb.path)
        if got is not None:
            missed = unread_problem(name, f"notebook {name}", got.unread, NEEDS[check_id])
            if missed:
                problems.append(missed)
                continue
        yield name, got


def clean(s: Subjects) -> Check | None:
    if not s.declared.notebooks:
        return None
    if bad := unreadable("nb.clean", s.observed.notebooks):
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
            problems.append(Problem(name, f"notebook {name} has uncommitted changes ({files}); run nb sync",
                                    Severity.WARN))  # fmt: skip
    return verdict("nb.clean", problems, "notebooks are committed", details, Severity.WARN)


def pushed(s: Subjects) -> Check | None:
    if not s.declared.notebooks:
        return None
    if bad := unreadable("nb.pushed", s.observed.notebooks):
        return bad
    problems: list[Problem] = []
    details = {}
    now = s.context.now
    for name, got in _pairs(s, "nb.pushed", problems):
        if got is None or not got.exists or not got.is_git:
            continue
        details[name] = {"ahead": got.ahead, "behind": got.behind, "upstream": got.has_upstream,
                         "last_fetch": got.last_fetch}  # fmt: skip
        if got.ahead:
            since = datetime.fromtimestamp(got.oldest_unpushed or now.timestamp(), timezone.utc)
            late = now - since > s.context.nb_push_grace
            problems.append(Problem(
                name,
                f"notebook {name} has {got.ahead} unpushed commits since {since:%Y-%m-%d %H:%M}Z; "
                f"run nb sync (is {got.remote or 'the remote'} reachable?)",
                Severity.ERROR if late else Severity.WARN,
            ))  # fmt: skip
    return verdict("nb.pushed", problems, "notebooks are pushed", details)


def conflicts(s: Subjects) -> Check | None:
    if not s.declared.notebooks:
        return None
    if bad := unreadable("nb.conflicts", s.observed.notebooks):
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
            problems.append(Problem(name, f"notebook {name} has committed conflict markers in "
                                          f"{', '.join(files)}; resolve them with nb edit"))  # fmt: skip
        if got.conflicted_copies:
            problems.append(Problem(name, f"notebook {name} has conflicted copies "
                                          f"({got.conflicted_copies[0].lstrip('./')}); keep one version "
                                          "and delete the other"))  # fmt: skip
    return verdict("nb.conflicts", problems, "no conflicts in notebooks", details)
