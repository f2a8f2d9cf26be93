"""The lab flake runs the fleet fleet.nix declares: for every host, what nixfleet reads from the
lab flake (``declared.nix``) equals what nixfleet.fleet.expected computes from fleet.nix, apart
from the lab facts lab.json adds (addresses, generated IDs and keys, repository bases) and the
lab's shortened timers. The Nix helper the real modules use (lib/fleet.nix) is held to the same."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from nixfleet import fleet, nix
from nixfleet.declared import EXPRESSION
from nixfleet.lab import manager
from nixfleet.lab.topology import SERVICE_ROLE, plan, services

REPO = Path(__file__).resolve().parents[2]
# Lab only: timers that fire soon after boot, so backups really run in a demo.
LAB_TIMER_KEYS = {"OnBootSec", "OnUnitInactiveSec"}
# What lab.json may set on a fleet host: lab facts, never a declaration.
LAB_HOST_KEYS = {"address", "syncthingId", "notebookKey"}


def _made(names: list[str]) -> dict[str, manager.HostSecrets]:
    return {
        n: manager.HostSecrets({}, f"age1{n}", f"ID-{n.upper()}", f"ssh-ed25519 AAAA{n} nb@{n}")
        for n in names
    }


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    """The lab flake as ``lab up`` assembles it (two generic hosts too), evaluated."""
    data = fleet.load(REPO / "fleet.nix")
    hosts = plan(data["hosts"], 2, None, services(data))
    lab_json = manager.lab_data(
        data, hosts, _made([h.name for h in hosts]), "ssh-ed25519 AAAAlab controller"
    )
    target = tmp_path_factory.mktemp("lab") / "flake"
    manager.assemble_flake(target, REPO / "fleet.nix", lab_json, {})
    members = [h.name for h in hosts if h.role != SERVICE_ROLE]
    argv = nix.eval_hosts(f"path:{target}", members, EXPRESSION)
    out = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return lab_json, json.loads(out.stdout)


def _merged(data: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    for k, v in over.items():
        out[k] = _merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _as_declared(d: dict[str, Any]) -> dict[str, Any]:
    got = {k: d[k] for k in ("syncthing", "nb", "restic", "secrets", "network")}
    for job in got["restic"].values():
        job["timerConfig"] = {
            k: v for k, v in job["timerConfig"].items() if k not in LAB_TIMER_KEYS
        }
    got["network"] = {proto: sorted(ports) for proto, ports in got["network"].items()}
    return got


def test_lab_json_holds_only_lab_facts(lab: tuple[dict[str, Any], dict[str, Any]]) -> None:
    lab_json, _ = lab
    data = fleet.load(REPO / "fleet.nix")
    assert set(lab_json) == {"hosts", "repositories", "services", "users"}
    # The offsite repository is a lab host of its own, which is not a fleet host.
    assert lab_json["services"] == {"offsite": {"address": "10.250.0.100"}}
    assert "offsite" not in lab_json["hosts"]
    assert set(lab_json["repositories"]) == set(data["repositories"])
    # Only the users' keys: in the lab, each user deploys with the controller's key.
    assert lab_json["users"] == {
        u: {"sshKeys": ["ssh-ed25519 AAAAlab controller"]} for u in data["users"]
    }
    for name, row in lab_json["hosts"].items():
        if name in data["hosts"]:
            assert set(row) == LAB_HOST_KEYS, name
        else:
            assert row["role"] == "generic", name


@pytest.mark.parametrize("host", sorted(fleet.load(REPO / "fleet.nix")["hosts"]))
def test_the_lab_declares_what_fleet_nix_declares(
    lab: tuple[dict[str, Any], dict[str, Any]], host: str
) -> None:
    lab_json, declared = lab
    data = _merged(fleet.load(REPO / "fleet.nix"), lab_json)
    want = fleet.expected(data, host)
    for name, job in want["restic"].items():
        # A repository with credentials comes from a file rendered from the host's secret
        # (restic 0.14 takes a REST server's credentials only in the URL), so none is declared.
        if name.rsplit("-", 1)[1] in data["repositoryCredentials"]:
            job["repository"] = None
    assert _as_declared(declared[host]) == want


def test_the_lab_runs_every_job_and_folder(lab: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """Not vacuous: the fleet's jobs, folders and notebooks all appear somewhere in the lab."""
    _, declared = lab
    data = fleet.load(REPO / "fleet.nix")
    names = {name for d in declared.values() for name in d["restic"]}
    jobs = {n.rsplit("-", 1)[0] for n in names if not n.startswith("retention-")}
    assert jobs == set(data["backups"])
    # ...and every job's offsite copy has its retention applied by the host fleet.nix names.
    offsite = {(n, p) for n, j in data["backups"].items() for p in j["hosts"]}
    assert {f"retention-{p}-{n}-offsite" for n, p in offsite} == set(declared["nas"]["restic"])
    folders = {f for d in declared.values() if d["syncthing"] for f in d["syncthing"]["folders"]}
    assert folders == set(data["syncthing"]["folders"])
    assert {n for d in declared.values() for n in d["nb"]} == set(data["notebooks"])


@pytest.mark.parametrize("host", sorted(fleet.load(REPO / "fleet.nix")["hosts"]))
def test_lib_fleet_nix_agrees_with_expected(host: str) -> None:
    """The helper the real modules use gives the same jobs, folders, peers, secrets and ports."""
    expr = (
        f'import {REPO}/lib/fleet.nix {{ fleet = import {REPO}/fleet.nix; hostName = "{host}"; }}'
    )
    out = subprocess.run(["nix-instantiate", "--eval", "--strict", "--json", "--expr", expr],
                         capture_output=True, text=True, check=True)  # fmt: skip
    got = json.loads(out.stdout)
    want = fleet.expected(fleet.load(REPO / "fleet.nix"), host)
    jobs = got["backups"] | {n: r | {"paths": []} for n, r in got["retention"].items()}
    assert {n: (b["repository"], b["paths"], b["pruneOpts"], b["schedule"])
            for n, b in jobs.items()} == {
        n: (b["repository"], b["paths"], b["pruneOpts"], b["timerConfig"]["OnCalendar"])
        for n, b in want["restic"].items()
    }  # fmt: skip
    assert {n: (s["owner"], s["group"], s["mode"]) for n, s in got["secrets"].items()} == {
        n: (s["owner"], s["group"], s["mode"]) for n, s in want["secrets"].items()
    }
    assert sorted({22, *got["ports"]["tcp"]}) == want["network"]["tcp"]
    assert {n: nb for n, nb in got["notebooks"].items()} == want["nb"]
    if want["syncthing"] is None:
        assert got["syncthing"] is None
    else:
        st = got["syncthing"]
        assert {n: {"id": d["id"]} for n, d in st["devices"].items()} == want["syncthing"][
            "devices"
        ]
        assert {
            n: {**f, "versioning": f["versioning"]["type"]} for n, f in st["folders"].items()
        } == want["syncthing"]["folders"]


def test_the_lab_toplevel_has_the_nixos_rebuild_the_real_tools_re_exec(tmp_path: Path) -> None:
    """nixos-rebuild (either flavour) builds config.system.build.nixos-rebuild and re-execs
    it unless told --fast / --no-reexec; the lab flake has one, the stand-in, as ng."""
    data = fleet.load(REPO / "fleet.nix")
    hosts = plan(data["hosts"])
    target = tmp_path / "flake"
    manager.assemble_flake(
        target,
        REPO / "fleet.nix",
        manager.lab_data(
            data, hosts, _made([h.name for h in hosts]), "ssh-ed25519 AAAAlab controller"
        ),
        {},
    )
    attr = f'path:{target}#nixosConfigurations."nas".config.system.build.nixos-rebuild'
    out = subprocess.run(
        [*nix.NIX, "build", "--no-link", "--json", attr], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-1000:]
    program = json.loads(out.stdout)[0]["outputs"]["out"] + "/bin/nixos-rebuild"
    probe = subprocess.run([program, "--nixfleet-flavour-probe"], capture_output=True, text=True)
    assert (probe.returncode, "unrecognized arguments" in probe.stderr) == (2, True)


def _assembled(tmp_path: Path) -> Path:
    data = fleet.load(REPO / "fleet.nix")
    hosts = plan(data["hosts"])
    target = tmp_path / "flake"
    lab_json = manager.lab_data(
        data, hosts, _made([h.name for h in hosts]), "ssh-ed25519 AAAAlab controller"
    )
    manager.assemble_flake(target, REPO / "fleet.nix", lab_json, {})
    return target


def test_the_deploy_user_is_declared_where_fleet_nix_names_one(tmp_path: Path) -> None:
    """vps has deployUser = "deploy": a normal user with the fleet users' keys, passwordless
    sudo, nix-daemon's trust and root's SSH login refused, in its installed system already
    (the first deploy logs in as that user). A host without one is reached as root."""
    target = _assembled(tmp_path)
    expr = (
        "f: builtins.mapAttrs (n: h: let c = h.config; in {"
        " users = builtins.attrNames c.users.users;"
        " keys = c.users.users.deploy.openssh.authorizedKeys.keys or null;"
        " sudoers = c.environment.etc.sudoers.text;"
        ' nix = c.environment.etc."nix/nix.conf".text;'
        ' sshd = c.environment.etc."ssh/sshd_config.d/nixfleet-host.conf".text;'
        " packages = c.environment.systemPackages; }) f"
    )
    out = {}
    for attr in ("nixosConfigurations", "lab.installedConfigurations"):
        argv = [*nix.NIX, "eval", "--json", f"path:{target}#{attr}", "--apply", expr]
        done = subprocess.run(argv, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        out[attr] = json.loads(done.stdout)
    for attr, hosts in out.items():
        vps, laptop = hosts["vps"], hosts["laptop"]
        assert "deploy" in vps["users"] and "deploy" not in laptop["users"], attr
        assert vps["keys"] == ["ssh-ed25519 AAAAlab controller"]
        assert "deploy ALL=(ALL:ALL) NOPASSWD: ALL" in vps["sudoers"].splitlines()
        assert "NOPASSWD" not in laptop["sudoers"] and "secure_path" not in vps["sudoers"]
        assert "trusted-users = root deploy" in vps["nix"].splitlines()
        assert "PermitRootLogin no" in vps["sshd"] and "prohibit-password" in laptop["sshd"]
        assert "SetEnv PATH=/run/wrappers/bin:/run/current-system/sw/bin" in laptop["sshd"]
        # NixOS puts no restic (nor jq, nor sops) on PATH; git is declared, as the real flake does.
        assert "git" in laptop["packages"] and not {"restic", "jq", "sops"} & set(
            laptop["packages"]
        )


def test_every_backup_copy_declares_its_medium(lab: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """backup.3-2-1 reads nixfleet.backups.<instance>.media: fleet.nix's repositoryMedia."""
    _, declared = lab
    media = fleet.load(REPO / "fleet.nix")["repositoryMedia"]
    seen = 0
    for host, d in declared.items():
        # A prune-only job (no paths: another host's retention) is no copy (backup.declare).
        copies = {n: c for n, c in d["backup"].items() if c["paths"]}
        assert set(copies) == {n for n in d["restic"] if not n.startswith("retention-")}
        for name, copy in copies.items():
            assert copy["media"] == media[name.rsplit("-", 1)[1]], (host, name)
            seen += 1
    assert seen and {"local", "offsite"} <= {
        c["media"] for d in declared.values() for c in d["backup"].values()
    }


def test_the_offsite_stand_in_is_installed_append_only_over_https(
    lab: tuple[dict[str, Any], dict[str, Any]], tmp_path: Path
) -> None:
    """The offsite host is installed, never deployed: a restic REST server over HTTPS with
    htpasswd, append-only, each client in its own directory; the clients trust its CA and reach
    it through a repository file rendered from their own secret."""
    lab_json, _ = lab
    target = tmp_path / "flake"
    manager.assemble_flake(
        target, REPO / "fleet.nix", lab_json, {"pki/offsite.pem": "-----BEGIN CERTIFICATE-----\n"}
    )
    expr = """f: let o = f.lab.installedConfigurations.offsite.config;
                   d = f.nixosConfigurations.desktop.config; in {
      exec = o.systemd.services.offsite-restic.serviceConfig.ExecStart;
      deployed = f.nixosConfigurations ? offsite;
      ca = d.environment.etc."ssl/certs/ca-certificates.crt".text;
      job = d.services.restic.backups.documents-offsite;
      template = d.sops.templates.restic-repository-documents-offsite.content;
    }"""
    flake = f'builtins.getFlake "path:{target}"'
    out = subprocess.run([*nix.NIX, "eval", "--json", "--impure", "--expr", f"({expr}) ({flake})"],
                         capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout)
    for flag in ("--append-only", "--private-repos", "--htpasswd", "--cert", "--key"):
        assert flag in got["exec"], flag
    assert got["deployed"] is False
    assert got["ca"].startswith("-----BEGIN CERTIFICATE-----")
    assert got["job"]["repository"] is None and got["job"]["pruneOpts"] == []
    assert (
        got["job"]["repositoryFile"] == "/run/secrets/rendered/restic-repository-documents-offsite"
    )
    assert got["template"].endswith(":PLACEHOLDER>/desktop-documents")
