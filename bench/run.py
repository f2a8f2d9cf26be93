"""Benchmark: deploying a change to every lab host three ways, plus no-op and verify latency.

    make bench                                   # sizes 5, 20, 50; 3 runs each
    .venv/bin/python bench/run.py --sizes 5 --runs 3 --data-mb 50 --restart-s 3

(a) the change, three ways, interleaved: nixfleet (pyinfra -y inventory/lab.py deploys/all.py),
a sequential `for` loop of `nixos-rebuild switch --target-host`, and the raw parallel limit
(bench/limit.sh: the same build, copy and activate steps for every host at once, xargs -P);
(b) a no-op deploy; (c) a verify pass; (d) the controller's peak RSS during (a) and (b).
The workload gives each host data_mb of its own data and a unit taking restart_s to restart.
Results: bench/results/<date>.json and BENCHMARKS.md (medians and ratios).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import gevent

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nixfleet import process  # noqa: E402
from nixfleet.lab import manager  # noqa: E402
from nixfleet.lab.topology import LabPaths  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PATHS = LabPaths(REPO / ".lab")


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, int, int]:
    """Wall seconds, exit code and peak RSS (KiB, sampled) of one command."""
    peak = [0]
    pid: list[int] = []

    def sample() -> None:
        while True:
            if pid:
                try:
                    for line in Path(f"/proc/{pid[0]}/status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            peak[0] = max(peak[0], int(line.split()[1]))
                except OSError:
                    pass
            gevent.sleep(0.1)

    sampler = gevent.spawn(sample)
    start = time.monotonic()
    result = process.run(argv, env=env, cwd=REPO, on_start=pid.append)
    elapsed = time.monotonic() - start
    sampler.kill()
    return elapsed, result.returncode, peak[0]


def commit(hosts: list[str], epoch: int, data_mb: int, restart_s: int) -> None:
    bench = {"epoch": epoch, "data_mb": data_mb, "restart_s": restart_s}
    (PATHS.flake / "overrides.json").write_text(json.dumps({h: {"bench": bench} for h in hosts}))
    git = ["git", "-C", str(PATHS.flake), "-c", "user.name=bench", "-c", "user.email=b@x"]
    process.check([*git, "add", "overrides.json"])
    process.check([*git, "commit", "-q", "-m", f"bench epoch {epoch}"])


def nixfleet_way() -> list[str]:
    return [str(BIN / "pyinfra"), "-y", "inventory/lab.py", "deploys/all.py"]


def sequential_way(hosts: list[str]) -> list[str]:
    loop = "; ".join(f"lab/bin/nixos-rebuild switch --flake .lab/flake#{h} --target-host {h} >/dev/null 2>&1"
                     for h in hosts)  # fmt: skip
    return ["bash", "-c", f"export NIX_SSHOPTS='-F {PATHS.ssh_config}'; {loop}"]


def limit_way(hosts: list[str]) -> list[str]:
    return ["bench/limit.sh", str(PATHS.flake), str(PATHS.ssh_config), *hosts]


def on_target(hosts: list[str]) -> bool:
    """Every host runs what `nix build` gives for it (each way must really deploy)."""
    for h in hosts:
        built = process.run(["nix", "build", "--no-link", "--json",
                             f"{PATHS.flake}#nixosConfigurations.{h}.config.system.build.toplevel"])  # fmt: skip
        want = json.loads(built.stdout)[0]["outputs"]["out"]
        got = process.run(
            ["ssh", "-F", str(PATHS.ssh_config), h, "readlink /run/current-system"]
        ).stdout.strip()
        if got != want:
            return False
    return True


def bench_size(size: int, runs: int, data_mb: int, restart_s: int) -> dict[str, object]:
    hosts = [h.name for h in manager.up(PATHS, generic=size - 5)]
    epoch = 0
    commit(hosts, epoch, data_mb, restart_s)
    process.run(nixfleet_way(), cwd=REPO)  # every host gets the workload unit once
    samples: dict[str, list[float]] = {
        "nixfleet": [],
        "sequential": [],
        "limit": [],
        "noop": [],
        "verify": [],
    }
    rss: dict[str, list[int]] = {"deploy": [], "noop": []}
    for _ in range(runs):
        for way in ("nixfleet", "sequential", "limit"):
            epoch += 1
            commit(hosts, epoch, data_mb, restart_s)
            argv = {
                "nixfleet": nixfleet_way(),
                "sequential": sequential_way(hosts),
                "limit": limit_way(hosts),
            }[way]
            elapsed, rc, peak = timed(argv)
            assert on_target(hosts), f"{way} left hosts off target (rc {rc})"
            samples[way].append(round(elapsed, 2))
            if way == "nixfleet":
                rss["deploy"].append(peak)
        elapsed, _rc, peak = timed(nixfleet_way())
        samples["noop"].append(round(elapsed, 2))
        rss["noop"].append(peak)
        elapsed, _rc, _peak = timed(
            [str(BIN / "pyinfra"), "-y", "inventory/lab.py", "deploys/verify.py"]
        )
        samples["verify"].append(round(elapsed, 2))
    manager.down(PATHS)
    med = {k: statistics.median(v) for k, v in samples.items()}
    return {
        "samples": samples, "median": med, "peak_rss_kib": rss,
        "ratios": {"vs_sequential": round(med["nixfleet"] / med["sequential"], 3),
                   "vs_limit": round(med["nixfleet"] / med["limit"], 3)},
    }  # fmt: skip


def markdown(result: dict[str, object]) -> str:
    rows = ["| hosts | nixfleet (s) | sequential (s) | raw limit (s) | nixfleet/sequential | nixfleet/limit | no-op (s) | verify (s) | peak RSS deploy/no-op (MiB) |",
            "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for size, r in result["sizes"].items():  # type: ignore[attr-defined]
        m, ratios, rss = r["median"], r["ratios"], r["peak_rss_kib"]
        rows.append(f"| {size} | {m['nixfleet']:.1f} | {m['sequential']:.1f} | {m['limit']:.1f} | "
                    f"{ratios['vs_sequential']:.2f} | {ratios['vs_limit']:.2f} | {m['noop']:.1f} | {m['verify']:.1f} | "
                    f"{max(rss['deploy']) / 1024:.0f}/{max(rss['noop']) / 1024:.0f} |")  # fmt: skip
    w = result["workload"]  # type: ignore[index]
    return (
        "# Benchmarks\n\n"
        f"`make bench` on {result['machine']} ({result['date']}): medians of {result['runs']} interleaved runs. "
        f"Workload per host: {w['data_mb']} MB of its own data, a unit taking {w['restart_s']} s to restart.\n\n"
        + "\n".join(rows)
        + "\n\nEvery sample is in bench/results/. Targets (issue 6): (a) at 5 hosts ≤ 0.35 × sequential and "
        "≤ 1.25 × the raw limit, at 50 ≤ 1.5 × the limit; (b) ≤ 2 s at 5, ≤ 8 s at 50; (c) ≤ 3 s at 5, ≤ 10 s at 50; "
        "(d) ≤ 400 MB at 50.\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5,20,50")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-mb", type=int, default=50)
    parser.add_argument("--restart-s", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    result: dict[str, object] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cpus",
        "versions": {
            "python": platform.python_version(),
            "nix": process.run(["nix", "--version"]).stdout.strip(),
        },  # fmt: skip
        "workload": {"data_mb": args.data_mb, "restart_s": args.restart_s},
        "runs": args.runs,
        "sizes": {},
    }
    for size in sizes:
        result["sizes"][str(size)] = bench_size(size, args.runs, args.data_mb, args.restart_s)  # type: ignore[index]
    sizes_out = result["sizes"]  # type: ignore[assignment]
    result["ratios"] = {s: r["ratios"] for s, r in sizes_out.items()}  # type: ignore[union-attr]
    result["noop_s"] = {s: r["median"]["noop"] for s, r in sizes_out.items()}  # type: ignore[union-attr]
    result["verify_s"] = {s: r["median"]["verify"] for s, r in sizes_out.items()}  # type: ignore[union-attr]
    out = REPO / "bench/results" / f"{datetime.now(timezone.utc):%Y-%m-%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    (REPO / "BENCHMARKS.md").write_text(markdown(result))
    print(
        json.dumps(
            {
                "ratios": result["ratios"],
                "noop_s": result["noop_s"],
                "verify_s": result["verify_s"],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
