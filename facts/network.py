"""Sockets listening on addresses other hosts can reach."""

from __future__ import annotations

from typing_extensions import override

from facts.probed import ProbeFact
from nixfleet.observed.network import Listener, parse_listeners
from nixfleet.probe import Part, Reply, Unknown


class ListeningSockets(ProbeFact[tuple[Listener, ...]]):
    """
    Returns the TCP and UDP sockets listening on non-loopback addresses, with their process,
    read from the kernel's socket tables (run as root to see every process).

    .. code:: python

        (Listener(proto="tcp", address="0.0.0.0", port=22, process="sshd", pid=213),)
    """

    key = "listeners"
    what = "list listening sockets"

    @override
    def part(self) -> Part:
        return Part(self.key, "network")

    @override
    def parse(self, reply: Reply) -> tuple[Listener, ...] | Unknown:
        return parse_listeners(reply)
