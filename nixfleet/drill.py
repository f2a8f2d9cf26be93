"""Restore drills: prove that each backup job restores, not only that its snapshots exist.

A drill of one job (``nixfleet/areas/drill.sh``, after ``restic-unit.sh``) restores a sample of
files from the newest snapshot into a private temporary directory on the host, compares their
SHA-256 with the live files that have not changed since, and reads a rotating subset of the
repository's data (``restic check --read-data-subset=K/N``). It never writes to a repository,
never touches live files and records no file's contents. Every job of a host is drilled in one
probe round trip; its outcome stays on the host (``/var/lib/nixfleet/drills/<job>.last``) for
the ``backup.restore-drill`` check.

    pyinfra -y inventory/lab.py deploys/drill.py      # or: nixfleet drill -i inventory/lab.py
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from nixfleet import table
from nixfleet.probe import Part, Reply, redact

STATE_DIR = "/var/lib/nixfleet/drills"
SAMPLE = 5  # files restored per drill
SUBSETS = 10  # restic check reads 1/SUBSETS of the data per drill, a different tenth each time
TIMEOUT_S = 1800


def part(job: str, paths: Sequence[str], sample: int = SAMPLE, subsets: int = SUBSETS) -> Part:
    """The drill of one job, as a probe part (``drill_<n>`` keys: job names may hold dashes).

    >>> part("documents-nas", ["/home/alice/Documents"], 3).args
    ('documents-nas', '3', '10', '/var/lib/nixfleet/drills', '/home/alice/Documents')
    """
    key = "drill_" + "".join(c if c.isalnum() else "_" for c in job.lower())
    return Part(key, "restic-unit+drill", (job, str(sample), str(subsets), STATE_DIR, *paths),
                timeout_s=TIMEOUT_S)  # fmt: skip


@dataclass(frozen=True)
class DrillResult:
    """How one job's drill went: ``ok``, and if not, why, naming what could not be restored or read."""

    job: str
    ok: bool
    reason: str = ""
    snapshot: str = ""
    subset: str = ""
    files: dict[str, str] = field(
        default_factory=dict
    )  # sampled path -> match, differs, changed, missing

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def result(job: str, reply: Reply) -> DrillResult:
    r"""Read one drill's records; a drill that did not run to its end failed, saying why.

    >>> ok = b"job=j\x00snapshot=ab12cd34\x00file=/d/a\x00verdict=match\x00subset=3/10\x00result=ok\x00"
    >>> result("j", Reply("drill_j", 0, ok)).ok
    True
    >>> result("j", Reply("drill_j", 124, b"job=j\x00", timeout_s=1800)).reason
    'the drill did not finish: timed out after 1800 s'
    """
    records = reply.records()
    files = {path: g.first("verdict") or "?" for path, g in records.groups("file")}
    snapshot, subset = records.first("snapshot") or "", records.first("subset") or ""

    def made(ok: bool, reason: str = "") -> DrillResult:
        return DrillResult(job, ok, reason, snapshot, subset, files)

    outcome = records.first("result")
    if reply.failure or outcome is None:
        return made(False, f"the drill did not finish: {reply.failure or 'no result'}")
    if outcome == "ok":
        return made(True)
    why = records.first("reason") or "failed"
    broken = [p for p, v in files.items() if v in ("missing", "differs")]
    if broken:
        why += f" ({', '.join(f'{p}: {files[p]}' for p in broken)})"
    for read in ("check", "restore", "ls", "snapshots"):
        got = records.read(read)
        if got is not None and got.failure:
            said = records.first(f"{read}.said") or _said(got.err) or got.failure
            why += f"; restic {read}: {redact(said)}"
            break
    return made(False, why)


def _said(err: str) -> str:
    """restic's own error line in its stderr (a crash ends in stack frames, not in words).

    >>> _said("reading pack 3f: EOF\\npanic: runtime error\\n\\tmain.go:12")
    'panic: runtime error'
    """
    lines = [line.strip() for line in err.splitlines() if line.strip()]
    words = [line for line in lines if line.lower().startswith(("fatal", "panic", "error"))]
    return words[0] if words else ""


def results(
    replies: Mapping[str, Reply], jobs: Sequence[str], why: str = "no answer from the host"
) -> list[DrillResult]:
    """Each job's result, from the probe's replies (a job the host never answered for failed,
    saying ``why``)."""
    out = []
    for job in sorted(jobs):
        key = part(job, []).key
        reply = replies.get(key) or Reply(key, None, b"", why)
        out.append(result(job, reply))
    return out


def drill_table(drills: Mapping[str, Sequence[DrillResult]]) -> str:
    """The drills by host and job.

    >>> print(drill_table({"laptop": [DrillResult("documents-nas", True, snapshot="ab12cd34", subset="3/10",
    ...                                            files={"/d/a": "match"})]}))
    nixfleet drill: 1 of 1 jobs restored
      laptop  documents-nas  ok  snapshot ab12cd34, 1 files matched, data 3/10 read
    """
    rows = []
    for host in sorted(drills):
        for d in drills[host]:
            matched = sum(v == "match" for v in d.files.values())
            said = (f"snapshot {d.snapshot}, {matched} files matched, data {d.subset} read"
                    if d.ok else d.reason)  # fmt: skip
            rows.append([host, d.job, "ok" if d.ok else "FAILED", said])
    good = sum(r[2] == "ok" for r in rows)
    return "\n".join([f"nixfleet drill: {good} of {len(rows)} jobs restored", *table.aligned(rows)])
