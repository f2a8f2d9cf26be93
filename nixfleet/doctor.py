"""``nixfleet doctor``: before a deploy, what on each host would stop it, and how to fix it.

One fresh SSH connection per host (so a host key or login problem shows as itself), one probe
part (``probes/doctor.sh``) whose every read reports its own outcome, and the flake's output
evaluated offline. A read that did not happen is a problem of its own, never "ok".

>>> [str(p) for p in problems("nas", {"user": "root", "nixdf": "/dev/sda1 100 90 10 90% /nix"},
...                            sudo=False, ssh_user="root", need_kib=2_000_000)][0]
'nas: /nix has 10 KiB free, the closure needs about 2000000 KiB; free space (nix-collect-garbage -d) or grow the disk'
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nixfleet import nix, probe, process, reach
from nixfleet.models import HostStatus
from nixfleet.probe import Part
from nixfleet.ssh import SshTarget

BOOT_MIN_KIB = 100 * 1024  # a kernel and initrd per generation on /boot
NIX_MIN_KIB = 1024 * 1024  # room to build and unpack in, however small the closure
_NAME = re.compile(r"^[a-z_][a-z0-9_.-]*\$?$")


@dataclass(frozen=True)
class Problem:
    host: str
    what: str
    fix: str
    blocking: bool = True

    def __str__(self) -> str:
        return f"{self.host}: {self.what}; {self.fix}"


def part(sudo: bool) -> Part:
    return Part("doctor", "doctor", ("1" if sudo else "0",), timeout_s=60)


def _free_kib(df: str) -> int | None:
    """Available KiB from ``df -Pk`` output (its last line's fourth field)."""
    lines = [x for x in df.splitlines() if x.strip() and not x.startswith("Filesystem")]
    fields = lines[-1].split() if lines else []
    return int(fields[3]) if len(fields) >= 6 and fields[3].isdigit() else None


def problems(
    host: str,
    reads: Mapping[str, str | None],
    *,
    sudo: bool,
    ssh_user: str,
    need_kib: int | None,
    failures: Mapping[str, str] | None = None,
) -> list[Problem]:
    """What stops a deploy, from the reads (``{name: stdout}``; a read that failed is in
    ``failures`` with why, or missing)."""
    failures = failures or {}
    out: list[Problem] = []

    def unread(name: str, what: str) -> None:
        why = failures.get(name, "no answer from the host")
        out.append(
            Problem(host, f"could not {what}: {why}", "fix that on the host, then run doctor again")
        )

    user = (reads.get("user") or "").strip()
    if not _NAME.match(user):
        unread("user", "tell the login user")
        user = ""
    elif user != ssh_user:
        out.append(
            Problem(
                host,
                f"logged in as {user!r}, not ssh_user {ssh_user!r}",
                "check ssh_user and the host's ssh config",
            )
        )
    root = user == "root"
    if sudo and not root and "sudo" in failures:
        out.append(
            Problem(
                host,
                f"sudo needs a password or is not allowed for {user or ssh_user} ({failures['sudo']})",
                f"allow it without a password: security.sudo.extraRules for {user or ssh_user} "
                "with NOPASSWD, or set ssh_user to root",
            )
        )
    if not sudo and not root and user:
        out.append(
            Problem(
                host,
                f"{user} is not root and use_remote_sudo is off",
                "set use_remote_sudo = True in host data",
            )
        )
    trusted = reads.get("trusted")
    if root or not user:
        pass  # root is always trusted by nix-daemon
    elif trusted is None:
        unread("trusted", "read nix's trusted-users")
    else:
        names = trusted.split()
        if user not in names and "*" not in names and not any(n.startswith("@") for n in names):
            out.append(
                Problem(
                    host,
                    f"{user} is not in nix's trusted-users ({trusted.strip() or 'empty'}), so closures cannot be copied as {user}",
                    f'nix.settings.trusted-users = [ "{user}" ];',
                )
            )
    for name, mount, floor, fix in (
        (
            "nixdf",
            "/nix",
            max(need_kib or 0, NIX_MIN_KIB),
            "free space (nix-collect-garbage -d) or grow the disk",
        ),
        (
            "bootdf",
            "/boot",
            BOOT_MIN_KIB,
            "remove old generations (nix-collect-garbage -d, then a deploy) or grow /boot",
        ),
    ):
        text = reads.get(name)
        free = _free_kib(text) if text is not None else None
        if text is None:
            if name == "bootdf" and "bootdf" in failures and "No such file" in failures["bootdf"]:
                continue  # no separate /boot: it is on /, checked with /nix or not at all
            unread(name, f"read free space on {mount}")
        elif free is None:
            out.append(
                Problem(
                    host,
                    f"could not read free space on {mount}: df printed {text.strip()[-80:]!r}",
                    "check df on the host",
                )
            )
        elif free < floor:
            need = (
                f"the closure needs about {floor} KiB"
                if name == "nixdf" and need_kib is not None and need_kib >= floor
                else f"at least {floor} KiB are needed"
            )
            out.append(Problem(host, f"{mount} has {free} KiB free, {need}", fix))
    if reads.get("git") is None:
        out.append(
            Problem(
                host,
                "git is not on the host's PATH, so the flake cannot be checked out in /etc/nixos",
                "programs.git.enable = true; (or set flake_checkout empty)",
            )
        )
    if reads.get("systemdrun") is None:
        why = failures.get("systemdrun", "no answer")
        out.append(
            Problem(
                host,
                f"systemd-run cannot start a transient unit ({why})",
                "the safe switch needs systemd as PID 1 and root (or sudo)",
            )
        )
    return out


def check_host(
    name: str, data: Mapping[str, Any], sudo: bool, need_kib: int | None
) -> list[Problem]:
    """One host: connect afresh, read, and judge."""
    target = SshTarget.from_data(name, data)
    command = probe.command([part(sudo)])
    result = process.run([*target.fresh_argv(connect_timeout=5), command], timeout=90)
    replies = probe.parse(result.stdout.splitlines())
    if not replies:
        status, why = (
            reach.classify(result.stderr) if not result.ok else (HostStatus.FAILED, "no answer")
        )
        fix = {
            HostStatus.REFUSED: "see above",
            HostStatus.OFFLINE: "check that it is on, its address (ssh_hostname) and the network",
        }.get(status, "run the command by hand with ssh -v")
        return [Problem(name, why.removesuffix("; deferred"), fix)]
    reply = replies["doctor"]
    if reply.failure:
        return [
            Problem(name, f"could not run the checks: {reply.failure}", "check bash on the host")
        ]
    records = reply.records()
    reads: dict[str, str | None] = {}
    failures: dict[str, str] = {}
    for key in ("user", "sudo", "trusted", "nixdf", "bootdf", "git", "systemdrun"):
        read = records.read(key)
        if read is None:
            continue
        if read.failure is None:
            reads[key] = read.text
        else:
            failures[key] = read.failure
    return problems(
        name, reads, sudo=sudo, ssh_user=target.user or "root", need_kib=need_kib, failures=failures
    )


def describe_command(name: str, data: Mapping[str, Any]) -> str:
    """The ssh command doctor runs first, for ``-v``."""
    return shlex.join([*SshTarget.from_data(name, data).fresh_argv(), "…"])


def closure_kib(flake: str, attr: str) -> int | None:
    """The size of the host's toplevel closure in KiB, if it is built in the local store (what a
    deploy copies at most); None when it is not built yet."""
    out = process.run(
        [
            *nix.NIX,
            "eval",
            "--raw",
            f"{flake}#nixosConfigurations.{nix.nix_string(attr)}.config.system.build.toplevel.outPath",
        ]
    )
    if not out.ok:
        return None
    info = process.run([*nix.NIX, "path-info", "-S", "--json", out.stdout.strip()])
    try:
        return int(json.loads(info.stdout)[0]["closureSize"]) // 1024 if info.ok else None
    except (ValueError, KeyError, IndexError, TypeError):
        return None
