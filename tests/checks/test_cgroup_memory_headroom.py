from __future__ import annotations

from collections.abc import Mapping

from memcheck.engine import evaluate
from memcheck.model import ParamValue
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.cgroups import (
    CG,
    K8S_CONTAINER,
    K8S_POD,
    MIB,
    MOUNTS_V2,
    POD_UID,
    stat_v1,
    stat_v2,
    v1_cgroup,
    v1_host,
    v2_cgroup,
    v2_host,
)
from tests.snapshots import facts_from

CHECK = builtin_checks()["cgroup_memory_headroom"]
DEFAULT: dict[str, ParamValue] = {"max_used_percent": 90.0}
DOCKER = "/docker/9c1b7c2f0e5d4a3b8f6e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a"


def run(
    files: Mapping[str, str],
    params: Mapping[str, ParamValue] = DEFAULT,
    errors: Mapping[str, str] | None = None,
) -> CheckResult:
    return evaluate(CHECK, facts_from(files, errors=errors), params)


def nginx(current: int, inactive: int = 100 * MIB) -> dict[str, str]:
    stat = stat_v2(500 * MIB, 150 * MIB, inactive, kernel=50 * MIB, slab=40 * MIB)
    return v2_cgroup(
        "/system.slice/nginx.service",
        current,
        max_=str(1024 * MIB),
        high=str(900 * MIB),
        stat=stat,
    )


def test_limited_service_with_headroom_passes() -> None:
    result = run({**v2_host(), **nginx(700 * MIB)})
    assert result.outcome == "pass", result.message
    assert result.observed == 58.6 and result.expected == "<= 90%"
    looked = next(e for e in result.evidence if e.get("path") == "/system.slice/nginx.service")
    assert looked["limit_bytes"] == 1024 * MIB and looked["high_bytes"] == 900 * MIB
    assert looked["working_set_bytes"] == 600 * MIB
    assert (looked["anon_bytes"], looked["file_bytes"], looked["kernel_bytes"]) == (
        500 * MIB,
        150 * MIB,
        50 * MIB,
    )
    assert looked["kind"] == "systemd service"
    assert "memory.high 900.0 MiB" in str(looked["text"])
    # Every other cgroup is accounted for, with the reason it was not judged.
    unlimited = next(e for e in result.evidence if e.get("reason") == "no limit")
    assert "/system.slice" in unlimited["paths"]  # type: ignore[operator]
    root = next(e for e in result.evidence if e.get("reason") == "root cgroup: no limit")
    assert root["paths"] == ["/"]


def test_working_set_excludes_inactive_page_cache() -> None:
    # 1000 MiB used of 1024 (97.7%), but 400 MiB is inactive file cache: 58.6% working set.
    result = run({**v2_host(), **nginx(1000 * MIB, inactive=400 * MIB)})
    assert result.outcome == "pass"
    assert result.observed == 58.6


def test_kernel_memory_eating_a_pod_limit_fails_and_is_shown() -> None:
    stat = stat_v2(
        60 * MIB,
        10 * MIB,
        5 * MIB,
        kernel=420 * MIB,
        slab=400 * MIB,
        kernel_stack=5 * MIB,
        pagetables=5 * MIB,
        sock=10 * MIB,
    )
    files = {
        **v2_host(),
        **v2_cgroup(K8S_POD, 490 * MIB, max_=str(1024 * MIB), stat=stat_v2(60 * MIB)),
        **v2_cgroup(K8S_CONTAINER, 490 * MIB, max_=str(512 * MIB), stat=stat),
    }
    result = run(files)
    assert result.outcome == "fail"
    assert result.severity == "high"
    assert result.observed == 94.7  # (490 - 5) / 512
    assert "1 of 2 limited cgroups above 90%" in result.message
    assert f"kubernetes container (burstable, pod {POD_UID}" in result.message
    assert "kernel 420.0 MiB (82.0%: slab 400.0 MiB, stacks 5.0 MiB" in result.message
    assert "sockets 10.0 MiB" in result.message
    assert "anon 60.0 MiB (11.7%)" in result.message
    container = next(e for e in result.evidence if e.get("path") == K8S_CONTAINER)
    assert container["kernel_bytes"] == 420 * MIB and container["used_percent"] == 94.7


def test_kernel_memory_summed_on_kernels_without_the_kernel_key() -> None:
    stat = stat_v2(100 * MIB, 0, 0, slab=300 * MIB, kernel_stack=2 * MIB, sock=1 * MIB)
    files = {
        **v2_host(release="5.15.0-105-generic"),
        **v2_cgroup("/system.slice/app.service", 403 * MIB, max_=str(420 * MIB), stat=stat),
    }
    result = run(files)
    assert result.outcome == "fail"
    looked = next(e for e in result.evidence if e.get("path") == "/system.slice/app.service")
    assert looked["kernel_bytes"] == 303 * MIB


def test_v1_unlimited_page_counter_value_is_no_limit() -> None:
    result = run(v1_host())
    assert result.outcome == "skip"
    assert result.message == "no cgroup has a memory limit (3 looked at)"
    reasons = {e.get("reason") for e in result.evidence}
    assert reasons == {"root cgroup: no limit", "no limit"}


def test_v1_docker_container_near_its_limit_with_kernel_memory() -> None:
    files = {
        **v1_host(release="3.10.0-1160.el7.x86_64"),
        **v1_cgroup(
            DOCKER,
            500 * MIB,
            limit=str(512 * MIB),
            stat=stat_v1(300 * MIB, 120 * MIB, 10 * MIB),
            kmem=80 * MIB,
        ),
    }
    result = run(files)
    assert result.outcome == "fail"
    assert result.observed == 95.7  # (500 - 10) / 512
    assert "docker container" in result.message
    assert "kernel 80.0 MiB (15.6%)" in result.message


def test_threshold_is_a_param() -> None:
    result = run({**v2_host(), **nginx(700 * MIB)}, {"max_used_percent": 50.0})
    assert result.outcome == "fail"
    assert result.expected == "<= 50%"
    assert result.observed == 58.6


def test_many_over_the_limit_are_summarised() -> None:
    files = dict(v2_host())
    for i in range(5):
        files.update(v2_cgroup(f"/system.slice/w{i}.service", (95 + i) * MIB, max_=str(100 * MIB)))
    result = run(files)
    assert result.outcome == "fail"
    assert result.observed == 99.0
    assert result.message.startswith("5 of 5 limited cgroups above 90%: /system.slice/w4")
    assert result.message.endswith("; and 2 more")


def test_no_memory_controller_skips_with_the_reason() -> None:
    files = {"/proc/mounts": MOUNTS_V2, f"{CG}/cgroup.controllers": "cpu io pids\n"}
    result = run(files)
    assert result.outcome == "skip"
    assert "memory controller is not available" in result.message


def test_unreadable_usage_of_the_only_limited_cgroup_is_an_error() -> None:
    files = {**v2_host(), **nginx(700 * MIB)}
    path = CG + "/system.slice/nginx.service/memory.current"
    del files[path]
    result = run(files, errors={path: "permission denied"})
    assert result.outcome == "error"
    assert "permission denied" in result.message
    assert "/system.slice/nginx.service" in result.message


def test_unreadable_mounts_without_cgroup_files_is_an_error() -> None:
    result = run({}, errors={"/proc/mounts": "permission denied"})
    assert result.outcome == "error"
    assert "/proc/mounts" in result.message


def test_cgroup_removed_while_read_is_not_judged_nor_an_error() -> None:
    files = {**v2_host(), **nginx(700 * MIB)}
    files.update(v2_cgroup("/system.slice/gone.service", 0, max_=str(64 * MIB)))
    del files[CG + "/system.slice/gone.service/memory.current"]
    result = run(files)
    assert result.outcome == "pass"
    gone = next(e for e in result.evidence if "removed" in str(e.get("reason")))
    assert gone["paths"] == ["/system.slice/gone.service"]
