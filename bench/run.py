"""Benchmark: deploying a change to every lab host three ways, plus no-op and verify latency.

    make bench                                   # sizes 5, 20, 50; 3 runs each
    .venv/bin/python bench/run.py --sizes 5 --runs 3 --data-mb 50 --restart-s 3

(a) the change, three ways, interleaved: nixfleet (pyinfra -y inventory/lab.py deploys/all.py),
a sequential `for` loop of `nixos-rebuild switch --target-host`, and the raw parallel limit
(bench/limit.sh: the same build, copy and activate steps for every host at once, xargs -P);
(b) a no-op deploy; (c) a verify pass; (d) the controller's peak RSS during (a) and (b): the
pyinfra process alone, and the sum over it and every process it started (nix, ssh, ...).
The workload gives each host data_mb of its own data and a unit taking restart_s to restart.
For profiling, each sample also records the SSH connections the hosts accepted, and for nixfleet
the median time its safe switch spent in each phase (from the run report).
Results: bench/results/<date>.json and BENCHMARKS.md (medians and ratios).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import gevent
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nixfleet import process  # noqa: E402
from nixfleet.lab import manager  # noqa: E402
from nixfleet.lab.topology import SERVICE_ROLE, LabPaths  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PATHS = LabPaths(REPO / ".lab")
RUNS = REPO / ".fleet" / "runs"
WAYS = ("nixfleet", "sequential", "limit")


def _peak_rss_kib(pid: int) -> int:
    """The kernel's high-water mark of ``pid``'s RSS (VmHWM, KiB), exact where sampling could miss
    a spike. psutil reports a peak only on Windows, so this one line of /proc is read here."""
    try:
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status if line.startswith("VmHWM:")), 0)


def _tree_rss_kib(root: int) -> int:
    """The RSS of ``root`` and every process below it, summed (KiB); one that ends meanwhile
    counts for nothing."""
    try:
        parent = psutil.Process(root)
        tree = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for proc in tree:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += proc.memory_info().rss
    return total // 1024


def timed(argv: list[str]) -> dict[str, Any]:
    """Wall seconds, exit code and peak memory (KiB, sampled every 0.1 s) of one command."""
    peak = {"rss_kib": 0, "tree_rss_kib": 0}
    pid: list[int] = []

    def sample() -> None:
        while True:
            if pid:
                peak["rss_kib"] = max(peak["rss_kib"], _peak_rss_kib(pid[0]))
                peak["tree_rss_kib"] = max(peak["tree_rss_kib"], _tree_rss_kib(pid[0]))
            gevent.sleep(0.1)

    sampler = gevent.spawn(sample)
    start = time.monotonic()
    result = process.run(argv, cwd=REPO, on_start=pid.append)
    elapsed = time.monotonic() - start
    sampler.kill()
    return {"s": round(elapsed, 2), "rc": result.returncode, **peak}


def ssh(host: str, command: str) -> process.Result:
    return process.run(["ssh", "-F", str(PATHS.ssh_config), host, command])


def console(host: str, command: str) -> process.Result:
    """As root at the host's console: the vps is reached over SSH as a normal user."""
    return manager.console(PATHS, host, command)


def on_all(hosts: list[str], fn: Callable[[str], Any]) -> list[Any]:
    return process.parallel(fn, hosts)


def connections_since(hosts: list[str], since: float) -> int:
    """SSH connections the hosts' sshd accepted since ``since`` (epoch seconds), hosts' own
    connections to each other (restic to the nas, nb to the vps) included."""
    cmd = (
        f"journalctl -q _COMM=sshd --since @{int(since)} --no-pager | grep -c 'Accepted publickey'"
    )
    counts = on_all(hosts, lambda h: console(h, cmd).stdout.strip() or "0")
    return sum(int(c) for c in counts)


def commit(hosts: list[str], epoch: int, data_mb: int, restart_s: int) -> None:
    bench = {"epoch": epoch, "data_mb": data_mb, "restart_s": restart_s}
    (PATHS.flake / "overrides.json").write_text(json.dumps({h: {"bench": bench} for h in hosts}))
    git = ["git", "-C", str(PATHS.flake), "-c", "user.name=bench", "-c", "user.email=b@x"]
    process.check([*git, "add", "overrides.json"])
    process.check([*git, "commit", "-q", "-m", f"bench epoch {epoch}"])


def nixfleet_way() -> list[str]:
    return [str(BIN / "pyinfra"), "-y", "inventory/lab.py", "deploys/all.py"]


def verify_way() -> list[str]:
    return [str(BIN / "pyinfra"), "-y", "inventory/lab.py", "deploys/verify.py"]


def sequential_way(hosts: list[str], sudo: set[str]) -> list[str]:
    """A loop of nixos-rebuild, with --use-remote-sudo for a host reached as a normal user."""
    loop = "; ".join(f"lab/bin/nixos-rebuild switch --flake .lab/flake#{h} --target-host {h}"
                     f"{' --use-remote-sudo' if h in sudo else ''} >/dev/null 2>&1"
                     for h in hosts)  # fmt: skip
    return ["bash", "-c", f"export NIX_SSHOPTS='-F {PATHS.ssh_config}'; {loop}"]


def limit_way(hosts: list[str]) -> list[str]:
    return ["bench/limit.sh", str(PATHS.flake), str(PATHS.ssh_config), *hosts]


def on_target(hosts: list[str]) -> bool:
    """Every host runs what `nix build` gives for it (each way must really deploy)."""
    installables = [
        f"{PATHS.flake}#nixosConfigurations.{h}.config.system.build.toplevel" for h in hosts
    ]
    built = json.loads(process.check(["nix", "build", "--no-link", "--json", *installables]).stdout)
    paths = [b["outputs"]["out"] for b in built]
    want = [next((p for p in paths if f"-nixos-system-{h}-" in p), None) for h in hosts]
    got = on_all(hosts, lambda h: ssh(h, "readlink /run/current-system").stdout.strip())
    return want == got


def close_masters(hosts: list[str]) -> None:
    """Close the lab's shared SSH connections (ControlPersist), so every way starts cold."""
    on_all(hosts, lambda h: process.run(["ssh", "-F", str(PATHS.ssh_config), "-O", "exit", h]))


def collect_garbage(hosts: list[str]) -> None:
    """Keep the disk from filling over many epochs (untimed): old generations and their data go,
    on every host and on the controller."""
    on_all(hosts, lambda h: console(h, "nix-collect-garbage -d >/dev/null 2>&1"))
    process.run(["nix-store", "--gc"])


def latest_phases() -> dict[str, float]:
    """Median seconds per safe-switch phase over the hosts of the newest nixfleet run report."""
    reports = sorted(RUNS.glob("*.json"), key=lambda p: p.stat().st_mtime)
    if not reports:
        return {}
    hosts = json.loads(reports[-1].read_text()).get("hosts", {})
    phases: dict[str, list[float]] = {}
    for outcome in hosts.values():
        for name, seconds in (outcome.get("details", {}).get("phases") or {}).items():
            phases.setdefault(name, []).append(seconds)
    return {name: round(statistics.median(v), 2) for name, v in sorted(phases.items())}


def bench_size(
    size: int, runs: int, data_mb: int, restart_s: int, log: Callable[[str], None]
) -> dict[str, Any]:
    # The fleet's hosts (not the lab's stand-ins for services outside it, such as the offsite).
    fleet_hosts = [
        h for h in manager.up(PATHS, generic=size - 5, log=log) if h.role != SERVICE_ROLE
    ]
    hosts = [h.name for h in fleet_hosts]
    sudo = {h.name for h in fleet_hosts if h.login != "root"}
    epoch = 0
    commit(hosts, epoch, data_mb, restart_s)
    first = timed(nixfleet_way())  # every host gets the workload unit once
    log(f"  {size} hosts: first deploy {first['s']} s (rc {first['rc']})")
    samples: dict[str, list[dict[str, Any]]] = {k: [] for k in (*WAYS, "noop", "verify")}
    for run in range(runs):
        for way in WAYS:
            epoch += 1
            collect_garbage(hosts)
            commit(hosts, epoch, data_mb, restart_s)
            argv = {"nixfleet": nixfleet_way(), "sequential": sequential_way(hosts, sudo),
                    "limit": limit_way(hosts)}[way]  # fmt: skip
            close_masters(hosts)
            since = time.time()
            sample = timed(argv)
            sample["ssh_connections"] = connections_since(hosts, since)
            if way == "nixfleet":
                sample["phases"] = latest_phases()
            if not on_target(hosts):
                raise SystemExit(f"bench: {way} left hosts off target (exit {sample['rc']})")
            samples[way].append(sample)
            log(f"  {size} hosts, run {run + 1}: {way} {sample['s']} s")
        for way, argv in (("noop", nixfleet_way()), ("verify", verify_way())):
            close_masters(hosts)
            since = time.time()
            sample = timed(argv)
            sample["ssh_connections"] = connections_since(hosts, since)
            samples[way].append(sample)
            log(f"  {size} hosts, run {run + 1}: {way} {sample['s']} s (exit {sample['rc']})")
    manager.down(PATHS, log=log)
    process.run(["nix-store", "--gc"])
    med = {k: statistics.median(s["s"] for s in v) for k, v in samples.items()}
    return {
        "samples": samples,
        "median": med,
        "peak_rss_kib": {k: max(s["rss_kib"] for s in samples[k]) for k in ("nixfleet", "noop")},
        "peak_tree_rss_kib": {k: max(s["tree_rss_kib"] for s in samples[k]) for k in ("nixfleet", "noop")},
        "ssh_connections": {k: statistics.median(s["ssh_connections"] for s in v) for k, v in samples.items()},
        "ratios": {"vs_sequential": round(med["nixfleet"] / med["sequential"], 3),
                   "vs_limit": round(med["nixfleet"] / med["limit"], 3)},
    }  # fmt: skip


def markdown(result: dict[str, Any]) -> str:
    rows = ["| hosts | nixfleet (s) | sequential (s) | raw limit (s) | nixfleet/sequential | nixfleet/limit | no-op (s) | verify (s) | peak RSS deploy/no-op (MiB) |",
            "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for size, r in sorted(result["sizes"].items(), key=lambda kv: int(kv[0])):
        m, ratios, rss = r["median"], r["ratios"], r["peak_rss_kib"]
        rows.append(f"| {size} | {m['nixfleet']:.1f} | {m['sequential']:.1f} | {m['limit']:.1f} | "
                    f"{ratios['vs_sequential']:.2f} | {ratios['vs_limit']:.2f} | {m['noop']:.1f} | {m['verify']:.1f} | "
                    f"{rss['nixfleet'] / 1024:.0f}/{rss['noop'] / 1024:.0f} |")  # fmt: skip
    w = result["workload"]
    return (
        f"`make bench` on {result['machine']} ({result['date']}): medians of {result['runs']} interleaved runs. "
        f"Workload per host: {w['data_mb']} MB of its own data, a unit taking {w['restart_s']} s to restart.\n\n"
        + "\n".join(rows)
        + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="5,20,50")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-mb", type=int, default=50)
    parser.add_argument("--restart-s", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    result: dict[str, Any] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 2**30} GiB",
        "versions": {
            "python": platform.python_version(),
            "nix": process.run(["nix", "--version"]).stdout.strip(),
            "pyinfra": process.run([str(BIN / "pyinfra"), "--version"]).stdout.strip(),
            "openssh": process.run(["ssh", "-V"]).stderr.strip(),
        },
        "workload": {"data_mb": args.data_mb, "restart_s": args.restart_s},
        "runs": args.runs,
        "sizes": {},
    }
    out = REPO / "bench/results" / f"{datetime.now(timezone.utc):%Y-%m-%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    for size in sizes:  # results are written after every size, so a long run keeps what it has
        result["sizes"][str(size)] = bench_size(size, args.runs, args.data_mb, args.restart_s, log)
        sizes_out = result["sizes"]
        result["ratios"] = {s: r["ratios"] for s, r in sizes_out.items()}
        result["noop_s"] = {s: r["median"]["noop"] for s, r in sizes_out.items()}
        result["verify_s"] = {s: r["median"]["verify"] for s, r in sizes_out.items()}
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        update_benchmarks_md(REPO / "BENCHMARKS.md", markdown(result), out.name)
    print(json.dumps({k: result[k] for k in ("ratios", "noop_s", "verify_s")}, indent=2))
    print(f"results: {out.relative_to(REPO)}; table: BENCHMARKS.md")


BEGIN, END = "<!-- bench:table -->", "<!-- /bench:table -->"


def update_benchmarks_md(path: Path, table: str, results_name: str) -> None:
    """Put the new table between the markers of BENCHMARKS.md; the prose around it stays."""
    block = f"{BEGIN}\n{table}\nAll samples: bench/results/{results_name}.\n{END}"
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text += "\n" + block + "\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
