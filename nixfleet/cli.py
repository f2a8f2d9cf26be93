"""The ``nixfleet`` command line: a thin click layer over the package."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from nixfleet.errors import NixfleetError
from nixfleet.lab import manager
from nixfleet.lab.topology import LabPaths

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


@main.group()
def lab() -> None:
    """The lab: real hosts on this machine (netns + systemd-nspawn), in .lab/."""


def _fail(exc: NixfleetError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(1)


@lab.command("up")
@click.option("--hosts", "generic", default=0, show_default=True,
              help="Generic hosts (node001 …) to start beyond the five named ones.")  # fmt: skip
def lab_up(generic: int) -> None:
    """Start a fresh lab (idempotent: stale lab state is cleared first)."""
    try:
        manager.up(LabPaths(LAB_DIR.resolve()), generic=generic)
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
    for r in rows:
        netns = "up" if r["netns"] else "down"
        container = "up" if r["container"] else "down"
        click.echo(
            f"{r['name']:<10} {r['address']:<14} netns={netns:<5} container={container:<5} "
            f"system={r['system']}"
        )
    if any(r["system"] != "running" for r in rows):
        sys.exit(1)
