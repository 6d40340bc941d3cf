from __future__ import annotations

from collections.abc import Mapping

from memcheck.engine import evaluate
from memcheck.model import Severity
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.cgroups import (
    CG,
    K8S_CONTAINER,
    K8S_POD,
    MIB,
    MOUNTS_V2,
    POD_UID,
    events,
    v1_cgroup,
    v1_host,
    v2_cgroup,
    v2_host,
)
from tests.snapshots import facts_from

CHECK = builtin_checks()["cgroup_oom_events"]
DOCKER = "/docker/9c1b7c2f0e5d4a3b8f6e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a"


def run(
    files: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    severity: Severity | None = None,
) -> CheckResult:
    return evaluate(CHECK, facts_from(files, errors=errors), {}, severity)


def k8s_oom(release: str = "6.8.0-45-generic", local: bool = True) -> dict[str, str]:
    """A pod whose container was OOM-killed twice at its own limit (hierarchical counts)."""
    container = events(max_=57, oom=2, oom_kill=2)
    return {
        **v2_host(release=release),
        **v2_cgroup("/kubepods.slice", 3 << 30, events_text=events(max_=57, oom=2, oom_kill=2)),
        **v2_cgroup(
            "/kubepods.slice/kubepods-burstable.slice",
            2 << 30,
            events_text=events(max_=57, oom=2, oom_kill=2),
        ),
        **v2_cgroup(K8S_POD, 500 * MIB, events_text=events(max_=57, oom=2, oom_kill=2)),
        **v2_cgroup(
            K8S_CONTAINER,
            500 * MIB,
            max_=str(512 * MIB),
            events_text=container,
            local=container if local else None,
        ),
    }


def test_quiet_host_passes() -> None:
    result = run(v2_host())
    assert result.outcome == "pass", result.message
    assert (result.observed, result.expected) == (0, 0)
    summary = next(e for e in result.evidence if str(e["text"]).startswith("no events in"))
    assert "/system.slice/cron.service" in summary["paths"]  # type: ignore[operator]


def test_memcg_oom_in_a_pod_is_reported_where_it_happened() -> None:
    result = run(k8s_oom(local=False))
    assert result.outcome == "fail"
    assert result.severity == "high"
    assert result.observed == 2 and result.expected == 0
    # The parents that only add the container's kills up are not blamed.
    assert result.message.startswith(f"OOM kills in cgroups: {K8S_CONTAINER}")
    assert f"kubernetes container (burstable, pod {POD_UID}" in result.message
    assert "2 OOM kills" in result.message
    assert "/kubepods.slice (" not in result.message
    container = next(e for e in result.evidence if e.get("path") == K8S_CONTAINER)
    assert (container["oom_kill"], container["max"]) == (2, 57)
    assert "less its child cgroups" in str(container["text"])


def test_local_events_file_is_preferred() -> None:
    result = run(k8s_oom(local=True))
    assert result.outcome == "fail" and result.observed == 2
    container = next(e for e in result.evidence if e.get("path") == K8S_CONTAINER)
    assert str(container["source"]).endswith("memory.events.local")


def test_limit_hits_without_kills_fail_medium() -> None:
    files = {
        **v2_host(),
        **v2_cgroup(
            "/system.slice/app.service",
            100 * MIB,
            max_=str(100 * MIB),
            events_text=events(max_=12, high=40),
            local=events(max_=12, high=40),
        ),
    }
    result = run(files)
    assert result.outcome == "fail"
    assert result.severity == "medium"
    assert result.observed == 12
    assert "memory.max reached 12 times" in result.message
    # A profile that sets its own severity for the check keeps it: the judge only raises that.
    assert run(files, severity="critical").severity == "critical"


def test_v1_oom_kill_in_a_docker_container() -> None:
    files = {
        **v1_host(release="4.15.0-213-generic"),
        **v1_cgroup(DOCKER, 500 * MIB, limit=str(512 * MIB), oom_kill=3, failcnt=120),
    }
    result = run(files)
    assert result.outcome == "fail" and result.severity == "high"
    assert result.observed == 3
    assert "docker container" in result.message
    container = next(e for e in result.evidence if e.get("path") == DOCKER)
    assert container["failcnt"] == 120 and container["oom_kill"] == 3


def test_v1_before_4_13_sees_failcnt_only() -> None:
    files = {
        **v1_host(release="3.10.0-1160.el7.x86_64"),
        **v1_cgroup(DOCKER, 500 * MIB, limit=str(512 * MIB), oom_kill=None, failcnt=8),
    }
    result = run(files)
    assert result.outcome == "fail" and result.severity == "medium"
    assert "failcnt" in result.message
    assert any("before kernel 4.13" in str(e["text"]) for e in result.evidence)


def test_unreadable_events_with_nothing_else_is_an_error() -> None:
    files = {
        "/proc/mounts": MOUNTS_V2,
        f"{CG}/system.slice/memory.current": "1\n",
    }
    errors = {f"{CG}/system.slice/memory.events": "permission denied"}
    result = run(files, errors=errors)
    assert result.outcome == "error"
    assert "permission denied" in result.message


def test_kill_found_even_when_another_cgroup_is_unreadable() -> None:
    files = k8s_oom()
    errors = {f"{CG}/system.slice/cron.service/memory.events": "permission denied"}
    del files[f"{CG}/system.slice/cron.service/memory.events"]
    result = run(files, errors=errors)
    assert result.outcome == "fail"
    assert any("cannot read" in str(e["text"]) for e in result.evidence)


def test_no_memory_cgroups_skips() -> None:
    files = {"/proc/mounts": MOUNTS_V2, f"{CG}/cgroup.controllers": "cpu io pids\n"}
    result = run(files)
    assert result.outcome == "skip"
    assert "memory controller" in result.message


def test_cgroups_without_counters_are_listed_as_not_counted() -> None:
    result = run(v2_host())
    uncounted = next(e for e in result.evidence if str(e["text"]).startswith("not counted"))
    assert uncounted["paths"] == ["/"]
