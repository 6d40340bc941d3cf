"""Host trees with cgroup hierarchies, shaped like real v2, v1 and hybrid hosts, for tests.

The file contents follow real hosts: /proc/mounts lines as systemd mounts them, memory.stat
in the key order of the kernel named, the v1 "unlimited" page-counter value.
"""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent / "parse" / "data"
CG = "/sys/fs/cgroup"
V1 = "/sys/fs/cgroup/memory"
MIB = 1024 * 1024
UNLIMITED_V1 = "9223372036854771712"

MOUNTS_V2 = (
    "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n"
    "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
    "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate,"
    "memory_recursiveprot 0 0\n"
    "/dev/sda1 / ext4 rw,relatime 0 0\n"
)
_V1_CONTROLLERS = (
    ("systemd", "xattr,name=systemd"),
    ("cpu,cpuacct", "cpu,cpuacct"),
    ("memory", "memory"),
    ("pids", "pids"),
    ("blkio", "blkio"),
    ("devices", "devices"),
    ("freezer", "freezer"),
    ("net_cls,net_prio", "net_cls,net_prio"),
)
MOUNTS_V1 = (
    "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n"
    "tmpfs /sys/fs/cgroup tmpfs ro,nosuid,nodev,noexec,mode=755 0 0\n"
    + "".join(
        f"cgroup /sys/fs/cgroup/{d} cgroup rw,nosuid,nodev,noexec,relatime,{o} 0 0\n"
        for d, o in _V1_CONTROLLERS
    )
    + "/dev/mapper/rhel-root / xfs rw,relatime,attr2,inode64,noquota 0 0\n"
)
MOUNTS_HYBRID = MOUNTS_V1.replace(
    "cgroup /sys/fs/cgroup/systemd",
    "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n"
    "cgroup /sys/fs/cgroup/systemd",
)
FILESYSTEMS = "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tcgroup\nnodev\tcgroup2\n\text4\n"
FILESYSTEMS_NO_V2 = "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tcgroup\n\txfs\n"

POD_UID = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
CONTAINER_ID = "4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e"
K8S_POD = (
    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
    + POD_UID.replace("-", "_")
    + ".slice"
)
K8S_CONTAINER = K8S_POD + f"/cri-containerd-{CONTAINER_ID}.scope"


def meminfo(total_kb: int = 16 * 1024 * 1024, free_kb: int = 2 * 1024 * 1024) -> str:
    return (
        f"MemTotal:       {total_kb} kB\nMemFree:        {free_kb} kB\n"
        f"MemAvailable:   {total_kb // 2} kB\nBuffers:          102400 kB\n"
        f"Cached:         {total_kb // 4} kB\nActive(file):    1048576 kB\n"
        "Inactive(file):  524288 kB\nSlab:             262144 kB\n"
    )


def stat_v2(
    anon: int, file: int = 0, inactive_file: int = 0, kernel: int | None = None, **parts: int
) -> str:
    """A 6.x-shaped memory.stat; without `kernel`, a 5.15-shaped one (parts summed)."""
    lines = [f"anon {anon}", f"file {file}"]
    if kernel is not None:
        lines.append(f"kernel {kernel}")
    for key in ("kernel_stack", "pagetables", "percpu", "sock", "vmalloc"):
        lines.append(f"{key} {parts.get(key, 0)}")
    lines += [
        "shmem 0",
        "file_mapped 0",
        f"inactive_anon {anon}",
        "active_anon 0",
        f"inactive_file {inactive_file}",
        f"active_file {file - inactive_file}",
        "unevictable 0",
        f"slab_reclaimable {parts.get('slab', 0)}",
        "slab_unreclaimable 0",
        f"slab {parts.get('slab', 0)}",
        "pgfault 1000",
    ]
    return "\n".join(lines) + "\n"


def stat_v1(rss: int, cache: int = 0, inactive_file: int = 0) -> str:
    """An Ubuntu 18.04 (4.15) shaped memory.stat of a leaf group (own == total)."""
    own = (
        f"cache {cache}\nrss {rss}\nrss_huge 0\nshmem 0\nmapped_file 0\ndirty 0\nwriteback 0\n"
        f"pgpgin 10\npgpgout 5\npgfault 100\npgmajfault 0\ninactive_anon 0\n"
        f"active_anon {rss}\ninactive_file {inactive_file}\n"
        f"active_file {cache - inactive_file}\nunevictable 0\n"
    )
    total = "".join("total_" + line + "\n" for line in own.splitlines())
    return own + f"hierarchical_memory_limit {UNLIMITED_V1}\n" + total


EVENTS_ZERO = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n"


def events(max_: int = 0, oom: int = 0, oom_kill: int = 0, high: int = 0) -> str:
    return f"low 0\nhigh {high}\nmax {max_}\noom {oom}\noom_kill {oom_kill}\noom_group_kill 0\n"


def v2_cgroup(
    path: str,
    current: int,
    max_: str = "max",
    high: str = "max",
    stat: str | None = None,
    events_text: str | None = EVENTS_ZERO,
    local: str | None = None,
) -> dict[str, str]:
    d = CG + path
    files = {
        f"{d}/memory.current": f"{current}\n",
        f"{d}/memory.max": max_ + "\n",
        f"{d}/memory.high": high + "\n",
        f"{d}/memory.stat": stat if stat is not None else stat_v2(current),
    }
    if events_text is not None:
        files[f"{d}/memory.events"] = events_text
    if local is not None:
        files[f"{d}/memory.events.local"] = local
    return files


def v1_cgroup(
    path: str,
    usage: int,
    limit: str = UNLIMITED_V1,
    stat: str | None = None,
    kmem: int = 0,
    oom_kill: int | None = 0,
    failcnt: int = 0,
) -> dict[str, str]:
    d = V1 + path if path != "/" else V1
    control = "oom_kill_disable 0\nunder_oom 0\n" + (
        f"oom_kill {oom_kill}\n" if oom_kill is not None else ""
    )
    return {
        f"{d}/memory.usage_in_bytes": f"{usage}\n",
        f"{d}/memory.limit_in_bytes": limit + "\n",
        f"{d}/memory.stat": stat if stat is not None else stat_v1(usage),
        f"{d}/memory.kmem.usage_in_bytes": f"{kmem}\n",
        f"{d}/memory.oom_control": control,
        f"{d}/memory.failcnt": f"{failcnt}\n",
    }


def v2_host(release: str = "6.8.0-45-generic") -> dict[str, str]:
    """An Ubuntu 24.04-like systemd host on cgroup v2, nothing limited."""
    return {
        "/proc/mounts": MOUNTS_V2,
        "/proc/filesystems": FILESYSTEMS,
        "/proc/meminfo": meminfo(),
        "/proc/sys/kernel/osrelease": release + "\n",
        f"{CG}/cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc\n",
        f"{CG}/memory.stat": stat_v2(3 << 30, 6 << 30, 2 << 30),
        **v2_cgroup("/init.scope", 12 * MIB),
        **v2_cgroup("/system.slice", 900 * MIB),
        **v2_cgroup("/system.slice/cron.service", 2 * MIB),
        **v2_cgroup("/user.slice", 300 * MIB),
        **v2_cgroup("/user.slice/user-1000.slice/session-3.scope", 40 * MIB),
    }


def v1_host(release: str = "4.15.0-213-generic", mounts: str = MOUNTS_V1) -> dict[str, str]:
    """A v1 host (RHEL 7 or Ubuntu 18.04 shaped), root memory hierarchy only."""
    return {
        "/proc/mounts": mounts,
        "/proc/filesystems": FILESYSTEMS,
        "/proc/meminfo": meminfo(),
        "/proc/sys/kernel/osrelease": release + "\n",
        **v1_cgroup("/", 6 << 30, stat=stat_v1(2 << 30, 4 << 30, 1 << 30), kmem=300 * MIB),
        **v1_cgroup("/system.slice", 900 * MIB),
        **v1_cgroup("/user.slice", 100 * MIB),
    }
