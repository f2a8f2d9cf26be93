"""nixfleet/flake.py: the evaluation cache is keyed by the flake's commit, and only clean
flakes use it (real git repositories in a temporary directory)."""

import subprocess
from pathlib import Path

import pytest

from nixfleet import flake


@pytest.fixture(autouse=True)
def private_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The cache is private to the test; each FlakeRun() is a new run, with empty memos."""
    monkeypatch.setattr(flake, "EVAL_CACHE", tmp_path / "cache")


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                   check=True, capture_output=True)  # fmt: skip


def new_flake(tmp_path: Path) -> Path:
    repo = tmp_path / "flake"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "flake.nix").write_text("{ outputs = { self }: { }; }\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "one")
    return repo


def test_same_commit_same_file_new_commit_new_file(tmp_path: Path) -> None:
    repo = new_flake(tmp_path)
    run = flake.FlakeRun()
    first = run._cache_file(str(repo), ["a", "b"])
    assert first is not None and first.parent == tmp_path / "cache"
    assert run._cache_file(str(repo), ["a", "b"]) == first
    assert run._cache_file(str(repo), ["a"]) != first  # other hosts, other entry

    (repo / "flake.nix").write_text("{ outputs = { self }: { x = 1; }; }\n")
    git(repo, "commit", "-qam", "two")
    later = flake.FlakeRun()  # a later run
    assert later._cache_file(str(repo), ["a", "b"]) not in (None, first)


def test_uncommitted_changes_are_never_cached(tmp_path: Path) -> None:
    repo = new_flake(tmp_path)
    (repo / "flake.nix").write_text("{ outputs = { self }: { edited = true; }; }\n")
    run = flake.FlakeRun()
    assert run._cache_file(str(repo), ["a"]) is None
    with pytest.raises(flake.NixfleetError, match="uncommitted changes"):
        run.refuse_dirty(str(repo))


def test_not_a_repository_is_never_cached(tmp_path: Path) -> None:
    assert flake.FlakeRun()._cache_file(str(tmp_path), ["a"]) is None
