"""Bring the lab up, take it down, and report its state. The only lab module with side effects."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nixfleet import fleet, keys, process
from nixfleet.errors import NixfleetError
from nixfleet.lab import commands, files
from nixfleet.lab.topology import (
    BRIDGE,
    SERVICE_ROLE,
    LabHost,
    LabPaths,
    load_hosts,
    plan,
    save_hosts,
    services,
)
from nixfleet.poll import poll_until
from nixfleet.process import parallel

REPO = Path(__file__).resolve().parents[2]
BOOT_SCRIPT = REPO / "lab" / "bin" / "host-boot"
FLAKE_TEMPLATE = REPO / "lab" / "flake"
# The fleet's data and the helper that reads it: the lab flake uses the very files the real one does.
FLEET_DATA = REPO / "fleet.nix"
FLEET_LIB = REPO / "lib" / "fleet.nix"
MONITORING_LIB = REPO / "lib" / "monitoring.nix"
REBUILD_STAND_IN = (
    REPO / "lab" / "bin" / "nixos-rebuild"
)  # also the flake's system.build.nixos-rebuild
# Lab only: where restic repositories live: the nas's over SFTP, and an offsite one on the lab
# host that stands in for it (a restic REST server over HTTPS; see modules/offsite.nix).
LAB_REPOSITORY = "sftp:root@nas:/srv/restic"
LAB_SERVICE_REPOSITORY = "rest:https://{name}"
CGROUP_ROOTS = (
    Path("/sys/fs/cgroup/unified"),
    Path("/sys/fs/cgroup/systemd"),
    Path("/sys/fs/cgroup"),
)
REQUIRED_TOOLS = (
    "ip",
    "unshare",
    "nsenter",
    "systemd-nspawn",
    "ssh",
    "ssh-keygen",
    "ssh-keyscan",
    "nix",
    "git",
    "syncthing",
    "restic",
)
BOOT_TIMEOUT_S = 60.0


def preflight() -> None:
    if os.geteuid() != 0:
        raise NixfleetError(
            "lab: must run as root (namespaces and containers); use sudo make lab-up"
        )
    missing = [t for t in REQUIRED_TOOLS if shutil.which(t) is None]
    if missing:
        raise NixfleetError(f"lab: missing {', '.join(missing)}; run `make setup` to install them")


# Every lab host's systemd, journald, logind and Syncthing take inotify instances from the same
# (root's) budget, 128 by default: beyond about twenty hosts, units that need one (path units)
# fail at boot. The lab raises the limit to at least this much per host; it never lowers it.
INOTIFY_INSTANCES_PER_HOST = 32
INOTIFY_LIMIT = Path("/proc/sys/fs/inotify/max_user_instances")


def raise_inotify_limit(hosts: int, limit: Path = INOTIFY_LIMIT) -> None:
    """Make room for ``hosts`` lab hosts' inotify instances (a machine-wide kernel setting)."""
    want = 128 + INOTIFY_INSTANCES_PER_HOST * hosts
    if limit.exists() and int(limit.read_text()) < want:
        limit.write_text(f"{want}\n")


def up(
    paths: LabPaths,
    generic: int = 0,
    log: Callable[[str], None] = print,
    fleet_path: Path = FLEET_DATA,
) -> list[LabHost]:
    """Start a fresh lab of the hosts in ``fleet_path``: clear stale state, then boot every host
    and wait until it runs."""
    preflight()
    start = time.monotonic()
    data = fleet.load(fleet_path)
    hosts = plan(data["hosts"], generic, None, services(data))
    members = [h for h in hosts if h.role != SERVICE_ROLE]
    down(paths, log=lambda _msg: None)
    raise_inotify_limit(len(hosts))
    if paths.root.exists():
        shutil.rmtree(paths.root)
    for sub in (paths.key.parent, paths.control_dir):
        sub.mkdir(parents=True, exist_ok=True)
    process.check(keys.keygen(paths.key, "nixfleet-lab-controller"))
    parallel(lambda h: _prepare_host(paths, h), hosts)
    made = dict(
        zip(
            (h.name for h in members),
            parallel(lambda h: _host_secrets(paths, h), members),
            strict=True,
        )
    )
    trusted: dict[str, str] = {}
    for service in (h for h in hosts if h.role == SERVICE_ROLE):
        secret, clients = _service_clients(data, service.name)
        pruners = [h for r, h in data.get("appendOnly", {}).items() if r == service.name]
        offsite = _provision_offsite(paths, service, clients, pruners)
        for client, password in offsite.passwords.items():
            made[client].values[secret] = offsite.credentials(client, password)
        for pruner, password in offsite.maintenance.items():
            made[pruner].values[f"{secret}-maintenance"] = offsite.maintenance_url(pruner, password)
        trusted[f"pki/{service.name}.pem"] = offsite.ca
    sops_files = _encrypt_secrets(paths, made)
    _write_shared_host_files(paths, hosts)
    controller_key = paths.key.with_suffix(".pub").read_text().strip()
    _make_flake(
        paths, fleet_path, lab_data(data, hosts, made, controller_key), sops_files | trusted
    )
    _install(paths, hosts)

    for argv in commands.bridge_up():
        process.check(argv)
    _boot(paths, hosts, hosts)
    log(f"lab up: {len(hosts)} hosts running in {time.monotonic() - start:.1f} s")
    return hosts


def add_hosts(paths: LabPaths, log: Callable[[str], None] = print) -> list[LabHost]:
    """Bring up the hosts the lab flake's fleet.nix has and the running lab does not (added with
    ``nixfleet host add … --flake .lab/flake``), leaving the running hosts as they are. Each new
    host gets the age key ``host add`` made for it (``.lab/flake/.keys/<name>/key.txt``), as the
    user would copy it onto a new machine; the others learn its name and host key."""
    preflight()
    start = time.monotonic()
    running = load_hosts(paths.hosts_json)
    new = missing_hosts(paths)
    if not new:
        log("lab up: no host in the lab flake's fleet.nix is missing from the lab")
        return []
    for h in new:
        key = paths.flake / ".keys" / h.name / "key.txt"
        if not key.is_file():
            raise NixfleetError(
                f"{h.name}: no age key at {key}; add the host with "
                f"`nixfleet host add {h.name} … --flake {paths.flake}`"
            )
    hosts = running + new
    parallel(lambda h: _prepare_host(paths, h), new)
    for h in new:
        sops_dir = paths.host_dir(h.name) / "upper/var/lib/sops-nix"
        sops_dir.mkdir(parents=True, mode=0o700)
        shutil.copy(paths.flake / ".keys" / h.name / "key.txt", sops_dir / "key.txt")
        (sops_dir / "key.txt").chmod(0o600)
    _write_shared_host_files(paths, hosts, live={h.name for h in running})
    lab_json = paths.flake / "lab.json"
    lab = json.loads(lab_json.read_text())
    for h in new:
        lab["hosts"][h.name] = {"address": h.address}
    lab_json.write_text(json.dumps(lab, indent=2, sort_keys=True) + "\n")
    changed = [lab_json]
    data = fleet.load(paths.flake / "fleet.nix")
    joining = {h.name for h in new}
    for service in (h for h in running if h.role == SERVICE_ROLE):
        secret, clients = _service_clients(data, service.name)
        if [c for c in clients if c in joining]:
            changed.append(_grant(paths, service, secret, [c for c in clients if c in joining]))
    _commit(paths.flake, changed, f"lab: {', '.join(h.name for h in new)} joined")
    _install(paths, new)
    _boot(paths, new, hosts)
    log(f"lab up: {', '.join(h.name for h in new)} running in {time.monotonic() - start:.1f} s")
    return new


def _boot(paths: LabPaths, booting: list[LabHost], hosts: list[LabHost]) -> None:
    """Boot ``booting`` (prepared), write the controller's view of all ``hosts`` (known_hosts,
    ssh_config, hosts.json), and wait until every booting host runs."""
    for h in booting:
        for argv in commands.host_net_up(h):
            process.check(argv)
        d = paths.host_dir(h.name)
        process.spawn_detached(
            commands.host_boot(h, d, BOOT_SCRIPT, _hidden(paths)), log=d / "console.log"
        )
    host_keys = {h: (paths.host_dir(h.name) / "host_key.pub").read_text() for h in hosts}
    paths.known_hosts.write_text(files.known_hosts(host_keys))
    paths.ssh_config.write_text(
        files.ssh_config(hosts, paths.key, paths.known_hosts, paths.control_dir)
    )
    save_hosts(paths.hosts_json, hosts, {})
    parallel(lambda h: _wait_running(paths, h, host_keys[h]), booting)


def _install(paths: LabPaths, hosts: list[LabHost]) -> None:
    """Install each host as a user installs a machine before deploying to it: its installed
    system (the lab flake's ``lab.installed.<name>``: identity, SSH, users, sudo, nix-daemon)
    copied into its own Nix store as generation 1, and made its boot default, which the host
    activates when it boots. Like a fresh NixOS, it then has a PATH, and a first deploy has a
    generation to roll back to."""
    # `nix build --json` lists its outputs in an order of its own: the names come from eval.
    installed = json.loads(
        process.check(["nix", "eval", "--json", f"{paths.flake}#lab.installed"]).stdout
    )
    toplevels = [str(installed[h.name]) for h in hosts]
    process.check(
        ["nix", "build", "--no-link", *[f"{paths.flake}#lab.installed.{h.name}" for h in hosts]]
    )

    def install(pair: tuple[LabHost, str]) -> None:
        host, toplevel = pair
        d = paths.host_dir(host.name)
        process.check(["nix", "copy", "--no-check-sigs", "--to", f"local?root={d}", toplevel])
        profiles = d / "nix/var/nix/profiles"
        profiles.mkdir(parents=True, exist_ok=True)
        (profiles / "system-1-link").symlink_to(toplevel)
        (profiles / "system").symlink_to("system-1-link")
        boot = d / "upper/boot/nixfleet-lab"
        boot.mkdir(parents=True, exist_ok=True)
        (boot / "default").symlink_to(toplevel)

    parallel(install, list(zip(hosts, toplevels, strict=True)))


def init_pid(name: str) -> int | None:
    """The PID (as this machine sees it) of a running lab host's init: the child of its
    systemd-nspawn, in the host's cgroup."""
    groups = [root / f"nixfleet-lab.{name}" for root in CGROUP_ROOTS]
    pids = set().union(*(_cgroup_pids(g) for g in groups if g.exists()))
    for pid in sorted(pids):
        try:
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if _comm(ppid) == "systemd-nspawn" and pid != ppid:
            return pid
    return None


def console(paths: LabPaths, name: str, command: str, **kwargs: Any) -> process.Result:
    """Run ``command`` as root on a running lab host, at its console (not over SSH): what a
    user at the machine could do, for the lab's own setup and for tests."""
    _known_host(paths, name)
    pid = init_pid(name)
    if pid is None:
        return process.Result(("console", name), 255, "", f"{name}: the host is not running")
    return process.run(commands.console(pid, command), **kwargs)


def _hidden(paths: LabPaths) -> list[Path]:
    """What no lab host may see: this project and the lab's state (keys, every host's disk)."""
    return commands.hidden(REPO, paths.root)


def missing_hosts(paths: LabPaths) -> list[LabHost]:
    """The hosts of the lab flake's fleet.nix that the lab does not have yet, with addresses
    that do not clash with the running ones."""
    running = load_hosts(paths.hosts_json)
    data = fleet.load(paths.flake / "fleet.nix")
    generic = sum(1 for h in running if h.role == "generic")
    planned = plan(data["hosts"], generic, {h.name: h.address for h in running})
    return [h for h in planned if h.name not in {r.name for r in running}]


def running_lab(paths: LabPaths) -> bool:
    """Whether a lab is up: its hosts file exists and every host in it answers (in any state)."""
    if not paths.hosts_json.exists() or not (paths.flake / "fleet.nix").exists():
        return False
    return all(r["container"] and r["system"] != "unreachable" for r in status(paths))


def _prepare_host(paths: LabPaths, host: LabHost) -> None:
    d = paths.host_dir(host.name)
    for sub in ("upper", "work", "merged", "nix", "root/.ssh", "etc-nixos"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    process.check(keys.keygen(d / "host_key", f"host key of {host.name}"))
    process.check(keys.keygen(d / "root/.ssh/id_ed25519", f"root@{host.name}"))
    upper = d / "upper"
    etc = upper / "etc"
    (etc / "ssh/sshd_config.d").mkdir(parents=True)
    (etc / "nix").mkdir()
    shutil.copy(d / "host_key", etc / "ssh/ssh_host_ed25519_key")
    shutil.copy(d / "host_key.pub", etc / "ssh/ssh_host_ed25519_key.pub")
    (etc / "ssh/sshd_config.d/nixfleet-lab.conf").write_text(files.SSHD_DROPIN)
    (etc / "hostname").write_text(host.name + "\n")
    (etc / "machine-id").write_text(uuid.uuid4().hex + "\n")
    (etc / "resolv.conf").write_text("")
    (etc / "nix/nix.conf").write_text(files.NIX_CONF)
    (etc / "nix/registry-empty.json").write_text(files.EMPTY_REGISTRY)
    units = etc / "systemd/system"
    (units / "sysinit.target.wants").mkdir(parents=True)
    for unit in files.masked_units(_enabled_units()):
        (units / unit).symlink_to("/dev/null")
    (units / "nixfleet-lab-boot.service").write_text(files.BOOT_UNIT)
    (units / "sysinit.target.wants/nixfleet-lab-boot.service").symlink_to(
        "/etc/systemd/system/nixfleet-lab-boot.service"
    )
    (d / "root/.ssh/config").write_text(files.host_ssh_client_config())


def _enabled_units() -> list[str]:
    wants = Path("/etc/systemd/system").glob("*.wants/*")
    return sorted({p.name for p in wants})


@dataclass(frozen=True)
class HostSecrets:
    """What ``lab up`` made for one host's secrets: its values (kept only in memory, until they
    are encrypted), the public key of its age identity, and its Syncthing device ID."""

    values: dict[str, str]
    recipient: str
    device_id: str
    notebook_key: str


def _host_secrets(paths: LabPaths, host: LabHost) -> HostSecrets:
    """Make one host's secrets and its age identity, as an admin setting up sops-nix would. The
    identity stays on the host's disk only (``/var/lib/sops-nix/key.txt``, as sops-nix's
    ``sops.age.keyFile``); the values go into the fleet's encrypted ``secrets.yaml``, which the
    host decrypts at activation. No plaintext secret is written to the host's disk."""
    d = paths.host_dir(host.name)
    sops_dir = d / "upper/var/lib/sops-nix"
    sops_dir.mkdir(parents=True, mode=0o700)
    process.check(keys.age_keygen(sops_dir / "key.txt"))
    recipient = process.check(keys.age_recipient(sops_dir / "key.txt")).stdout.strip()
    identity = d / "syncthing-identity"
    process.check(keys.syncthing_generate(identity))
    device_id = process.check(keys.syncthing_device_id(identity)).stdout.strip()
    # The host's notebook deploy key: the private half is a secret, the public half fleet data.
    nb_key = identity / "nb_ed25519"
    process.check(keys.keygen(nb_key, f"nb@{host.name}"))
    values = {
        "syncthing-cert": (identity / "cert.pem").read_text(),
        "syncthing-key": (identity / "key.pem").read_text(),
        "restic-password": secrets.token_urlsafe(24) + "\n",
        "nb-ssh-key": nb_key.read_text(),
    }
    notebook_key = nb_key.with_suffix(".pub").read_text().strip()
    shutil.rmtree(identity)
    return HostSecrets(values, recipient, device_id, notebook_key)


def lab_data(
    data: Mapping[str, Any],
    hosts: list[LabHost],
    made: Mapping[str, HostSecrets],
    controller_key: str,
) -> dict[str, Any]:
    """``lab.json``: what the lab puts on top of fleet.nix, all of it data. Each host's lab
    address, Syncthing device ID and notebook key; the lab's repository bases; every fleet
    user's SSH key, which in the lab is the controller's (the user deploys with their own key);
    and the generic benchmark hosts, which fleet.nix does not have; the hosts that stand in for
    services outside the fleet (the offsite repository)."""
    service_names = {h.name for h in hosts if h.role == SERVICE_ROLE}
    out: dict[str, Any] = {
        "users": {user: {"sshKeys": [controller_key]} for user in data.get("users", {})},
        "hosts": {},
        "repositories": {
            name: LAB_SERVICE_REPOSITORY.format(name=name)
            if name in service_names
            else LAB_REPOSITORY
            for name in data.get("repositories", {})
        },
    }
    if service_names:
        out["services"] = {h.name: {"address": h.address} for h in hosts if h.role == SERVICE_ROLE}
    for h in (h for h in hosts if h.role != SERVICE_ROLE):
        row: dict[str, Any] = {
            "address": h.address,
            "syncthingId": made[h.name].device_id,
            "notebookKey": made[h.name].notebook_key,
        }
        if h.name not in data["hosts"]:
            row |= {"role": "generic", "users": [], "exposes": {"tcp": [], "udp": []}}
        out["hosts"][h.name] = row
    return out


def _service_clients(data: Mapping[str, Any], repository: str) -> tuple[str, list[str]]:
    """The secret that holds each client's credentials for ``repository``, and the clients: the
    fleet hosts whose jobs back up there."""
    secret = data.get("repositoryCredentials", {}).get(repository)
    if secret is None:
        raise NixfleetError(
            f"fleet.nix: repository {repository} is offsite but has no repositoryCredentials "
            f'entry; add `repositoryCredentials.{repository} = "restic-{repository}";`'
        )
    clients = [h for h in sorted(data["hosts"]) if secret in fleet.expected(data, h)["secrets"]]
    return secret, clients


@dataclass(frozen=True)
class Offsite:
    """What ``lab up`` made for an offsite stand-in: the CA certificate its clients trust, and a
    password for each client (as the provider hands out one key per device)."""

    name: str
    ca: str
    passwords: dict[str, str]
    maintenance: dict[str, str] = field(default_factory=dict)  # the pruners' keys

    def credentials(self, client: str, password: str) -> str:
        """The client's secret: its repository base with its credentials (restic 0.14 reads a
        REST server's credentials only from the URL), and only its own directory."""
        return f"rest:https://{client}:{password}@{self.name}/{client}"

    def maintenance_url(self, pruner: str, password: str) -> str:
        """The pruner's secret: the endpoint that may delete, above every client's directory."""
        return f"rest:https://{pruner}:{password}@{self.name}:8443"


def _provision_offsite(
    paths: LabPaths, service: LabHost, clients: list[str], pruners: list[str]
) -> Offsite:
    """Set up the offsite stand-in as its provider would: a TLS certificate from a CA of its
    own, an htpasswd entry per client, and the maintenance key (one password per pruner). The
    key and htpasswd files stay on the host's disk; the CA's own key is thrown away once it has
    signed."""
    state = paths.host_dir(service.name) / "upper/var/lib/offsite"
    state.mkdir(parents=True, mode=0o700)
    with tempfile.TemporaryDirectory(dir=paths.root) as tmp:
        t = Path(tmp)
        process.check(keys.tls_ca(t / "ca.key", t / "ca.pem", f"nixfleet lab {service.name} CA"))
        process.check(keys.tls_request(state / "key.pem", t / "request.csr", service.name))
        (t / "san.cnf").write_text(f"subjectAltName=DNS:{service.name},IP:{service.address}\n")
        process.check(
            keys.tls_sign(
                t / "request.csr", t / "ca.key", t / "ca.pem", state / "cert.pem", t / "san.cnf"
            )
        )
        ca = (t / "ca.pem").read_text()
    passwords = {c: secrets.token_urlsafe(24) for c in clients}
    maintenance = {p: secrets.token_urlsafe(24) for p in pruners}
    (state / "htpasswd").write_text(_htpasswd(passwords))
    (state / "htpasswd-maintenance").write_text(_htpasswd(maintenance))
    for f in ("key.pem", "htpasswd", "htpasswd-maintenance"):
        (state / f).chmod(0o600)
    return Offsite(service.name, ca, passwords, maintenance)


def _htpasswd(passwords: Mapping[str, str]) -> str:
    """htpasswd lines: each user with the hash of its password (given on stdin, not in argv)."""
    return "".join(
        f"{user}:{process.check(keys.htpasswd_hash(), input=pw).stdout.strip()}\n"
        for user, pw in passwords.items()
    )


def _grant(paths: LabPaths, service: LabHost, secret: str, clients: list[str]) -> Path:
    """What the provider and the admin do for a device that joins an offsite job: a key of its
    own at the running offsite host (an htpasswd entry; rclone reads the file when it starts),
    and the key in the lab flake's secrets.yaml under the device's ``secret``. Returns the
    re-encrypted secrets file."""
    passwords = {c: secrets.token_urlsafe(24) for c in clients}
    entries = _htpasswd(passwords)
    done = console(
        paths,
        service.name,
        "cat >> /var/lib/offsite/htpasswd && systemctl restart offsite-restic",
        input=entries,
    )
    if not done.ok:
        raise NixfleetError(f"{service.name}: could not add a key: {done.last_error_line()}")
    admin = {"SOPS_AGE_KEY_FILE": str(paths.root / "age" / "admin.key")}
    encrypted = paths.flake / "secrets.yaml"
    plaintext = json.loads(process.check(keys.sops_decrypt(encrypted), env=admin).stdout)
    offsite = Offsite(service.name, "", passwords)
    for client, password in passwords.items():
        plaintext.setdefault(client, {})[secret] = offsite.credentials(client, password)
    rules = paths.flake / ".sops.yaml"
    out = process.check(keys.sops_encrypt(rules, "secrets.yaml"), input=json.dumps(plaintext))
    encrypted.write_text(out.stdout)
    return encrypted


def _encrypt_secrets(paths: LabPaths, made: Mapping[str, HostSecrets]) -> dict[str, str]:
    """The fleet's ``secrets.yaml`` (each host's values under its name), encrypted with sops to
    an admin key (kept in ``.lab/age/``) and every host's key, and the ``.sops.yaml`` that
    names those recipients: the two files the lab flake commits."""
    admin = paths.root / "age" / "admin.key"
    admin.parent.mkdir(mode=0o700, exist_ok=True)
    process.check(keys.age_keygen(admin))
    admin_key = process.check(keys.age_recipient(admin)).stdout.strip()
    config = files.sops_config(admin_key, {name: m.recipient for name, m in made.items()})
    rules = admin.parent / ".sops.yaml"  # the flake's own, until the flake exists
    rules.write_text(config)
    plaintext = json.dumps({name: m.values for name, m in made.items()})
    encrypted = process.check(keys.sops_encrypt(rules, "secrets.yaml"), input=plaintext)
    return {"secrets.yaml": encrypted.stdout, ".sops.yaml": config}


def _write_shared_host_files(
    paths: LabPaths, hosts: list[LabHost], live: frozenset[str] | set[str] = frozenset()
) -> None:
    """Files every host needs about the others: names, host keys and client keys. Hosts in
    ``live`` are running: their /etc files are replaced over ssh, not under their overlay."""
    controller_pub = paths.key.with_suffix(".pub").read_text()
    client_pubs = [(paths.host_dir(h.name) / "root/.ssh/id_ed25519.pub").read_text() for h in hosts]
    host_keys = {h: (paths.host_dir(h.name) / "host_key.pub").read_text() for h in hosts}
    for h in hosts:
        d = paths.host_dir(h.name)
        # /root is bound from the lab's own directory, so these are replaced in place (by rename:
        # a running host's sshd or ssh never reads half a file).
        _replace(d / "root/.ssh/authorized_keys", controller_pub + "".join(client_pubs))
        _replace(d / "root/.ssh/known_hosts", files.known_hosts(host_keys))
        etc = {"hosts": files.etc_hosts(hosts), "ssh/ssh_known_hosts": files.known_hosts(host_keys)}
        for rel, text in etc.items():
            if h.name in live:
                done = console(
                    paths,
                    h.name,
                    f"cat > /etc/{rel}.new && mv /etc/{rel}.new /etc/{rel}",
                    input=text,
                )
                if not done.ok:
                    raise NixfleetError(
                        f"{h.name}: could not update /etc/{rel}: {done.last_error_line()}"
                    )
            else:
                (d / "upper/etc" / rel).write_text(text)


def _replace(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.new")
    tmp.write_text(text)
    tmp.replace(path)


def _wait_running(paths: LabPaths, host: LabHost, host_key: str) -> None:
    expected = host_key.split()[1]

    def answered() -> bool | None:
        scan = process.run(commands.keyscan(host))
        if scan.ok and expected in scan.stdout:
            return True
        if scan.ok and scan.stdout.strip():
            raise NixfleetError(f"{host.name}: {host.address} answers with another host key")
        return None

    if not poll_until(answered, BOOT_TIMEOUT_S, every_s=0.1):
        log = paths.host_dir(host.name) / "console.log"
        raise NixfleetError(
            f"{host.name}: sshd did not come up in {BOOT_TIMEOUT_S:.0f} s; see {log}"
        )
    state = console(paths, host.name, "systemctl is-system-running --wait")
    if state.stdout.strip() != "running":
        failed = console(paths, host.name, "systemctl --failed --plain --no-legend")
        raise NixfleetError(
            f"{host.name}: booted {state.stdout.strip() or 'badly'}; failed units: "
            f"{' '.join(line.split()[0] for line in failed.stdout.splitlines()) or 'none listed'}"
        )


def assemble_flake(
    target: Path, fleet_path: Path, lab: Mapping[str, Any], extra: Mapping[str, str]
) -> None:
    """The lab flake in ``target``: the template, the fleet's data and its helpers, ``lab.json``,
    and ``extra`` files (its sops files)."""
    shutil.copytree(FLAKE_TEMPLATE, target)
    shutil.copy(fleet_path, target / "fleet.nix")
    shutil.copy(FLEET_LIB, target / "lib" / "fleet.nix")
    shutil.copy(MONITORING_LIB, target / "lib" / "monitoring.nix")
    shutil.copy(REBUILD_STAND_IN, target / "lib" / "nixos-rebuild")
    (target / "lab.json").write_text(json.dumps(lab, indent=2, sort_keys=True) + "\n")
    for name, text in extra.items():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_text(text)


def _make_flake(
    paths: LabPaths, fleet_path: Path, lab: Mapping[str, Any], extra: Mapping[str, str]
) -> None:
    """The lab flake in a fresh git repo: the lab's stand-in for the user's config."""
    assemble_flake(paths.flake, fleet_path, lab, extra)
    _commit(paths.flake, None, "lab: initial fleet configuration")


def _commit(flake: Path, changed: list[Path] | None, message: str) -> None:
    """Commit ``changed`` (everything, when None) in the lab flake's git repo."""
    git = [
        "git",
        "-C",
        str(flake),
        "-c",
        "user.name=nixfleet lab",
        "-c",
        "user.email=lab@nixfleet.invalid",
    ]
    if changed is None:
        process.check([*git, "init", "-q", "-b", "main"])
    process.check([*git, "add", "-A", *([] if changed is None else ["--", *map(str, changed)])])
    process.check([*git, "commit", "-q", "-m", message])


def _known_host(paths: LabPaths, name: str) -> LabHost:
    hosts = {h.name: h for h in load_hosts(paths.hosts_json)} if paths.hosts_json.exists() else {}
    if name not in hosts:
        raise NixfleetError(
            f"lab: no host {name!r}; the lab has {', '.join(hosts) or 'none (lab up)'}"
        )
    return hosts[name]


def stop_host(paths: LabPaths, name: str) -> None:
    """Power one host off. Its address stays on the bridge and refuses connections, as a
    machine that is switched off on a live network would not answer."""
    host = _known_host(paths, name)
    process.run(commands.ssh_exit_master(paths.ssh_config, host))
    _stop_container(name)


def start_host(paths: LabPaths, name: str) -> None:
    """Boot one stopped host again; it comes up on its boot-default generation (the
    overlay keeps its state; /run starts empty, as after a reboot)."""
    host = _known_host(paths, name)
    d = paths.host_dir(host.name)
    process.spawn_detached(
        commands.host_boot(host, d, BOOT_SCRIPT, _hidden(paths)), log=d / "console.log"
    )
    _wait_running(paths, host, (d / "host_key.pub").read_text())


def down(paths: LabPaths, log: Callable[[str], None] = print) -> None:
    """Stop every lab host and remove every namespace, link, cgroup and process the lab made."""
    start = time.monotonic()
    names = _lab_host_names(paths)
    if paths.ssh_config.exists():
        known = (
            {h.name: h for h in load_hosts(paths.hosts_json)} if paths.hosts_json.exists() else {}
        )
        parallel(
            lambda h: process.run(commands.ssh_exit_master(paths.ssh_config, h)),
            [known[n] for n in names if n in known],
        )
    parallel(_stop_container, names)
    for netns in _lab_netns():
        process.run(commands.netns_del(netns))
    _wait_links_gone()
    if Path(f"/sys/class/net/{BRIDGE}").exists():
        process.run(commands.bridge_down())
    log(f"lab down: {len(names)} hosts stopped in {time.monotonic() - start:.1f} s")


def _wait_links_gone(timeout_s: float = 5.0) -> None:
    """The kernel removes a deleted namespace's veth peers asynchronously, after `ip netns del`
    returns: wait for
    them, so that `down` leaves nothing and a following `up` can make them again."""

    def links() -> list[str]:
        return [p.name for p in Path("/sys/class/net").glob("nfveth*")]

    if poll_until(lambda: True if not links() else None, timeout_s, every_s=0.05) is None:
        for link in links():
            process.run(["ip", "link", "del", link])


def _lab_host_names(paths: LabPaths) -> list[str]:
    names = {h.name for h in load_hosts(paths.hosts_json)} if paths.hosts_json.exists() else set()
    names |= {ns.removeprefix("nixfleet-") for ns in _lab_netns()}
    for root in CGROUP_ROOTS:
        names |= {p.name.removeprefix("nixfleet-lab.") for p in root.glob("nixfleet-lab.*")}
    return sorted(names)


def _lab_netns() -> list[str]:
    run = Path("/run/netns")
    return sorted(p.name for p in run.glob("nixfleet-*")) if run.exists() else []


def _cgroup_pids(cgroup: Path) -> set[int]:
    pids: set[int] = set()
    for dirpath, _dirs, _files in os.walk(cgroup):  # cgroups vanish while we walk: errors ignored
        try:
            pids |= {int(p) for p in Path(dirpath, "cgroup.procs").read_text().split()}
        except OSError:
            continue
    return pids


def _stop_container(name: str) -> None:
    groups = [root / f"nixfleet-lab.{name}" for root in CGROUP_ROOTS]
    groups = [g for g in groups if g.exists()]
    # The container's init halts cleanly on SIGTERM to nspawn; anything left gets SIGKILL.
    for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        pids = set().union(*(_cgroup_pids(g) for g in groups)) if groups else set()
        leaders = (
            [p for p in pids if _comm(p) == "systemd-nspawn"] if sig == signal.SIGTERM else pids
        )
        for pid in leaders:
            _kill(pid, sig)
        if groups:
            poll_until(lambda: None if any(_cgroup_pids(g) for g in groups) else True, wait_s, 0.05)
    for g in groups:
        for dirpath, _dirs, _files in os.walk(g, topdown=False):  # children before parents
            _rmdir(Path(dirpath))
    # nspawn cannot remove this itself here (/run is not a tmpfs), and a new boot waits on it.
    shutil.rmtree(Path("/run/systemd/nspawn/propagate") / name, ignore_errors=True)


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _kill(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _rmdir(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.rmdir()


def status(paths: LabPaths) -> list[dict[str, object]]:
    """One row per lab host: whether its namespace, container and sshd are up."""
    if not paths.hosts_json.exists():
        return []
    hosts = load_hosts(paths.hosts_json)
    netns = set(_lab_netns())

    def row(h: LabHost) -> dict[str, object]:
        cg = [root / h.cgroup for root in CGROUP_ROOTS if (root / h.cgroup).exists()]
        state = console(paths, h.name, "systemctl is-system-running")
        return {
            "name": h.name,
            "address": h.address,
            "netns": h.netns in netns,
            "container": any(_cgroup_pids(g) for g in cg),
            "system": state.stdout.strip() or "unreachable",
        }

    return parallel(row, hosts)
