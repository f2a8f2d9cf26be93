"""Secrets as sops-nix installs them: owner, group, mode and whether each is non-empty."""

from __future__ import annotations

import shlex

from pyinfra.api.facts import FactBase
from typing_extensions import override

from nixfleet.observed.secrets import SecretFile, parse_secret_files


class SecretFiles(FactBase[dict[str, SecretFile]]):
    """
    Returns the metadata of every entry in the secrets directory and of any other given paths,
    keyed by path. Never their contents: only ``stat`` runs.

    + directory: the secrets directory (sops-nix: ``/run/secrets``, a link to ``/run/secrets.d/N``)
    + paths: further secret paths declared outside it

    .. code:: python

        {"/run/secrets/restic-password": SecretFile(owner="root", group="root", mode="400", size=33)}
    """

    default = dict

    @override
    def command(self, directory: str = "/run/secrets", paths: list[str] | None = None) -> str:
        extra = " ".join(shlex.quote(p) for p in paths or [])
        return (
            f"d={shlex.quote(directory)}; "
            f'for f in "$d"/* {extra}; do [ -e "$f" ] && stat -L -c "%n|%U|%G|%a|%s" "$f"; done; true'
        )

    @override
    def process(self, output: list[str]) -> dict[str, SecretFile]:
        return parse_secret_files(output)
