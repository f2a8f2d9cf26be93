"""The Grafana dashboard (modules/dashboards/nixfleet.json), for the user's Grafana: every
query reads metrics the fleet exports, and it shows what the design asks to watch."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.unit.promql import exported, metric_names

DASHBOARD = Path(__file__).resolve().parents[2] / "modules" / "dashboards" / "nixfleet.json"


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def queries() -> dict[str, list[str]]:
    """Every panel's queries, by panel title."""
    return {
        p["title"]: [t["expr"] for t in p.get("targets", [])]
        for p in dashboard()["panels"]
        if p["type"] != "row"
    }


def test_every_query_names_only_metrics_the_fleet_exports() -> None:
    for title, exprs in queries().items():
        assert exprs, f"panel {title!r} has no query"
        for expr in exprs:
            names = metric_names(expr)
            assert names, f"{title}: {expr} reads no metric"
            assert names <= exported(), f"{title}: {sorted(names - exported())} not exported"


def test_the_host_variable_comes_from_an_exported_metric() -> None:
    variables = {v["name"]: v for v in dashboard()["templating"]["list"]}
    found = re.fullmatch(r"label_values\((.+), host\)", variables["host"]["definition"])
    assert found and metric_names(found[1]) <= exported()
    used = set(re.findall(r"\$\{?(\w+)", DASHBOARD.read_text())) - {"__all"}
    assert used <= set(variables)


def test_it_shows_backups_sync_notes_and_checks_per_host() -> None:
    read = {title: set().union(*map(metric_names, exprs)) for title, exprs in queries().items()}
    wanted = {
        "Backup age per job": "nixfleet_backup_last_snapshot_timestamp_seconds",
        "Sync conflicts": "nixfleet_sync_conflicts",
        "Syncthing peers": "nixfleet_sync_peer_connected",
        "Unpushed notes": "nixfleet_notebook_unpushed_commits",
        "Check status per host": "nixfleet_check_ok",
    }
    for title, metric in wanted.items():
        assert metric in read[title], title


def test_a_query_of_a_metric_nobody_exports_is_caught() -> None:
    assert not metric_names("nixfleet_backup_age_seconds") <= exported()
