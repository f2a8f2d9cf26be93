"""Secret files' metadata, never their contents (the pyinfra face of :mod:`nixfleet.areas.secrets`)."""

from __future__ import annotations

from facts.probed import ProbeFact
from nixfleet.areas import secrets
from nixfleet.areas.secrets import SecretFile
from nixfleet.probe import Unknown


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

    reading = secrets.FILES
