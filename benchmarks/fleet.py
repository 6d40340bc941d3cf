"""Fleet benchmark: memcheck against the natural testinfra way, over a real loopback sshd.

Run by hand from the repository root, as root or as a user sshd accepts (not part of the
test suite; it takes several minutes):

    pip install -e '.[bench]'
    python benchmarks/fleet.py                       # 1/10/50 hosts x -n 1/4/8, both transports
    python benchmarks/fleet.py --hosts 50 --workers 8 --tools memcheck --repeat 5
    python benchmarks/fleet.py --hosts 50 --workers 8 --tools memcheck --with-swap

It starts sshd on 127.0.0.1 (tests/integration/sshd.py: throwaway keys, its own config,
stopped at the end) and reaches it through N host aliases of one ssh_config, so every "host"
is this machine. For each case it measures the wall time of
`memcheck --profile database --hosts ...` and of the same checks written the natural
testinfra way (benchmarks/testinfra_natural, testinfra's defaults for the transport, pytest
-xdist for -n above 1), and counts the commands sshd was asked to run per host.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.sshd import SshServer, missing_tools  # noqa: E402

NATURAL = ROOT / "benchmarks" / "testinfra_natural"
BIN = Path(sys.executable).parent


@dataclass
class Measure:
    seconds: float
    commands_per_host: float
    exit_code: int
    spread: str = ""  # with --repeat: "min-max" of the runs; `seconds` is their median

    def cell(self) -> str:
        return f"{self.seconds:.2f}" + (f" ({self.spread})" if self.spread else "")


def repeated(times: int, once: Callable[[], Measure]) -> Measure:
    """Run `once` `times` times: the median wall time, with the range beside it."""
    runs = [once() for _ in range(times)]
    if times == 1:
        return runs[0]
    seconds = sorted(m.seconds for m in runs)
    median = statistics.median(seconds)
    return Measure(
        median,
        runs[-1].commands_per_host,
        runs[-1].exit_code,
        f"{seconds[0]:.2f}-{seconds[-1]:.2f}",
    )


def hosts_arg(scheme: str, count: int, alias: str) -> str:
    """The test sshd's host aliases: `live-N`, or `swap-N`, whose commands see a /proc/swaps
    listing a swap file (tests/integration/sshd.py)."""
    return ",".join(f"{scheme}://{alias}-{i}" for i in range(1, count + 1))


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONWARNINGS"] = "ignore"
    # Both tools run as installed: with Python's bytecode cache. (Where the environment turns
    # the cache off, every run recompiles memcheck's own modules from an editable install,
    # ~0.25 s here, while pytest and testinfra come precompiled by pip.)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run(server: SshServer, argv: list[str], hosts: int) -> Measure:
    server.clear_log()
    started = time.perf_counter()
    proc = subprocess.run(
        argv, cwd=ROOT, env=clean_env(), capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1, 3) or "Traceback" in proc.stderr:
        sys.exit(f"{' '.join(argv[:4])} ... failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return Measure(seconds, len(server.commands()) / hosts, proc.returncode)


def memcheck(
    server: SshServer,
    config: Path,
    scheme: str,
    hosts: int,
    workers: int,
    reports: Path,
    alias: str = "live",
) -> Measure:
    # The command as a user runs it: the three reports are written (to a scratch folder).
    argv = [
        str(BIN / "memcheck"),
        "--profile",
        "database",
        "--hosts",
        hosts_arg(scheme, hosts, alias),
        "--ssh-config",
        str(config),
        "-n",
        str(workers),
        "--report-dir",
        str(reports),
        "-q",
    ]
    return run(server, argv, hosts)


def testinfra(
    server: SshServer, config: Path, scheme: str, hosts: int, workers: int, alias: str = "live"
) -> Measure:
    argv = [
        str(BIN / "python"),
        "-m",
        "pytest",
        str(NATURAL),
        f"--hosts={hosts_arg(scheme, hosts, alias)}",
        f"--ssh-config={config}",
        "-q",
        "-p",
        "no:cacheprovider",
        "-W",
        "ignore",
        "--rootdir",
        str(NATURAL),
        "-c",
        os.devnull,
    ]
    argv += ["-n", str(workers)] if workers > 1 else ["-p", "no:xdist"]
    return run(server, argv, hosts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", default="1,10,50", help="host counts (default 1,10,50)")
    parser.add_argument("--workers", default="1,4,8", help="-n values (default 1,4,8)")
    parser.add_argument("--transports", default="ssh,paramiko")
    parser.add_argument("--tools", default="memcheck,testinfra")
    parser.add_argument(
        "--ssh-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an ssh_config line for every host, for both tools (e.g. KexAlgorithms=...)",
    )
    parser.add_argument(
        "--with-swap",
        action="store_true",
        help="every host shows a swap device, so both tools wait for the second vmstat sample",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="memcheck runs per cell: the median is shown, with the range (default 1)",
    )
    parser.add_argument(
        "--testinfra-repeat",
        type=int,
        default=1,
        help="the same for testinfra (default 1: its 18 cells take about 40 minutes)",
    )
    args = parser.parse_args()
    alias = "swap" if args.with_swap else "live"
    problem = missing_tools()
    if problem:
        sys.exit(f"cannot benchmark: {problem}")
    tools = args.tools.split(",")
    hosts_wanted = [int(h) for h in args.hosts.split(",")]
    if "testinfra" in tools and any(int(n) > 1 for n in args.workers.split(",")):
        try:
            import xdist  # noqa: F401
        except ImportError:
            sys.exit("testinfra with -n above 1 needs pytest-xdist: pip install -e '.[bench]'")
    load = os.getloadavg()[0]
    print(
        f"# {platform.node()}: {os.cpu_count()} CPUs, load {load:.2f}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        + subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr.strip()
    )
    if load > 1.0:
        print("# warning: the machine is busy; numbers will be slower than on an idle one")
    work = Path(tempfile.mkdtemp(prefix="memcheck-bench-"))
    server = SshServer(work / "sshd").start()
    try:
        config = server.write_client_config(work / "client", aliases=max(hosts_wanted)).ssh_config
        if args.ssh_option:
            lines = [" ".join(o.split("=", 1)) for o in args.ssh_option]
            config.write_text("\n".join(lines) + "\n" + config.read_text())
        kex = subprocess.run(
            ["ssh", "-G", "-F", str(config), f"{alias}-1"], capture_output=True, text=True
        ).stdout
        print("# " + next((ln for ln in kex.splitlines() if ln.startswith("kexalgorithms")), ""))
        print(
            "| transport | hosts | -n | memcheck (s) | commands/host | "
            "testinfra (s) | commands/host | testinfra / memcheck |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for scheme in args.transports.split(","):
            for hosts in (int(h) for h in args.hosts.split(",")):
                for workers in (int(n) for n in args.workers.split(",")):
                    ours = theirs = None
                    if "memcheck" in tools:
                        ours = repeated(
                            args.repeat,
                            partial(
                                memcheck,
                                server,
                                config,
                                scheme,
                                hosts,
                                workers,
                                work / "reports",
                                alias,
                            ),
                        )
                    if "testinfra" in tools:
                        theirs = repeated(
                            args.testinfra_repeat,
                            partial(testinfra, server, config, scheme, hosts, workers, alias),
                        )
                    cells = [scheme, str(hosts), str(workers)]
                    for m in (ours, theirs):
                        cells += [m.cell(), f"{m.commands_per_host:g}"] if m else ["-", "-"]
                    ratio = f"{theirs.seconds / ours.seconds:.1f}x" if ours and theirs else "-"
                    print("| " + " | ".join([*cells, ratio]) + " |", flush=True)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
