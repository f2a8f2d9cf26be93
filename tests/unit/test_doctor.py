"""`nixfleet doctor`'s judgement, from each read's outcome: every problem named with its fix, a
read that did not happen is a problem too, and a healthy host has none."""

from __future__ import annotations

import pytest

from nixfleet import doctor

DF_NIX = "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda1 40000000 1000000 {free} 3% /nix\n"
DF_BOOT = "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda2 512000 60000 452000 12% /boot\n"
HEALTHY = {
    "user": "deploy\n",
    "sudo": "",
    "trusted": "root deploy\n",
    "nixdf": DF_NIX.format(free=30000000),
    "bootdf": DF_BOOT,
    "git": "/run/current-system/sw/bin/git\n",
    "systemdrun": "",
}


def judge(
    reads: dict[str, str | None], failures: dict[str, str] | None = None, **kw: object
) -> list[str]:
    args = {"sudo": True, "ssh_user": "deploy", "need_kib": 2_000_000, **kw}
    return [str(p) for p in doctor.problems("vps", reads, failures=failures, **args)]  # type: ignore[arg-type]


def test_a_healthy_host_has_no_problem() -> None:
    assert judge(HEALTHY) == []
    root = {**HEALTHY, "user": "root\n", "trusted": "root\n"}
    assert judge({k: v for k, v in root.items() if k != "sudo"}, sudo=False, ssh_user="root") == []


def test_sudo_that_wants_a_password_names_the_fix() -> None:
    reads = {k: v for k, v in HEALTHY.items() if k not in ("sudo", "systemdrun")}
    found = judge(
        reads,
        {"sudo": "sudo: a password is required", "systemdrun": "sudo: a password is required"},
    )
    assert any("sudo needs a password or is not allowed for deploy (sudo: a password is required)" in p
               and "NOPASSWD" in p for p in found)  # fmt: skip
    assert any(p.startswith("vps: systemd-run cannot start a transient unit") for p in found)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"trusted": "root\n"}, "deploy is not in nix's trusted-users (root)"),
        (
            {"nixdf": DF_NIX.format(free=500000)},
            "/nix has 500000 KiB free, the closure needs about 2000000 KiB",
        ),
        (
            {"nixdf": "df: /nix: Input/output error"},
            "could not read free space on /nix: df printed",
        ),
        ({"git": None}, "git is not on the host's PATH"),
        ({"user": "alice\n"}, "logged in as 'alice', not ssh_user 'deploy'"),
        ({"trusted": None}, "could not read nix's trusted-users: no answer from the host"),
    ],
)
def test_each_problem_is_named(change: dict[str, str | None], says: str) -> None:
    reads = {k: v for k, v in {**HEALTHY, **change}.items() if v is not None}
    found = judge(reads)
    assert any(says in p for p in found), found


def test_no_separate_boot_is_no_problem_but_an_unread_one_is() -> None:
    reads = {k: v for k, v in HEALTHY.items() if k != "bootdf"}
    assert judge(reads, {"bootdf": "df: /boot: No such file or directory"}) == []
    assert any("could not read free space on /boot: timed out" in p
               for p in judge(reads, {"bootdf": "timed out"}))  # fmt: skip


def test_without_a_known_closure_size_a_floor_applies() -> None:
    reads = {**HEALTHY, "nixdf": DF_NIX.format(free=100)}
    assert any("at least 1048576 KiB are needed" in p for p in judge(reads, need_kib=None))


def test_a_small_closure_still_needs_room_to_build() -> None:
    reads = {**HEALTHY, "nixdf": DF_NIX.format(free=1000)}
    assert any("at least 1048576 KiB are needed" in p for p in judge(reads, need_kib=300))
