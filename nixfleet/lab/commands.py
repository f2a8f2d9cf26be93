"""argv lists for the lab's kernel objects and keys. Pure functions, tested by equality."""

from __future__ import annotations

from pathlib import Path

from nixfleet.lab.topology import BRIDGE, BRIDGE_ADDRESS, LabHost

Argv = list[str]


def bridge_up() -> list[Argv]:
    """Create the lab bridge with the controller's address on it.

    >>> bridge_up()[0]
    ['ip', 'link', 'add', 'nixfleet0', 'type', 'bridge']
    """
    return [
        ["ip", "link", "add", BRIDGE, "type", "bridge"],
        ["ip", "addr", "add", f"{BRIDGE_ADDRESS}/24", "dev", BRIDGE],
        ["ip", "link", "set", BRIDGE, "up"],
    ]


def host_net_up(host: LabHost) -> list[Argv]:
    """A namespace with one veth to the bridge and no default route: nothing leaves the lab."""
    ns = ["ip", "-n", host.netns]
    return [
        ["ip", "netns", "add", host.netns],
        [
            "ip",
            "link",
            "add",
            host.veth,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            host.netns,
        ],
        ["ip", "link", "set", host.veth, "master", BRIDGE, "up"],
        [*ns, "addr", "add", f"{host.address}/24", "dev", "eth0"],
        [*ns, "link", "set", "eth0", "up"],
        [*ns, "link", "set", "lo", "up"],
    ]


def host_boot(host: LabHost, host_dir: Path, boot_script: Path) -> Argv:
    """Boot the host's container in a private mount namespace (see ``lab/bin/host-boot``)."""
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        str(boot_script),
        host.name,
        str(host_dir),
        host.netns,
        host.cgroup,
    ]


def keyscan(host: LabHost) -> Argv:
    """Ask a host's sshd for its ed25519 key; succeeds once sshd is listening."""
    return ["ssh-keyscan", "-T", "1", "-t", "ed25519", host.address]


def ssh(config: Path, host: LabHost, *command: str) -> Argv:
    """Run ``command`` on a lab host through the lab's ssh_config."""
    return ["ssh", "-F", str(config), host.name, "--", *command]


def ssh_exit_master(config: Path, host: LabHost) -> Argv:
    """Close the ControlMaster connection to a host, if there is one."""
    return ["ssh", "-F", str(config), "-O", "exit", host.name]


def bridge_down() -> Argv:
    return ["ip", "link", "del", BRIDGE]


def netns_del(netns: str) -> Argv:
    return ["ip", "netns", "del", netns]
