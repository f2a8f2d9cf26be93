"""How nixfleet reads a host: probe parts run at once, each reporting its own outcome.

A probe is one round trip. Its parts are bash programs shipped with the package
(``nixfleet/areas/<name>.sh``, beside the area that reads with them) that take their values as positional arguments; ``run.sh`` runs
them concurrently and prints, per part, its exit status, its stdout and the tail of its stderr,
base64-encoded on lines that start with a boundary that is random per run. Inside a part, output
is a list of NUL-terminated ``NAME=VALUE`` records (``lib.sh``), so no file name, label or
command output on the host can forge structure.

A part that did not run, timed out, failed or printed what does not parse is :class:`Unknown`,
never an empty value: the checks that need it fail, saying what could not be read and why.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import shlex
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PROBES = Path(__file__).parent / "probes"  # the runner, lib.sh, and programs of no area
AREAS = Path(__file__).parent / "areas"  # each area's programs, beside its module
TIMED_OUT = 124  # timeout(1)'s exit status
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Unknown:
    """A read that did not happen: what could not be read, and why.

    >>> str(Unknown("list listening sockets", "ss: command not found"))
    'could not list listening sockets: ss: command not found'
    """

    what: str
    why: str

    def __str__(self) -> str:
        return f"could not {self.what}: {self.why}"


def decode(raw: bytes) -> str:
    """Host bytes as text; bytes that are not UTF-8 show as ``\\xNN`` and never raise.

    >>> decode(b"caf\\xc3\\xa9 \\xff")
    'café \\\\xff'
    """
    return raw.decode("utf-8", "backslashreplace")


_USERINFO = re.compile(r"(?P<scheme>[a-z0-9+]+://)(?P<user>[^:/@\s]+):[^@/\s]+@", re.I)
_TOKEN = re.compile(r"(?P<scheme>https?://)[^:/@\s]+@", re.I)


def redact(text: str) -> str:
    """Hide credentials embedded in URLs, wherever they appear: a password, or a token given
    as an http(s) user name.

    >>> redact("rest:https://backup:s3cret@nas:8000/desktop")
    'rest:https://backup:***@nas:8000/desktop'
    >>> redact("https://ghp_abc123@git.example.org/notes.git")
    'https://***@git.example.org/notes.git'
    >>> redact("sftp:root@nas:/srv/restic/desktop")
    'sftp:root@nas:/srv/restic/desktop'
    """
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    return _TOKEN.sub(lambda m: f"{m['scheme']}***@", text)


def _why(rc: int | None, err: str, timeout_s: float | None = None) -> str | None:
    """Why a read failed (None: it succeeded), from its exit status and stderr."""
    if rc == 0:
        return None
    last = redact(next((line.strip() for line in reversed(err.splitlines()) if line.strip()), ""))
    if rc is None:
        return last or "it did not run (no exit status)"
    if rc == TIMED_OUT:
        return f"timed out after {timeout_s:g} s" if timeout_s else "timed out"
    return last or f"exit status {rc}"


@dataclass(frozen=True)
class Read:
    """One command a part ran, recorded by ``sub`` in lib.sh."""

    rc: int | None
    out: bytes
    err: str

    @property
    def text(self) -> str:
        return decode(self.out)

    @property
    def failure(self) -> str | None:
        return _why(self.rc, self.err)


class Records:
    """A part's NUL-terminated ``NAME=VALUE`` records, in order.

    >>> r = Records.parse(b"nb=/a\\x00dirty=x\\ny\\x00nb=/b\\x00")
    >>> [(path, group.all("dirty")) for path, group in r.groups("nb")]
    [('/a', ['x\\ny']), ('/b', [])]
    """

    def __init__(self, items: Sequence[tuple[str, str]]) -> None:
        self.items = tuple(items)

    @classmethod
    def parse(cls, raw: bytes) -> Records:
        items = []
        for chunk in raw.split(b"\0")[:-1]:  # every record ends with NUL; a torn tail is dropped
            name, sep, value = chunk.partition(b"=")
            if sep:
                items.append((name.decode("ascii", "replace"), decode(value)))
        return cls(items)

    def first(self, name: str) -> str | None:
        return next((v for n, v in self.items if n == name), None)

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.items if n == name]

    def groups(self, start: str) -> Iterator[tuple[str, Records]]:
        """Split at each ``start`` record: (its value, the records up to the next one)."""
        value: str | None = None
        items: list[tuple[str, str]] = []
        for n, v in self.items:
            if n == start:
                if value is not None:
                    yield value, Records(items)
                value, items = v, []
            elif value is not None:
                items.append((n, v))
        if value is not None:
            yield value, Records(items)

    def read(self, name: str) -> Read | None:
        """The outcome of ``sub NAME …``; None if the part never got to it."""
        rc = self.first(f"{name}.rc")
        if rc is None:
            return None
        raw = self.first(f"{name}.out") or ""
        try:
            out = base64.b64decode(raw, validate=True)
        except binascii.Error:
            out = b""
        return Read(int(rc) if rc.isdigit() else None, out, self.first(f"{name}.err") or "")


@dataclass(frozen=True)
class Part:
    """One read of a probe: ``<script>.sh`` run with ``args``, within ``timeout_s``."""

    key: str
    script: str
    args: tuple[str, ...] = ()
    timeout_s: int = 30

    def __post_init__(self) -> None:
        if not _KEY.match(self.key):
            raise ValueError(f"probe part key {self.key!r} is not a lowercase identifier")


@dataclass(frozen=True)
class Reply:
    """How one part went on the host."""

    key: str
    rc: int | None
    out: bytes = b""
    err: str = ""
    timeout_s: float | None = None

    @property
    def timed_out(self) -> bool:
        return self.rc == TIMED_OUT

    @property
    def failure(self) -> str | None:
        """Why the part did not succeed, or None."""
        return _why(self.rc, self.err, self.timeout_s)

    def records(self) -> Records:
        return Records.parse(self.out)


def program(path: Path) -> str:
    """An on-host program without its comments and blank lines (they need not travel)."""
    lines = path.read_text().splitlines()
    return "\n".join(x for x in lines if x.strip() and not x.lstrip().startswith("#")) + "\n"


def _program(name: str) -> str:
    """``<name>.sh``, in ``probes/`` or else beside the areas."""
    path = PROBES / f"{name}.sh"
    return program(path if path.exists() else AREAS / f"{name}.sh")


@cache
def body(script: str) -> str:
    """A part's program: lib.sh followed by ``<script>.sh``, or by each of ``a+b``'s programs
    in turn (a shared library of functions, then the part that uses them).

    >>> "unit_env()" in body("restic-unit+restic")
    True
    """
    return _program("lib") + "".join(_program(s) for s in script.split("+"))


def new_boundary() -> str:
    return "nixfleet-" + secrets.token_hex(12)


def command(parts: Iterable[Part], boundary: str | None = None) -> str:
    """The shell command that runs ``parts`` at once on the host: one round trip. Every value
    stays one quoted word.

    >>> command([Part("listeners", "network")], "B").startswith("bash -c ")
    True
    """
    words = [boundary or new_boundary()]
    for p in parts:
        words += [p.key, str(p.timeout_s), body(p.script), str(len(p.args)), *p.args]
    return shlex.join(["bash", "-c", _program("run"), "nixfleet-probe", *words])


_BEGIN = re.compile(r"^(nixfleet-[0-9a-f]{24}) begin((?: [a-z][a-z0-9_]*)*)$")


def parse(lines: Iterable[str]) -> dict[str, Reply]:
    """Read what :func:`command` printed: ``{key: Reply}`` for every part the frame announced
    (one it never reported on is :func:`missing`). The boundary is the one the frame opened
    with; any other line (a login banner, stray output) is ignored. No frame at all gives ``{}``.

    >>> b = "nixfleet-" + "0" * 24
    >>> replies = parse(["motd", f"{b} begin a c", f"{b} part a 0 30 aGk= -", f"{b} end"])
    >>> replies["a"]
    Reply(key='a', rc=0, out=b'hi', err='', timeout_s=30.0)
    >>> replies["c"].failure
    'no answer from the host (the probe did not run or was cut short)'
    """
    replies: dict[str, Reply] = {}
    boundary: str | None = None
    for line in lines:
        line = line.rstrip("\r\n")
        if boundary is None:
            m = _BEGIN.match(line)
            if m:
                boundary = m.group(1)
                replies = {key: missing(key) for key in m.group(2).split()}
            continue
        fields = line.split(" ")
        if fields[0] != boundary or len(fields) != 7 or fields[1] != "part":
            continue
        _b, _part, key, rc, limit, out, err = fields
        if key not in replies:
            continue
        try:
            raw_out = b"" if out == "-" else base64.b64decode(out, validate=True)
            raw_err = b"" if err == "-" else base64.b64decode(err, validate=True)
        except binascii.Error:
            continue  # a torn line: the part stays unanswered, hence unknown
        timeout_s = float(limit) if limit.isdigit() else None
        replies[key] = Reply(
            key, int(rc) if rc.isdigit() else None, raw_out, decode(raw_err), timeout_s
        )
    return replies


def missing(key: str) -> Reply:
    """The reply of a part the host never answered for."""
    return Reply(key, None, b"", "no answer from the host (the probe did not run or was cut short)")
