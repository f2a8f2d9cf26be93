"""The fleet's alert rules (lib/monitoring.nix): valid for Prometheus's own checker, each one
unit-tested with promtool on a fault and the healthy case beside it (alert_rules.test.yml),
the lab's the same but for their waits, and every metric they read one the fleet exports."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.promql import exported, metric_names

REPO = Path(__file__).resolve().parents[2]
TESTS = Path(__file__).with_name("alert_rules.test.yml")


def rules(lab: bool = False) -> dict[str, Any]:
    expr = f"(import ./lib/monitoring.nix {{ fleet = import ./fleet.nix; lab = {str(lab).lower()}; }}).rules"
    done = subprocess.run(
        ["nix-instantiate", "--eval", "--strict", "--json", "--expr", expr],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def alerts(groups: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for g in groups["groups"] for r in g["rules"]]


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture
def rule_dir(tmp_path: Path) -> Path:
    """The real rules as nixfleet.rules.json, with the promtool tests beside them."""
    (tmp_path / "nixfleet.rules.json").write_text(json.dumps(rules()))
    shutil.copy(TESTS, tmp_path / TESTS.name)
    return tmp_path


def test_promtool_accepts_the_rules(rule_dir: Path) -> None:
    done = promtool("check", "rules", "nixfleet.rules.json", cwd=rule_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(alerts(rules()))} rules found" in done.stdout


def test_every_rule_fires_on_its_fault_and_not_on_the_healthy_case(rule_dir: Path) -> None:
    done = promtool("test", "rules", TESTS.name, cwd=rule_dir)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_rule_has_a_test_that_sees_it_fire_and_one_that_sees_it_quiet() -> None:
    tests = yaml.safe_load(TESTS.read_text())["tests"]
    cases = [c for t in tests for c in t["alert_rule_test"]]
    fired = {c["alertname"] for c in cases if c.get("exp_alerts")}
    quiet = {c["alertname"] for c in cases if not c.get("exp_alerts")}
    names = {r["alert"] for r in alerts(rules())}
    assert fired == names
    # Rules with no quiet case still have a healthy series beside the faulty one in their test.
    assert quiet <= names and len(quiet) >= 7


def test_a_rule_that_stopped_firing_fails_its_promtool_test(rule_dir: Path) -> None:
    """The tests can fail: a rule whose threshold moved no longer meets its expectations."""
    broken = rules()
    for rule in alerts(broken):
        if rule["alert"] == "NixfleetSyncConflicts":
            rule["expr"] = "nixfleet_sync_conflicts > 5"
    (rule_dir / "nixfleet.rules.json").write_text(json.dumps(broken))
    done = promtool("test", "rules", TESTS.name, cwd=rule_dir)
    assert done.returncode != 0 and "NixfleetSyncConflicts" in done.stdout + done.stderr


def test_the_lab_runs_the_same_rules_with_shorter_waits() -> None:
    real, lab = alerts(rules()), alerts(rules(lab=True))

    def without_waits(rs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k != "for"} for r in rs]

    assert without_waits(real) == without_waits(lab)
    assert [r.get("for") for r in real] != [r.get("for") for r in lab]


def test_every_rule_reads_only_metrics_the_fleet_exports() -> None:
    for rule in alerts(rules()):
        assert metric_names(rule["expr"]) <= exported(), rule["alert"]
        assert metric_names(rule["expr"]), rule["alert"]
