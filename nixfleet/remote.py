"""The safe switch's commands on a host: the deploy lock, the rollback watchdog, persisting,
rollback and the deployment journal. Pure functions returning command text; the programs are
``nixfleet/switch/*.sh`` (shellchecked), which take every value as a positional argument.

The lock is an flock on ``/run/nixfleet/deploy.lock``, held by a transient unit for as long as
the deploy runs (``RuntimeMaxSec`` bounds a lock whose deployer vanished). The watchdog is a
transient systemd timer that re-activates the boot-default generation (which ``nixos-rebuild
test`` leaves untouched) unless the deployer disarms it after the gate checks pass.
"""

from __future__ import annotations

import json
import shlex
from functools import cache
from pathlib import Path
from typing import Any

from nixfleet.areas.nixos import HOLDER_FILE, LOCK_UNIT, PROFILE, REVISIONS_DIR
from nixfleet.probe import program

LOCK_FILE = "/run/nixfleet/deploy.lock"
WATCHDOG_UNIT = "nixfleet-watchdog"
JOURNAL = "/var/lib/nixfleet/deployments.jsonl"
LOCK_BUSY = 75  # EX_TEMPFAIL
SCRIPTS = Path(__file__).parent / "switch"


@cache
def _body(name: str) -> str:
    return program(SCRIPTS / "lib.sh") + program(SCRIPTS / f"{name}.sh")


def _run(name: str, *args: object) -> str:
    """``switch/<name>.sh`` as one command, every argument one word.

    >>> _run("disarm").startswith("bash -c ")
    True
    """
    words = ["bash", "-c", _body(name), f"nixfleet-{name}", WATCHDOG_UNIT, LOCK_UNIT]
    return shlex.join([*words, *(str(a) for a in args)])


def as_root(command: str, sudo: bool) -> str:
    """``command`` as root on a host reached as a normal user with passwordless sudo (as
    pyinfra's ``_sudo`` runs it: ``-n`` never waits for a password, ``-H`` gives root's home);
    unchanged when ``sudo`` is off. sudo keeps the caller's PATH, as NixOS's sudoers sets no
    ``secure_path``.

    >>> as_root("id -un", True)
    "sudo -H -n sh -c 'id -un'"
    >>> as_root("id -un", False)
    'id -un'
    """
    return shlex.join(["sudo", "-H", "-n", "sh", "-c", command]) if sudo else command


def escalation(sudo: bool) -> dict[str, bool]:
    """pyinfra's connector arguments for a remote step that needs root (``_sudo``).

    >>> escalation(True), escalation(False)
    ({'_sudo': True}, {})
    """
    return {"_sudo": True} if sudo else {}


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True)


def begin_switch(
    holder: dict[str, Any],
    watchdog_s: int | None,
    run_id: str,
    failed_units: str,
    previous: str | None = None,
    lease_s: int = 7200,
    toplevel: str | None = None,
) -> str:
    """The first step of a safe switch, in one round trip (``switch/begin.sh``): take the deploy
    lock (or exit 75 naming its holder), check that ``toplevel``'s closure is already in the
    host's store (the watchdog must cover the activation only, never a build or a copy), arm
    the watchdog (``watchdog_s``; None when there is no earlier generation to return to), then
    list the units that had already failed (``failed_units``, a probe). Sections: ``@@@ lock``,
    ``@@@ closure`` (``ON-HOST``/``MISSING``), ``@@@ watchdog`` (``ARMED``/``NOT-ARMED``) and
    ``@@@ failed_units``.

    >>> "nix-store --check-validity" in begin_switch({"run": "r1"}, 30, "r1", "true", "/p", toplevel="/t")
    True
    """
    took = _json({"event": "lock-taken-over", "run": holder.get("run"), "by": holder.get("who")})
    begin = _run(
        "begin",
        LOCK_FILE,
        HOLDER_FILE,
        JOURNAL,
        lease_s,
        _json(holder),
        took,
        toplevel or "",
        watchdog_s or 0,
        previous or "",
        f"nixfleet watchdog of run {run_id}: roll back",
    )
    return f"{begin} || exit $?\necho '@@@ failed_units'; {failed_units} 2>/dev/null; true"


def lock_message(holder: dict[str, Any]) -> str:
    """The one-line error for a host whose deploy lock another run holds.

    >>> lock_message({"who": "alice@laptop", "since": "2026-11-25T21:00:00+00:00", "run": "r1", "revision": "b9a5"})[:60]
    'another deploy holds the lock: alice@laptop since 2026-11-25'
    """
    return (
        f"another deploy holds the lock: {holder.get('who', '?')} since {holder.get('since', '?')} "
        f"(run {holder.get('run', '?')}, revision {str(holder.get('revision', '?'))[:12]}); wait for it, "
        "or if that run died: nixfleet unlock HOST"
    )


def force_unlock(who: str) -> str:
    """Release the deploy lock whoever holds it (``nixfleet unlock``), and journal it with the
    holder's record (base64: host text). Prints ``UNLOCKED`` or ``NOT-LOCKED``.

    >>> "unlocked-by-hand" in force_unlock("alice@laptop")
    True
    """
    return _run("unlock", HOLDER_FILE, JOURNAL, _json({"event": "unlocked-by-hand", "by": who}))


def finish(entry: dict[str, Any], run_id: str) -> str:
    """Journal the run, and release the lock if this run holds it (another run's is left alone)."""
    return _run("finish", JOURNAL, _json(entry), HOLDER_FILE, run_id)


def restore(previous: str) -> str:
    """Make ``previous`` the boot default again *explicitly* (the profile may already point at
    the new generation when persisting failed half-way), activate it and write its boot entry,
    then disarm the watchdog. Never "whatever the profile points to".

    >>> restore("/nix/store/p-sys").endswith("/nix/store/p-sys")
    True
    """
    return _run("restore", PROFILE, previous)


def record_revision(toplevel: str, revision: str) -> str:
    """Remember on the host which flake revision built ``toplevel``."""
    return _run("record", REVISIONS_DIR, toplevel, revision)


def disarm_watchdog() -> str:
    """Stop the timer; print ``FIRED`` if its rollback already started."""
    return _run("disarm")


# The steps of persisting, each with the marker it prints when done.
PERSIST_STEPS = (
    ("PROFILE-SET", "setting the system profile"),
    ("BOOT-ENTRY-SET", "writing the boot entry (switch-to-configuration boot)"),
    ("RECORDED", "recording the revision"),
)


MARKERS = {marker for marker, _ in PERSIST_STEPS} | {"DISARMED", "FIRED", "PERSISTED"}


def failed_step(output: str) -> str:
    r"""The persist step that did not finish, from the markers ``persist`` printed.

    >>> failed_step("DISARMED\nPROFILE-SET\nFailed to install bootloader")
    'writing the boot entry (switch-to-configuration boot)'
    """
    done = set(output.split())
    return next((what for marker, what in PERSIST_STEPS if marker not in done), "persisting")


def persist(toplevel: str, revision: str, armed: bool) -> str:
    """After the gate passed (``switch/persist.sh``): disarm the watchdog (if ``armed``; print
    ``FIRED`` and stop if its rollback already began), then make ``toplevel`` the boot default,
    as ``nixos-rebuild boot`` does once the closure is on the host (``nix-env --set``,
    ``switch-to-configuration boot``), record the flake ``revision`` that built it (for
    toplevels that cannot say: ``nixos-version --configuration-revision`` is unset) and print
    ``PERSISTED``. Each step prints its marker when it is done (``PROFILE-SET``,
    ``BOOT-ENTRY-SET``, ``RECORDED``), so a failure names the step (:data:`PERSIST_STEPS`).

    >>> "switch-to-configuration" in persist("/nix/store/x-nixos-system-a", "b9a5", True)
    True
    """
    return _run("persist", int(armed), PROFILE, toplevel, REVISIONS_DIR, revision)


ACTIVATION_UNIT = "nixos-rebuild-switch-to-configuration"  # both flavours' transient unit


def observe_activation(since_epoch: int) -> str:
    """How the host's last switch-to-configuration (nixos-rebuild's, in its transient unit)
    ended since ``since_epoch``, from the host's journal (``switch/observe.sh``): the legacy
    nixos-rebuild turns every failure into exit 1, so the exit code alone cannot say.

    >>> "nixos-rebuild-switch-to-configuration" in observe_activation(1700000000)
    True
    """
    return _run("observe", ACTIVATION_UNIT, since_epoch)


def activation_status(output: str) -> int | None:
    r"""The exit code :func:`observe_activation` printed, or None when the journal did not say.

    >>> activation_status("STC-STATUS=4\n"), activation_status("STC-STATUS=unknown")
    (4, None)
    """
    for line in output.splitlines():
        key, _, value = line.strip().partition("=")
        if key == "STC-STATUS" and value.isdigit():
            return int(value)
    return None


def schedule_reboot(policy: str) -> str | None:
    """The command that carries out a reboot policy, or None for ``never``.

    >>> schedule_reboot("02:00-05:00")
    "systemd-run -q --unit=nixfleet-reboot --on-calendar='*-*-* 02:00:00' systemctl reboot"
    """
    if policy == "now":
        return "systemd-run -q --unit=nixfleet-reboot --on-active=10s systemctl reboot"
    if "-" in policy:
        start = policy.split("-", 1)[0]
        return f"systemd-run -q --unit=nixfleet-reboot --on-calendar={shlex.quote(f'*-*-* {start}:00')} systemctl reboot"
    return None
