"""The probes, run here for real with bash against files with hostile names.

Every name below holds what could forge structure: newlines, the frame's own words, NUL-record
syntax, quotes, ``$(…)``, backslashes, bytes that are not UTF-8 and a leading dash. Each must come
back exactly as it is on disk, and must never add, hide or rename anything else.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nixfleet import areas, probe
from nixfleet.area import Observed
from nixfleet.areas.nb import NOTEBOOKS, Notebook
from nixfleet.areas.network import LISTENERS
from nixfleet.areas.secrets import FILES
from nixfleet.probe import Part, Unknown

HOSTILE = [
    "new\nline",
    "nixfleet-000000000000000000000000 part secrets 0 30 - -",
    "file=x\nmode=777",
    'quote\'d "both"',
    "$(touch nixfleet-pwned)`touch pwned`",
    "back\\slash",
    "-rf",
    "x.sync-conflict-20261125-201747-3SGOT7Q.txt\nreal.txt",
]
NOT_UTF8 = b"caf\xe9-\xff"


def run(*parts: Part) -> Observed:
    done = subprocess.run(["sh", "-c", probe.command(parts)], capture_output=True, check=True)
    return areas.observe(done.stdout.decode("ascii").splitlines())


def git(repo: Path, *args: str) -> str:
    argv = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def test_secret_names_come_back_exactly_and_forge_nothing(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for name in HOSTILE:
        (secrets / name).write_text("s3cret\n")
    os.close(os.open(os.fsencode(secrets) + b"/" + NOT_UTF8, os.O_CREAT | os.O_WRONLY, 0o400))

    files = run(FILES.part(str(secrets), [str(tmp_path / "-absent")]))[FILES]
    assert isinstance(files, dict)
    assert sorted(files) == sorted(
        [f"{secrets}/{n}" for n in HOSTILE] + [f"{secrets}/caf\\xe9-\\xff"]
    )
    assert files[f"{secrets}/caf\\xe9-\\xff"].mode == "400"
    assert not Path("nixfleet-pwned").exists() and not (secrets / "nixfleet-pwned").exists()
    assert "s3cret" not in repr(files)


def test_a_secret_that_cannot_be_stat_ed_is_unknown_not_missing(tmp_path: Path) -> None:
    (tmp_path / "gone").symlink_to(tmp_path / "nowhere")

    files = run(FILES.part(str(tmp_path), []))[FILES]

    assert isinstance(files, dict)
    assert isinstance(files[f"{tmp_path}/gone"], Unknown)


def test_notebook_file_names_cannot_hide_a_conflict(tmp_path: Path) -> None:
    nb = tmp_path / "-home"
    nb.mkdir()
    git(nb, "init", "-q", "-b", "main")
    for i, name in enumerate(HOSTILE):
        (nb / name.replace("/", "_")).write_text(f"{i}\n")
    (nb / "plan.md").write_text("<<<<<<< HEAD\nmine\n=======\ntheirs\n>>>>>>> other\n")
    (nb / "photo--conflicted-copy.png").write_text("x")
    git(nb, "add", "-A")
    git(nb, "commit", "-qm", "notes")
    (nb / "new\nuntracked $(x)").write_text("y")

    books = run(NOTEBOOKS.part([str(nb), str(tmp_path / "missing")]))[NOTEBOOKS]
    assert isinstance(books, dict)
    book: Notebook = books[str(nb)]
    assert book.unread == {}
    assert book.dirty == ("?? new\nuntracked $(x)",)
    assert book.markers == ("plan.md:1", "plan.md:5")
    assert book.conflicted_copies == ("photo--conflicted-copy.png",)
    assert book.ahead == 1 and not book.has_upstream
    assert not books[str(tmp_path / "missing")].exists


def test_a_git_read_that_fails_makes_the_notebook_unread(tmp_path: Path) -> None:
    nb = tmp_path / "home"
    nb.mkdir()
    git(nb, "init", "-q", "-b", "main")
    (nb / "a.md").write_text("a\n")
    git(nb, "add", "-A")
    git(nb, "commit", "-qm", "one")
    (nb / ".git" / "index").write_bytes(b"not an index")  # git status now fails

    book = run(NOTEBOOKS.part([str(nb)]))[NOTEBOOKS][str(nb)]  # type: ignore[index]

    assert "status" in book.unread and "index" in book.unread["status"]


def test_a_listener_is_seen_whatever_its_process_is_called() -> None:
    listener = socket.socket()
    listener.bind(("0.0.0.0", 0))
    listener.listen()
    port = listener.getsockname()[1]
    name = "x\ntcp 0.0.0.0:1"  # what a forged ss row would look like
    code = f"open('/proc/self/comm','w').write({name!r}); import time; time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code], pass_fds=[listener.fileno()])
    try:
        time.sleep(0.3)
        found = run(LISTENERS.part())[LISTENERS]
    finally:
        child.kill()
        listener.close()
    assert isinstance(found, tuple)
    mine = [x for x in found if x.port == port]
    assert [(x.proto, x.address) for x in mine] == [("tcp", "0.0.0.0")]
    assert not [x for x in found if x.port == 1]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("exit 127", "exit status 127"),
        ("echo 'ss: command not found' >&2; exit 127", "ss: command not found"),
        ("sleep 5", "timed out after 1 s"),
        ("printf 'not records'", None),
    ],
)
def test_a_part_that_fails_times_out_or_prints_nothing_useful_is_unknown(
    body: str, why: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "odd.sh").write_text(body + "\n")
    (tmp_path / "lib.sh").write_text((probe.PROBES / "lib.sh").read_text())
    (tmp_path / "run.sh").write_text((probe.PROBES / "run.sh").read_text())
    monkeypatch.setattr(probe, "PROBES", tmp_path)
    probe.body.cache_clear()
    try:
        command = probe.command([Part("listeners", "odd", timeout_s=1)])
    finally:
        probe.body.cache_clear()
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True).stdout
    value = areas.observe(out.splitlines())[LISTENERS]
    if why is None:  # it ran, but recorded no table: still not "no listeners"
        assert isinstance(value, Unknown)
    else:
        assert value == Unknown("list listening sockets", why)


def test_a_fact_the_host_never_answered_is_unknown_not_empty() -> None:
    b = probe.new_boundary()
    announced = areas.observe([f"{b} begin listeners secrets", f"{b} end"])  # then silence
    assert isinstance(announced[LISTENERS], Unknown) and isinstance(announced[FILES], Unknown)
    assert "no answer" in str(announced[FILES])
    assert isinstance(areas.observe([])[LISTENERS], Unknown)  # no frame at all
