"""Sockets listening on addresses other hosts can reach."""

from __future__ import annotations

from pyinfra.api.facts import FactBase
from typing_extensions import override

from nixfleet.observed.network import Listener, parse_ss


class ListeningSockets(FactBase[list[Listener]]):
    """
    Returns the TCP and UDP sockets listening on non-loopback addresses, with their process.

    .. code:: python

        [Listener(proto="tcp", address="0.0.0.0", port=22, process="sshd", pid=213)]
    """

    default = list

    @override
    def requires_command(self) -> str:
        return "ss"

    @override
    def command(self) -> str:
        return "ss -H -l -n -t -u -p"

    @override
    def process(self, output: list[str]) -> list[Listener]:
        return parse_ss(output)
