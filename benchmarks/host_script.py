"""Host-side benchmark: what the collection script costs on one host, and its parsing.

Run by hand from the repository root (not part of the test suite; under a minute):

    python benchmarks/host_script.py                     # this host, and two made-up ones
    python benchmarks/host_script.py --processes 5000 --cgroups 400 --repeat 7

The fleet benchmark (benchmarks/fleet.py) pays the script once per host on this machine,
which runs ~70 processes and ~13 cgroups. Real database and Kubernetes hosts run thousands
of processes and hundreds of cgroups, and the script's cost grows with both. This benchmark
runs the database profile's script under each shell installed (sh, dash, bash, busybox sh):
on this host, and over made-up trees (with the script's test prefix) of N processes with
the eight per-process files it reads, and of M cgroup v2 folders of 60 files each. It prints
the median wall and CPU time of the script, the processes it started, its output size, and
the controller's time to parse that output.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from memcheck.collect.script import build_script, parse_output  # noqa: E402
from memcheck.profile import load_profiles  # noqa: E402
from memcheck.registry import all_checks  # noqa: E402
from memcheck.runner import reads_for  # noqa: E402

NONCE = "b3nchb3nchb3nchb3nchb3nchb3nch00"
PER_PROCESS = (
    "status",
    "cmdline",
    "smaps_rollup",
    "comm",
    "oom_score_adj",
    "oom_adj",
    "cgroup",
    "numa_maps",
)
CGROUP_FILES = [
    *(f"memory.{n}" for n in ("max", "high", "low", "min", "current", "peak", "stat")),
    *(f"memory.{n}" for n in ("pressure", "events", "events.local", "oom.group", "reclaim")),
    *(f"memory.swap.{n}" for n in ("max", "current", "events", "peak")),
    *(f"cpu.{n}" for n in ("max", "stat", "weight", "pressure", "idle", "uclamp.min")),
    *(f"io.{n}" for n in ("max", "stat", "weight", "pressure")),
    *(f"pids.{n}" for n in ("max", "current", "events", "peak")),
    *(f"cgroup.{n}" for n in ("procs", "threads", "type", "controllers", "subtree_control")),
    *(f"cgroup.{n}" for n in ("events", "stat", "freeze", "kill", "max.depth", "pressure")),
    *(f"cpuset.{n}" for n in ("cpus", "mems", "cpus.effective", "mems.effective")),
    *(f"hugetlb.2MB.{n}" for n in ("max", "current", "events", "rsvd.max")),
    *(f"misc.{n}" for n in ("max", "current")),
    "memory.numa_stat",
    "irq.pressure",
    "cpu.uclamp.max",
    "io.bfq.weight",
    "rdma.max",
    "rdma.current",
]


def database_reads() -> list[str]:
    checks = all_checks()
    profile = load_profiles(["database"], checks)
    return list(reads_for([checks[c] for c in profile.selected]))


def made_up_host(top: str, processes: int, cgroups: int) -> None:
    for pid in range(1, processes + 1):
        folder = f"{top}/proc/{pid}"
        os.makedirs(folder)
        for name in PER_PROCESS:
            with open(f"{folder}/{name}", "w") as fh:
                fh.write(f"Name:\tworker-{pid}\n" if name == "status" else f"{name} {pid}\n")
    base = f"{top}/sys/fs/cgroup"
    folders = [base, *(f"{base}/system.slice/unit-{i}.service" for i in range(cgroups))]
    for folder in folders:
        os.makedirs(folder, exist_ok=True)
        for name in CGROUP_FILES:
            with open(f"{folder}/{name}", "w") as fh:
                fh.write("max\n")


def shells() -> list[tuple[str, list[str]]]:
    found = []
    for name, argv in (("sh", ["sh"]), ("dash", ["dash"]), ("bash", ["bash", "--posix"])):
        if shutil.which(argv[0]):
            found.append((name, argv))
    if shutil.which("busybox"):
        found.append(("busybox", ["busybox", "sh"]))
    return found


def processes_started(argv: list[str], script: str) -> int | None:
    """How many programs the script ran (execve calls that worked), from strace."""
    strace = shutil.which("strace")
    if strace is None:
        return None
    with tempfile.NamedTemporaryFile(prefix="memcheck-bench-", suffix=".log") as log:
        subprocess.run(
            [strace, "-f", "-qq", "-e", "trace=execve", "-o", log.name, *argv, "-c", script],
            capture_output=True,
            check=False,
        )
        lines = Path(log.name).read_text(errors="replace").splitlines()
    # The shell itself is one of them.
    return sum(1 for line in lines if "execve(" in line and line.rstrip().endswith("= 0")) - 1


def measure(label: str, script: str, repeat: int) -> None:
    for name, argv in shells():
        walls, cpus = [], []
        out = b""
        for _ in range(repeat):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            proc = subprocess.run([*argv, "-c", script, "sh"], capture_output=True, check=False)
            walls.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            out = proc.stdout
        started = time.perf_counter()
        snap = parse_output(out, NONCE, "bench", "bench")
        parsed = time.perf_counter() - started
        started_count = processes_started(argv, script)
        print(
            f"| {label} | {name} | {statistics.median(walls) * 1000:.0f} "
            f"| {statistics.median(cpus) * 1000:.0f} | {started_count if started_count is not None else '?'} "
            f"| {len(out) / 1024:.0f} | {len(snap.files)} | {parsed * 1000:.0f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2000)
    parser.add_argument("--cgroups", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    reads = database_reads()
    print(f"# {os.cpu_count()} CPUs, {sys.version.split()[0]}; medians of {args.repeat} runs")
    print(
        "| host | shell | wall (ms) | CPU (ms) | processes started | output (KiB) "
        "| files | parse (ms) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    measure("this host", build_script(reads, NONCE, sample_interval=0), args.repeat)
    top = tempfile.mkdtemp(prefix="memcheck-bench-")
    try:
        made_up_host(top, args.processes, 0)
        label = f"{args.processes} processes"
        measure(label, build_script(reads, NONCE, sample_interval=0, prefix=top), args.repeat)
        shutil.rmtree(top)
        os.makedirs(top)
        made_up_host(top, 0, args.cgroups)
        label = f"{args.cgroups + 1} cgroups"
        measure(label, build_script(reads, NONCE, sample_interval=0, prefix=top), args.repeat)
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
