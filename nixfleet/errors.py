"""The one exception type nixfleet raises for problems a user can fix."""

from __future__ import annotations


class NixfleetError(Exception):
    """A user-facing error: its message is one line saying what is wrong and how to fix it.

    >>> str(NixfleetError("desktop: /etc/nixos is not managed by nixfleet; move it aside"))
    'desktop: /etc/nixos is not managed by nixfleet; move it aside'
    """
