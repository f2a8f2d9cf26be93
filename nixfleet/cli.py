"""The ``nixfleet`` command line: a thin click layer over the package."""

from __future__ import annotations

import getpass
import json
import socket
import sys
from pathlib import Path
from typing import Any

import click

from nixfleet import (
    doctor,
    flake,
    fleet_inventory,
    membership,
    nix,
    offline,
    outcome,
    private,
    process,
    remote,
    table,
)
from nixfleet import plan as planning
from nixfleet.errors import NixfleetError
from nixfleet.fleet import ROLE_GROUPS
from nixfleet.lab import manager
from nixfleet.lab.topology import LabPaths
from nixfleet.report import STATE_DIR, new_run_id
from nixfleet.settings import HostSettings
from nixfleet.ssh import SshTarget

LAB_DIR = Path(".lab")


@click.group()
def main() -> None:
    """Deploy a NixOS fleet from one flake with pyinfra, then prove its data is safe.

    \b
    Examples:
      nixfleet lab up            # five lab hosts on this machine
      nixfleet lab status
      nixfleet lab down
    """


# Every command that reads the fleet takes its pyinfra inventory the same way.
INVENTORY = click.option(
    "-i",
    "--inventory",
    default="inventory/home.py",
    show_default=True,
    help="The pyinfra inventory of the fleet.",
)


@main.command()
@INVENTORY
@click.option("--limit", multiple=True, help="A host or group to deploy (repeatable).")
@click.option("--data", multiple=True, help="Override host data, as pyinfra's --data k=v.")
@click.option("-v", "verbose", count=True, help="More output (-vv shows commands).")
def deploy(inventory: str, limit: tuple[str, ...], data: tuple[str, ...], verbose: int) -> None:
    """Deploy the fleet (pyinfra -y INVENTORY deploys/all.py) and exit with what came of it.

    \b
    Exit codes: 0 all ok or unchanged and verified clean; 1 a tool or usage error; 2 some
    hosts failed or refused the connection (host key, authentication); 3 some rolled back,
    none failed; 4 deployed, but the verification after it found errors; 5 only offline
    hosts were left out.
    \b
    Examples:
      nixfleet deploy -i inventory/lab.py
      nixfleet deploy --limit laptop --limit servers
    """
    run_id = new_run_id()
    argv = [
        str(Path(sys.executable).parent / "pyinfra"),
        "-y",
        *(["-" + "v" * verbose] if verbose else []),
        inventory,
        "deploys/all.py",
    ]
    for item in limit:
        argv += ["--limit", item]
    for item in data:
        argv += ["--data", item]
    process.stream(argv, env={"NIXFLEET_RUN_ID": run_id})
    report_file = STATE_DIR / "runs" / f"{run_id}.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else None
    sys.exit(outcome.exit_code(report))


def _run_deploy_file(inventory: str, deploy: str, limit: tuple[str, ...], verbose: int) -> None:
    """Run ``pyinfra -y INVENTORY DEPLOY`` on this terminal, and exit 0 or 1 with it."""
    argv = [
        str(Path(sys.executable).parent / "pyinfra"),
        "-y",
        *(["-" + "v" * verbose] if verbose else []),
        inventory,
        deploy,
    ]
    for item in limit:
        argv += ["--limit", item]
    sys.exit(0 if process.stream(argv) == 0 else 1)


@main.command()
@INVENTORY
@click.option("--limit", multiple=True, help="A host or group to verify (repeatable).")
@click.option("-v", "verbose", count=True, help="More output (-vv shows commands).")
def verify(inventory: str, limit: tuple[str, ...], verbose: int) -> None:
    """Check every host's data layer against the flake (pyinfra -y INVENTORY deploys/verify.py);
    change nothing but each host's metrics, in its node exporter's textfile directory.

    \b
    Exit codes: 0 no error-severity finding on any host; 1 an error finding, a host that could
    not be read, or a tool error (as pyinfra exits).
    \b
    Examples:
      nixfleet verify -i inventory/lab.py
      nixfleet verify --limit servers
    """
    _run_deploy_file(inventory, "deploys/verify.py", limit, verbose)


@main.command()
@INVENTORY
@click.option("--limit", multiple=True, help="A host or group to drill (repeatable).")
@click.option("-v", "verbose", count=True, help="More output (-vv shows commands).")
def drill(inventory: str, limit: tuple[str, ...], verbose: int) -> None:
    """Rehearse a restore of every backup job (pyinfra -y INVENTORY deploys/drill.py): restore a
    sample of files from each job's newest snapshot into a private temporary directory on its
    host, compare them with the live files, and read a rotating subset of the repository's data.
    Writes to no repository and no live file.

    \b
    Exit codes: 0 every job restored; 1 a drill failed, a host could not be reached, or a tool
    error (as pyinfra exits).
    \b
    Examples:
      nixfleet drill -i inventory/lab.py
      nixfleet drill --limit server
    """
    _run_deploy_file(inventory, "deploys/drill.py", limit, verbose)


@main.command()
@INVENTORY
@click.option("--limit", multiple=True, help="A host name, glob or group (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan(inventory: str, limit: tuple[str, ...], as_json: bool) -> None:
    """Show what a deploy would do to each host; touch nothing.

    \b
    Each host is unchanged, changed, offline or eval-error. For a changed host: the revision
    old -> new, the units that would stop, restart or start, the package changes, and whether
    a reboot would be needed.
    \b
    Examples:
      nixfleet plan -i inventory/lab.py
      nixfleet plan --limit servers --json
    """
    try:
        hosts = fleet_inventory.load(inventory, limit)
        batch = [str(d.get("flake_attr") or n) for n, d in hosts]
        run = flake.FlakeRun()
        plans = process.parallel(lambda h: planning.plan_host(h[0], h[1], batch, run), hosts)
    except NixfleetError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(planning.to_json(plans), indent=2, sort_keys=True))
    else:
        click.echo(planning.table(plans))


@main.command("check")
@INVENTORY
@click.option(
    "--flake",
    "flake_path",
    default=None,
    help="Check against this flake instead of the hosts' `flake` data.",
)
def check_flake(inventory: str, flake_path: str | None) -> None:
    """Offline: every host of the inventory maps to a flake output, and each evaluates.

    \b
    Examples:
      nixfleet check                                # your fleet and flake
      nixfleet check -i inventory/home.py --flake lab/flake
    """
    try:
        results = offline.check(fleet_inventory.load(inventory), flake_path)
    except NixfleetError as exc:
        _fail(exc)
    rows = [
        [r.host, "ok" if r.ok else "ERROR", f"nixosConfigurations.{r.attr}: {r.message}"]
        for r in results
    ]
    for line in table.aligned(rows, indent=0):
        click.echo(line)
    if not all(r.ok for r in results):
        sys.exit(1)


@main.command("doctor")
@INVENTORY
@click.option("--limit", multiple=True, help="A host or group to check (repeatable).")
def doctor_command(inventory: str, limit: tuple[str, ...]) -> None:
    """Check each host before a deploy, and say how to fix what would stop it: SSH, its host
    key, the login user, sudo without a password, nix's trusted-users, free space on /nix and
    /boot, git, systemd-run, and the host's flake output. Exits 1 if any host has a problem.

    \b
    Examples:
      nixfleet doctor
      nixfleet doctor -i inventory/lab.py --limit vps
    """
    try:
        hosts = fleet_inventory.load(inventory, limit)
        evaluated = {r.host: r for r in offline.check(hosts)}
    except NixfleetError as exc:
        _fail(exc)

    def one(entry: tuple[str, dict[str, Any]]) -> list[doctor.Problem]:
        name, data = entry
        found = []
        result = evaluated.get(name)
        if result is not None and not result.ok:
            found.append(
                doctor.Problem(
                    name,
                    f"nixosConfigurations.{result.attr}: {result.message}",
                    "fix the flake; `nixfleet check` shows the same",
                )
            )
        need = None
        if result is not None and result.ok:
            need = doctor.closure_kib(nix.local_flake(str(data.get("flake") or ".")), result.attr)
        try:
            found += doctor.check_host(name, data, bool(data.get("use_remote_sudo")), need)
        except NixfleetError as exc:
            found.append(doctor.Problem(name, str(exc), "fix the host data"))
        return found

    bad = False
    for (name, _data), found in zip(hosts, process.parallel(one, hosts), strict=True):
        if not found:
            click.echo(f"{name}: ok")
        for p in found:
            click.echo(str(p))
            bad = bad or p.blocking
    if bad:
        sys.exit(1)


@main.command()
@click.argument("host")
@INVENTORY
def unlock(host: str, inventory: str) -> None:
    """Release HOST's deploy lock, whoever holds it (a deploy that died), and journal it.

    \b
    A lock is released by its own run, by the run's watchdog when it fires, and by its lease
    when that runs out; this covers the rest. Make sure no deploy to HOST is still running.
    \b
    Examples:
      nixfleet unlock laptop -i inventory/lab.py
    """
    try:
        found = [(n, d) for n, d in fleet_inventory.load(inventory, (host,)) if n == host]
        if not found:
            raise NixfleetError(f"{host}: not a host of {inventory}; name one of its hosts")
        target = SshTarget.from_data(*found[0])
        sudo = HostSettings.from_data(*found[0]).use_remote_sudo
    except NixfleetError as exc:
        _fail(exc)
    who = f"{getpass.getuser()}@{socket.gethostname()}"
    unlock = remote.as_root(remote.force_unlock(who), sudo)
    result = process.run([*target.fresh_argv(), unlock], timeout=60)
    if not result.ok:
        _fail(NixfleetError(f"{host}: could not unlock: {result.last_error_line()}"))
    state = "released" if "UNLOCKED" in result.stdout.split() else "was not locked"
    click.echo(f"{host}: deploy lock {state}")


@main.command("dry-run")
@INVENTORY
@click.option("--output", default=str(STATE_DIR / "dry-run.json"), show_default=True)
def dry_run(inventory: str, output: str) -> None:
    """`pyinfra --dry --json INVENTORY deploys/all.py`: save the plan, print which hosts change."""
    argv = [
        str(Path(sys.executable).parent / "pyinfra"),
        "--dry",
        "--json",
        inventory,
        "deploys/all.py",
    ]
    result = process.run(argv)
    private.write(Path(output), result.stdout)
    try:
        plan = json.loads(result.stdout)["plan"]
    except (ValueError, KeyError):
        click.echo(f"error: pyinfra --dry failed: {result.last_error_line()}", err=True)
        sys.exit(1)
    changing = sorted(
        {
            h
            for op in plan
            if str(op.get("name", "")).startswith("nixos-rebuild")
            for h in op.get("hosts_with_change", [])
        }
    )
    click.echo(f"would change: {' '.join(changing) if changing else 'nothing'}  (plan: {output})")
    if result.returncode != 0:
        sys.exit(result.returncode)


@main.group()
def host() -> None:
    """Add a machine to the fleet, or retire a lost one (fleet.nix, .sops.yaml, secrets).

    \b
    Both need the admin's age key, to re-encrypt the secrets:
      export SOPS_AGE_KEY_FILE=~/.config/sops/age/admin.txt
      nixfleet host add tablet --role workstation --address tablet.lan
      nixfleet host retire laptop
    """


FLAKE = click.option(
    "--flake",
    "flake_dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The flake whose fleet.nix, .sops.yaml and secrets change.",
)


def _print_change(change: membership.Change) -> None:
    for line in change.done:
        click.echo(f"{change.host}: {line}")
    click.echo("next:")
    for i, step in enumerate(change.steps, 1):
        click.echo(f"  {i}. {step}")


@host.command("add")
@click.argument("name")
@click.option(
    "--role", required=True, type=click.Choice(sorted(ROLE_GROUPS)), help="What the machine is."
)
@click.option("--address", required=True, help="How the controller reaches it (name or IP).")
@FLAKE
@click.option(
    "--keys",
    "keys_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the new host's age key is written (default: FLAKE/.keys, git-ignored).",
)
def host_add(name: str, role: str, address: str, flake_dir: Path, keys_dir: Path | None) -> None:
    """Add NAME to the fleet: fleet.nix, hosts/NAME/, its age key and its secrets."""
    try:
        _print_change(
            membership.add(flake_dir, name, role, address, keys_dir or flake_dir / ".keys")
        )
    except NixfleetError as exc:
        _fail(exc)


@host.command("retire")
@click.argument("name")
@FLAKE
def host_retire(name: str, flake_dir: Path) -> None:
    """Retire NAME (a lost device): out of every peer list, folder, notebook and backup job,
    and out of the secrets' recipients, with the secrets re-encrypted."""
    try:
        _print_change(membership.retire(flake_dir, name))
    except NixfleetError as exc:
        _fail(exc)


@main.group()
def lab() -> None:
    """The lab: real hosts on this machine (netns + systemd-nspawn), in .lab/."""


def _fail(exc: NixfleetError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(1)


@lab.command("up")
@click.option(
    "--hosts",
    "generic",
    default=0,
    show_default=True,
    help="Generic hosts (node001 …) to start beyond the five named ones.",
)
def lab_up(generic: int) -> None:
    """Start a fresh lab (idempotent: stale lab state is cleared first). If the lab is running
    and its flake's fleet.nix has hosts it does not (``nixfleet host add … --flake .lab/flake``),
    start just those, and keep the rest running."""
    paths = LabPaths(LAB_DIR.resolve())
    try:
        if manager.running_lab(paths) and manager.missing_hosts(paths):
            manager.add_hosts(paths)
        else:
            manager.up(paths, generic=generic)
    except NixfleetError as exc:
        _fail(exc)


@lab.command("down")
def lab_down() -> None:
    """Stop every lab host; leave no namespace, bridge, cgroup, mount or process behind."""
    try:
        manager.down(LabPaths(LAB_DIR.resolve()))
    except NixfleetError as exc:
        _fail(exc)


@lab.command("stop")
@click.argument("host")
def lab_stop(host: str) -> None:
    """Power one lab host off (it then refuses connections)."""
    try:
        manager.stop_host(LabPaths(LAB_DIR.resolve()), host)
    except NixfleetError as exc:
        _fail(exc)


@lab.command("start")
@click.argument("host")
def lab_start(host: str) -> None:
    """Boot a stopped lab host again, on its boot-default generation."""
    try:
        manager.start_host(LabPaths(LAB_DIR.resolve()), host)
    except NixfleetError as exc:
        _fail(exc)


@lab.command("status")
def lab_status() -> None:
    """Show each lab host's namespace, container and systemd state."""
    rows = manager.status(LabPaths(LAB_DIR.resolve()))
    if not rows:
        click.echo("lab: no hosts (run `nixfleet lab up`)")
        sys.exit(1)

    def cells(r: dict[str, object]) -> list[str]:
        netns, container = ("up" if r[k] else "down" for k in ("netns", "container"))
        states = [f"netns={netns}", f"container={container}", f"system={r['system']}"]
        return [str(r["name"]), str(r["address"]), *states]

    for line in table.aligned([cells(r) for r in rows], indent=0):
        click.echo(line)
    if any(r["system"] != "running" for r in rows):
        sys.exit(1)
