"""The node_exporter textfile: verification results as Prometheus gauges, written atomically."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, generate_latest, write_to_textfile

from nixfleet import areas
from nixfleet.errors import NixfleetError
from nixfleet.verification import HostVerification, Metric


def registry(verifications: Iterable[HostVerification]) -> CollectorRegistry:
    """One gauge per metric name, with a sample per label set, in a registry of their own.

    A gauge's label names are every label its samples use; a sample without one of them has it
    empty, which Prometheus reads as the label being absent.
    """
    by_name: dict[str, list[Metric]] = {}
    for v in verifications:
        for m in v.metrics:
            by_name.setdefault(m.name, []).append(m)
    gauges = CollectorRegistry()
    helps = areas.metric_help()  # each area's metrics, with their help text
    for name in sorted(by_name):
        labelnames = sorted({k for m in by_name[name] for k in m.labels})
        gauge = Gauge(name, helps.get(name, name), labelnames, registry=gauges)
        for m in sorted(by_name[name], key=lambda m: sorted(m.labels.items())):
            gauge.labels(*(m.labels.get(k, "") for k in labelnames)).set(m.value)
    return gauges


def render(verifications: Iterable[HostVerification]) -> str:
    """Prometheus text exposition: HELP and TYPE once per metric, no timestamps, final newline.

    >>> from nixfleet.verification import HostVerification, Metric
    >>> v = HostVerification("nas", (), (Metric("nixfleet_check_ok", {"host": "nas", "check": "x"}, 1.0),))
    >>> print(render([v]), end="")
    # HELP nixfleet_check_ok 1 if the nixfleet check passed on the host, else 0 (its severity).
    # TYPE nixfleet_check_ok gauge
    nixfleet_check_ok{check="x",host="nas"} 1.0
    """
    return generate_latest(registry(verifications)).decode()


def write_textfile(path: Path, verifications: Iterable[HostVerification]) -> None:
    """Write ``render(verifications)`` where node_exporter reads it, atomically: to a temporary
    file beside it (``<path>.<pid>.<thread>``, which node_exporter skips, as it does any name not
    ending in ``.prom``), then renamed over it."""
    if path.suffix != ".prom":
        raise NixfleetError(
            f"prometheus_textfile {path} must end in .prom, or node_exporter ignores it"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry(verifications))
