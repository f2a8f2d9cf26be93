"""The metrics textfile the verify writes on a host (``textfile.sh``), run here as on a host: whole
or not at all, readable by the exporter's own user, and never a name the exporter would skip."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

from nixfleet import probe
from nixfleet.areas import monitoring

TEXT = (
    '# TYPE nixfleet_sync_conflicts gauge\nnixfleet_sync_conflicts{folder="a\\nb",host="x"} 2.0\n'
)


def write(directory: str, text: str = TEXT, name: str | None = None) -> probe.Reply:
    part = monitoring.write_part(directory, text)
    if name is not None:
        part = probe.Part(part.key, part.script, (part.args[0], name, part.args[2]))
    out = subprocess.run(["sh", "-c", probe.command([part])], capture_output=True, text=True)
    return probe.parse(out.stdout.splitlines())[part.key]


def test_the_text_lands_whole_readable_and_alone(tmp_path: Path) -> None:
    (tmp_path / monitoring.TEXTFILE).write_text("old\n")
    reply = write(str(tmp_path))
    assert reply.failure is None
    written = tmp_path / monitoring.TEXTFILE
    assert written.read_text() == TEXT
    assert stat.S_IMODE(written.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == [monitoring.TEXTFILE]  # no temporary left
    check = monitoring.written(str(tmp_path), reply)
    assert check.ok and check.details["path"] == str(written)


def test_a_missing_directory_is_a_failure_that_says_so(tmp_path: Path) -> None:
    reply = write(str(tmp_path / "gone"))
    check = monitoring.written(str(tmp_path / "gone"), reply)
    assert not check.ok and f"{tmp_path}/gone is not a directory" in check.message


def test_a_name_the_exporter_would_skip_or_a_path_is_refused(tmp_path: Path) -> None:
    for name in ("nixfleet.txt", "../nixfleet.prom", ".hidden.prom"):
        assert write(str(tmp_path), name=name).rc == 2, name
    assert list(tmp_path.iterdir()) == []


def test_an_unanswered_write_is_a_failure() -> None:
    check = monitoring.written("/var/lib/x", None)
    assert not check.ok and "no answer from the host" in check.message


def test_an_exporter_without_a_textfile_directory_is_a_failure_naming_the_flag() -> None:
    check = monitoring.no_directory(monitoring.Exporter(9100, None))
    assert not check.ok and "--collector.textfile.directory=DIR" in check.message
