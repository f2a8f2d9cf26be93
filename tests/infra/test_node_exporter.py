"""Hosts with a node exporter: it runs, listens on its declared port, and serves the metrics the
verify left in its textfile directory, which its own (unprivileged) user can read."""

from __future__ import annotations

from nixfleet.areas import monitoring

ROLE = "node-exporter"


def test_the_exporter_runs_and_listens_on_its_port(host, fleet_host) -> None:
    exporter = fleet_host.declared[monitoring.AREA]
    service = host.service("prometheus-node-exporter")
    assert service.is_running and service.is_enabled, (
        f"{fleet_host.name}: the exporter is not running"
    )
    assert (
        host.socket(f"tcp://0.0.0.0:{exporter.port}").is_listening
        or host.socket(f"tcp://:::{exporter.port}").is_listening
    ), f"{fleet_host.name}: nothing listens on {exporter.port}"


def test_it_serves_the_metrics_the_verify_wrote(host, fleet_host) -> None:
    exporter = fleet_host.declared[monitoring.AREA]
    assert exporter.textfile_directory, f"{fleet_host.name}: the exporter has no textfile directory"
    textfile = host.file(f"{exporter.textfile_directory}/{monitoring.TEXTFILE}")
    assert textfile.exists and textfile.mode & 0o004, (
        f"{fleet_host.name}: {textfile.path} unreadable"
    )
    served = host.check_output(f"curl -fsS http://127.0.0.1:{exporter.port}/metrics")
    assert f'nixfleet_verify_last_run_timestamp_seconds{{host="{fleet_host.name}"}}' in served
    assert "node_textfile_scrape_error 0" in served
