"""The secrets area: secret files as sops-nix installs them (who owns them, their mode,
whether they are empty; never their contents), against the declared ``sops.secrets``.

Checks: ``secrets.present`` and ``secrets.mode``. Probe: ``secrets.sh``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nixfleet.area import Area, CheckSpec, Context, Reading, Subjects
from nixfleet.checks import Check, Problem, unreadable, verdict
from nixfleet.probe import Part, Records, Reply, Unknown

SECRETS_DIR = "/run/secrets"


@dataclass(frozen=True)
class SecretFile:
    """One secret's metadata. Never its contents."""

    path: str
    owner: str
    group: str
    mode: str  # octal, e.g. "400"
    size: int

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


def parse_secret_files(records: Records) -> dict[str, SecretFile | Unknown]:
    """What ``secrets.sh`` recorded, keyed by path; a file that could not be stat'ed is
    Unknown. Absent files are simply not in the result.

    >>> r = Records([("file", "/run/secrets/a|b"), ("owner", "root"), ("group", "root"),
    ...              ("mode", "400"), ("size", "33"), ("file", "/run/secrets/c"),
    ...              ("error", "stat: Permission denied")])
    >>> found = parse_secret_files(r)
    >>> found["/run/secrets/a|b"].mode, str(found["/run/secrets/c"])
    ('400', 'could not stat /run/secrets/c: stat: Permission denied')
    """
    files: dict[str, SecretFile | Unknown] = {}
    for path, rec in records.groups("file"):
        error = rec.first("error")
        size = rec.first("size") or ""
        if error is not None or not size.isdigit():
            files[path] = Unknown(f"stat {path}", (error or "no size recorded").strip())
            continue
        files[path] = SecretFile(
            path,
            rec.first("owner") or "",
            rec.first("group") or "",
            rec.first("mode") or "",
            int(size),
        )
    return files


@dataclass(frozen=True)
class DeclaredSecret:
    name: str
    owner: str
    group: str
    mode: str
    path: str


NIX = """c: builtins.mapAttrs
  (name: s: {
    owner = if s.owner or null == null then "root" else s.owner;
    group = if s.group or null == null then "root" else s.group;
    mode = s.mode or "0400";
    path = s.path or "/run/secrets/${name}";
  })
  (c.sops.secrets or { })"""


def declare(data: Any) -> dict[str, DeclaredSecret]:
    """The declared secrets by name, from :data:`NIX`'s JSON.

    >>> declare({"k": {"owner": "root", "group": "root", "mode": "0400", "path": "/run/secrets/k"}})["k"].mode
    '0400'
    """
    return {
        n: DeclaredSecret(n, x["owner"], x["group"], str(x["mode"]), x["path"])
        for n, x in (data or {}).items()
    }


class Files(Reading[dict[str, SecretFile | Unknown]]):
    """The metadata of every entry in the secrets directory and of any other given paths, by
    path. Only ``stat`` runs. A file that cannot be stat'ed is Unknown; a directory that cannot
    be listed makes the whole read Unknown.

    + directory: the secrets directory (sops-nix: ``/run/secrets``, a link to ``/run/secrets.d/N``)
    + paths: further secret paths declared outside it
    """

    key = "secrets"
    what = "list the secrets"

    def part(self, directory: str = SECRETS_DIR, paths: list[str] | None = None) -> Part:
        return Part(self.key, "secrets", (directory, *(paths or [])))

    def parse(self, reply: Reply) -> dict[str, SecretFile | Unknown]:
        return parse_secret_files(reply.records())


FILES = Files()


def present(s: Subjects) -> Check | None:
    declared, files = s.declared[AREA], s.observed[FILES]
    if not declared:
        return None
    if bad := unreadable("secrets.present", files):
        return bad
    assert not isinstance(files, Unknown)
    problems = []
    for name, want in sorted(declared.items()):
        got = files.get(want.path)
        if isinstance(got, Unknown):
            problems.append(Problem(name, f"secret {name}: {got}"))
        elif got is None or got.size == 0:
            state = "missing" if got is None else "empty"
            problems.append(
                Problem(
                    name,
                    f"secret {name} is {state} at {want.path}; redeploy "
                    "(sops-nix installs secrets at activation)",
                )
            )
    return verdict(
        "secrets.present",
        problems,
        f"{len(declared)} secrets present",
        {"declared": sorted(declared)},
    )


def mode(s: Subjects) -> Check | None:
    declared, files = s.declared[AREA], s.observed[FILES]
    if not declared:
        return None
    if bad := unreadable("secrets.mode", files):
        return bad
    assert not isinstance(files, Unknown)
    problems, details = [], {}
    for name, want in sorted(declared.items()):
        got = files.get(want.path)
        if isinstance(got, Unknown):
            problems.append(Problem(name, f"secret {name}: {got}"))
            continue
        if got is None:
            continue
        details[name] = f"{got.mode} {got.owner}:{got.group}"
        if int(got.mode, 8) != int(want.mode, 8) or (got.owner, got.group) != (
            want.owner,
            want.group,
        ):
            problems.append(
                Problem(
                    name,
                    f"secret {name} is {got.mode} {got.owner}:{got.group}, declared "
                    f"{want.mode} {want.owner}:{want.group}; redeploy to reset it",
                )
            )
    return verdict("secrets.mode", problems, "secrets have their declared owner and mode", details)


def _reads(d: dict[str, DeclaredSecret], _ctx: Context) -> list[Part | None]:
    outside = sorted(x.path for x in d.values() if not x.path.startswith(SECRETS_DIR + "/"))
    return [FILES.part(SECRETS_DIR, outside)] if d else []


AREA: Area[dict[str, DeclaredSecret]] = Area(
    name="secrets",
    order=60,
    nix=NIX,
    declare=declare,
    readings=(FILES,),
    reads=_reads,
    checks=(CheckSpec("secrets.present", present), CheckSpec("secrets.mode", mode)),
)
