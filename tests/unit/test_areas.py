"""The area registry: every area is found from its module alone, and everything that lists
checks, reads, declarations or metrics asks the registry.

The toy area below is written to a temporary directory and added to ``nixfleet.areas``: it is
what an engineer adding an area writes, and nothing else is edited for it to be declared,
read, checked, gated on and exported.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

import nixfleet.areas
from nixfleet import areas, declared, probe, prometheus
from nixfleet.area import Context, Declared
from nixfleet.areas import monitoring
from nixfleet.settings import HostSettings
from nixfleet.verification import verify

TOY = '''
"""A toy area: the host's uptime, which must be below what the flake allows."""

from typing import Any

from nixfleet.area import Area, CheckSpec, Context, Metric, Reading, Subjects
from nixfleet.checks import Check, Problem, unreadable, verdict
from nixfleet.probe import Part, Reply, Unknown


class Uptime(Reading[float]):
    key = "uptime"
    what = "read the uptime"

    def part(self) -> Part:
        return Part(self.key, "uptime")

    def parse(self, reply: Reply) -> float:
        return float(reply.records().first("seconds") or "")


UPTIME = Uptime()


def fresh(s: Subjects) -> Check | None:
    limit, seen = s.declared[AREA], s.observed[UPTIME]
    if limit is None:
        return None
    if bad := unreadable("uptime.fresh", seen):
        return bad
    assert not isinstance(seen, Unknown)
    late = [Problem("uptime", f"up {seen:.0f} s; reboot")] if seen > limit else []
    return verdict("uptime.fresh", late, "recently booted")


def metrics(s: Subjects) -> list[Metric]:
    seen = s.observed[UPTIME]
    if isinstance(seen, Unknown):
        return []
    return [Metric("nixfleet_uptime_seconds", {"host": s.context.host}, seen)]


def declare(data: Any) -> float | None:
    return None if data is None else float(data)


def reads(limit: float | None, _ctx: Context) -> list[Part | None]:
    return [UPTIME.part()] if limit is not None else []


AREA: Area[float | None] = Area(
    name="uptime", order=90, nix="c: c.nixfleet.maxUptime or null", declare=declare,
    readings=(UPTIME,), reads=reads, checks=(CheckSpec("uptime.fresh", fresh),),
    metrics=metrics, help={"nixfleet_uptime_seconds": "Seconds since the host booted."},
)
'''
TOY_SH = """\
# The toy area's probe: the kernel's uptime, as one record.
read -r up _ < /proc/uptime
rec seconds "$up"
"""


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    (tmp_path / "uptime.py").write_text(textwrap.dedent(TOY))
    (tmp_path / "uptime.sh").write_text(TOY_SH)
    monkeypatch.setattr(nixfleet.areas, "__path__", [*nixfleet.areas.__path__, str(tmp_path)])
    monkeypatch.setattr(probe, "AREAS", tmp_path)  # its program, beside it
    for cached in (areas.areas, areas.readings, areas.check_ids, probe.body):
        cached.cache_clear()
    yield
    for cached in (areas.areas, areas.readings, areas.check_ids, probe.body):
        cached.cache_clear()


def test_the_registry_holds_every_area_in_report_order() -> None:
    assert [a.name for a in areas.areas()] == [
        "nixos", "systemd", "syncthing", "nb", "restic", "backup", "secrets", "network",
        "monitoring",
    ]  # fmt: skip
    assert len(areas.check_ids()) == len(set(areas.check_ids())) == 21
    assert all(
        spec.id.startswith(area.name + ".") for area in areas.areas() for spec in area.checks
    )


def test_declared_nix_parses_and_reads_a_config_with_defaults(tmp_path: Path) -> None:
    expression = tmp_path / "declared.nix"
    expression.write_text(declared.EXPRESSION)
    config = """{ config = {
      system.build.toplevel.outPath = "/nix/store/x-nixos-system-t";
      services.syncthing = { enable = true; settings.folders.docs = { path = "/d"; maxConflicts = 10; }; };
      services.restic.backups.docs = { paths = [ "/d" ]; timerConfig.OnCalendar = "daily"; };
      networking.firewall.allowedTCPPorts = [ 22 443 ];
    }; }"""
    argv = [
        "nix-instantiate",
        "--eval",
        "--strict",
        "--json",
        "-E",
        f"(import {expression}) {config}",
    ]
    data = json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)
    decl = Declared.from_json(data)
    from nixfleet.areas import network, restic, secrets, syncthing

    assert decl[syncthing.AREA] and decl[syncthing.AREA].folders["docs"].max_conflicts == 10
    assert decl[restic.AREA]["docs"].timer == {"OnCalendar": "daily"}
    assert decl[network.AREA].tcp == frozenset({22, 443}) and decl[secrets.AREA] == {}
    assert data["toplevel"] == "/nix/store/x-nixos-system-t"
    assert decl[monitoring.AREA] is None  # no node exporter: no metrics to write


def test_the_textfile_directory_comes_from_the_node_exporters_flags(tmp_path: Path) -> None:
    expression = tmp_path / "declared.nix"
    expression.write_text(declared.EXPRESSION)

    def exporter(node: str) -> monitoring.Exporter | None:
        config = (
            '{ config = { system.build.toplevel.outPath = "/x"; '
            f"services.prometheus.exporters.node = {node}; }}; }}"
        )
        argv = ["nix-instantiate", "--eval", "--strict", "--json", "-E",
                f"(import {expression}) {config}"]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, check=True)
        return Declared.from_json(json.loads(done.stdout))[monitoring.AREA]

    flags = '[ "--web.max-requests=5" "--collector.textfile.directory=/var/lib/node-text" ]'
    got = exporter(f"{{ enable = true; port = 9101; extraFlags = {flags}; }}")
    assert got == monitoring.Exporter(9101, "/var/lib/node-text")
    # Declared without a textfile directory: nowhere to write, which monitoring.textfile says.
    assert exporter("{ enable = true; }") == monitoring.Exporter(9100, None)
    assert (
        exporter('{ enable = false; extraFlags = [ "--collector.textfile.directory=/x" ]; }')
        is None
    )


def test_a_toy_area_is_declared_read_checked_gated_and_exported_from_its_module_alone(
    toy: None, tmp_path: Path
) -> None:
    assert "uptime.fresh" in areas.check_ids()
    assert "uptime = (c: c.nixfleet.maxUptime or null) c;" in areas.expression()
    decl = areas.declared({"uptime": 1.0})  # the flake allows 1 s: every host is too old
    ctx = Context("toy", datetime.now(timezone.utc), flake_checkout=None)
    parts = areas.parts(decl, ctx, only=["uptime.fresh"])
    assert [p.key for p in parts] == ["uptime"]
    out = subprocess.run(["sh", "-c", probe.command(parts)], capture_output=True, text=True)
    observed = areas.observe(out.stdout.splitlines())
    result = verify(decl, observed, ctx, only=["uptime.fresh"])
    assert [(c.id, c.ok) for c in result.checks] == [("uptime.fresh", False)]
    everything = verify(decl, observed, ctx)
    assert any(m.name == "nixfleet_uptime_seconds" for m in everything.metrics)
    assert "# HELP nixfleet_uptime_seconds Seconds since the host booted." in prometheus.render(
        [everything]
    )
    settings = HostSettings.from_data("toy", {"flake": ".", "gates": ["uptime.fresh"]})
    assert settings.gates == ("uptime.fresh",)  # a gate on it is valid host data


def test_an_area_whose_check_reports_another_id_is_refused(toy: None) -> None:
    from nixfleet.area import Area, CheckSpec

    with pytest.raises(ValueError, match="is not toy"):
        Area(
            "toy",
            1,
            "",
            lambda _d: None,
            (),
            lambda _d, _c: [],
            (CheckSpec("x.y", lambda _s: None),),
        )
