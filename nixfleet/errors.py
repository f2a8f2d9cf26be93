"""The one exception type nixfleet raises for problems a user can fix."""

from __future__ import annotations

from pyinfra.api.exceptions import PyinfraError


class NixfleetError(PyinfraError):
    """A user-facing error: its message is one line saying what is wrong and how to fix it.

    It is a ``PyinfraError``, so when raised while pyinfra prepares a deploy, pyinfra prints it
    as one line (``--> pyinfra error: …``) and exits 1 before touching any host.

    >>> str(NixfleetError("desktop: /etc/nixos is not managed by nixfleet; move it aside"))
    'desktop: /etc/nixos is not managed by nixfleet; move it aside'
    """
