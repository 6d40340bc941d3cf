"""memory_available inside a container: the container's own cgroup limit less its working set
judges, not the host's /proc/meminfo (issue 12). The trees follow what Docker shows inside a
container: v1 bind-mounts the container's own memory cgroup at /sys/fs/cgroup/memory; v2 with
a private cgroup namespace shows the container's cgroup as /sys/fs/cgroup; v2 with the host's
namespace shows the whole tree, the container's cgroup being PID 1's."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from memcheck.engine import evaluate
from memcheck.facts.container import container_memory
from memcheck.model import ParamValue
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.cgroups import (
    CG,
    MIB,
    MOUNTS_V2,
    UNLIMITED_V1,
    V1,
    stat_v1,
    stat_v2,
    v1_cgroup,
    v1_host,
    v2_cgroup,
)
from tests.snapshots import facts_from

CHECK = builtin_checks()["memory_available"]
CONTAINER_ID = "82d0b66fa93133f046e0583bfd8ba6f3b771118a5ca4bc44cf72b9780cfaea9b"
HOST_TOTAL_KB = 24683792  # the host's RAM, as /proc/meminfo shows it inside the container
# What a Docker container on a v1 host mounts (read-only) under /sys/fs/cgroup.
MOUNTS_V1_CONTAINER = (
    "overlay / overlay rw,relatime,lowerdir=/var/lib/docker/overlay2/l/7MYE 0 0\n"
    "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
    "sysfs /sys sysfs ro,nosuid,nodev,noexec,relatime 0 0\n"
    "tmpfs /sys/fs/cgroup tmpfs rw,nosuid,nodev,noexec,relatime,mode=755 0 0\n"
    "cgroup /sys/fs/cgroup/cpu cgroup ro,nosuid,nodev,noexec,relatime,cpu 0 0\n"
    "cgroup /sys/fs/cgroup/memory cgroup ro,nosuid,nodev,noexec,relatime,memory 0 0\n"
    "cgroup /sys/fs/cgroup/pids cgroup ro,nosuid,nodev,noexec,relatime,pids 0 0\n"
)
MOUNTS_V2_CONTAINER = (
    "overlay / overlay rw,relatime,lowerdir=/var/lib/docker/overlay2/l/7MYE 0 0\n"
    "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
    "cgroup /sys/fs/cgroup cgroup2 ro,nosuid,nodev,noexec,relatime 0 0\n"
)


def host_meminfo(available_kb: int = 24_141_452, total_kb: int = HOST_TOTAL_KB) -> str:
    return (
        f"MemTotal:       {total_kb} kB\nMemFree:        {available_kb - 1000} kB\n"
        f"MemAvailable:   {available_kb} kB\nBuffers:           1000 kB\n"
        "Cached:           500000 kB\nInactive(file):   200000 kB\n"
    )


def processes(*entries: tuple[int, str, int]) -> dict[str, str]:
    files = {}
    for pid, name, rss_kb in entries:
        files[f"/proc/{pid}/status"] = f"Name:\t{name}\nPid:\t{pid}\nVmRSS:\t{rss_kb} kB\n"
        files[f"/proc/{pid}/comm"] = name + "\n"
    return files


def v1_container(
    usage: int, limit: str = str(64 * MIB), inactive: int = 0, **extra: str
) -> dict[str, str]:
    """Inside `docker run --memory 64m` on a cgroup v1 host."""
    return {
        "/.dockerenv": "",
        "/proc/mounts": MOUNTS_V1_CONTAINER,
        "/proc/meminfo": host_meminfo(),
        "/proc/1/cgroup": f"4:memory:/docker/{CONTAINER_ID}\n1:cpu:/docker/{CONTAINER_ID}\n",
        **v1_cgroup("/", usage, limit=limit, stat=stat_v1(usage, inactive, inactive)),
        **processes((1, "sleep", 600), (20, "tail", 60_000)),
        **extra,
    }


def v2_namespaced(
    current: int, max_: str = str(64 * MIB), inactive: int = 0, markers: bool = True
) -> dict[str, str]:
    """Inside a container with its own cgroup namespace on a v2 host (Docker's default)."""
    files = {
        "/proc/mounts": MOUNTS_V2_CONTAINER,
        "/proc/meminfo": host_meminfo(),
        "/proc/1/cgroup": "0::/\n",
        f"{CG}/cgroup.controllers": "cpuset cpu io memory pids\n",
        f"{CG}/memory.current": f"{current}\n",
        f"{CG}/memory.max": max_ + "\n",
        f"{CG}/memory.stat": stat_v2(current - inactive, inactive, inactive),
        **processes((1, "redis-server", 40_000)),
    }
    if markers:
        files["/.dockerenv"] = ""
    return files


def run(
    files: Mapping[str, str], errors: Mapping[str, str] | None = None, **params: ParamValue
) -> CheckResult:
    return evaluate(CHECK, facts_from(files, errors=errors), {**CHECK.meta.defaults(), **params})


def by_source(result: CheckResult) -> dict[str, dict[str, object]]:
    return {str(e["source"]): e for e in result.evidence if "source" in e}


def test_the_reproducer_is_judged_by_the_64m_limit_not_the_hosts_ram() -> None:
    # The host shows 97.8% available; the container has 61 of its 64 MiB in use.
    result = run(v1_container(61 * MIB, inactive=MIB))
    assert result.outcome == "fail"
    assert result.severity == "medium"
    assert result.observed == 6.2  # (64 - 60) / 64
    assert result.expected == ">= 10%"
    assert result.message.startswith(
        "container limit 64 MiB, 6.2% available (4 MiB of 64 MiB; working set 60 MiB: "
        "usage 61 MiB less 1 MiB inactive file)"
    )
    assert "97" not in result.message
    sources = by_source(result)
    assert sources[f"{V1}/memory.limit_in_bytes"]["limit_bytes"] == 64 * MIB
    assert sources[f"{V1}/memory.usage_in_bytes"]["usage_bytes"] == 61 * MIB
    assert sources[f"{V1}/memory.stat"]["inactive_file_bytes"] == MIB
    host = sources["/proc/meminfo"]
    assert "the host's, not the container's" in str(host["text"])
    assert host["host_total_bytes"] == HOST_TOTAL_KB * 1024
    inside = next(e for e in result.evidence if e.get("in_container") is True)
    assert inside["cgroup_directory"] == V1
    working = next(e for e in result.evidence if "working_set_bytes" in e)
    assert (working["working_set_bytes"], working["available_bytes"]) == (60 * MIB, 4 * MIB)
    # The container's processes are still the first place to look.
    assert any(e.get("name") == "tail" for e in result.evidence)


@pytest.mark.parametrize(
    ("usage_mib", "outcome", "severity"),
    [
        (10.0, "pass", "medium"),
        (57.5, "pass", "medium"),  # 10.2% of the limit left
        (58.0, "fail", "medium"),  # 9.4%
        (61.5, "fail", "high"),  # 3.9%
        (64.0, "fail", "critical"),
    ],
)
def test_thresholds_apply_to_the_share_of_the_limit(
    usage_mib: float, outcome: str, severity: str
) -> None:
    usage = int(usage_mib * MIB)
    result = run(v1_container(usage))
    assert (result.outcome, result.severity) == (outcome, severity)
    assert result.observed == round((64 * MIB - usage) / (64 * MIB) * 100, 1)


def test_v2_private_namespace_is_the_containers_own_cgroup_even_without_markers() -> None:
    for markers in (True, False):
        result = run(v2_namespaced(20 * MIB, inactive=4 * MIB, markers=markers))
        assert result.outcome == "pass", markers
        assert result.observed == 75.0  # (64 - 16) / 64
        assert result.message.startswith("container limit 64 MiB, 75.0% available")
        assert by_source(result)[f"{CG}/memory.max"]["limit_bytes"] == 64 * MIB


def test_v2_host_namespace_finds_pid_1s_cgroup_and_its_lowest_ancestor_limit() -> None:
    pod = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podabc.slice"
    container = f"{pod}/cri-containerd-{CONTAINER_ID}.scope"
    files = {
        "/run/.containerenv": "",
        "/proc/mounts": MOUNTS_V2,
        "/proc/meminfo": host_meminfo(),
        "/proc/1/cgroup": f"0::{container}\n",
        f"{CG}/cgroup.controllers": "cpuset cpu io memory pids\n",
        f"{CG}/memory.stat": stat_v2(3 << 30, 6 << 30, 2 << 30),
        **v2_cgroup("/kubepods.slice", 900 * MIB),
        **v2_cgroup("/kubepods.slice/kubepods-burstable.slice", 900 * MIB),
        **v2_cgroup(pod, 100 * MIB, max_=str(128 * MIB)),
        **v2_cgroup(container, 100 * MIB, max_=str(512 * MIB)),
        **processes((1, "java", 90_000)),
    }
    result = run(files)
    # The pod's 128 MiB binds a container whose own limit is 512 MiB.
    assert result.message.startswith("container limit 128 MiB, 21.9% available")
    assert by_source(result)[f"{CG}{pod}/memory.max"]["limit_bytes"] == 128 * MIB
    assert f"{CG}{container}/memory.current" in by_source(result)
    facts = facts_from(files)
    found = container_memory(facts)
    assert found is not None and found.cgroup is not None
    assert found.cgroup.path == container
    assert (found.limit_bytes, found.limit_source) == (128 * MIB, f"{CG}{pod}/memory.max")


def test_v1_hierarchical_limit_binds_a_container_without_its_own() -> None:
    # Kubernetes on v1: the pod's limit is above the container, which has none of its own;
    # memory.stat's hierarchical_memory_limit carries it down.
    stat = stat_v1(30 * MIB).replace(
        f"hierarchical_memory_limit {UNLIMITED_V1}", f"hierarchical_memory_limit {256 * MIB}"
    )
    files = v1_container(30 * MIB, limit=UNLIMITED_V1)
    files[f"{V1}/memory.stat"] = stat
    result = run(files)
    assert result.message.startswith("container limit 256 MiB, 88.3% available")
    limit = next(e for e in result.evidence if "limit_bytes" in e)
    assert (limit["source"], limit["limit_bytes"]) == (f"{V1}/memory.stat", 256 * MIB)


def test_no_limit_judges_meminfo_and_says_the_numbers_are_the_hosts() -> None:
    result = run(v2_namespaced(20 * MIB, max_="max"))
    assert result.outcome == "pass"
    assert result.message.startswith("MemAvailable is 97.8% of RAM (23575 of 24105 MiB)")
    assert result.message.endswith(
        f"inside a container with no memory limit ({CG}/memory.max): these are the host's numbers"
    )
    assert any(e.get("in_container") is True for e in result.evidence)


def test_v1_container_without_limit_says_so() -> None:
    result = run(v1_container(30 * MIB, limit=UNLIMITED_V1))
    assert result.outcome == "pass"
    assert result.message.endswith(
        f"inside a container with no memory limit ({V1}/memory.limit_in_bytes): these are the "
        "host's numbers"
    )


def test_pid_1_in_the_v2_root_cgroup_says_so() -> None:
    # A privileged container sharing the host's cgroup namespace, PID 1 left in the root.
    files = {
        "/.dockerenv": "",
        "/proc/mounts": MOUNTS_V2,
        "/proc/meminfo": host_meminfo(),
        "/proc/1/cgroup": "0::/\n",
        f"{CG}/memory.stat": stat_v2(3 << 30, 6 << 30, 2 << 30),
        **v2_cgroup("/system.slice", 900 * MIB),
    }
    result = run(files)
    assert result.outcome == "pass"
    assert result.message.endswith(
        "inside a container whose PID 1 runs in the root cgroup, which has no memory limit: "
        "these are the host's numbers"
    )


def test_a_limit_above_the_hosts_ram_does_not_bind() -> None:
    result = run(v2_namespaced(20 * MIB, max_=str(64 << 30)))
    assert result.message.startswith("MemAvailable is 97.8% of RAM")
    assert "memory limit (65536 MiB, /sys/fs/cgroup/memory.max) is not below the host's RAM" in (
        result.message
    )


def test_the_hosts_available_memory_caps_the_containers() -> None:
    files = v1_container(10 * MIB, limit=str(8 << 30))
    files["/proc/meminfo"] = host_meminfo(available_kb=1024 * 1024, total_kb=16 * 1024 * 1024)
    result = run(files)
    assert result.outcome == "pass"
    assert result.observed == 12.5  # 1 GiB the host has left, of the 8 GiB limit
    assert result.message.endswith("; capped at the host's MemAvailable, 1024 MiB")


def test_without_meminfo_the_containers_limit_still_judges() -> None:
    files = v1_container(16 * MIB)
    del files["/proc/meminfo"]
    result = run(files)
    assert result.outcome == "pass"
    assert result.observed == 75.0


def test_without_memory_stat_usage_is_counted_whole() -> None:
    files = v1_container(40 * MIB, inactive=8 * MIB)
    del files[f"{V1}/memory.stat"]
    result = run(files)
    assert result.observed == 37.5  # (64 - 40) / 64: nothing taken off as inactive file
    assert "usage 40 MiB, counted whole: memory.stat gave no inactive file" in result.message


@pytest.mark.parametrize(
    ("path", "outcome"),
    [
        (f"{V1}/memory.limit_in_bytes", "error"),
        (f"{V1}/memory.usage_in_bytes", "error"),
        (V1, "error"),
    ],
)
def test_an_unreadable_limit_or_usage_is_an_error_naming_it(path: str, outcome: str) -> None:
    files = {k: v for k, v in v1_container(61 * MIB).items() if not k.startswith(path)}
    result = run(files, errors={path: "permission denied"})
    assert result.outcome == outcome
    assert path in result.message and "permission denied" in result.message
    assert "host's memory" in result.message or "usage" in result.message


def test_container_whose_cgroup_files_were_not_read_is_an_error() -> None:
    # A container snapshot holding no memory cgroup file: its limit is unknown, and the host's
    # MemAvailable must not pass for it.
    files = {
        "/.dockerenv": "",
        "/proc/mounts": MOUNTS_V2_CONTAINER,
        "/proc/meminfo": host_meminfo(),
        "/proc/1/cgroup": "0::/\n",
    }
    result = run(files)
    assert result.outcome == "error"
    assert result.message == (
        "inside a container, but its memory limit is unknown (no memory cgroup file under "
        "/sys/fs/cgroup was read); /proc/meminfo shows the host's memory, not what the "
        "container may use"
    )
    denied = run(files, errors={CG: "permission denied (cannot list the directory)"})
    assert denied.outcome == "error"
    assert f"({CG}: permission denied (cannot list the directory))" in denied.message
    pid1 = run(
        {k: v for k, v in files.items() if k != "/proc/1/cgroup"},
        errors={"/proc/1/cgroup": "permission denied"},
    )
    assert "could not read /proc/1/cgroup: permission denied" in pid1.message


def test_container_with_unreadable_mounts_is_an_error() -> None:
    files = {"/.dockerenv": "", "/proc/meminfo": host_meminfo()}
    result = run(files, errors={"/proc/mounts": "permission denied"})
    assert result.outcome == "error"
    assert "/proc/mounts: permission denied" in result.message


def test_no_memory_controller_leaves_the_hosts_numbers_and_says_why() -> None:
    files = {
        "/.dockerenv": "",
        "/proc/mounts": MOUNTS_V2_CONTAINER,
        "/proc/meminfo": host_meminfo(),
        f"{CG}/cgroup.controllers": "cpu pids\n",
    }
    result = run(files)
    assert result.outcome == "pass"
    assert "own memory cgroup cannot be seen (the memory controller is not available" in (
        result.message
    )
    assert "these are the host's numbers" in result.message


def test_a_host_is_judged_as_before() -> None:
    # A docker host on v1: limited container cgroups below an unlimited root are not the host.
    files = {
        **v1_host(),
        **v1_cgroup(f"/docker/{CONTAINER_ID}", 60 * MIB, limit=str(64 * MIB)),
        "/proc/1/cgroup": "4:memory:/init.scope\n0::/init.scope\n",
    }
    facts = facts_from(files)
    assert container_memory(facts) is None
    result = run(files)
    assert result.message == "MemAvailable is 50.0% of RAM (8192 of 16384 MiB)"
    assert not any("in_container" in e for e in result.evidence)


def test_reads_cover_what_the_container_judgement_needs() -> None:
    reads = set(CHECK.meta.reads)
    assert {"/proc/1/cgroup", "/proc/mounts"} <= reads
    assert f"{CG}/**/memory.{{max,high,current,stat}}" in reads
    assert f"{CG}/**/memory.{{limit_in_bytes,usage_in_bytes,kmem.usage_in_bytes}}" in reads
