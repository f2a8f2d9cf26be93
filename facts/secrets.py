"""Secrets as sops-nix installs them: owner, group, mode and whether each is non-empty."""

from __future__ import annotations

from typing_extensions import override

from facts.probed import ProbeFact
from nixfleet.observed.secrets import SecretFile, parse_secret_files
from nixfleet.probe import Part, Reply, Unknown


class SecretFiles(ProbeFact[dict[str, SecretFile | Unknown]]):
    """
    Returns the metadata of every entry in the secrets directory and of any other given paths,
    keyed by path. Never their contents: only ``stat`` runs. A file that cannot be stat'ed is
    ``Unknown``; a directory that cannot be listed makes the whole fact ``Unknown``.

    + directory: the secrets directory (sops-nix: ``/run/secrets``, a link to ``/run/secrets.d/N``)
    + paths: further secret paths declared outside it

    .. code:: python

        {"/run/secrets/restic-password": SecretFile(owner="root", group="root", mode="400", size=33)}
    """

    key = "secrets"
    what = "list the secrets"

    @override
    def part(self, directory: str = "/run/secrets", paths: list[str] | None = None) -> Part:
        return Part(self.key, "secrets", (directory, *(paths or [])))

    @override
    def parse(self, reply: Reply) -> dict[str, SecretFile | Unknown]:
        return parse_secret_files(reply.records())
