"""nixfleet/flake.py: the evaluation cache is keyed by the flake's commit, and only clean
flakes use it (real git repositories in a temporary directory)."""

import subprocess
from pathlib import Path

import pytest

from nixfleet import flake


@pytest.fixture(autouse=True)
def fresh_memos(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test starts a new run: the per-run memos are empty, the cache is private."""
    monkeypatch.setattr(flake, "_revisions", {})
    monkeypatch.setattr(flake, "_changes", {})
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


def test_same_commit_same_file_new_commit_new_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = new_flake(tmp_path)
    first = flake._cache_file(str(repo), ["a", "b"])
    assert first is not None and first.parent == tmp_path / "cache"
    assert flake._cache_file(str(repo), ["a", "b"]) == first
    assert flake._cache_file(str(repo), ["a"]) != first  # other hosts, other entry

    (repo / "flake.nix").write_text("{ outputs = { self }: { x = 1; }; }\n")
    git(repo, "commit", "-qam", "two")
    monkeypatch.setattr(flake, "_revisions", {})  # a later run
    monkeypatch.setattr(flake, "_changes", {})
    assert flake._cache_file(str(repo), ["a", "b"]) not in (None, first)


def test_uncommitted_changes_are_never_cached(tmp_path: Path) -> None:
    repo = new_flake(tmp_path)
    (repo / "flake.nix").write_text("{ outputs = { self }: { edited = true; }; }\n")
    assert flake._cache_file(str(repo), ["a"]) is None
    with pytest.raises(flake.NixfleetError, match="uncommitted changes"):
        flake.refuse_dirty(str(repo))


def test_not_a_repository_is_never_cached(tmp_path: Path) -> None:
    assert flake._cache_file(str(tmp_path), ["a"]) is None
