"""nixos.current-system and nixos.revision."""

from __future__ import annotations

from nixfleet.checks import Check, Problem, Severity, unreadable, verdict
from nixfleet.checks.context import Subjects
from nixfleet.probe import Unknown


def current_system(s: Subjects) -> Check:
    system, want = s.observed.system, s.context.toplevel
    if bad := unreadable("nixos.current-system", system, details={"declared": want}):
        return bad
    assert not isinstance(system, Unknown)
    details = {"current": system.current, "declared": want, "boot_default": system.profile}
    problems = []
    if not system.current:
        problems.append(Problem("system", "no NixOS system is active; deploy the host"))
    elif want and system.current != want:
        problems.append(Problem(
            "system",
            f"runs {_name(system.current)} but the flake declares {_name(want)}; deploy it "
            f"({s.context.deploy_hint} --limit {s.context.host})",
        ))  # fmt: skip
    elif s.context.expect_boot_default and system.profile and system.current != system.profile:
        problems.append(Problem(
            "boot",
            f"runs {_name(system.current)} but boots {_name(system.profile)}; switch to the boot "
            "default or roll the profile back",
        ))  # fmt: skip
    return verdict("nixos.current-system", problems, f"runs {_name(system.current)}", details)


def revision(s: Subjects) -> Check | None:
    """The flake revision pushed to the host's checkout is the flake's current one, unmodified."""
    path, want = s.context.flake_checkout, s.context.flake_revision
    if not path or not want:
        return None
    checkout, system = s.observed.checkout, s.observed.system
    if bad := unreadable("nixos.revision", checkout, details={"checkout": path, "flake": want}):
        return bad
    assert not isinstance(checkout, Unknown)
    running = None if isinstance(system, Unknown) else system.revision
    details = {"checkout": path, "flake": want, "host": checkout.get("revision"),
               "running": running}  # fmt: skip
    problems = []
    if checkout.get("state") != "git":
        problems.append(Problem(path, f"{path} holds no flake checkout ({checkout.get('state')}); deploy the host",
                                Severity.WARN))  # fmt: skip
    elif checkout.get("revision") != want:
        problems.append(Problem(path, f"{path} is at {str(checkout.get('revision'))[:12]}, the flake at "
                                      f"{want[:12]}; deploy the host", Severity.WARN))  # fmt: skip
    elif checkout.get("dirty") == "yes":
        problems.append(Problem(path, f"{path} has local edits; commit them to the flake repo",
                                Severity.WARN))  # fmt: skip
    return verdict("nixos.revision", problems, f"{path} is at {want[:12]}", details, Severity.WARN)


def _name(path: str | None) -> str:
    return path.rsplit("/", 1)[-1] if path else "nothing"
