"""argv lists for the lab's kernel objects and keys. Pure functions, tested by equality."""

from __future__ import annotations

from collections.abc import Sequence
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


def hidden(*paths: Path) -> list[Path]:
    """The paths a lab host must not see, without those inside another one (a whiteout hides
    everything below it).

    >>> [str(p) for p in hidden(Path("/src/nixfleet"), Path("/src/nixfleet/.lab"), Path("/var/lab"))]
    ['/src/nixfleet', '/var/lab']
    """
    out: list[Path] = []
    for p in sorted({q.resolve() for q in paths}, key=lambda q: (len(q.parts), str(q))):
        if not any(p == o or o in p.parents for o in out):
            out.append(p)
    return out


def host_boot(host: LabHost, host_dir: Path, boot_script: Path, hide: Sequence[Path] = ()) -> Argv:
    """Boot the host's container in a private mount namespace (see ``lab/bin/host-boot``),
    with the ``hide`` paths of this machine absent inside it."""
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
        *map(str, hide),
    ]


def keyscan(host: LabHost) -> Argv:
    """Ask a host's sshd for its ed25519 key; succeeds once sshd is listening."""
    return ["ssh-keyscan", "-T", "1", "-t", "ed25519", host.address]


def ssh(config: Path, host: LabHost, *command: str) -> Argv:
    """Run ``command`` on a lab host through the lab's ssh_config."""
    return ["ssh", "-F", str(config), host.name, "--", *command]


# The console's PATH: Debian's, for the lab's own hands (tests and `lab up` use restic, jq and
# sops there); what nixfleet sees over SSH is NixOS's PATH, set by the host's sshd.
CONSOLE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def console(init_pid: int, command: str) -> Argv:
    """Run ``command`` as root on a lab host through its console: in the namespaces of the
    host's init (``init_pid``, as this machine sees it), not over SSH. It stands for a user at
    the machine's keyboard, so it works on a host that refuses root over SSH, or has no sshd.

    >>> console(4242, "systemctl is-system-running")[:4]
    ['nsenter', '--target', '4242', '--mount']
    """
    return [
        "nsenter",
        "--target",
        str(init_pid),
        "--mount",
        "--uts",
        "--ipc",
        "--net",
        "--pid",
        "--root",
        "--wd",
        "--",
        "/usr/bin/env",
        "-i",
        f"PATH={CONSOLE_PATH}",
        "HOME=/root",
        "LANG=C.UTF-8",
        "/bin/sh",
        "-c",
        command,
    ]


def ssh_exit_master(config: Path, host: LabHost) -> Argv:
    """Close the ControlMaster connection to a host, if there is one."""
    return ["ssh", "-F", str(config), "-O", "exit", host.name]


def bridge_down() -> Argv:
    return ["ip", "link", "del", BRIDGE]


def netns_del(netns: str) -> Argv:
    return ["ip", "netns", "del", netns]
