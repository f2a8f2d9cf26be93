"""Why a host could not be reached: offline (down, asleep, no route) or refused (a host key
that does not match, or authentication that failed). A refusal is a possible impersonation or
a broken key, never "asleep": it fails the run instead of being deferred."""

from __future__ import annotations

from nixfleet import process
from nixfleet.models import HostStatus
from nixfleet.ssh import SshTarget

_HOST_KEY = (
    "host key verification failed",
    "remote host identification has changed",
    "host key for",
    "no matching host key",
)
_AUTH = ("permission denied", "authentication failed", "too many authentication failures")


def classify(stderr: str) -> tuple[HostStatus, str]:
    """The status and reason for a failed ssh connection, from what ssh printed.

    >>> classify("@@@@@@@\\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\\n"
    ...          "Host key verification failed.")[0].value
    'refused'
    >>> classify("root@10.250.0.12: Permission denied (publickey).")[1][:40]
    'authentication failed: root@10.250.0.12:'
    >>> classify("ssh: connect to host 10.250.0.15 port 22: Connection refused")[0].value
    'offline'
    """
    text = stderr.lower()
    last = next((x.strip() for x in reversed(stderr.splitlines()) if x.strip()), "no answer")
    if any(k in text for k in _HOST_KEY):
        return HostStatus.REFUSED, (
            f"host key mismatch: {last}; the host may be impersonated, or it was reinstalled. "
            "Check its key out of band (on its console: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) "
            "before replacing the known_hosts entry"
        )
    if any(k in text for k in _AUTH):
        return HostStatus.REFUSED, (
            f"authentication failed: {last}; check ssh_user, ssh_key and the host's authorized keys"
        )
    return HostStatus.OFFLINE, f"not reachable over SSH ({last}); deferred"


def why_unreachable(target: SshTarget) -> tuple[HostStatus, str]:
    """Try one fresh connection, and tell from how it fails."""
    result = process.run([*target.fresh_argv(connect_timeout=5), "true"], timeout=20)
    if result.ok:
        return (
            HostStatus.OFFLINE,
            "not reachable over SSH when the run began (it answers now); deferred",
        )
    return classify(result.stderr)
