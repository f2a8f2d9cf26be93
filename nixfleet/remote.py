"""Shell commands nixfleet runs on a target host for safe deploys: the deploy lock, the rollback
watchdog, rollback itself and the deployment journal. Pure functions returning command text.

The lock is an flock on ``/run/nixfleet/deploy.lock``, held by a transient unit for as long as
the deploy runs (``RuntimeMaxSec`` bounds a lock whose deployer vanished). The watchdog is a
transient systemd timer that re-activates the boot-default generation (which ``nixos-rebuild
test`` leaves untouched) unless the deployer disarms it after the gate checks pass.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from nixfleet.areas.nixos import HOLDER_FILE, LOCK_UNIT, PROFILE

LOCK_FILE = "/run/nixfleet/deploy.lock"
WATCHDOG_UNIT = "nixfleet-watchdog"
JOURNAL = "/var/lib/nixfleet/deployments.jsonl"
LOCK_BUSY = 75  # EX_TEMPFAIL


def begin_switch(
    holder: dict[str, Any],
    watchdog_s: int | None,
    run_id: str,
    failed_units: str,
    previous: str | None = None,
    lease_s: int = 7200,
    toplevel: str | None = None,
) -> str:
    """The first step of a safe switch, in one round trip: take the deploy lock (or exit 75
    naming its holder), check that ``toplevel``'s closure is already in the host's store (the
    watchdog must cover the activation only, never a build or a copy), arm the watchdog
    (``watchdog_s``; None when there is no earlier generation to return to), and list the units
    that had already failed. Sections: ``@@@ lock``, ``@@@ closure`` (``ON-HOST``/``MISSING``),
    ``@@@ watchdog`` (``ARMED``/``NOT-ARMED``) and ``@@@ failed_units``.

    >>> script = begin_switch({"run": "r1"}, 30, "r1", "systemctl list-units --failed", "/p", toplevel="/t")
    >>> [line.split(";")[0] for line in script.splitlines()]
    ["echo '@@@ lock'", "echo '@@@ closure'", "echo '@@@ watchdog'", "echo '@@@ failed_units'"]
    """
    arm = arm_watchdog(watchdog_s, run_id, previous) if watchdog_s and previous else "true"
    check = f"nix-store --check-validity {shlex.quote(toplevel)}" if toplevel else "true"
    return (
        f"echo '@@@ lock'; ( {acquire_lock(holder, lease_s)} ) || exit $?\n"
        f"echo '@@@ closure'; if {check} >/dev/null 2>&1; then echo ON-HOST; else echo MISSING; "
        f"echo '@@@ failed_units'; exit 0; fi\n"
        f"echo '@@@ watchdog'; if {{ {arm}; }} >/dev/null 2>&1; then echo ARMED; else echo NOT-ARMED; fi\n"
        f"echo '@@@ failed_units'; {failed_units} 2>/dev/null; true"
    )


def acquire_lock(holder: dict[str, Any], max_seconds: int = 7200) -> str:
    """Take the host's deploy lock or exit 75 printing ``LOCKED <holder json, base64>``.
    ``max_seconds`` is the lock's lease: the unit holding it stops by then whatever happens.
    A holder record left with no lock held is a run that died (its watchdog or lease released
    the lock): taking over is written to the journal, naming it.

    >>> "flock -n -E 75 /run/nixfleet/deploy.lock sleep infinity" in acquire_lock({"run": "r1"})
    True
    """
    record = shlex.quote(json.dumps(holder, sort_keys=True))
    took = json.dumps({"event": "lock-taken-over", "run": holder.get("run"), "by": holder.get("who")},
                      sort_keys=True)  # fmt: skip
    # The dead run's record goes into the entry as base64: it is host text, never parsed here.
    takeover = (
        f"prev=$(base64 -w0 {HOLDER_FILE}); mkdir -p {JOURNAL.rsplit('/', 1)[0]}; "
        f'printf \'%s, "previous_holder_b64": "%s"}}\\n\' {shlex.quote(took[:-1])} "$prev" >> {JOURNAL}'
    )
    busy = f'{{ echo "LOCKED $(base64 -w0 {HOLDER_FILE} 2>/dev/null)"; exit {LOCK_BUSY}; }}'
    # systemd-run refuses a unit name that is already loaded: that is what makes it atomic
    # (with --collect a failed lock unit does not linger). The flock guards the file for others.
    return (
        f"mkdir -p /run/nixfleet; "
        f"systemd-run -q --unit={LOCK_UNIT} --collect -p RuntimeMaxSec={max_seconds} "
        f"--service-type=exec flock -n -E {LOCK_BUSY} {LOCK_FILE} sleep infinity 2>/dev/null "
        f"|| {busy}; systemctl is-active -q {LOCK_UNIT}.service || {busy}; "
        f"if [ -s {HOLDER_FILE} ]; then {takeover}; fi; "
        f"printf '%s\\n' {record} > {HOLDER_FILE}; echo LOCKED-BY-US"
    )


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

    >>> "systemctl stop nixfleet-deploy-lock.service" in force_unlock("alice@laptop")
    True
    """
    entry = json.dumps({"event": "unlocked-by-hand", "by": who}, sort_keys=True)
    return (
        f"if systemctl is-active -q {LOCK_UNIT}.service || [ -s {HOLDER_FILE} ]; then "
        f"prev=$(base64 -w0 {HOLDER_FILE} 2>/dev/null); mkdir -p {JOURNAL.rsplit('/', 1)[0]}; "
        f'printf \'%s, "previous_holder_b64": "%s"}}\\n\' {shlex.quote(entry[:-1])} "$prev" >> {JOURNAL}; '
        f"systemctl stop {LOCK_UNIT}.service; rm -f {HOLDER_FILE}; echo UNLOCKED; "
        "else echo NOT-LOCKED; fi"
    )


def release_lock(run_id: str) -> str:
    """Release the lock if this run holds it (another run's lock is left alone)."""
    mine = shlex.quote(f'"run": "{run_id}"')
    return (
        f"if grep -qF {mine} {HOLDER_FILE} 2>/dev/null; then "
        f"systemctl stop {LOCK_UNIT}.service 2>/dev/null; rm -f {HOLDER_FILE}; fi; true"
    )


def restore(previous: str, unit: str = "nixfleet-rollback") -> str:
    """Make ``previous`` the boot default again *explicitly* (the profile may already point at
    the new generation when persisting failed half-way), then activate it and write its boot
    entry (``switch-to-configuration switch``). Never "whatever the profile points to".

    >>> restore("/nix/store/p-sys").endswith("/nix/store/p-sys/bin/switch-to-configuration switch")
    True
    """
    q = shlex.quote(previous)
    return (
        f'[ "$(readlink -f {PROFILE})" = {q} ] || nix-env -p {PROFILE} --set {q}'
        f" && systemd-run -q --unit={unit} --collect --pipe --wait --service-type=exec "
        f"-E LOCALE_ARCHIVE -E NIXOS_INSTALL_BOOTLOADER {q}/bin/switch-to-configuration switch"
    )


def arm_watchdog(seconds: int, run_id: str, previous: str) -> str:
    """Arm a transient timer that re-activates ``previous`` ``seconds`` from now. When it
    fires it also stops the deploy lock (``Conflicts=``), so a controller that died mid-switch
    leaves no lock behind longer than its watchdog.

    >>> "--on-active=60s" in arm_watchdog(60, "r1", "/nix/store/p-sys")
    True
    """
    # No shell in the unit: systemd would expand its $ and ; itself. A watchdog left by an
    # earlier run is cleared and the arming retried only if the first attempt fails (one
    # systemd call in the usual case).
    arm = (
        f"systemd-run -q --unit={WATCHDOG_UNIT} --on-active={seconds}s "
        f"--timer-property=AccuracySec=100ms -p Conflicts={LOCK_UNIT}.service "
        f"--description={shlex.quote(f'nixfleet watchdog of run {run_id}: roll back')} "
        f"-E LOCALE_ARCHIVE -E NIXOS_INSTALL_BOOTLOADER {shlex.quote(previous)}/bin/switch-to-configuration switch"
    )
    return (
        f"{arm} 2>/dev/null || {{ systemctl stop {WATCHDOG_UNIT}.timer 2>/dev/null; "
        f"systemctl reset-failed {WATCHDOG_UNIT}.service {WATCHDOG_UNIT}.timer 2>/dev/null; {arm}; }}"
    )


def disarm_watchdog() -> str:
    """Stop the timer; print ``FIRED`` if its rollback already started."""
    return (
        f"systemctl stop {WATCHDOG_UNIT}.timer 2>/dev/null; "
        f"t=$(systemctl show -p ExecMainStartTimestampMonotonic --value {WATCHDOG_UNIT}.service 2>/dev/null); "
        f'if [ -n "$t" ] && [ "$t" != 0 ]; then echo FIRED; else echo DISARMED; fi'
    )


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


def persist(toplevel: str, record: str, armed: bool) -> str:
    """After the gate passed: disarm the watchdog (if ``armed``; print ``FIRED`` and stop if its
    rollback already began), then make ``toplevel`` the boot default, as ``nixos-rebuild boot``
    does once the closure is on the host (``nix-env --set``, ``switch-to-configuration boot``),
    run ``record`` and print ``PERSISTED``. The closure is already there: ``test`` copied it.
    Each step prints its marker when it is done (``PROFILE-SET``, ``BOOT-ENTRY-SET``,
    ``RECORDED``), so a failure names the step (:data:`PERSIST_STEPS`).

    >>> "switch-to-configuration boot" in persist("/nix/store/x-nixos-system-a", "true", True)
    True
    """
    q = shlex.quote(toplevel)
    disarm = (
        f'w=$({disarm_watchdog()}); echo "$w"; [ "$w" = DISARMED ] || exit 0; ' if armed else ""
    )
    return (
        f"{disarm}nix-env -p {PROFILE} --set {q} && echo PROFILE-SET && "
        f"systemd-run -q --unit=nixos-rebuild-switch-to-configuration --collect --pipe --wait "
        f"--service-type=exec -E LOCALE_ARCHIVE -E NIXOS_INSTALL_BOOTLOADER {q}/bin/switch-to-configuration boot "
        f"&& echo BOOT-ENTRY-SET && {{ {record}; }} && echo RECORDED && echo PERSISTED"
    )


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


def append_journal(entry: dict[str, Any]) -> str:
    """Append one JSON line to the host's deployment journal."""
    line = shlex.quote(json.dumps(entry, sort_keys=True))
    return f"mkdir -p /var/lib/nixfleet && printf '%s\\n' {line} >> {JOURNAL}"
