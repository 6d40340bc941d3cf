"""memory_available: MemAvailable share with escalating severity, pre-3.14 estimate, top RSS."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from memcheck.engine import evaluate
from memcheck.model import ParamValue
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.snapshots import facts_from

CHECK = builtin_checks()["memory_available"]
DATA = Path(__file__).parent.parent / "parse" / "data" / "meminfo"


def meminfo(available_kb: int, total_kb: int = 1_000_000) -> str:
    return f"MemTotal: {total_kb} kB\nMemFree: 1000 kB\nMemAvailable: {available_kb} kB\n"


def status(name: str, pid: int, rss_kb: int | None) -> str:
    text = f"Name:\t{name}\nPid:\t{pid}\nPPid:\t1\n"
    return text + (f"VmRSS:\t{rss_kb} kB\n" if rss_kb is not None else "")


def processes() -> dict[str, str]:
    files = {}
    for pid, name, rss in [
        (1, "systemd", 12_000),
        (2, "kthreadd", None),
        (700, "postgres", 900_000),
        (701, "java", 2_500_000),
        (702, "Web Content", 400_000),
        (703, "<script>x", 50_000),
        (704, "sshd", 8_000),
        (705, "bash", 4_000),
    ]:
        files[f"/proc/{pid}/status"] = status(name, pid, rss)
        files[f"/proc/{pid}/comm"] = name + "\n"
    return files


def run(
    files: Mapping[str, str], errors: Mapping[str, str] | None = None, **params: ParamValue
) -> CheckResult:
    return evaluate(CHECK, facts_from(files, errors=errors), {**CHECK.meta.defaults(), **params})


def test_defaults_and_reads() -> None:
    assert CHECK.meta.defaults() == {
        "warn_percent": 10.0,
        "high_percent": 5.0,
        "critical_percent": 1.0,
        "top_processes": 5,
    }
    # The cgroup files and PID 1's cgroup: inside a container its own limit judges.
    assert set(CHECK.meta.reads) == {
        "/proc/meminfo",
        "/proc/[0-9]*/status",
        "/proc/[0-9]*/comm",
        "/proc/1/cgroup",
        "/proc/mounts",
        "/sys/fs/cgroup/**/memory.{max,high,current,stat}",
        "/sys/fs/cgroup/**/memory.{limit_in_bytes,usage_in_bytes,kmem.usage_in_bytes}",
    }
    assert CHECK.meta.area == "pressure"


@pytest.mark.parametrize(
    ("available_kb", "outcome", "severity"),
    [
        (500_000, "pass", "medium"),
        (100_000, "pass", "medium"),  # exactly 10%
        (99_990, "fail", "medium"),  # 9.999% rounds to 10.0 for display but is under 10
        (60_000, "fail", "medium"),
        (49_999, "fail", "high"),
        (20_000, "fail", "high"),
        (9_999, "fail", "critical"),
        (0, "fail", "critical"),
    ],
)
def test_thresholds(available_kb: int, outcome: str, severity: str) -> None:
    result = run({"/proc/meminfo": meminfo(available_kb), **processes()})
    assert (result.outcome, result.severity) == (outcome, severity)
    assert result.expected == ">= 10%"
    assert result.observed == round(available_kb / 1_000_000 * 100, 1)


def test_profile_thresholds() -> None:
    files = {"/proc/meminfo": meminfo(150_000)}
    assert run(files, warn_percent=20.0).outcome == "fail"
    assert run(files, warn_percent=20.0, high_percent=16.0).severity == "high"


def test_largest_processes_by_rss_as_structured_evidence() -> None:
    result = run({"/proc/meminfo": meminfo(20_000), **processes()}, top_processes=3)
    listed = [e for e in result.evidence if "pid" in e]
    assert [(e["pid"], e["name"], e["rss_bytes"]) for e in listed] == [
        (701, "java", 2_500_000 * 1024),
        (700, "postgres", 900_000 * 1024),
        (702, "Web Content", 400_000 * 1024),
    ]
    assert listed[0]["source"] == "/proc/701/status"


def test_kernel_threads_and_zero_top_are_not_listed() -> None:
    result = run({"/proc/meminfo": meminfo(20_000), **processes()}, top_processes=100)
    names = [e["name"] for e in result.evidence if "pid" in e]
    assert "kthreadd" not in names and len(names) == 7
    none = run({"/proc/meminfo": meminfo(20_000), **processes()}, top_processes=0)
    assert not [e for e in none.evidence if "pid" in e]


def test_unreadable_process_status_is_counted_not_fatal() -> None:
    result = run(
        {"/proc/meminfo": meminfo(500_000), **processes()},
        errors={"/proc/999/status": "permission denied"},
    )
    assert result.outcome == "pass"
    assert any("1 processes' status could not be read" in str(e["text"]) for e in result.evidence)


def test_before_3_14_estimates_and_says_so() -> None:
    text = (DATA / "rhel6.5-2.6.32.txt").read_text()
    result = run({"/proc/meminfo": text})
    estimate_kb = 358960 + 5963644 + 221048 - 17104
    assert result.outcome == "pass"
    assert "estimate" in result.message
    assert result.observed == round(estimate_kb / 8057964 * 100, 1)
    (note,) = [e for e in result.evidence if e.get("estimated") is True]
    assert note["available_bytes"] == estimate_kb * 1024
    assert note["shmem_bytes"] == 17104 * 1024


def test_estimate_can_fail_too() -> None:
    text = "MemTotal: 1000000 kB\nMemFree: 10000 kB\nBuffers: 1000 kB\nCached: 30000 kB\nShmem: 25000 kB\n"
    result = run({"/proc/meminfo": text})
    assert (result.outcome, result.severity) == ("fail", "high")
    assert "estimate" in result.message


def test_memavailable_is_not_called_an_estimate() -> None:
    result = run({"/proc/meminfo": (DATA / "ubuntu24.04-6.8.txt").read_text()})
    assert result.outcome == "pass"
    assert "estimate" not in result.message
    assert any(e.get("estimated") is False for e in result.evidence)


@pytest.mark.parametrize(
    ("files", "errors", "fragment"),
    [
        ({}, None, "/proc/meminfo"),
        ({}, {"/proc/meminfo": "permission denied"}, "permission denied"),
        ({"/proc/meminfo": "MemTotal: lots\n"}, None, "line 1"),
        ({"/proc/meminfo": "MemTotal: 0 kB\n"}, None, "MemTotal 0"),
    ],
)
def test_error(files: dict[str, str], errors: dict[str, str] | None, fragment: str) -> None:
    result = run(files, errors)
    assert result.outcome == "error"
    assert fragment in result.message
