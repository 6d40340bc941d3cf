"""min_free_kbytes: at least min_kbytes and at most max_percent of MemTotal."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from memcheck.engine import evaluate
from memcheck.model import ParamValue
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.snapshots import facts_from

CHECK = builtin_checks()["min_free_kbytes"]
PATH = "/proc/sys/vm/min_free_kbytes"
MEMINFO_16G = "MemTotal:       16266508 kB\nMemFree:          843456 kB\n"  # 5% = 813325 kB


def run(
    files: Mapping[str, str], errors: Mapping[str, str] | None = None, **params: ParamValue
) -> CheckResult:
    return evaluate(CHECK, facts_from(files, errors=errors), {**CHECK.meta.defaults(), **params})


def test_defaults() -> None:
    assert CHECK.meta.defaults() == {"min_kbytes": 1024, "max_percent": 5.0}
    assert "/proc/meminfo" in CHECK.meta.reads


@pytest.mark.parametrize("value", [1024, 67584, 90112, 813325])
def test_pass(value: int) -> None:
    result = run({PATH: f"{value}\n", "/proc/meminfo": MEMINFO_16G})
    assert result.outcome == "pass"
    assert result.observed == value
    assert result.expected == "1024..813325 kB (5% of 16266508 kB)"
    assert {e.get("source") for e in result.evidence} == {PATH, "/proc/meminfo"}


def test_below_1024_fails() -> None:
    result = run({PATH: "512\n", "/proc/meminfo": MEMINFO_16G})
    assert result.outcome == "fail"
    assert "below 1024 kB" in result.message


def test_above_the_share_of_ram_fails() -> None:
    result = run({PATH: "1048576\n", "/proc/meminfo": MEMINFO_16G})
    assert result.outcome == "fail"
    assert "6.4% of RAM" in result.message


def test_profile_thresholds_apply() -> None:
    files = {PATH: "1048576\n", "/proc/meminfo": MEMINFO_16G}
    assert run(files, max_percent=10.0).outcome == "pass"
    assert run({**files, PATH: "2048\n"}, min_kbytes=4096).outcome == "fail"


@pytest.mark.parametrize(
    ("files", "errors", "fragment"),
    [
        ({"/proc/meminfo": MEMINFO_16G}, None, PATH),
        ({PATH: "67584\n"}, None, "/proc/meminfo"),
        ({PATH: "67584\n", "/proc/meminfo": "MemFree: 1 kB\n"}, None, "MemTotal"),
        ({PATH: "67584\n"}, {"/proc/meminfo": "permission denied"}, "permission denied"),
    ],
)
def test_error(files: dict[str, str], errors: dict[str, str] | None, fragment: str) -> None:
    result = run(files, errors)
    assert result.outcome == "error"
    assert fragment in result.message


def test_complies_without_facts_checks_the_lower_bound_only() -> None:
    from memcheck.checks import min_free_kbytes as module

    params = CHECK.meta.defaults()
    facts = facts_from({"/proc/meminfo": MEMINFO_16G})
    assert module.SYSCTL == "vm.min_free_kbytes"
    assert not module.complies(1000, params)
    assert module.complies(10_000_000, params)
    assert not module.complies(10_000_000, params, facts)
    assert module.complies(67584, params, facts)
