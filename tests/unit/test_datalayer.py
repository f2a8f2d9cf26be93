"""facts/datalayer.py: several facts in one script, run here for real with sh."""

import os
import subprocess
from pathlib import Path

from facts.datalayer import DataLayer
from nixfleet.observed.sections import concurrently


def run_sh(script: str) -> list[str]:
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def test_reads_each_fact_under_its_key(tmp_path: Path) -> None:
    repo, secrets = tmp_path / "flake", tmp_path / "secrets"
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "flake.nix").write_text("{ }\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    secrets.mkdir()
    (secrets / "restic-password").write_text("not shown\n")
    os.chmod(secrets / "restic-password", 0o400)

    spec = {"checkout": {"path": str(repo)}, "secrets": {"directory": str(secrets), "paths": []}}
    values = DataLayer().process(run_sh(DataLayer().command(spec)))

    assert values["checkout"] == {"state": "git", "revision": head.strip(), "dirty": "no"}
    secret = values["secrets"][f"{secrets}/restic-password"]
    assert (secret.mode, secret.size) == ("400", 10)
    assert "not shown" not in repr(values)


def test_a_fact_that_prints_nothing_gives_its_default(tmp_path: Path) -> None:
    spec = {"secrets": {"directory": str(tmp_path / "none"), "paths": []}}
    assert DataLayer().process(run_sh(DataLayer().command(spec))) == {"secrets": {}}


def test_parts_run_at_once_and_print_in_order(tmp_path: Path) -> None:
    flag = tmp_path / "b-started"
    # a can only print A if b runs while a waits (run one after the other, a gives up).
    wait_for_b = (
        f"i=0; until [ -e {flag} ]; do i=$((i+1)); [ $i -gt 100 ] && exit; sleep 0.05; done; echo A"
    )
    script = concurrently([("a", wait_for_b, None), ("b", f"touch {flag}; echo B", None),
                           ("c", "echo C", "no-such-program-here")])  # fmt: skip
    assert run_sh(script) == ["@@@ a", "A", "@@@ b", "B", "@@@ c"]
