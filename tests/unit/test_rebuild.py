"""nixos-rebuild's two flavours: told apart by how each refuses an unknown option (the messages
of nixpkgs' nixos-rebuild.sh and of nixos-rebuild-ng's argparse, real-nixos.md §1), and the
flags each is given."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nixfleet import rebuild
from nixfleet.errors import NixfleetError
from nixfleet.rebuild import Flavour
from nixfleet.settings import HostSettings

REPO = Path(__file__).resolve().parents[2]
LEGACY = "/run/current-system/sw/bin/nixos-rebuild: unknown option `--nixfleet-flavour-probe'\n"
NG = (
    "usage: nixos-rebuild [-h] [--verbose] …\n"
    "nixos-rebuild: error: unrecognized arguments: --nixfleet-flavour-probe\n"
)


def test_each_flavour_is_known_by_its_refusal() -> None:
    assert rebuild.flavour_of("nixos-rebuild", 1, LEGACY) is Flavour.LEGACY
    assert rebuild.flavour_of("nixos-rebuild", 2, NG) is Flavour.NG


@pytest.mark.parametrize(
    ("code", "stderr", "says"),
    [
        (127, "", "exited 127: no message"),
        (0, "", "exited 0"),  # a program that accepts anything is not nixos-rebuild
        (1, NG, "exited 1"),  # the right words with the wrong code are not enough
    ],
)
def test_anything_else_is_one_line(code: int, stderr: str, says: str) -> None:
    with pytest.raises(NixfleetError, match=f"rebuild-x: neither nixos-rebuild nor .*{says}"):
        rebuild.flavour_of("rebuild-x", code, stderr)


@pytest.mark.parametrize(("program", "flavour"), [("lab/bin/nixos-rebuild", Flavour.NG),
                                                   ("lab/bin/legacy/nixos-rebuild", Flavour.LEGACY)])  # fmt: skip
def test_the_lab_stand_in_answers_as_each_flavour(program: str, flavour: Flavour) -> None:
    out = subprocess.run(rebuild.probe_argv(str(REPO / program)), capture_output=True, text=True)
    assert rebuild.flavour_of(program, out.returncode, out.stderr) is flavour


def test_flags_are_spelled_for_the_flavour() -> None:
    assert rebuild.flags(Flavour.NG, False, ["--use-remote-sudo", "-L"]) == ["--sudo", "-L"]
    assert rebuild.flags(Flavour.LEGACY, True, ["--sudo"]) == ["--use-remote-sudo"]
    assert rebuild.flags(Flavour.LEGACY, False, ["--option", "a", "1", "--option", "b", "2"]) == [
        "--option", "a", "1", "--option", "b", "2",
    ]  # fmt: skip


@pytest.mark.parametrize("flag", ["--target-host", "--flake=.#x", "switch", "--rollback"])
def test_a_flag_nixfleet_sets_itself_is_refused_in_host_data(tmp_path: Path, flag: str) -> None:
    data = {"flake": str(tmp_path), "nixos_rebuild_flags": ["-L", flag]}
    with pytest.raises(NixfleetError, match=f"laptop: nixos_rebuild_flags has '{flag}'"):
        HostSettings.from_data("laptop", data)


def test_flags_must_be_a_list_of_strings(tmp_path: Path) -> None:
    with pytest.raises(NixfleetError, match="laptop: nixos_rebuild_flags = '-L' is not valid"):
        HostSettings.from_data("laptop", {"flake": str(tmp_path), "nixos_rebuild_flags": "-L"})
    ok = HostSettings.from_data("laptop", {"flake": str(tmp_path), "nixos_rebuild_flags": ["-L"]})
    assert ok.nixos_rebuild_flags == ("-L",)
