"""Listening sockets (the pyinfra face of :mod:`nixfleet.areas.network`)."""

from __future__ import annotations

from facts.probed import ProbeFact
from nixfleet.areas import network
from nixfleet.areas.network import Listener


class ListeningSockets(ProbeFact[tuple[Listener, ...]]):
    """
    Returns the TCP and UDP sockets listening on non-loopback addresses, with their process,
    read from the kernel's socket tables (run as root to see every process).

    .. code:: python

        (Listener(proto="tcp", address="0.0.0.0", port=22, process="sshd", pid=213),)
    """

    reading = network.LISTENERS
