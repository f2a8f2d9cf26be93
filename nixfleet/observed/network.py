"""Listening sockets on addresses other hosts can reach, with the process that owns each."""

from __future__ import annotations

import re
from dataclasses import dataclass

_PROCESS = re.compile(r'\(\("(?P<name>[^"]+)",pid=(?P<pid>\d+)')


@dataclass(frozen=True)
class Listener:
    """A listening socket (``tcp`` or ``udp``) on a non-loopback address."""

    proto: str
    address: str
    port: int
    process: str = ""
    pid: int | None = None


def _split_host_port(local: str) -> tuple[str, int] | None:
    host, sep, port = local.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def is_loopback(address: str) -> bool:
    """Whether only this host can reach ``address``.

    >>> [is_loopback(a) for a in ("127.0.0.1", "::1", "127.0.0.53%lo", "0.0.0.0", "*")]
    [True, True, True, False, False]
    """
    address = address.split("%", 1)[0] if not address.endswith("%lo") else "127.0.0.1"
    return address.startswith("127.") or address in ("::1", "localhost")


def parse_ss(output: list[str]) -> list[Listener]:
    """Rows of ``ss -H -l -n -t -u -p``; loopback sockets are left out."""
    listeners: list[Listener] = []
    for line in output:
        cols = line.split()
        if len(cols) < 5 or cols[0] not in ("tcp", "udp"):
            continue
        parsed = _split_host_port(cols[4])
        if parsed is None or is_loopback(parsed[0]):
            continue
        match = _PROCESS.search(line)
        listeners.append(
            Listener(
                proto=cols[0],
                address=parsed[0],
                port=parsed[1],
                process=match["name"] if match else "",
                pid=int(match["pid"]) if match else None,
            )
        )
    return sorted(set(listeners), key=lambda x: (x.proto, x.port, x.address))
