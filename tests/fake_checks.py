"""A registry of stand-in checks with exactly the ids and params of the catalogue.

Tests of profiles, conflicts and `auto` use these stand-ins so that what they assert depends
on the profiles alone, not on what the real checks find; every stand-in passes.
`tests/test_profile.py` asserts that they declare what the real checks declare.
"""

from __future__ import annotations

from typing import Any

from memcheck.model import CheckMeta, Outcome, Param, Params
from memcheck.registry import Check

THP_MODES = ("always", "madvise", "never")
DEFRAG_MODES = ("always", "defer", "defer+madvise", "madvise", "never")

# The checks (and their params) that the built-in profiles refer to, as the catalogue and the
# check modules declare them.
FAKE_PARAMS: dict[str, dict[str, Param]] = {
    "swappiness": {"min": Param(1, "lowest"), "max": Param(10, "highest")},
    "sysctl_persisted": {},
    "vfs_cache_pressure": {"max": Param(0, "highest; 0 means no upper bound")},
    "zone_reclaim_mode": {},
    "min_free_kbytes": {
        "min_kbytes": Param(1024, "lowest"),
        "max_percent": Param(5.0, "highest share of RAM", "float"),
    },
    "panic_on_oom": {"max": Param(0, "highest")},
    "thp_enabled": {
        "allowed": Param(["never", "madvise"], "modes", "list[str]", THP_MODES),
    },
    "thp_defrag": {
        "allowed": Param(["never", "madvise"], "modes", "list[str]", DEFRAG_MODES),
    },
    "thp_persisted": {},
    "oom_protected_services": {
        "services": Param(["sshd"], "services", "list[str]"),
        "max": Param(-900, "highest oom_score_adj"),
    },
    "oom_kills": {
        "window_hours": Param(24, "hours"),
        "protected_services": Param(
            ["sshd", "systemd", "systemd-journal", "kubelet", "containerd", "dockerd"],
            "services",
            "list[str]",
        ),
    },
    "memory_available": {
        "warn_percent": Param(10.0, "warn", "float"),
        "high_percent": Param(5.0, "high", "float"),
        "critical_percent": Param(1.0, "critical", "float"),
        "top_processes": Param(5, "processes listed"),
    },
    "drop_caches_scheduled": {
        "max_drops": Param(1, "drops tolerated"),
        "window_hours": Param(24, "hours"),
    },
    "overcommit_memory": {
        "allowed": Param([0, 1], "modes", "list[int]"),
        "max_commit_percent": Param(90.0, "Committed_AS share of CommitLimit", "float"),
    },
    "max_map_count": {"min": Param(262144, "lowest")},
    "compaction_stalls": {"max_per_hour": Param(10.0, "stalls per hour", "float")},
    "postmaster_oom": {"max": Param(-900, "highest oom_score_adj")},
    "process_memory_growth": {
        "growth_percent": Param(50.0, "growth", "float"),
        "min_growth_mb": Param(256, "MiB"),
    },
    "psi_memory": {
        "some_max": Param(10.0, "some avg10", "float"),
        "full_max": Param(1.0, "full avg10", "float"),
    },
    "swap_configured": {
        "expect": Param("any", "present, absent or any", "str", ("present", "absent", "any")),
    },
    "swap_activity": {
        "max_pages_per_second": Param(0.0, "pages/s", "float"),
        "storm_pages_per_second": Param(1000.0, "pages/s", "float"),
        "top_processes": Param(5, "processes listed"),
    },
    "service_memory_limits": {"services": Param([], "services", "list[str]")},
    "cgroup_memory_headroom": {"max_used_percent": Param(90.0, "percent", "float")},
    "cgroup_oom_events": {},
    "cgroup_v2": {},
    "numa_balance": {
        "max_free_spread_percent": Param(50.0, "percent", "float"),
        "max_miss_percent": Param(10.0, "percent", "float"),
    },
    "numa_policy": {
        "processes": Param(
            ["postgres", "mysqld", "mariadbd", "mongod", "redis-server"], "comms", "list[str]"
        ),
    },
}
FAKE_SEVERITY = {
    "vfs_cache_pressure": "low",
    "zone_reclaim_mode": "medium",
    "thp_defrag": "medium",
    "compaction_stalls": "low",
    "numa_balance": "low",
    "cgroup_v2": "low",
}
FAKE_AREA = {
    "thp_enabled": "thp",
    "thp_defrag": "thp",
    "thp_persisted": "thp",
    "compaction_stalls": "thp",
    "oom_kills": "oom",
    "oom_protected_services": "oom",
    "postmaster_oom": "oom",
    "cgroup_memory_headroom": "cgroup",
    "cgroup_oom_events": "cgroup",
    "cgroup_v2": "cgroup",
    "service_memory_limits": "cgroup",
    "psi_memory": "pressure",
    "memory_available": "pressure",
    "swap_configured": "swap",
    "swap_activity": "swap",
    "numa_balance": "numa",
    "numa_policy": "numa",
    "process_memory_growth": "process",
    "drop_caches_scheduled": "pagecache",
}


def _judge(facts: Any, params: Params) -> Outcome:
    return Outcome.passed("stand-in check")


def fake_check(check_id: str, params: dict[str, Param]) -> Check:
    meta = CheckMeta(
        id=check_id,
        title=f"stand-in {check_id}",
        area=FAKE_AREA.get(check_id, "sysctl"),  # type: ignore[arg-type]
        severity=FAKE_SEVERITY.get(check_id, "high"),  # type: ignore[arg-type]
        rationale="test",
        remediation="test",
        references=(),
        reads=(f"/fake/{check_id}",),
        params=params,
    )
    return Check(meta, _judge, f"test:{check_id}")


def fake_checks() -> dict[str, Check]:
    return {cid: fake_check(cid, params) for cid, params in FAKE_PARAMS.items()}
