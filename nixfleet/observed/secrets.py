"""Secret files as sops-nix installs them: who owns them, their mode, whether they are empty."""

from __future__ import annotations

from dataclasses import dataclass

from nixfleet.probe import Records, Unknown


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
    """What ``probes/secrets.sh`` recorded, keyed by path; a file that could not be stat'ed is
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
            path, rec.first("owner") or "", rec.first("group") or "", rec.first("mode") or "",
            int(size),
        )  # fmt: skip
    return files
