"""Checks judged from inside a container (issue 12): the container's own figures where it has
them (its cgroup's OOM kill count, swap allowance and memory pressure), and a message saying
"host-wide ..., seen from inside a container" where the value is the host kernel's.

The trees follow what Docker shows inside a container: on cgroup v1 its own memory cgroup is
bind-mounted at /sys/fs/cgroup/memory; on v2 with a private cgroup namespace its cgroup is
/sys/fs/cgroup itself; with the host's namespace it is PID 1's cgroup in the full tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from memcheck.engine import evaluate
from memcheck.errors import MISSING
from memcheck.facts.container import (
    container_basis,
    container_oom_kills,
    container_pressure_path,
    container_swap,
)
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from memcheck.runner import memory_summary
from tests.cgroups import CG, MIB, MOUNTS_V2, UNLIMITED_V1, V1, stat_v1, stat_v2, v1_cgroup
from tests.snapshots import facts_from

CHECKS = builtin_checks()
LOG = "/.memcheck/kernel.log"
LOG_DENIED = "dmesg: read kernel buffer failed: Operation not permitted"
DOCKER_ID = "82d0b66fa93133f046e0583bfd8ba6f3b771118a5ca4bc44cf72b9780cfaea9b"
HOST_TOTAL_KB = 24_683_792
GIB = 1024 * MIB
MOUNTS_V1_CONTAINER = (
    "overlay / overlay rw,relatime,lowerdir=/var/lib/docker/overlay2/l/7MYE 0 0\n"
    "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
    "tmpfs /sys/fs/cgroup tmpfs rw,nosuid,nodev,noexec,relatime,mode=755 0 0\n"
    "cgroup /sys/fs/cgroup/memory cgroup ro,nosuid,nodev,noexec,relatime,memory 0 0\n"
)
MOUNTS_V2_CONTAINER = (
    "overlay / overlay rw,relatime,lowerdir=/var/lib/docker/overlay2/l/7MYE 0 0\n"
    "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
    "cgroup /sys/fs/cgroup cgroup2 ro,nosuid,nodev,noexec,relatime 0 0\n"
)
LXCFS = (
    "lxcfs /proc/meminfo fuse.lxcfs rw,nosuid,nodev,relatime,user_id=0,group_id=0,allow_other 0 0\n"
)
SYSCTLS = {
    "/proc/sys/vm/swappiness": "60\n",
    "/proc/sys/vm/vfs_cache_pressure": "100\n",
    "/proc/sys/vm/zone_reclaim_mode": "0\n",
    "/proc/sys/vm/panic_on_oom": "0\n",
    "/proc/sys/vm/max_map_count": "65530\n",
    "/proc/sys/vm/overcommit_memory": "1\n",
    "/proc/sys/vm/overcommit_ratio": "50\n",
    "/proc/sys/vm/overcommit_kbytes": "0\n",
    "/proc/sys/vm/min_free_kbytes": "67584\n",
    "/sys/kernel/mm/transparent_hugepage/enabled": "always [madvise] never\n",
    "/sys/kernel/mm/transparent_hugepage/defrag": "always defer defer+madvise [madvise] never\n",
    "/proc/vmstat": "nr_free_pages 1000\ncompact_stall 12\npswpin 0\npswpout 0\noom_kill 0\n",
    "/.memcheck/vmstat.after": "nr_free_pages 1000\ncompact_stall 12\npswpin 0\npswpout 0\n",
    "/proc/uptime": "864000.00 1700000.00\n",
}


def meminfo(swap_kb: int = 0, available_kb: int = 24_141_452) -> str:
    """The host's /proc/meminfo, as a container without LXCFS sees it."""
    return (
        f"MemTotal:       {HOST_TOTAL_KB} kB\nMemFree:        {available_kb - 1000} kB\n"
        f"MemAvailable:   {available_kb} kB\nBuffers:           1000 kB\n"
        "Cached:           500000 kB\nInactive(file):   200000 kB\n"
        f"SwapTotal:      {swap_kb} kB\nSwapFree:       {swap_kb} kB\n"
        "CommitLimit:    12341896 kB\nCommitted_AS:    4000000 kB\n"
    )


def swaps(swap_kb: int) -> str:
    head = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
    return head + (f"/swapfile file\t\t{swap_kb}\t\t0\t\t-2\n" if swap_kb else "")


def v1_container(
    usage: int = 20 * MIB,
    limit: int = 64 * MIB,
    oom_kill: int | None = 0,
    memsw: int | None = None,
    swap_kb: int = 0,
) -> dict[str, str]:
    """Inside `docker run --memory 64m` on a cgroup v1 host; `memsw` is --memory-swap."""
    stat = stat_v1(usage, 2 * MIB, MIB).replace(
        f"hierarchical_memory_limit {UNLIMITED_V1}", f"hierarchical_memory_limit {limit}"
    )
    if memsw is not None:
        stat += f"hierarchical_memsw_limit {memsw}\nswap 0\ntotal_swap {3 * MIB}\n"
    files = {
        "/.dockerenv": "",
        "/proc/mounts": MOUNTS_V1_CONTAINER,
        "/proc/meminfo": meminfo(swap_kb),
        "/proc/swaps": swaps(swap_kb),
        "/proc/1/cgroup": f"4:memory:/docker/{DOCKER_ID}\n0::/docker/{DOCKER_ID}\n",
        "/proc/1/comm": "sleep\n",
        **v1_cgroup("/", usage, limit=str(limit), stat=stat, oom_kill=oom_kill),
        **SYSCTLS,
    }
    return files


def v2_namespaced(
    current: int = 20 * MIB,
    max_: str = str(64 * MIB),
    oom_kill: int = 0,
    swap_max: str | None = None,
    swap_kb: int = 0,
    pressure: str | None = None,
    markers: bool = True,
) -> dict[str, str]:
    """Inside a container with its own cgroup namespace on a v2 host (Docker's default)."""
    files = {
        "/proc/mounts": MOUNTS_V2_CONTAINER,
        "/proc/meminfo": meminfo(swap_kb),
        "/proc/swaps": swaps(swap_kb),
        "/proc/1/cgroup": "0::/\n",
        "/proc/1/comm": "redis-server\n",
        f"{CG}/cgroup.controllers": "cpuset cpu io memory pids\n",
        f"{CG}/memory.current": f"{current}\n",
        f"{CG}/memory.max": max_ + "\n",
        f"{CG}/memory.stat": stat_v2(current - MIB, 2 * MIB, MIB),
        f"{CG}/memory.events": f"low 0\nhigh 0\nmax 3\noom 1\noom_kill {oom_kill}\n",
        **SYSCTLS,
    }
    if swap_max is not None:
        files[f"{CG}/memory.swap.max"] = swap_max + "\n"
        files[f"{CG}/memory.swap.current"] = f"{5 * MIB}\n"
    if pressure is not None:
        files[f"{CG}/memory.pressure"] = pressure
    if markers:
        files["/.dockerenv"] = ""
    return files


def host(**extra: str) -> dict[str, str]:
    """A plain v2 host: systemd's PID 1 in /init.scope, no markers."""
    return {
        "/proc/mounts": MOUNTS_V2,
        "/proc/meminfo": meminfo(),
        "/proc/swaps": swaps(0),
        "/proc/1/cgroup": "0::/init.scope\n",
        "/proc/1/comm": "systemd\n",
        f"{CG}/memory.stat": stat_v2(3 << 30, 6 << 30, 2 << 30),
        **SYSCTLS,
        **extra,
    }


def psi(some: float, full: float = 0.0) -> str:
    return (
        f"some avg10={some:.2f} avg60=0.00 avg300=0.00 total=9168\n"
        f"full avg10={full:.2f} avg60=0.00 avg300=0.00 total=3369\n"
    )


def run(
    check: str,
    files: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    **params: Any,
) -> CheckResult:
    found = CHECKS[check]
    facts = facts_from(files, errors=errors)
    return evaluate(found, facts, {**found.meta.defaults(), **params})


def inside(result: CheckResult) -> dict[str, Any]:
    return next(e for e in result.evidence if e.get("in_container") is True)


# -- where the snapshot is seen from --------------------------------------------------------


def test_container_basis_from_markers_or_the_containers_own_cgroup_root() -> None:
    assert container_basis(facts_from(host())) is None
    assert "markers" in str(container_basis(facts_from(v1_container())))
    # No marker: a v2 root with memory.current is a cgroup namespace's, never a host's.
    found = container_basis(facts_from(v2_namespaced(markers=False)))
    assert found is not None and f"{CG}/memory.current" in found
    # One that could not be read exists all the same.
    unread = {k: v for k, v in host().items() if k != "/proc/1/cgroup"}
    denied = facts_from(unread, errors={f"{CG}/memory.max": "permission denied"})
    assert container_basis(denied) is not None
    assert container_basis(facts_from(host(), errors={f"{CG}/memory.max": MISSING})) is None
    # v1 without markers: a limited memory root is a container's own group (a host's is not).
    v1 = {k: v for k, v in v1_container().items() if k not in ("/.dockerenv", "/proc/1/cgroup")}
    assert container_basis(facts_from(v1)) is not None
    v1[f"{V1}/memory.limit_in_bytes"] = UNLIMITED_V1 + "\n"
    assert container_basis(facts_from(v1)) is None


HOST_WIDE = "host-wide value, seen from inside a container: change it on the host"


@pytest.mark.parametrize(
    ("check", "what"),
    [
        ("swappiness", HOST_WIDE),
        ("vfs_cache_pressure", HOST_WIDE),
        ("zone_reclaim_mode", HOST_WIDE),
        ("panic_on_oom", HOST_WIDE),
        ("max_map_count", HOST_WIDE),
        ("overcommit_memory", HOST_WIDE),
        ("min_free_kbytes", HOST_WIDE),
        ("thp_enabled", "host-wide setting, seen from inside a container: change it on the host"),
        ("thp_defrag", "host-wide setting, seen from inside a container: change it on the host"),
        ("compaction_stalls", "host-wide counters, seen from inside a container: they count"),
        ("swap_activity", "host-wide counters, seen from inside a container: they count"),
    ],
)
def test_host_wide_values_say_so_inside_a_container_and_only_there(check: str, what: str) -> None:
    files = {**v2_namespaced(), "/proc/meminfo": meminfo(swap_kb=1024)}
    result = run(check, files)
    assert result.outcome in ("pass", "fail"), result.message
    assert what in result.message
    assert inside(result)["host_wide"] is True
    on_host = run(check, {**host(), "/proc/meminfo": meminfo(swap_kb=1024)})
    assert on_host.outcome == result.outcome
    assert "container" not in on_host.message
    assert not any(e.get("in_container") for e in on_host.evidence)
    # The verdict is the host's value either way: only the wording changes.
    assert result.message.startswith(on_host.message)


def test_errors_and_skips_are_not_worded_as_judged_values() -> None:
    files = v2_namespaced()
    del files["/proc/sys/vm/zone_reclaim_mode"]
    assert run("zone_reclaim_mode", files).message == (
        "/proc/sys/vm/zone_reclaim_mode does not exist: the kernel is built without NUMA"
    )
    denied = run("swappiness", files, errors={"/proc/sys/vm/swappiness": "permission denied"})
    assert denied.outcome == "error" and "container" not in denied.message


# -- oom_kills: the container's own count --------------------------------------------------


def oom_files(
    base: dict[str, str], host_kills: int, uptime: str = "720.00 1400.00\n"
) -> dict[str, str]:
    return {
        **base,
        "/proc/vmstat": f"nr_free_pages 1000\noom_kill {host_kills}\n",
        "/proc/uptime": uptime,
    }


def test_oom_kills_inside_a_v1_container_counts_its_own_cgroup_not_the_host() -> None:
    # The reproducer: the host counts 4 kills, the container's own group 1.
    files = oom_files(v1_container(oom_kill=1), host_kills=4)
    result = run("oom_kills", files, errors={LOG: LOG_DENIED})
    assert (result.outcome, result.observed) == ("fail", 1)
    assert result.message.startswith(
        "1 OOM kill(s) in this container since the host booted 0.2 h ago, inside the 24 h "
        f"window: its own memory cgroup counts 1 ({V1}/memory.oom_control oom_kill); the host "
        "counts 4 (/proc/vmstat)"
    )
    own = inside(result)
    assert (own["oom_kill"], own["source"]) == (1, f"{V1}/memory.oom_control")
    host_wide = next(e for e in result.evidence if e.get("host_wide") is True)
    assert host_wide["oom_kill"] == 4 and "anywhere on the host" in str(host_wide["text"])


def test_oom_kills_inside_v1_finds_the_bind_mounted_group_with_only_event_files() -> None:
    # `--checks oom_kills,cgroup_oom_events` collects no limit file: the root of the v1
    # mount is still the container's own group, since PID 1's /docker/<id> is not below it.
    files = {
        k: v
        for k, v in oom_files(v1_container(oom_kill=1), host_kills=7).items()
        if not k.endswith(("limit_in_bytes", "usage_in_bytes", "memory.stat"))
    }
    result = run("oom_kills", files, errors={LOG: LOG_DENIED})
    assert (result.outcome, result.observed) == ("fail", 1), result.message
    # PID 1 in the root of a v1 hierarchy (a host seen through markers) has no count.
    files["/proc/1/cgroup"] = "4:memory:/\n"
    found = container_oom_kills(facts_from(files))
    assert found.count is None and "root memory cgroup" in str(found.problem)


def test_oom_kills_inside_a_v2_container_passes_on_its_own_zero_despite_host_kills() -> None:
    files = oom_files(v2_namespaced(oom_kill=0), host_kills=3)
    result = run("oom_kills", files, errors={LOG: LOG_DENIED})
    assert result.outcome == "pass"
    assert result.message.startswith(
        f"no OOM kill in this container: its own memory cgroup counts 0 ({CG}/memory.events "
        "oom_kill); the host counts 3 (/proc/vmstat)"
    )
    found = container_oom_kills(facts_from(files))
    assert (found.count, found.source, found.cgroup) == (0, f"{CG}/memory.events", "/")


def test_oom_kills_host_wide_zero_clears_a_container_without_its_cgroup() -> None:
    files = oom_files({"/.dockerenv": "", "/proc/1/cgroup": "0::/\n"}, host_kills=0)
    result = run("oom_kills", files, errors={LOG: LOG_DENIED})
    assert result.outcome == "pass"
    assert "which counts kills anywhere on the host, so none in this container" in result.message


def test_oom_kills_with_only_the_host_wide_counter_says_it_is_host_wide() -> None:
    files = oom_files({"/.dockerenv": "", "/proc/1/cgroup": "0::/\n"}, host_kills=2)
    result = run("oom_kills", files, errors={LOG: LOG_DENIED})
    assert (result.outcome, result.observed) == ("fail", 2)
    assert "per /proc/vmstat oom_kill, which counts kills anywhere on the host, not only this " \
        "container's (its own count is unknown: " in result.message  # fmt: skip
    assert next(e for e in result.evidence if "oom_kill" in e)["host_wide"] is True


def test_oom_kills_in_a_container_that_cannot_be_placed_in_time_is_an_error() -> None:
    files = oom_files(v1_container(oom_kill=2), host_kills=9, uptime="864000.00 1.00\n")
    result = run("oom_kills", files, errors={LOG: LOG_DENIED})
    assert result.outcome == "error"
    assert f"its own memory cgroup counts 2 ({V1}/memory.oom_control oom_kill)" in result.message
    assert "10.0 days" in result.message and "CAP_SYSLOG" in result.message


def test_oom_kills_with_a_readable_log_inside_a_container_says_the_log_is_the_hosts() -> None:
    files = {**v1_container(), LOG: "[    0.000000] Linux version 6.1.0\n"}
    result = run("oom_kills", files)
    assert result.outcome == "pass"
    assert result.message.endswith(
        "the host's kernel log, seen from inside a container: kills anywhere on the host "
        "count, not only this container's"
    )


def test_oom_kills_on_a_host_is_unchanged() -> None:
    files = oom_files(host(), host_kills=0)
    result = run("oom_kills", files, errors={LOG: LOG_DENIED})
    assert result.message.startswith("no OOM kill since boot per /proc/vmstat oom_kill (fallback")


# -- swap_configured: the host's swap, as far as the container's cgroup allows --------------


@pytest.mark.parametrize(
    ("swap_max", "expect", "outcome", "observed", "said"),
    [
        ("0", "absent", "pass", "none", "its cgroup allows no swap"),
        ("0", "present", "fail", "none", "its cgroup allows no swap"),
        ("max", "absent", "fail", "2.0 GiB", "its cgroup sets no swap limit"),
        (str(512 * MIB), "present", "pass", "512.0 MiB", "its cgroup allows 512.0 MiB of swap"),
        (str(8 * GIB), "any", "pass", "2.0 GiB", "its cgroup allows 8.0 GiB of swap"),
    ],
)
def test_swap_configured_inside_a_v2_container_judges_its_allowance(
    swap_max: str, expect: str, outcome: str, observed: str, said: str
) -> None:
    files = v2_namespaced(swap_max=swap_max, swap_kb=2 * 1024 * 1024)
    result = run("swap_configured", files, expect=expect)
    assert (result.outcome, result.observed) == (outcome, observed), result.message
    assert result.message.startswith(f"inside a container: {said}")
    assert "5.0 MiB swapped out" in result.message
    assert inside(result)["source"] == f"{CG}/memory.swap.max"
    if outcome == "fail":
        assert "docker run --memory-swap" in result.remediation


def test_swap_configured_inside_a_v1_container_reads_the_memsw_limit() -> None:
    # docker run --memory 64m (memory-swap defaults to twice that): 64 MiB may be swap.
    files = v1_container(memsw=128 * MIB, swap_kb=1024 * 1024)
    result = run("swap_configured", files, expect="absent")
    assert (result.outcome, result.observed) == ("fail", "64.0 MiB")
    assert result.message.startswith(
        f"inside a container: its cgroup allows 64.0 MiB of swap ({V1}/memory.stat) of the "
        "host's 1.0 GiB, 3.0 MiB swapped out"
    )
    # --memory-swap equal to --memory: no swap for the container.
    none = run("swap_configured", v1_container(memsw=64 * MIB, swap_kb=1024 * 1024))
    assert none.observed == "none"
    # No swap accounting (no memsw): nothing but the host's swap bounds it.
    free = run("swap_configured", v1_container(swap_kb=1024 * 1024), expect="absent")
    assert free.outcome == "fail" and "sets no swap limit" in free.message


def test_swap_configured_without_swap_accounting_on_v2_uses_the_hosts_swap() -> None:
    files = v2_namespaced(swap_kb=1024 * 1024)
    result = run(
        "swap_configured", files, errors={f"{CG}/memory.swap.max": MISSING}, expect="present"
    )
    assert result.outcome == "pass"
    assert result.observed == "1.0 GiB"


def test_swap_configured_cannot_judge_an_unreadable_allowance() -> None:
    files = v2_namespaced(swap_kb=1024 * 1024)
    errors = {f"{CG}/memory.swap.max": "permission denied"}
    result = run("swap_configured", files, errors=errors, expect="absent")
    assert result.outcome == "error"
    assert "permission denied" in result.message and "1.0 GiB" in result.message


def test_swap_configured_with_an_allowance_not_collected_judges_the_hosts_and_says_so() -> None:
    result = run("swap_configured", v2_namespaced(swap_kb=1024 * 1024), expect="absent")
    assert result.outcome == "fail"
    assert result.message.endswith(
        f"the host's swap, seen from inside a container: this container's own limit on it is "
        f"unknown ({CG}/memory.swap.max: not collected)"
    )


def test_swap_configured_host_without_swap_says_the_container_has_none_either() -> None:
    result = run("swap_configured", v2_namespaced(swap_max="max"))
    assert result.message == (
        "no swap configured; host-wide value, seen from inside a container: a container swaps "
        "only what the host has"
    )


def test_container_swap_on_a_v2_host_namespace_uses_pid_1s_cgroup() -> None:
    scope = f"/system.slice/docker-{DOCKER_ID}.scope"
    files = {
        "/.dockerenv": "",
        "/proc/mounts": MOUNTS_V2,
        "/proc/meminfo": meminfo(),
        "/proc/1/cgroup": f"0::{scope}\n",
        "/proc/1/comm": "sleep\n",
        f"{CG}/memory.stat": stat_v2(3 << 30, 6 << 30, 2 << 30),
        f"{CG}{scope}/memory.current": f"{20 * MIB}\n",
        f"{CG}{scope}/memory.max": f"{64 * MIB}\n",
        f"{CG}{scope}/memory.swap.max": f"{16 * MIB}\n",
    }
    found = container_swap(facts_from(files))
    assert (found.limit_bytes, found.source) == (16 * MIB, f"{CG}{scope}/memory.swap.max")


# -- psi_memory: the container's own cgroup's pressure -------------------------------------


def test_psi_inside_a_container_judges_its_own_cgroup_not_the_hosts() -> None:
    files = {**v2_namespaced(pressure=psi(25.0, 2.0)), "/proc/pressure/memory": psi(0.0)}
    result = run("psi_memory", files)
    assert (result.outcome, result.severity) == ("fail", "high")
    assert result.message.startswith("container full avg10 2.00% > 1%")
    host_figures = next(e for e in result.evidence if e.get("host_wide") is True)
    assert host_figures["source"] == "/proc/pressure/memory"
    assert "not judged" in str(host_figures["text"])
    # The host under pressure, the container not: the container's own figures decide.
    calm = {**v2_namespaced(pressure=psi(0.5)), "/proc/pressure/memory": psi(60.0, 20.0)}
    result = run("psi_memory", calm)
    assert result.outcome == "pass"
    assert result.message == (
        f"the container's memory pressure some 0.50%, full 0.00% (avg10) (cgroup /, "
        f"{CG}/memory.pressure)"
    )


def test_psi_inside_a_container_errors_on_its_unreadable_pressure_file() -> None:
    files = {**v2_namespaced(pressure=psi(0.0)), "/proc/pressure/memory": psi(0.0)}
    errors = {f"{CG}/memory.pressure": "permission denied"}
    result = run("psi_memory", files, errors=errors)
    assert result.outcome == "error"
    assert f"cannot read its own cgroup's {CG}/memory.pressure: permission denied" in (
        result.message
    )


def test_psi_inside_a_v1_container_judges_the_host_wide_figures_and_says_so() -> None:
    files = {**v1_container(), "/proc/pressure/memory": psi(30.0)}
    result = run("psi_memory", files)
    assert result.outcome == "fail"
    assert result.message.endswith(
        "host-wide pressure, seen from inside a container: its own cgroup's memory.pressure "
        "is not seen"
    )


def test_psi_with_the_hosts_namespace_judges_pid_1s_cgroup_and_what_is_below_it() -> None:
    mine = f"/system.slice/docker-{DOCKER_ID}.scope"
    files = {
        "/.dockerenv": "",
        "/proc/mounts": MOUNTS_V2,
        "/proc/1/cgroup": f"0::{mine}\n",
        "/proc/1/comm": "sleep\n",
        "/proc/pressure/memory": psi(0.0),
        f"{CG}{mine}/memory.pressure": psi(1.0),
        f"{CG}{mine}/worker/memory.pressure": psi(15.0),
        f"{CG}/system.slice/other.service/memory.pressure": psi(80.0, 40.0),
    }
    facts = facts_from(files)
    assert container_pressure_path(facts) == f"{CG}{mine}/memory.pressure"
    result = run("psi_memory", files)
    # Another container's thrashing is not this one's; its own child cgroup's is.
    assert (result.outcome, result.severity) == ("fail", "medium")
    assert result.message == f"cgroup {mine}/worker some avg10 15.00% > 10%"
    assert container_pressure_path(facts_from(host())) is None


# -- min_free_kbytes: a share of the host's RAM ----------------------------------------------


def test_min_free_kbytes_under_lxcfs_cannot_judge_the_share_of_the_hosts_ram() -> None:
    files = {**v1_container(), "/proc/mounts": MOUNTS_V1_CONTAINER + LXCFS}
    result = run("min_free_kbytes", files)
    assert result.outcome == "error"
    assert "LXCFS" in result.message and "audit the host" in result.message
    small = run("min_free_kbytes", {**files, "/proc/sys/vm/min_free_kbytes": "512\n"})
    assert (small.outcome, small.expected) == ("fail", ">= 1024 kB")
    assert small.message.endswith(HOST_WIDE)
    plain = run("min_free_kbytes", v1_container())
    assert plain.outcome == "pass" and plain.message.endswith(HOST_WIDE)


def test_min_free_kbytes_inside_a_container_needs_to_know_whose_meminfo_it_is() -> None:
    result = run("min_free_kbytes", v1_container(), errors={"/proc/mounts": "permission denied"})
    assert result.outcome == "error"
    assert "LXCFS" in result.message and "permission denied" in result.message


# -- boot persistence is the host's to judge ------------------------------------------------


@pytest.mark.parametrize("check", ["sysctl_persisted", "thp_persisted"])
def test_persistence_after_the_hosts_reboot_is_skipped_inside_a_container(check: str) -> None:
    files = {**v1_container(), "/proc/cmdline": "BOOT_IMAGE=/vmlinuz root=/dev/sda1\n"}
    selection = {"swappiness": CHECKS["swappiness"].meta.defaults()}
    found = CHECKS[check]
    result = evaluate(found, _with_selection(files, selection), found.meta.defaults())
    assert result.outcome == "skip"
    assert result.message.startswith("inside a container: ") and "audit the host" in result.message
    on_host = {**host(), "/proc/cmdline": "BOOT_IMAGE=/vmlinuz root=/dev/sda1\n"}
    facts = _with_selection(on_host, selection)
    assert evaluate(found, facts, found.meta.defaults()).outcome != "skip"


def _with_selection(files: Mapping[str, str], selection: Mapping[str, Any]) -> Any:
    facts = facts_from(files)
    facts.selection = selection
    return facts


# -- the report's memory bar ----------------------------------------------------------------


def test_memory_summary_inside_a_container_shows_its_limit_and_usage() -> None:
    summary = memory_summary(facts_from(v1_container(usage=40 * MIB)))
    # Working set 40 MiB less 1 MiB inactive file, of a 64 MiB limit; no swap on the host.
    assert summary == {
        "total_bytes": 64 * MIB,
        "available_bytes": 25 * MIB,
        "cache_bytes": 2 * MIB,
        "used_bytes": 39 * MIB,
        "swap_total_bytes": 0,
        "swap_used_bytes": 0,
    }
    with_swap = memory_summary(
        facts_from(v2_namespaced(swap_max=str(32 * MIB), swap_kb=1024 * 1024))
    )
    assert with_swap is not None
    assert (with_swap["total_bytes"], with_swap["swap_total_bytes"]) == (64 * MIB, 32 * MIB)
    assert with_swap["swap_used_bytes"] == 5 * MIB
    unknown = memory_summary(facts_from(v2_namespaced(swap_kb=1024 * 1024)))
    assert unknown is not None
    assert (unknown["swap_total_bytes"], unknown["swap_used_bytes"]) == (None, None)


def test_memory_summary_caps_the_container_at_the_hosts_available_memory() -> None:
    files = {**v1_container(usage=10 * MIB), "/proc/meminfo": meminfo(available_kb=8 * 1024)}
    summary = memory_summary(facts_from(files))
    assert summary is not None and summary["available_bytes"] == 8 * MIB


def test_memory_summary_keeps_the_hosts_figures_where_the_container_has_no_limit() -> None:
    files = v2_namespaced(max_="max")
    summary = memory_summary(facts_from(files))
    assert summary is not None and summary["total_bytes"] == HOST_TOTAL_KB * 1024
    on_host = memory_summary(facts_from(host()))
    assert on_host is not None and on_host["total_bytes"] == HOST_TOTAL_KB * 1024
    # Inside a container whose own limit is unknown, the host's RAM would mislead: none.
    blind = {"/.dockerenv": "", "/proc/meminfo": meminfo(), "/proc/1/cgroup": "0::/\n"}
    assert memory_summary(facts_from(blind)) is None
