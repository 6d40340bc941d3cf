"""Host trees for `--profile auto` tests, written into a test's tmp_path (SPEC section 4 layout)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

COLLECTED_AT = "2026-11-20T12:00:00Z"

# What every tree holds: identity, memory, kernel tunables, THP, swap, pressure and init.
BASE: dict[str, str | bytes] = {
    "proc/sys/kernel/osrelease": "6.1.0-27-amd64\n",
    "proc/version": "Linux version 6.1.0-27-amd64 (debian-kernel@lists.debian.org)\n",
    "etc/os-release": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n',
    "proc/mounts": "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n",
    "proc/meminfo": (
        "MemTotal:       16314428 kB\nMemFree:         1204312 kB\n"
        "MemAvailable:    9812044 kB\nBuffers:          204812 kB\nCached:          8012440 kB\n"
        "SwapTotal:       4194300 kB\nSwapFree:        4194300 kB\n"
        "CommitLimit:    12351512 kB\nCommitted_AS:    6123400 kB\n"
    ),
    "proc/swaps": (
        "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
        "/dev/dm-1                               partition\t4194300\t\t0\t\t-2\n"
    ),
    "proc/uptime": "864000.00 1700000.00\n",
    "proc/vmstat": "pswpin 0\npswpout 0\ncompact_stall 3\noom_kill 0\n",
    ".memcheck/vmstat.after": "pswpin 0\npswpout 0\ncompact_stall 3\noom_kill 0\n",
    ".memcheck/kernel.log": "",
    "proc/pressure/memory": (
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=1200\n"
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=300\n"
    ),
    "proc/sys/vm/swappiness": "1\n",
    "proc/sys/vm/overcommit_memory": "1\n",
    "proc/sys/vm/overcommit_ratio": "50\n",
    "proc/sys/vm/overcommit_kbytes": "0\n",
    "proc/sys/vm/vfs_cache_pressure": "50\n",
    "proc/sys/vm/min_free_kbytes": "67584\n",
    "proc/sys/vm/panic_on_oom": "0\n",
    "proc/sys/vm/zone_reclaim_mode": "0\n",
    "proc/sys/vm/max_map_count": "262144\n",
    "sys/kernel/mm/transparent_hugepage/enabled": "always madvise [never]\n",
    "sys/kernel/mm/transparent_hugepage/defrag": "always defer defer+madvise madvise [never]\n",
    "etc/sysctl.d/90-memory.conf": "vm.swappiness = 1\nvm.overcommit_memory = 1\n",
}


def process(
    pid: int, comm: str, argv: list[str], ppid: int = 1, oom_score_adj: int = 0
) -> dict[str, str | bytes]:
    """The files of one /proc/<pid>/ directory."""
    base = f"proc/{pid}/"
    return {
        base + "comm": comm + "\n",
        base + "cmdline": "\0".join(argv).encode() + b"\0",
        base + "status": (
            f"Name:\t{comm}\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t{pid}\nPid:\t{pid}\n"
            f"PPid:\t{ppid}\nVmRSS:\t   20480 kB\nVmSwap:\t       0 kB\n"
        ),
        base + "oom_score_adj": f"{oom_score_adj}\n",
        base + "cgroup": "0::/system.slice\n",
    }


def init_and_sshd() -> dict[str, str | bytes]:
    return {
        **process(1, "systemd", ["/sbin/init"], ppid=0),
        **process(601, "sshd", ["sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"], oom_score_adj=-1000),
    }  # fmt: skip


def redis_and_postgres() -> dict[str, str | bytes]:
    """A Debian host running Redis and PostgreSQL side by side."""
    return {
        **init_and_sshd(),
        **process(812, "redis-server", ["/usr/bin/redis-server 127.0.0.1:6379"]),
        **process(
            901,
            "postgres",
            ["/usr/lib/postgresql/15/bin/postgres", "-D", "/var/lib/postgresql/15/main"],
            oom_score_adj=-1000,
        ),
        **process(902, "postgres", ["postgres: 15/main: checkpointer "], ppid=901),
    }


def kubernetes_node() -> dict[str, str | bytes]:
    return {
        **init_and_sshd(),
        **process(700, "containerd", ["/usr/bin/containerd"], oom_score_adj=-999),
        **process(701, "kubelet", ["/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml"]),
    }


def mongod_from_package() -> dict[str, str | bytes]:
    return {
        **init_and_sshd(),
        **process(400, "mongod", ["/usr/bin/mongod", "--config", "/etc/mongod.conf"]),
    }


def write_tree(
    root: Path, hostname: str, files: Mapping[str, str | bytes], base: bool = True
) -> Path:
    """A snapshot directory at `root` holding BASE (unless `base` is false) and `files`."""
    every = {**(BASE if base else {}), "proc/sys/kernel/hostname": hostname + "\n", **files}
    for rel, content in every.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    info = {
        "hostname": hostname,
        "collected_at": COLLECTED_AT,
        "memcheck_version": "0.1.0",
        "source": f"ssh://{hostname}",
        "sample_interval_seconds": 1.0,
        "errors": {},
    }
    (root / ".memcheck").mkdir(parents=True, exist_ok=True)
    (root / ".memcheck" / "host.json").write_text(json.dumps(info, indent=2) + "\n")
    return root
