"""The monitoring area: the node exporter the flake declares, and the textfile in which the
verify leaves the host's own data-layer metrics for it (``services.prometheus.exporters.node``
with ``--collector.textfile.directory``).

Check: ``monitoring.textfile``, judged when the verify writes the host's metrics, after every
other check (so the file holds their outcome), not from a read. Program: ``textfile.sh``.

The verify writes the metrics rather than an on-host timer computing them, because the checks
need the flake's declarations and the controller's logic; the file carries timestamps and
limits, not ages, so Prometheus's alert rules see a backup grow stale between two verifies, and
``nixfleet_verify_last_run_timestamp_seconds`` says how old the rest is.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from nixfleet.area import Area, CheckSpec, Context
from nixfleet.checks import Check, Problem, verdict
from nixfleet.probe import Part, Reply

TEXTFILE = "nixfleet.prom"  # the one file the verify owns in the textfile directory
TEXTFILE_FLAG = "--collector.textfile.directory="
CHECK = "monitoring.textfile"


@dataclass(frozen=True)
class Exporter:
    """The host's node exporter: its port, and where its textfile collector reads (None: it
    has none, so the host's metrics have nowhere to go)."""

    port: int
    textfile_directory: str | None


NIX = f"""c: let
  node = c.services.prometheus.exporters.node or {{ }};
  flag = "{TEXTFILE_FLAG}";
  n = builtins.stringLength flag;
  dirs = builtins.filter (f: builtins.substring 0 n f == flag) (node.extraFlags or [ ]);
in if !(node.enable or false) then null else {{
  port = node.port or 9100;
  textfileDirectory = if dirs == [ ] then null else builtins.substring n 4096 (builtins.head dirs);
}}"""


def declare(data: Any) -> Exporter | None:
    """The declared exporter, from :data:`NIX`'s JSON (None: no node exporter).

    >>> declare({"port": 9100, "textfileDirectory": "/var/lib/node-text"})
    Exporter(port=9100, textfile_directory='/var/lib/node-text')
    >>> declare(None) is None
    True
    """
    if not data:
        return None
    return Exporter(int(data.get("port") or 9100), data.get("textfileDirectory") or None)


def write_part(directory: str, text: str) -> Part:
    """The probe part that writes ``text`` as the host's textfile (base64: any label value
    stays one argument).

    >>> write_part("/var/lib/node-text", "m 1\\n").args
    ('/var/lib/node-text', 'nixfleet.prom', 'bSAxCg==')
    """
    encoded = base64.b64encode(text.encode()).decode("ascii")
    return Part("textfile", "textfile", (directory, TEXTFILE, encoded))


def no_directory(exporter: Exporter) -> Check:
    """The check when the declared exporter has no textfile directory to write to."""
    problem = Problem(
        "textfile",
        "the node exporter has no textfile directory, so the host's nixfleet metrics have "
        f"nowhere to go; add {TEXTFILE_FLAG}DIR to services.prometheus.exporters.node.extraFlags",
    )
    return verdict(CHECK, [problem], "")


def written(directory: str, reply: Reply | None) -> Check:
    """How writing the textfile went (``reply`` None: the host never answered).

    >>> written("/d", Reply("textfile", 0)).message
    'metrics written to /d/nixfleet.prom'
    >>> written("/d", Reply("textfile", 1, err="/d is not a directory")).message
    'could not write the metrics to /d/nixfleet.prom: /d is not a directory; Prometheus sees the last ones written until this is fixed'
    """
    path = f"{directory.rstrip('/')}/{TEXTFILE}"
    why = "no answer from the host" if reply is None else reply.failure
    if why is None:
        return verdict(CHECK, [], f"metrics written to {path}", {"path": path})
    stale = "Prometheus sees the last ones written until this is fixed"
    problem = Problem("textfile", f"could not write the metrics to {path}: {why}; {stale}")
    return verdict(CHECK, [problem], "", {"path": path})


def _judged_on_write(_s: object) -> None:
    return None  # operations.verify judges it when it writes the textfile


def _reads(_d: Exporter | None, _ctx: Context) -> list[Part | None]:
    return []


AREA: Area[Exporter | None] = Area(
    name="monitoring",
    order=80,
    nix=NIX,
    declare=declare,
    readings=(),
    reads=_reads,
    checks=(CheckSpec(CHECK, _judged_on_write),),
)
