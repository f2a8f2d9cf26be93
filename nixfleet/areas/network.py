"""The network area: listening sockets on addresses other hosts can reach, with the process
that owns each, against the ports the firewall opens (``networking.firewall``).

Read from the kernel's /proc/net/{tcp,tcp6,udp,udp6} (``network.sh``): hex numbers only, so no
process name or path on the host can forge a row. Check: ``network.exposed-ports``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from nixfleet.area import Area, CheckSpec, Context, Reading, Subjects
from nixfleet.checks import Check, Problem, unreadable, verdict
from nixfleet.probe import Part, Reply, Unknown

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


WHAT = "list listening sockets"


def parse_listeners(reply: Reply) -> tuple[Listener, ...] | Unknown:
    """What ``network.sh`` printed; loopback sockets are left out."""
    what = WHAT
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


@dataclass(frozen=True)
class Ports:
    """The ports the host's firewall opens."""

    tcp: frozenset[int] = field(default_factory=frozenset)
    udp: frozenset[int] = field(default_factory=frozenset)


NIX = """c: {
  tcp = c.networking.firewall.allowedTCPPorts or [ ];
  udp = c.networking.firewall.allowedUDPPorts or [ ];
}"""


def declare(data: Any) -> Ports:
    """The declared ports, from :data:`NIX`'s JSON.

    >>> declare({"tcp": [22, 443], "udp": []}).tcp
    frozenset({443, 22})
    """
    data = data or {}
    return Ports(
        frozenset(int(p) for p in data.get("tcp") or ()),
        frozenset(int(p) for p in data.get("udp") or ()),
    )


class Listeners(Reading[tuple[Listener, ...]]):
    """The TCP and UDP sockets listening on non-loopback addresses, with their process, read
    from the kernel's socket tables (run as root to see every process)."""

    key = "listeners"
    what = WHAT

    def part(self) -> Part:
        return Part(self.key, "network")

    def parse(self, reply: Reply) -> tuple[Listener, ...] | Unknown:
        return parse_listeners(reply)


LISTENERS = Listeners()


def exposed_ports(s: Subjects) -> Check:
    ports, listeners = s.declared[AREA], s.observed[LISTENERS]
    declared = {"tcp": ports.tcp, "udp": ports.udp}
    if bad := unreadable("network.exposed-ports", listeners):
        return bad
    assert not isinstance(listeners, Unknown)
    problems, seen = [], []
    for sock in listeners:
        seen.append(f"{sock.port}/{sock.proto} {sock.address} {sock.process}".strip())
        if sock.port not in declared[sock.proto]:
            who = f"{sock.process} (pid {sock.pid})" if sock.process else "an unknown process"
            problems.append(
                Problem(
                    f"{sock.port}/{sock.proto}",
                    f"{sock.port}/{sock.proto} is open on {sock.address} by {who} but not "
                    f"declared (networking.firewall.allowed{sock.proto.upper()}Ports); stop "
                    "it or declare it",
                )
            )
    details = {
        "listening": seen,
        "declared_tcp": sorted(declared["tcp"]),
        "declared_udp": sorted(declared["udp"]),
    }
    return verdict("network.exposed-ports", problems, "only declared ports are open", details)


def _reads(_d: Ports, _ctx: Context) -> list[Part | None]:
    return [LISTENERS.part()]


AREA: Area[Ports] = Area(
    name="network",
    order=70,
    nix=NIX,
    declare=declare,
    readings=(LISTENERS,),
    reads=_reads,
    checks=(CheckSpec("network.exposed-ports", exposed_ports),),
)
