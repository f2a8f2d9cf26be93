"""Listening sockets on addresses other hosts can reach, with the process that owns each.

Read from the kernel's /proc/net/{tcp,tcp6,udp,udp6} (``probes/network.sh``): hex numbers only,
so no process name or path on the host can forge a row.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from nixfleet.probe import Reply, Unknown

TABLES = ("tcp", "tcp6", "udp", "udp6")
_LISTEN = {"tcp": "0A", "udp": "07"}  # TCP_LISTEN; an unconnected UDP socket (TCP_CLOSE)


@dataclass(frozen=True)
class Listener:
    """A listening socket (``tcp`` or ``udp``) on a non-loopback address."""

    proto: str
    address: str
    port: int
    process: str = ""
    pid: int | None = None


def is_loopback(address: str) -> bool:
    """Whether only this host can reach ``address`` (a ``%iface`` suffix names the interface).

    >>> [is_loopback(a) for a in ("127.0.0.1", "::1", "127.0.0.53%lo", "0.0.0.0", "*", "[::1]",
    ...                           "::ffff:127.0.0.1", "10.0.0.1%lo", "localhost")]
    [True, True, True, False, False, True, True, True, True]
    """
    address, _, iface = address.strip("[]").partition("%")
    if iface == "lo" or address == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return bool(ip.is_loopback or (mapped and mapped.is_loopback))


def _address(hex_addr: str) -> str:
    """A /proc/net address in host byte order per 32-bit word, as text.

    >>> _address("0100007F"), _address("00000000000000000000000001000000")
    ('127.0.0.1', '::1')
    """
    raw = bytes.fromhex(hex_addr)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


def parse_proc_net(proto: str, text: str) -> list[tuple[str, int, int]]:
    """Listening sockets of one /proc/net table: (address, port, inode).

    >>> parse_proc_net("tcp", "  sl  local_address rem_address   st ...\\n"
    ...   "   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1134 1")
    [('0.0.0.0', 2024, 1134)]
    """
    lines = text.splitlines()
    if not lines or lines[0].split()[:2] != ["sl", "local_address"]:
        raise ValueError("it has no header line (sl local_address …)")
    rows = []
    for line in lines[1:]:
        cols = line.split()
        if len(cols) < 10 or cols[3] != _LISTEN[proto.rstrip("6")]:
            continue
        addr, _, port = cols[1].partition(":")
        rows.append((_address(addr), int(port, 16), int(cols[9])))
    return rows


def parse_listeners(reply: Reply) -> tuple[Listener, ...] | Unknown:
    """What ``probes/network.sh`` printed; loopback sockets are left out."""
    what = "list listening sockets"
    if reply.failure:
        return Unknown(what, reply.failure)
    records = reply.records()
    owners: dict[int, int] = {}
    for row in records.all("socket"):
        holder, _, ino = row.partition(" ")
        if holder.isdigit() and ino.isdigit():
            owners.setdefault(int(ino), int(holder))
    names = {}
    for row in records.all("comm"):
        holder, _, name = row.partition(" ")
        if holder.isdigit():
            names[int(holder)] = name
    found: set[Listener] = set()
    tables = 0
    for table in TABLES:
        read = records.read(table)
        if read is None:
            continue
        if read.failure:
            return Unknown(what, f"/proc/net/{table}: {read.failure}")
        tables += 1
        try:
            rows = parse_proc_net(table, read.text)
        except ValueError as exc:
            return Unknown(what, f"/proc/net/{table} does not parse: {exc}")
        for address, port, inode in rows:
            if is_loopback(address):
                continue
            owner = owners.get(inode)
            proto = table.rstrip("6")
            found.add(Listener(proto, address, port, names.get(owner, "") if owner else "", owner))
    if not tables:
        return Unknown(what, "/proc/net has no tcp or udp table")
    return tuple(sorted(found, key=lambda x: (x.proto, x.port, x.address)))
