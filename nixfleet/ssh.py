"""How the controller reaches a host over ssh, derived from the same host data pyinfra uses."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nixfleet.errors import NixfleetError

# A host or user name ssh cannot take for an option: no leading -, no spaces or control characters.
_WORD = re.compile(r"^[A-Za-z0-9_.:%\[\]][^\s@]*$")


@dataclass(frozen=True)
class SshTarget:
    """One host's ssh endpoint and options, for nixos-rebuild and other controller-side ssh users.

    >>> t = SshTarget(host="desktop", hostname="10.250.0.11", user="root", key=".lab/ssh/k")
    >>> t.destination
    'root@10.250.0.11'
    >>> t.options()[:4]
    ['-o', 'IdentitiesOnly=yes', '-o', 'IdentityFile=.lab/ssh/k']
    """

    host: str
    hostname: str
    user: str | None = None
    port: int | None = None
    key: str | None = None
    known_hosts: str | None = None
    strict: str = "yes"
    config_file: str | None = None

    @classmethod
    def from_data(cls, name: str, data: Mapping[str, object]) -> SshTarget:
        """Read pyinfra's ``ssh_*`` host data; host keys are checked strictly unless it says not."""

        def path(key: str) -> str | None:
            value = data.get(key)
            return os.path.abspath(os.path.expanduser(str(value))) if value else None

        port = data.get("ssh_port")
        if port is not None and (
            isinstance(port, bool) or not str(port).isdigit() or not 0 < int(str(port)) < 65536
        ):
            raise NixfleetError(
                f"{name}: ssh_port = {port!r} is not valid; it must be a port number 1-65535"
            )
        for key in ("ssh_hostname", "ssh_user"):
            value = data.get(key)
            if value is not None and (not isinstance(value, str) or not _WORD.match(value)):
                raise NixfleetError(
                    f"{name}: {key} = {value!r} is not valid; it must be a host or user name "
                    "(no spaces, not starting with -)"
                )
        strict = data.get("ssh_strict_host_key_checking", "yes")
        target = cls(
            host=name,
            hostname=str(data.get("ssh_hostname") or name),
            user=str(data["ssh_user"]) if data.get("ssh_user") else None,
            port=int(str(port)) if port else None,
            key=path("ssh_key"),
            known_hosts=path("ssh_known_hosts_file"),
            strict={"off": "no", "accept-new": "accept-new"}.get(str(strict), "yes"),
            config_file=path("ssh_config_file"),
        )
        for value in (target.key, target.known_hosts, target.config_file):
            if value and " " in value:
                raise NixfleetError(
                    f"{name}: ssh path {value!r} contains a space, which NIX_SSHOPTS cannot carry; "
                    "move the file to a path without spaces"
                )
        return target

    @property
    def destination(self) -> str:
        return f"{self.user}@{self.hostname}" if self.user else self.hostname

    def settings(self) -> list[tuple[str, str]]:
        """The ssh_config keywords that reach this host, in the order ssh reads them: the one
        list that ``options`` (``-o`` flags) and ``config_block`` (an ssh_config ``Host``) write.

        >>> SshTarget("nas", "10.0.0.5", port=2222).settings()[-1]
        ('Port', '2222')
        """
        pairs: list[tuple[str, str]] = []
        if self.key:
            pairs += [("IdentitiesOnly", "yes"), ("IdentityFile", self.key)]
        if self.known_hosts:
            pairs.append(("UserKnownHostsFile", self.known_hosts))
        pairs += [("StrictHostKeyChecking", self.strict), ("BatchMode", "yes")]
        if self.port:
            pairs.append(("Port", str(self.port)))
        return pairs

    def options(self) -> list[str]:
        """ssh options (no destination), in the order ssh reads them."""
        opts = ["-F", self.config_file] if self.config_file else []
        for keyword, value in self.settings():
            opts += ["-o", f"{keyword}={value}"]
        return opts

    def config_block(self, extra: Sequence[tuple[str, str]] = ()) -> str:
        """This host as an ssh_config ``Host`` block, with ``extra`` keywords after its own.

        >>> print(SshTarget("nas", "10.0.0.5", user="root").config_block([("ConnectTimeout", "5")]), end="")
        Host nas
          HostName 10.0.0.5
          User root
          StrictHostKeyChecking yes
          BatchMode yes
          ConnectTimeout 5
        """
        own = [("HostName", self.hostname)] + ([("User", self.user)] if self.user else [])
        lines = [f"Host {self.host}"] + [f"  {k} {v}" for k, v in [*own, *self.settings(), *extra]]
        return "\n".join(lines) + "\n"

    def fresh_argv(self, connect_timeout: int = 5) -> list[str]:
        """``ssh … host --``: a brand-new connection (no ControlMaster), to prove sshd accepts one."""
        return [
            "ssh",
            *self.options(),
            "-o",
            "ControlMaster=no",
            "-o",
            "ControlPath=none",
            "-o",
            f"ConnectTimeout={connect_timeout}",
            self.destination,
            "--",
        ]

    def nix_sshopts(self, control_path: str | None = None) -> str:
        """The value of ``NIX_SSHOPTS`` (word-split by nixos-rebuild, hence no spaces in paths).

        With ``control_path``, every ssh that nix-copy-closure and nixos-rebuild start shares one
        connection (ssh takes the first value of an option, so nixos-rebuild's own ControlPath,
        added after these, does not replace it).

        >>> SshTarget("nas", "nas").nix_sshopts("/tmp/m/%C").split(" -o ")[-3:]
        ['ControlMaster=auto', 'ControlPath=/tmp/m/%C', 'ControlPersist=120']
        """
        mux = (
            [
                "-o",
                "ControlMaster=auto",
                "-o",
                f"ControlPath={control_path}",
                "-o",
                "ControlPersist=120",
            ]
            if control_path
            else []
        )
        return " ".join([*self.options(), *mux])

    def close_master_argv(self, control_path: str) -> list[str]:
        """Ask the shared connection at ``control_path`` to exit."""
        return [
            "ssh",
            *self.options(),
            "-o",
            f"ControlPath={control_path}",
            "-O",
            "exit",
            self.destination,
        ]


def control_dir(run_id: str, host: str) -> str:
    """A private directory for one host's shared ssh connection in one run; short, since a
    socket path (with the 40-character ``%C``) must stay under about 100 characters.

    >>> control_dir("20261125T235959Z-701bc1", "nas").startswith(tempfile.gettempdir() + "/nixfleet-")
    True
    """
    digest = hashlib.sha256(f"{run_id}/{host}".encode()).hexdigest()[:10]
    return os.path.join(tempfile.gettempdir(), f"nixfleet-{digest}")
