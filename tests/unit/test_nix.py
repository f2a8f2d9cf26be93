"""Command construction: the argv lists nixfleet runs, asserted exactly."""

from nixfleet import nix
from nixfleet.models import Action, FlakeRef


def test_switch_with_target_host() -> None:
    argv = nix.nixos_rebuild(Action.SWITCH, FlakeRef(".lab/flake", "desktop"), "root@10.250.0.11")
    assert argv == [
        "nixos-rebuild", "switch", "--flake", ".lab/flake#desktop",
        "--target-host", "root@10.250.0.11",
    ]  # fmt: skip


def test_build_host_sudo_and_program() -> None:
    argv = nix.nixos_rebuild(
        Action.BOOT,
        FlakeRef(".", "vps"),
        "deploy@vps.example.org",
        program="lab/bin/nixos-rebuild",
        build_host="root@server.lan",
        flags=["--use-remote-sudo"],
    )
    assert argv == [
        "lab/bin/nixos-rebuild", "boot", "--flake", ".#vps",
        "--target-host", "deploy@vps.example.org",
        "--build-host", "root@server.lan", "--use-remote-sudo",
    ]  # fmt: skip


def test_local_rebuild_has_no_target_host() -> None:
    assert nix.nixos_rebuild(Action.TEST, FlakeRef(".", "nas"), None) == [
        "nixos-rebuild", "test", "--flake", ".#nas",
    ]  # fmt: skip


def test_eval_hosts_evaluates_each_host_once_sorted() -> None:
    argv = nix.eval_hosts("/srv/flake", ["nas", "desktop"], "h: h.config.networking.hostName")
    assert argv[:6] == [
        "nix", "--extra-experimental-features", "nix-command flakes", "eval", "--json",
        "/srv/flake#nixosConfigurations",
    ]  # fmt: skip
    assert argv[6] == "--apply"
    assert argv[7] == (
        "cs: let f = (h: h.config.networking.hostName); in builtins.listToAttrs "
        '(map (n: { name = n; value = f cs.${n}; }) (builtins.fromJSON "[\\"desktop\\", \\"nas\\"]"))'
    )


def test_git_commands() -> None:
    assert nix.git_head("f") == ["git", "-C", "f", "rev-parse", "HEAD"]
    assert nix.git_bundle("f", "/tmp/b") == [
        "git",
        "-C",
        "f",
        "bundle",
        "create",
        "--quiet",
        "/tmp/b",
        "HEAD",
    ]


def test_flake_ref_round_trip() -> None:
    ref = FlakeRef.parse("/srv/fleet#nas")
    assert str(ref) == "/srv/fleet#nas"
    assert (
        ref.toplevel_attr() == '/srv/fleet#nixosConfigurations."nas".config.system.build.toplevel'
    )
