"""Secret files as sops-nix installs them: who owns them, their mode, whether they are empty."""

from __future__ import annotations

from dataclasses import dataclass


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


def parse_secret_files(output: list[str]) -> dict[str, SecretFile]:
    """Lines of ``stat -L -c '%n|%U|%G|%a|%s'``, keyed by path.

    >>> parse_secret_files(["/run/secrets/restic-password|root|root|400|33"])["/run/secrets/restic-password"].mode
    '400'
    """
    files: dict[str, SecretFile] = {}
    for line in output:
        parts = line.rsplit("|", 4)
        if len(parts) == 5 and parts[4].isdigit():
            path, owner, group, mode, size = parts
            files[path] = SecretFile(path, owner, group, mode, int(size))
    return files
