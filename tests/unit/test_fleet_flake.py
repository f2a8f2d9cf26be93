"""The fleet flake at the project root: every .nix file parses, every option it sets is a real
NixOS / home-manager / sops-nix option (listed, with where it was read, in
tests/data/nixos-options.txt), and its secrets are sops-encrypted.

The flake cannot be evaluated here (there is no nixpkgs offline); these checks are what can be
shown without it. On a real machine: ``nixfleet check --flake .``.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OPTIONS = REPO / "tests/data/nixos-options.txt"
CHECKED = ("modules", "hosts", "home")  # where options are set


def nix_files() -> list[Path]:
    return [REPO / "flake.nix", REPO / "fleet.nix",
            *sorted(p for d in CHECKED for p in (REPO / d).rglob("*.nix"))]  # fmt: skip


def listed() -> set[str]:
    lines = OPTIONS.read_text().splitlines()
    return {line.split()[0] for line in lines if line.strip() and not line.startswith("#")}


def unlisted(found: set[str], known: set[str]) -> set[str]:
    """The paths in ``found`` that no listed path matches (``<name>`` in a listed path stands
    for any one attribute name: ``sops.secrets.<name>.mode`` covers ``sops.secrets.x.mode``)."""
    patterns = [
        re.compile(re.escape(k).replace(re.escape("<name>"), r"[^.]+") + "$") for k in known
    ]
    return {f for f in found if not any(p.match(f) for p in patterns)}


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_INTERPOLATION = re.compile(r"\$\{[^{}]*\}")
_ASSIGN = re.compile(r"^\s*([A-Za-z_\"][\w.\"'<>@-]*)\s*=(?!=)\s*(.*)$")
_LAMBDA = re.compile(r"\(\s*\w+\s*:")


def _path(text: str) -> str:
    """An attribute path, with quoted or interpolated names as ``<name>``."""
    return ".".join("<name>" if part.startswith('"') else part for part in text.split("."))


def _inline(prefix: str, body: str) -> list[str]:
    """Options set by ``{ a = 1; b.c = 2; }`` written on one line under ``prefix``."""
    found = []
    for item in body.split(";"):
        m = _ASSIGN.match(item)
        if m:
            key, rhs = prefix + _path(m[1]), m[2].strip()
            if rhs.startswith("{") and rhs.endswith("}"):
                found += _inline(key + ".", rhs[1:-1])
            else:
                found.append(key)
    return found


def options_set(text: str) -> set[str]:
    """The option paths a module assigns, read line by line as these modules are written: a
    ``key = … {`` line opens ``key`` (``key.<name>`` when its value is a function of a name, as
    with ``mapAttrs (name: …`` or ``genAttrs … (name: …``), a line ending in ``{`` otherwise
    (``mkIf``, ``mkMerge``) opens the same path, ``}`` closes, ``let`` … ``in`` is skipped, and
    ``options.…`` (declarations) and the module's ``config`` wrapper are not options set.

    >>> sorted(options_set('{ lib, ... }:\\n{\\n  a.b = 1;\\n  c = lib.mkIf x {\\n    d = { e = 1; };\\n  };\\n}\\n'))
    ['a.b', 'c.d.e']
    """
    stack: list[str | None] = []
    found: set[str] = set()
    in_let = False
    for raw in text.splitlines():
        line = _STRING.sub('"S"', raw.split("#", 1)[0] if '"' not in raw else raw)
        line = _INTERPOLATION.sub("X", _INTERPOLATION.sub("X", line))
        line = re.sub(r"\{\s*\}", "E", line)
        if "#" in line:
            line = line.split("#", 1)[0]
        stripped = line.strip()
        if stripped == "let":
            in_let = True
            continue
        if stripped.startswith("in") and stripped in ("in", "in {"):
            in_let = False
            if stripped == "in":
                continue
        if in_let:
            continue
        skipping = any(s is None for s in stack)
        prefix = next((s for s in reversed(stack) if s is not None), "")
        closes_first = len(stripped) - len(stripped.lstrip("})];, "))
        for _ in range(stripped[:closes_first].count("}")):
            stack.pop()
        rest = stripped[closes_first:]
        opens, closes = rest.count("{"), rest.count("}")
        m = _ASSIGN.match(rest)
        if m and not skipping:
            key = _path(m[1])
            full = f"{prefix}.{key}" if prefix else key
            rhs = m[2].strip()
            if not prefix and (key == "options" or key.startswith("options.")):
                stack += [None] * (opens - closes)
                continue
            if not prefix and key == "config":
                full = ""
            if opens > closes:
                name = ".<name>" if _LAMBDA.search(rhs) else ""
                stack.append(full + name if full else "")
                continue
            if rhs.startswith("{") and rhs.rstrip(";").endswith("}"):
                found.update(_inline(full + ".", rhs.rstrip(";")[1:-1]))
            elif full:
                found.add(full)
            continue
        for _ in range(opens - closes):
            stack.append(None if skipping else prefix)
        for _ in range(closes - opens):
            if stack:
                stack.pop()
    return found


def test_every_nix_file_parses() -> None:
    for path in nix_files():
        done = subprocess.run(
            ["nix-instantiate", "--parse", str(path)], capture_output=True, text=True
        )
        assert done.returncode == 0, f"{path.relative_to(REPO)}: {done.stderr.strip()}"


def test_every_option_set_is_a_real_option_read_from_its_source() -> None:
    known = listed()
    for path in sorted(p for d in CHECKED for p in (REPO / d).rglob("*.nix")):
        missing = unlisted(options_set(path.read_text()), known)
        assert not missing, (
            f"{path.relative_to(REPO)} sets options not in {OPTIONS.name}: {sorted(missing)}"
        )
    for line in OPTIONS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert len(line.split()) >= 3, f"{OPTIONS.name}: {line!r} needs a type and a source"


def test_the_extractor_finds_what_a_module_sets(tmp_path: Path) -> None:
    """An option nobody listed makes the check fail: the extractor really reads the files."""
    module = (REPO / "modules/server/immich.nix").read_text()
    found = options_set(module)
    assert {"services.immich.host", "services.immich.port"} <= found
    wrong = module.replace("port = 2283;", "port = 2283;\n    listenEverywhere = true;")
    assert unlisted(options_set(wrong), listed()) == {"services.immich.listenEverywhere"}
    nested = options_set((REPO / "modules/backup.nix").read_text())
    assert "services.restic.backups.<name>.timerConfig.Persistent" in nested
    assert "systemd.services.<name>.unitConfig.OnFailure" in nested


def test_secrets_are_sops_encrypted_to_the_sops_yaml_recipients() -> None:
    text = (REPO / "secrets/secrets.yaml").read_text()
    values = [line.split(":", 1)[1].strip() for line in text.split("\nsops:", 1)[0].splitlines()
              if ":" in line and line.split(":", 1)[1].strip()]  # fmt: skip
    assert values and all(v.startswith("ENC[AES256_GCM,") for v in values)
    recipients = set(re.findall(r"age1[0-9a-z]{58}", (REPO / ".sops.yaml").read_text()))
    assert len(recipients) == 6  # the admin key and one per host
    assert recipients == set(re.findall(r"recipient: (age1[0-9a-z]{58})", text))


@pytest.mark.parametrize("host", ["desktop", "laptop", "server", "vps", "nas"])
def test_each_host_has_a_configuration_and_a_marked_placeholder(host: str) -> None:
    assert (REPO / f"hosts/{host}/configuration.nix").exists()
    hardware = (REPO / f"hosts/{host}/hardware-configuration.nix").read_text()
    assert hardware.startswith("# PLACEHOLDER") and "nixos-generate-config" in hardware


def _sops_keys(text: str) -> set[str]:
    """``host/name`` of every value in a sops YAML file (its keys stay plaintext)."""
    found, host = set(), ""
    for line in text.split("\nsops:", 1)[0].splitlines():
        if m := re.match(r"^([\w-]+):\s*$", line):
            host = m[1]
        elif m := re.match(r"^ {4}([\w-]+): ENC\[", line):
            found.add(f"{host}/{m[1]}")
    return found


@pytest.mark.parametrize("host", ["desktop", "laptop", "server", "vps", "nas"])
def test_every_secret_a_host_declares_is_in_secrets_yaml(host: str) -> None:
    expr = f'(import {REPO}/lib/fleet.nix {{ fleet = import {REPO}/fleet.nix; hostName = "{host}"; }}).secrets'
    out = subprocess.run(["nix-instantiate", "--eval", "--strict", "--json", "--expr", expr],
                         capture_output=True, text=True, check=True)  # fmt: skip
    declared = {s["key"] for s in json.loads(out.stdout).values()}
    declared |= set(re.findall(rf'key = "({host}/[\w-]+)"', "".join(
        p.read_text() for d in CHECKED for p in (REPO / d).rglob("*.nix"))))  # fmt: skip
    present = _sops_keys((REPO / "secrets/secrets.yaml").read_text())
    assert declared <= present, sorted(declared - present)
    assert host != "desktop" or {"desktop/nb-ssh-key", "desktop/restic-password"} <= declared


def test_every_listed_option_says_how_it_is_known() -> None:
    rows = [line.split() for line in OPTIONS.read_text().splitlines()
            if line.strip() and not line.startswith("#")]  # fmt: skip
    assert all(len(r) == 4 and r[3] in {"read", "freeform", "located", "declared"} for r in rows)
    assert all("@" in r[2] and ":" in r[2] for r in rows)
    how = [r[3] for r in rows]
    assert how.count("read") > how.count("located")  # most were read in their source
