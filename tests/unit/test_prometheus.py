"""The node_exporter textfile: valid exposition for any label value, written whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from nixfleet import prometheus
from nixfleet.errors import NixfleetError
from nixfleet.verification import HostVerification, Metric

SNAPSHOT = 1764105600.0  # 2025-11-25T21:20:00Z


def fleet() -> list[HostVerification]:
    nas = (
        Metric("nixfleet_check_ok", {"host": "nas", "check": "restic.snapshot-age"}, 1.0),
        Metric(
            "nixfleet_backup_last_snapshot_timestamp_seconds",
            {"host": "nas", "backup": "home"},
            SNAPSHOT,
        ),
    )
    laptop = (
        Metric("nixfleet_check_ok", {"host": "laptop", "check": "syncthing.running"}, 0.0),
        Metric("nixfleet_sync_conflicts", {"host": "laptop", "folder": 'a "q" \\ b\nc'}, 2.0),
    )
    return [HostVerification("nas", (), nas), HostVerification("laptop", (), laptop)]


def test_each_gauge_has_help_and_type_then_its_samples_sorted_by_label() -> None:
    assert prometheus.render(fleet()).splitlines() == [
        "# HELP nixfleet_backup_last_snapshot_timestamp_seconds Time of the newest snapshot of a "
        "restic job.",
        "# TYPE nixfleet_backup_last_snapshot_timestamp_seconds gauge",
        'nixfleet_backup_last_snapshot_timestamp_seconds{backup="home",host="nas"} 1.7641056e+09',
        "# HELP nixfleet_check_ok 1 if the nixfleet check passed on the host, else 0 (its severity).",
        "# TYPE nixfleet_check_ok gauge",
        'nixfleet_check_ok{check="restic.snapshot-age",host="nas"} 1.0',
        'nixfleet_check_ok{check="syncthing.running",host="laptop"} 0.0',
        "# HELP nixfleet_sync_conflicts Syncthing conflict copies in a folder.",
        "# TYPE nixfleet_sync_conflicts gauge",
        'nixfleet_sync_conflicts{folder="a \\"q\\" \\\\ b\\nc",host="laptop"} 2.0',
    ]
    assert prometheus.render(fleet()).endswith("2.0\n")


def test_the_text_parses_back_to_the_same_values_whatever_the_labels_hold() -> None:
    parsed = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(prometheus.render(fleet()))
        for sample in family.samples
    }
    wanted = {
        (m.name, tuple(sorted(m.labels.items()))): m.value for v in fleet() for m in v.metrics
    }
    assert parsed == wanted


def test_a_sample_lacking_a_label_of_its_gauge_has_it_empty() -> None:
    odd = HostVerification(
        "vps",
        (),
        (
            Metric("nixfleet_sync_conflicts", {"host": "vps", "folder": "docs"}, 0.0),
            Metric("nixfleet_sync_conflicts", {"host": "vps"}, 1.0),
        ),
    )
    assert 'nixfleet_sync_conflicts{folder="",host="vps"} 1.0' in prometheus.render([odd])


def test_no_metric_gives_an_empty_file() -> None:
    assert prometheus.render([HostVerification("nas", ())]) == ""


def test_the_textfile_is_the_rendered_text_and_nothing_is_left_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "node-exporter" / "nixfleet.prom"
    prometheus.write_textfile(path, fleet())
    assert path.read_text() == prometheus.render(fleet())
    assert [p.name for p in path.parent.iterdir()] == ["nixfleet.prom"]


def test_a_textfile_node_exporter_would_skip_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NixfleetError, match=r"must end in \.prom, or node_exporter ignores it"):
        prometheus.write_textfile(tmp_path / "nixfleet.txt", fleet())
    assert not list(tmp_path.iterdir())
