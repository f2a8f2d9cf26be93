"""secrets.present and secrets.mode."""

from __future__ import annotations

from nixfleet.checks import Check, Problem, unreadable, verdict
from nixfleet.checks.context import Subjects
from nixfleet.probe import Unknown


def present(s: Subjects) -> Check | None:
    if not s.declared.secrets:
        return None
    if bad := unreadable("secrets.present", s.observed.secrets):
        return bad
    assert not isinstance(s.observed.secrets, Unknown)
    problems = []
    for name, want in sorted(s.declared.secrets.items()):
        got = s.observed.secrets.get(want.path)
        if isinstance(got, Unknown):
            problems.append(Problem(name, f"secret {name}: {got}"))
        elif got is None or got.size == 0:
            state = "missing" if got is None else "empty"
            problems.append(Problem(name, f"secret {name} is {state} at {want.path}; redeploy "
                                          "(sops-nix installs secrets at activation)"))  # fmt: skip
    return verdict("secrets.present", problems, f"{len(s.declared.secrets)} secrets present",
                   {"declared": sorted(s.declared.secrets)})  # fmt: skip


def mode(s: Subjects) -> Check | None:
    if not s.declared.secrets:
        return None
    if bad := unreadable("secrets.mode", s.observed.secrets):
        return bad
    assert not isinstance(s.observed.secrets, Unknown)
    problems, details = [], {}
    for name, want in sorted(s.declared.secrets.items()):
        got = s.observed.secrets.get(want.path)
        if isinstance(got, Unknown):
            problems.append(Problem(name, f"secret {name}: {got}"))
            continue
        if got is None:
            continue
        details[name] = f"{got.mode} {got.owner}:{got.group}"
        if int(got.mode, 8) != int(want.mode, 8) or (got.owner, got.group) != (
            want.owner,
            want.group,
        ):
            problems.append(Problem(name, f"secret {name} is {got.mode} {got.owner}:{got.group}, declared "
                                          f"{want.mode} {want.owner}:{want.group}; redeploy to reset it"))  # fmt: skip
    return verdict("secrets.mode", problems, "secrets have their declared owner and mode", details)
