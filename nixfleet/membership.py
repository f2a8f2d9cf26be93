"""Adding a machine to the fleet and retiring one (``nixfleet host add`` / ``host retire``).

Both change the flake's fleet data (``fleet.nix``), its sops creation rules (``.sops.yaml``) and
its secrets (``secrets.yaml``, re-encrypted with a fresh data key to exactly the recipients the
new rules name) together, or not at all: every new text is checked (fleet.nix re-evaluated and
compared with the intended data, the rules re-read) before anything is written. The next deploy
carries the change to every host; nothing here touches a host.
"""

from __future__ import annotations

import copy
import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nixfleet import fleet, fleet_text, keys, process, sops_rules
from nixfleet.errors import NixfleetError

NAME = re.compile(r"[a-z][a-z0-9-]{0,62}\Z")
ADDRESS = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:-]{0,252}\Z")
# The lists a host can be on: (section of fleet.nix, how to reach its entries).
SECTIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "syncthing folder": lambda d: d.get("syncthing", {}).get("folders", {}),
    "notebook": lambda d: d.get("notebooks", {}),
    "backup job": lambda d: d.get("backups", {}),
}


@dataclass(frozen=True)
class FlakeFiles:
    """Where a flake keeps the files membership changes."""

    root: Path

    @property
    def fleet(self) -> Path:
        return self.root / "fleet.nix"

    @property
    def rules(self) -> Path:
        return self.root / ".sops.yaml"

    @property
    def secrets(self) -> Path:
        nested = self.root / "secrets" / "secrets.yaml"
        return nested if nested.exists() else self.root / "secrets.yaml"

    @property
    def hosts(self) -> Path:
        return self.root / "hosts"


@dataclass
class Change:
    """What ``add`` or ``retire`` did, and what is left for the user to do."""

    host: str
    done: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)


def _credentials(data: Mapping[str, Any]) -> list[str]:
    """The secrets fleet.nix names as repositories' credentials (a storage's keys)."""
    return sorted(set(data.get("repositoryCredentials", {}).values()))


def _check_name(name: str) -> None:
    if not NAME.match(name):
        raise NixfleetError(
            f"{name!r}: not a host name; use lowercase letters, digits and '-', starting with a letter"
        )


def _admin_plaintext(files: FlakeFiles) -> dict[str, Any]:
    """The secrets, decrypted in memory with the admin's age key (``SOPS_AGE_KEY_FILE``)."""
    key = os.environ.get("SOPS_AGE_KEY_FILE", "")
    if not key or not Path(key).is_file():
        raise NixfleetError(
            "SOPS_AGE_KEY_FILE: set it to the admin's age key file, which can decrypt "
            f"{files.secrets.relative_to(files.root)}; it is needed to re-encrypt the secrets"
        )
    if not files.secrets.exists():
        raise NixfleetError(f"{files.secrets}: no secrets file; create it with sops first")
    result = process.run(keys.sops_decrypt(files.secrets))
    if not result.ok:
        raise NixfleetError(
            f"{files.secrets}: could not decrypt with SOPS_AGE_KEY_FILE ({key}): "
            f"{result.last_error_line()}"
        )
    data = json.loads(result.stdout)
    if not isinstance(data, dict):
        raise NixfleetError(f"{files.secrets}: not a mapping of host names to their secrets")
    return data


def _evaluate(files: FlakeFiles, text: str) -> dict[str, Any]:
    """``text`` evaluated as fleet.nix would be (in its directory, as it may import nothing else)."""
    with tempfile.NamedTemporaryFile("w", dir=files.root, prefix=".fleet.", suffix=".nix") as f:
        f.write(text)
        f.flush()
        return fleet.load(Path(f.name))


def _list_owners(files: FlakeFiles, text: str) -> list[tuple[str, str]]:
    """Which entry each ``hosts = [ … ]`` list of ``text`` belongs to, found by trying: a probe
    name is added to one list at a time, and the evaluated data shows where it appeared."""
    probe = "nixfleet-probe-0"
    owners = []
    for index in range(len(fleet_text.lists(text))):
        data = _evaluate(files, fleet_text.add_to_list(text, index, probe))
        found = [
            (section, key)
            for section, entries in SECTIONS.items()
            for key, entry in entries(data).items()
            if probe in entry.get("hosts", [])
        ]
        owners.append(found[0] if len(found) == 1 else ("", ""))
    return owners


def _encrypt(files: FlakeFiles, rules_text: str, plaintext: dict[str, Any]) -> str:
    """``plaintext`` encrypted with a fresh data key to the recipients ``rules_text`` names."""
    with tempfile.NamedTemporaryFile("w", dir=files.root, prefix=".sops.", suffix=".yaml") as f:
        f.write(rules_text)
        f.flush()
        name = str(files.secrets.relative_to(files.root))
        result = process.run(keys.sops_encrypt(Path(f.name), name), input=json.dumps(plaintext))
    if not result.ok:
        raise NixfleetError(f"{files.secrets}: sops could not encrypt: {result.last_error_line()}")
    return result.stdout


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    tmp = path.with_name(f".{path.name}.nixfleet-new")
    tmp.write_text(text)
    tmp.chmod(mode)
    tmp.replace(path)


def _stage(files: FlakeFiles, paths: list[Path]) -> None:
    """``git add`` what changed: a flake sees only the files git tracks."""
    inside = process.run(["git", "-C", str(files.root), "rev-parse", "--is-inside-work-tree"])
    if inside.ok and inside.stdout.strip() == "true":
        process.check(
            ["git", "-C", str(files.root), "add", "--", *(str(p.resolve()) for p in paths)]
        )


CONFIGURATION = """\
# {name}: a {role}, added by `nixfleet host add`. Its data (folders, notebooks, backups, ports)
# comes from fleet.nix; what is particular to this machine goes here.
{{ ... }}
{{
  imports = [ ./hardware-configuration.nix{imports} ];
  system.stateVersion = "25.11";
}}
"""
HARDWARE = """\
# PLACEHOLDER: replace this file with the output of `nixos-generate-config --show-hardware-config`
# on {name} itself. It only says enough for the configuration to evaluate.
{{ ... }}
{{
  fileSystems."/" = {{ device = "/dev/disk/by-label/nixos"; fsType = "ext4"; }};
  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;
}}
"""
ROLE_IMPORTS = {"workstation": " ../../modules/nvim.nix"}


def add(root: Path, name: str, role: str, address: str, keys_dir: Path) -> Change:
    """Add host ``name`` to the flake at ``root``: its entry in fleet.nix (joining every folder,
    notebook and backup job that every other host of its role is on), its age key pair (the
    private key in ``keys_dir/<name>/key.txt``, for the new machine), its recipient in
    .sops.yaml, its secrets (Syncthing identity, notebook key, restic password) in secrets.yaml,
    and ``hosts/<name>/``."""
    _check_name(name)
    if role not in fleet.ROLE_GROUPS:
        raise NixfleetError(f"{name}: role {role!r} is not one of {', '.join(fleet.ROLE_GROUPS)}")
    if not ADDRESS.match(address):
        raise NixfleetError(f"{name}: address {address!r} is not a host name or IP address")
    files = FlakeFiles(root)
    data = fleet.load(files.fleet)
    if name in data["hosts"]:
        raise NixfleetError(f"{name}: already a host in {files.fleet}; pick another name")
    if (files.hosts / name).exists():
        raise NixfleetError(
            f"{name}: {files.hosts / name} already exists; remove it or pick another name"
        )
    key_file = keys_dir / name / "key.txt"
    if key_file.exists():
        raise NixfleetError(f"{name}: {key_file} already exists; remove it or pick another name")
    plaintext = _admin_plaintext(files)
    text = files.fleet.read_text()
    rules = files.rules.read_text()

    peers = sorted(n for n, h in data["hosts"].items() if h.get("role") == role)
    owners = _list_owners(files, text)
    joins = [
        (i, section, key)
        for i, (section, key) in enumerate(owners)
        if section and peers and all(p in SECTIONS[section](data)[key]["hosts"] for p in peers)
    ]
    template = data["hosts"][peers[0]] if peers else {}
    change = Change(name)
    with tempfile.TemporaryDirectory(dir=root, prefix=".nixfleet-add.") as tmp:
        work = Path(tmp)
        process.check(keys.age_keygen(work / "key.txt"))
        recipient = process.check(keys.age_recipient(work / "key.txt")).stdout.strip()
        values: dict[str, str] = {}
        device_id = notebook_key = None
        if any(section == "syncthing folder" for _, section, _ in joins):
            process.check(keys.syncthing_generate(work / "syncthing"))
            device_id = process.check(keys.syncthing_device_id(work / "syncthing")).stdout.strip()
            values["syncthing-cert"] = (work / "syncthing/cert.pem").read_text()
            values["syncthing-key"] = (work / "syncthing/key.pem").read_text()
        if any(section == "notebook" for _, section, _ in joins):
            process.check(keys.keygen(work / "nb", f"nb@{name}"))
            values["nb-ssh-key"] = (work / "nb").read_text()
            notebook_key = (work / "nb.pub").read_text().strip()
        if any(section == "backup job" for _, section, _ in joins):
            values["restic-password"] = secrets.token_urlsafe(24) + "\n"

        attrs = {
            "role": role,
            "address": address,
            "users": template.get("users", []),
            "syncthingId": device_id,
            "notebookKey": notebook_key,
            "exposes": template.get("exposes", {"tcp": [], "udp": []}),
        }
        new_text = fleet_text.insert_host(text, fleet_text.host_block(name, attrs))
        for index, _, _ in joins:  # the block holds no `hosts = [` list: the indices still hold
            new_text = fleet_text.add_to_list(new_text, index, name)
        want = copy.deepcopy(data)
        want["hosts"][name] = attrs
        for _, section, key in joins:
            SECTIONS[section](want)[key]["hosts"].append(name)
        if _evaluate(files, new_text) != want:
            raise NixfleetError(
                f"{files.fleet}: could not add {name} automatically (the edited file would not say "
                "what was intended); add its entry under `hosts` by hand"
            )
        new_rules = sops_rules.add_recipient(rules, name, recipient)
        if sops_rules.recipients(new_rules) != {**sops_rules.recipients(rules), name: recipient}:
            raise NixfleetError(f"{files.rules}: could not add {name}'s key; add it by hand")
        plaintext[name] = values
        encrypted = _encrypt(files, new_rules, plaintext)

        # Everything is checked: write it.
        key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.move(work / "key.txt", key_file)
        key_file.chmod(0o600)
    written = [files.fleet, files.rules, files.secrets]
    _write(files.secrets, encrypted)
    _write(files.rules, new_rules)
    _write(files.fleet, new_text)
    if files.hosts.is_dir():
        (files.hosts / name).mkdir()
        imports = ROLE_IMPORTS.get(role, "")
        (files.hosts / name / "configuration.nix").write_text(
            CONFIGURATION.format(name=name, role=role, imports=imports)
        )
        (files.hosts / name / "hardware-configuration.nix").write_text(HARDWARE.format(name=name))
        written.append(files.hosts / name)
    _stage(files, written)

    joined = ", ".join(f"{section} {key}" for _, section, key in joins) or "nothing yet"
    change.done = [
        f"fleet.nix: {name}, a {role} at {address}; joins {joined}",
        f".sops.yaml: its age recipient {recipient}; {files.secrets.name} re-encrypted to it",
        f"its age key: {key_file} (keep it secret; it goes onto {name} only)",
    ]
    if device_id:
        change.done.append(f"its Syncthing device ID: {device_id}")
    if files.hosts.is_dir():
        change.done.append(
            f"hosts/{name}/: configuration.nix and a placeholder hardware-configuration.nix"
        )
    change.steps = [
        f"on {name}: nixos-generate-config --show-hardware-config, saved here as "
        f"hosts/{name}/hardware-configuration.nix",
        f"on {name}: install -D -m 0400 key.txt /var/lib/sops-nix/key.txt (from {key_file}), "
        "then delete the copy here",
    ]
    if notebook_key:
        change.steps.append(
            f"on Forgejo: add {name}'s notebook key as a deploy key with write access to each "
            f"notebook repository: {notebook_key}"
        )
    # Credentials for a repository (the offsite storage's key) come from its provider: they
    # cannot be made here, and until they are in secrets.yaml the host's activation says so.
    for secret in sorted(set(fleet.expected(want, name)["secrets"]) - set(values)):
        change.steps.append(
            f"{secret}: get {name}'s own key from the storage it opens (offsite: a key for "
            f"{name}'s repositories that cannot delete), then `sops {files.secrets.name}` and set "
            f"{name}.{secret}; until then {name}'s activation stops on the missing secret"
        )
    change.steps.append(
        f"git commit, then `nixfleet deploy`: {name} and its peers learn of each other"
    )
    return change


def retire(root: Path, name: str) -> Change:
    """Retire host ``name`` (a lost device) from the flake at ``root``: out of fleet.nix (so out
    of every Syncthing peer list and folder, every notebook, every backup job and the
    inventory, and its notebook key is no longer authorized), its recipient out of .sops.yaml,
    and secrets.yaml re-encrypted with a fresh data key, without its secrets, so that its age
    key decrypts nothing new."""
    _check_name(name)
    files = FlakeFiles(root)
    data = fleet.load(files.fleet)
    if name not in data["hosts"]:
        raise NixfleetError(f"{name}: not a host in {files.fleet}")
    address = data["hosts"][name].get("address", "")
    for nb_name, nb in data.get("notebooks", {}).items():
        if address and address in str(nb.get("remote", "")):
            raise NixfleetError(
                f"{name}: notebook {nb_name}'s remote ({nb['remote']}) is on it; move the remote first"
            )
    for repo, url in data.get("repositories", {}).items():
        if address and address in str(url):
            raise NixfleetError(
                f"{name}: repository {repo} ({url}) is on it; move the backups first"
            )
    for repo, pruner in data.get("appendOnly", {}).items():
        if pruner == name:
            raise NixfleetError(
                f"{name}: it applies the retention of repository {repo} (appendOnly.{repo} in "
                "fleet.nix); name another host there first"
            )
    plaintext = _admin_plaintext(files)
    text = files.fleet.read_text()
    rules = files.rules.read_text()

    new_text = fleet_text.remove_from_lists(fleet_text.remove_host(text, name), name)
    want = copy.deepcopy(data)
    old_host = want["hosts"].pop(name)
    left = []
    for section, entries in SECTIONS.items():
        for key, entry in entries(want).items():
            if name in entry.get("hosts", []):
                entry["hosts"] = [h for h in entry["hosts"] if h != name]
                left.append(f"{section} {key}")
    if _evaluate(files, new_text) != want:
        raise NixfleetError(
            f"{files.fleet}: could not retire {name} automatically (the edited file would not say "
            "what was intended); remove it by hand"
        )
    new_rules = sops_rules.remove_recipient(rules, name)
    plaintext.pop(name, None)
    encrypted = _encrypt(files, new_rules, plaintext)

    _write(files.secrets, encrypted)
    _write(files.rules, new_rules)
    _write(files.fleet, new_text)
    _stage(files, [files.fleet, files.rules, files.secrets])

    change = Change(name)
    change.done = [
        f"fleet.nix: {name} removed, and from {', '.join(left) or 'no list'}",
        f".sops.yaml: its age recipient removed; {files.secrets.name} re-encrypted with a new data "
        f"key, without {name}'s secrets",
    ]
    change.steps = [
        "git commit, then `nixfleet deploy`: its peers drop it, and its notebook key is no longer authorized"
    ]
    if old_host.get("notebookKey"):
        change.steps.append(
            f"on Forgejo: delete {name}'s deploy key from each notebook repository: "
            f"{old_host['notebookKey']}"
        )
    for secret in sorted(set(fleet.expected(data, name)["secrets"]) & set(_credentials(data))):
        change.steps.append(
            f"{secret}: revoke {name}'s own key at the storage it opens (it could still add "
            "to its repositories there, never delete)"
        )
    change.steps.append(
        f"{name} could read the secrets as they were: change the shared ones it knew "
        "(restic passwords: `restic key passwd`) and rotate its SSH keys' authorizations"
    )
    if (files.hosts / name).exists():
        change.steps.append(
            f"hosts/{name}/ is no longer used: `git rm -r hosts/{name}` when done with it"
        )
    return change
