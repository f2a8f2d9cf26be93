"""network.exposed-ports."""

from __future__ import annotations

from nixfleet.checks import Check, Problem, unreadable, verdict
from nixfleet.checks.context import Subjects


def exposed_ports(s: Subjects) -> Check:
    declared = {"tcp": s.declared.tcp_ports, "udp": s.declared.udp_ports}
    if bad := unreadable("network.exposed-ports", s.observed.listeners):
        return bad
    problems, seen = [], []
    for sock in s.observed.listeners:  # type: ignore[union-attr]
        seen.append(f"{sock.port}/{sock.proto} {sock.address} {sock.process}".strip())
        if sock.port not in declared[sock.proto]:
            who = f"{sock.process} (pid {sock.pid})" if sock.process else "an unknown process"
            problems.append(Problem(f"{sock.port}/{sock.proto}",
                                    f"{sock.port}/{sock.proto} is open on {sock.address} by {who} but not "
                                    f"declared (networking.firewall.allowed{sock.proto.upper()}Ports); stop "
                                    "it or declare it"))  # fmt: skip
    details = {
        "listening": seen,
        "declared_tcp": sorted(declared["tcp"]),
        "declared_udp": sorted(declared["udp"]),
    }
    return verdict("network.exposed-ports", problems, "only declared ports are open", details)
