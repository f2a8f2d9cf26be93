"""facts/nixos.py parsing, on output captured from lab hosts (tests/data/README.md)."""

from pathlib import Path

from facts.nixos import FlakeCheckout, NixosSystem
from nixfleet.models import Generation, SystemState
from tests.unit.framing import framed

DATA = Path(__file__).parents[1] / "data" / "nixos"


def lines(name: str) -> list[str]:
    return (DATA / name).read_text().splitlines()


def test_system_with_five_generations() -> None:
    state = NixosSystem().process(lines("system-laptop-5-generations.probe"))
    assert (
        state.current == "/nix/store/wv66rcc2dsir7ygxvr7j9npm90ihvyqx-nixos-system-laptop-24.11.lab"
    )
    assert state.profile == state.current
    assert state.generation == 5
    assert [g.number for g in state.generations] == [1, 2, 3, 4, 5]
    assert [g.current for g in state.generations] == [False, False, False, False, True]
    assert state.booted is None  # fresh lab hosts have not booted a generation
    assert state.version == "24.11.lab"
    assert state.revision is None


def test_system_with_revision_record() -> None:
    state = NixosSystem().process(lines("system-desktop-with-revision.probe"))
    assert state.revision == "b76a5fe6c7b44f1f720fe448b0bca9e562b955f5"
    assert state.generations[0] == Generation(
        1, "/nix/store/m67cs3m9sn3yy2ri0y4q9h23hmy0hi3s-nixos-system-desktop-24.11.lab", False
    )


def test_fresh_host_has_nothing() -> None:
    records = b"current=\0booted=\0profile_link=\0"
    state = NixosSystem().process(framed("system", records))
    assert (state.current, state.profile, state.generation, state.generations) == (
        None,
        None,
        None,
        (),
    )


def test_flake_checkout_states() -> None:
    fact = FlakeCheckout()
    assert fact.process(lines("flake-checkout-git-clean.probe")) == {
        "state": "git", "revision": "b76a5fe6c7b44f1f720fe448b0bca9e562b955f5", "dirty": "no",
    }  # fmt: skip
    assert fact.process(lines("flake-checkout-git-dirty.probe"))["dirty"] == "yes"
    assert fact.process(lines("flake-checkout-foreign.probe")) == {"state": "foreign"}
    assert fact.process(lines("flake-checkout-absent.probe")) == {"state": "absent"}


def test_flake_checkout_command_passes_the_path_as_one_word() -> None:
    assert (
        FlakeCheckout().command("/etc/my nixos; rm -rf /").endswith(" 1 '/etc/my nixos; rm -rf /'")
    )


def test_a_checkout_that_git_cannot_read_is_unknown() -> None:
    reply = framed("checkout", b"state=git\0", rc=128, err="fatal: not a git repository\n")
    assert str(FlakeCheckout().process(reply)) == (
        "could not read the flake checkout: fatal: not a git repository"
    )


def test_system_state_survives_json_as_pyinfra_prints_it() -> None:
    state = NixosSystem().process(lines("system-desktop-with-revision.probe"))
    assert SystemState.coerce(state.to_json()) == state
