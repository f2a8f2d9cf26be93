"""Every host: sshd answers, it runs its boot default, no unit failed, only declared ports open."""

from __future__ import annotations

from nixfleet.areas import network, secrets
from nixfleet.areas.network import is_loopback

ROLE = "all"


def test_sshd_is_listening(host, fleet_host) -> None:
    assert host.socket("tcp://22").is_listening, f"{fleet_host.name}: nothing listens on port 22"


def test_the_current_system_is_the_boot_default(host, fleet_host) -> None:
    current = host.check_output("readlink -f /run/current-system")
    boot = host.check_output("readlink -f /nix/var/nix/profiles/system")
    assert current == boot, f"{fleet_host.name} runs {current} but boots {boot}"


def test_no_unit_failed(host, fleet_host) -> None:
    failed = host.check_output(
        "systemctl list-units --failed --plain --no-legend | awk '{print $1}'"
    )
    assert failed == "", f"{fleet_host.name}: failed units: {failed.split()}"


def test_only_declared_ports_listen(host, fleet_host) -> None:
    declared = {f"tcp:{p}" for p in fleet_host.declared[network.AREA].tcp} | {
        f"udp:{p}" for p in fleet_host.declared[network.AREA].udp
    }
    undeclared = []
    for url in host.socket.get_listening_sockets():
        proto, _, rest = url.partition("://")
        address, _, port = rest.rpartition(":")
        if (
            proto in ("tcp", "udp")
            and not is_loopback(address)
            and f"{proto}:{port}" not in declared
        ):
            undeclared.append(url)
    assert not undeclared, (
        f"{fleet_host.name}: listening but not declared in the firewall: {undeclared}"
    )


def test_secrets_have_their_declared_owner_and_mode(host, fleet_host) -> None:
    wrong = []
    for secret in fleet_host.declared[secrets.AREA].values():
        f = host.file(secret.path)
        if not f.exists or f.size == 0:
            wrong.append(f"{secret.path} is missing or empty")
        elif f.mode != int(secret.mode, 8) or (f.user, f.group) != (secret.owner, secret.group):
            wrong.append(
                f"{secret.path} is {oct(f.mode)} {f.user}:{f.group}, declared {secret.mode} {secret.owner}:{secret.group}"
            )
    assert not wrong, f"{fleet_host.name}: {'; '.join(wrong)}"
