"""The node_exporter textfile: verification results as Prometheus gauges, written atomically."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from nixfleet import areas
from nixfleet.errors import NixfleetError
from nixfleet.verification import HostVerification, Metric


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(verifications: Iterable[HostVerification]) -> str:
    """Prometheus text exposition: HELP and TYPE once per metric, no timestamps, final newline.

    >>> from nixfleet.verification import HostVerification, Metric
    >>> v = HostVerification("nas", (), (Metric("nixfleet_check_ok", {"host": "nas", "check": "x"}, 1.0),))
    >>> print(render([v]), end="")
    # HELP nixfleet_check_ok 1 if the nixfleet check passed on the host, else 0.
    # TYPE nixfleet_check_ok gauge
    nixfleet_check_ok{check="x",host="nas"} 1
    """
    by_name: dict[str, list[Metric]] = {}
    for v in verifications:
        for m in v.metrics:
            by_name.setdefault(m.name, []).append(m)
    lines: list[str] = []
    helps = areas.metric_help()  # each area's metrics, with their help text
    for name in sorted(by_name):
        lines += [f"# HELP {name} {helps.get(name, name)}", f"# TYPE {name} gauge"]
        for m in sorted(by_name[name], key=lambda m: sorted(m.labels.items())):
            labels = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(m.labels.items()))
            value = repr(m.value) if m.value != int(m.value) else str(int(m.value))
            lines.append(f"{name}{{{labels}}} {value}")
    return "\n".join(lines) + "\n"


def write_textfile(path: Path, text: str) -> None:
    """Write where node_exporter reads it, atomically: a temp file (not ``*.prom``), then rename."""
    if path.suffix != ".prom":
        raise NixfleetError(
            f"prometheus_textfile {path} must end in .prom, or node_exporter ignores it"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
